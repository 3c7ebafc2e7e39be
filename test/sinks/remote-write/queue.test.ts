import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs, { appendFileSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DiskQueue, IN_MEMORY, MAGIC, QueueLockedError, encodeRecord, scanSegment, type DropReason } from '../../../agent/sinks/remote-write/queue';
import { captureLogs, log } from '../../../agent/core/log';
import { tempDir } from '../../helpers/servers';

function payload(i: number, size = 100): Buffer {
  return Buffer.alloc(size, i & 0xff);
}

/** A payload that starts as every queued WriteRequest does (field 1, length-delimited); byte 1 says which. */
function request(i: number, size = 100): Buffer {
  const b = payload(i, size);
  b[0] = 0x0a;
  return b;
}

describe('remote-write/queue', () => {
  let dir: string;
  let drops: [DropReason, number][];
  let restoreLogs: () => void;
  let logs: string[];
  const open = (extra: Partial<Parameters<typeof DiskQueue.open>[0]> = {}): DiskQueue =>
    DiskQueue.open({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, logger: log, onDrop: (r, n) => drops.push([r, n]), ...extra });

  beforeEach(() => {
    dir = path.join(tempDir(), 'q');
    drops = [];
    logs = [];
    restoreLogs = captureLogs((l) => logs.push(l));
  });
  afterEach(() => {
    restoreLogs();
    rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('returns records oldest first, batched up to max samples, and forgets acknowledged ones', () => {
    const q = open();
    const now = Date.now();
    for (let i = 0; i < 5; i++) q.append(now + i, 10, payload(i));
    assert.equal(q.pendingSamples, 50);
    const batch = q.peek(25);
    assert.deepEqual(batch.map((r) => r.timestampMs), [now, now + 1]);
    assert.deepEqual(q.read(batch[0]!), payload(0));
    assert.equal(q.ack(batch), 20);
    assert.equal(q.pendingSamples, 30);
    assert.equal(q.oldestTimestampMs, now + 2);
    // A record larger than the limit still goes, alone.
    assert.equal(q.peek(5).length, 1);
    q.close();
  });

  it('answers undefined, not an error, for a record whose segment file was removed (a temp-dir cleaner)', () => {
    const now = Date.now();
    const q = open();
    q.append(now, 1, payload(1));
    q.close();
    const q2 = open(); // records loaded at start are read from their files
    const [r] = q2.peek(100);
    for (const f of readdirSync(dir)) if (f.endsWith('.seg')) rmSync(path.join(dir, f));
    assert.equal(q2.read(r!), undefined);
    q2.close();
  });

  /** Makes fs.writeSync fail with ENOSPC while `full()` says so (or only for segment headers). */
  function diskFull(full: (buf: Buffer) => boolean): () => void {
    const original = fs.writeSync;
    (fs as { writeSync: unknown }).writeSync = (fd: number, buf: Buffer, ...rest: unknown[]) => {
      if (Buffer.isBuffer(buf) && full(buf)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return (original as (...a: unknown[]) => number)(fd, buf, ...rest);
    };
    return () => ((fs as { writeSync: unknown }).writeSync = original);
  }

  it('a full disk at a segment rotation loses nothing: the record goes into the current segment', () => {
    const q = open({ segmentBytes: 300 });
    const now = Date.now();
    let failNextHeader = false;
    const restore = diskFull((buf) => {
      if (!failNextHeader || buf.length !== MAGIC.length) return false;
      failNextHeader = false;
      return true;
    });
    try {
      q.append(now, 1, payload(0, 200));
      failNextHeader = true;
      q.append(now + 1, 1, payload(1, 200));
      assert.equal(q.diskError, undefined);
      for (let i = 2; i < 6; i++) q.append(now + i, 1, payload(i, 200));
    } finally {
      restore();
    }
    const left = q.peek(100);
    assert.deepEqual(left.map((r) => r.timestampMs - now), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(left.map((r) => q.read(r)?.[0]), [0, 1, 2, 3, 4, 5]);
    q.close();
    // All of it on disk, read back after a restart.
    const q2 = open();
    assert.deepEqual(q2.peek(100).map((r) => q2.read(r)?.[0]), [0, 1, 2, 3, 4, 5]);
    q2.close();
  });

  it('a disk that refuses a write gets back the space of sent records, then the write goes through', () => {
    // One big segment, as on a small disk: nothing would ever rotate out of it.
    const q = open({ segmentBytes: 1 << 30 });
    const now = Date.now();
    for (let i = 0; i < 5; i++) q.append(now + i, 1, payload(i, 1000));
    q.ack(q.peek(Infinity));
    const seg = readdirSync(dir).find((f) => f.endsWith('.seg'))!;
    assert.ok(fs.statSync(path.join(dir, seg)).size > 5000);
    // The disk is full until the segment is cut back.
    const restore = diskFull(() => fs.statSync(path.join(dir, seg)).size > 5000);
    try {
      const r = q.append(now + 5, 1, payload(5, 1000));
      assert.equal(q.diskError, undefined);
      assert.notEqual(r.segment, IN_MEMORY);
      assert.equal(r.offset, MAGIC.length);
    } finally {
      restore();
    }
    q.close();
    const q2 = open();
    assert.deepEqual(q2.peek(100).map((r) => q2.read(r)?.[0]), [5]);
    q2.close();
  });

  it('a cut-back segment never leaves a saved position past the cut, even when the cursor cannot be written', () => {
    const q = open({ segmentBytes: 1 << 30 });
    const now = Date.now();
    for (let i = 0; i < 5; i++) q.append(now + i, 1, payload(i, 1000));
    q.ack(q.peek(Infinity));
    const seg = path.join(dir, readdirSync(dir).find((f) => f.endsWith('.seg'))!);
    // Full: the segment cannot grow, and no new file (the cursor's temp file) can be made.
    const restore = diskFull(() => fs.statSync(seg).size > 2000);
    const originalWriteFile = fs.writeFileSync;
    (fs as { writeFileSync: unknown }).writeFileSync = (f: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
      if (String(f).endsWith('cursor.tmp')) throw Object.assign(new Error('ENOSPC: no space left on device, open'), { code: 'ENOSPC' });
      return (originalWriteFile as (...a: unknown[]) => void)(f, ...rest);
    };
    try {
      assert.equal(q.append(now + 10, 7, payload(10, 1000)).offset, MAGIC.length);
    } finally {
      restore();
      (fs as { writeFileSync: unknown }).writeFileSync = originalWriteFile;
    }
    // Like kill -9: no close. The record written after the cut is sent after a restart.
    const q2 = DiskQueue.open({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, logger: log });
    assert.deepEqual(q2.peek(100).map((r) => q2.read(r)?.[0]), [10]);
    q2.close();
  });

  it('keeps what the disk refuses in memory, sends it in order, and drops the oldest of it past its memory', () => {
    const q = open({ memoryOnlyBytes: 3000 });
    const now = Date.now();
    q.append(now, 1, payload(0, 1000));
    let full = true;
    const restore = diskFull(() => full);
    try {
      for (let i = 1; i <= 4; i++) {
        const r = q.append(now + i, 2, payload(i, 1000));
        assert.equal(r.segment, IN_MEMORY);
      }
      assert.match(q.diskError ?? '', /ENOSPC/);
      // 4 × 1000 bytes over a 3000-byte allowance: the oldest refused record is dropped, counted.
      assert.deepEqual(drops, [['disk_error', 2]]);
      assert.equal(q.memoryOnlySamples, 6);
      full = false;
      q.append(now + 5, 1, payload(5, 1000));
      assert.equal(q.diskError, undefined);
    } finally {
      restore();
    }
    const left = q.peek(Infinity);
    assert.deepEqual(left.map((r) => r.timestampMs - now), [0, 2, 3, 4, 5]);
    assert.deepEqual(left.map((r) => q.read(r)?.[0]), [0, 2, 3, 4, 5]);
    q.ack(left.slice(0, 2));
    q.close();
    // What was only in memory is gone after a restart; what was on disk is still there.
    const q2 = open();
    assert.deepEqual(q2.peek(100).map((r) => q2.read(r)?.[0]), [5]);
    q2.close();
  });

  it('never drops for memory a refused record that a request is carrying', () => {
    const q = open({ memoryOnlyBytes: 2000 });
    const now = Date.now();
    const restore = diskFull(() => true);
    try {
      const first = q.append(now, 1, payload(0, 1000));
      first.sending = true;
      q.append(now + 1, 1, payload(1, 1000));
      q.append(now + 2, 1, payload(2, 1000));
      // Over 2000 bytes: the oldest record not in flight goes, not the one being sent.
      assert.equal(first.done, false);
      assert.deepEqual(q.peek(Infinity).map((r) => r.timestampMs - now), [0, 2]);
      assert.equal(q.ack([first]), 1);
    } finally {
      restore();
      q.close();
    }
  });

  it('starts on a disk too full for a segment, keeping records in memory until one can be made', () => {
    let full = true;
    const restore = diskFull((buf) => full && buf.length === MAGIC.length);
    try {
      const q = open();
      const now = Date.now();
      assert.equal(q.append(now, 1, payload(0)).segment, IN_MEMORY);
      full = false;
      assert.notEqual(q.append(now + 1, 1, payload(1)).segment, IN_MEMORY);
      assert.deepEqual(q.peek(10).map((r) => q.read(r)?.[0]), [0, 1]);
      q.close();
    } finally {
      restore();
    }
  });

  it('keeps unsent records across a restart, without the sent ones (cursor)', () => {
    const now = Date.now();
    const q = open();
    for (let i = 0; i < 4; i++) q.append(now + i, 1, payload(i));
    q.ack(q.peek(2));
    // No close(): like kill -9, only what was written is there.
    const q2 = DiskQueue.open({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, logger: log });
    const left = q2.peek(100);
    assert.deepEqual(left.map((r) => r.timestampMs), [now + 2, now + 3]);
    assert.deepEqual(left.map((r) => q2.read(r)), [payload(2), payload(3)]);
    q2.close();
  });

  it('survives kill -9 of a writing process: every appended record is read back', () => {
    const script = `
      const { DiskQueue } = require(${JSON.stringify(path.resolve(__dirname, '../../../agent/sinks/remote-write/queue.ts'))});
      const q = DiskQueue.open({ dir: ${JSON.stringify(dir)}, maxBytes: 1 << 20, maxAgeMs: 3600000, logger: { info() {}, warn() {}, debug() {}, error() {} } });
      for (let i = 0; i < 20; i++) q.append(1000 + i, 3, Buffer.alloc(50, i));
      process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: path.resolve(__dirname, '../../..') });
    assert.equal(r.signal, 'SIGKILL', r.stderr.toString());
    const q = open({ maxAgeMs: Number.MAX_SAFE_INTEGER });
    const recs = q.peek(Infinity);
    assert.deepEqual(recs.map((x) => x.timestampMs), Array.from({ length: 20 }, (_, i) => 1000 + i));
    assert.equal(q.pendingSamples, 60);
    q.close();
  });

  it('skips a torn last record (power loss) and keeps the records before it', () => {
    const now = Date.now();
    const q = open();
    for (let i = 0; i < 3; i++) q.append(now + i, 1, payload(i));
    q.close();
    const seg = readdirSync(dir).filter((f) => f.endsWith('.seg')).sort()[0]!;
    const file = path.join(dir, seg);
    // Half of a fourth record, as a power loss mid-write leaves it.
    appendFileSync(file, encodeRecord(now + 3, 1, payload(3)).subarray(0, 30));
    const q2 = open();
    assert.deepEqual(q2.peek(100).map((r) => r.timestampMs), [now, now + 1, now + 2]);
    assert.ok(logs.some((l) => l.includes('torn or damaged')));
    // New appends go to a new segment, after the good records.
    q2.append(now + 4, 1, payload(4));
    assert.deepEqual(q2.peek(100).map((r) => r.timestampMs), [now, now + 1, now + 2, now + 4]);
    q2.close();
  });

  it('skips a record whose CRC does not match and resynchronises on the next good one; stops at a cut length', () => {
    const t = Date.parse('2026-12-01T00:00:00Z');
    const recs = [encodeRecord(t, 1, request(1)), encodeRecord(t + 1, 1, request(2)), encodeRecord(t + 2, 1, request(3))];
    const buf = Buffer.concat([MAGIC, ...recs]);
    assert.equal(scanSegment(buf).records.length, 3);
    const flipped = Buffer.from(buf);
    flipped[MAGIC.length + recs[0]!.length + 20]! ^= 0xff;
    const scan = scanSegment(flipped);
    assert.deepEqual(scan.records.map((r) => r.timestampMs - t), [0, 2]);
    assert.deepEqual(scan.skipped, [{ offset: MAGIC.length + recs[0]!.length, bytes: recs[1]!.length }]);
    assert.equal(scan.goodBytes, buf.length);
    // Garbage of any length between two records, even bytes that look like a record header.
    const junk = Buffer.concat([Buffer.from([0x20, 0, 0, 0, 1, 2, 3, 4]), Buffer.alloc(37, 0x41)]);
    const withJunk = Buffer.concat([MAGIC, recs[0]!, junk, recs[1]!, recs[2]!]);
    assert.deepEqual(scanSegment(withJunk).records.map((r) => r.timestampMs - t), [0, 1, 2]);
    assert.deepEqual(scanSegment(withJunk).skipped, [{ offset: MAGIC.length + recs[0]!.length, bytes: junk.length }]);
    assert.equal(scanSegment(buf.subarray(0, buf.length - 1)).records.length, 2);
    assert.equal(scanSegment(Buffer.from('not a queue')).badMagic, true);
  });

  it('gives up resynchronising after a bounded amount of checksumming (damage full of record-like headers)', () => {
    const t = Date.parse('2026-12-01T00:00:00Z');
    // Every 64 bytes a header that passes the cheap tests and claims a record running to the end.
    const junk = Buffer.alloc(256 * 1024);
    for (let p = 0; p + 21 < junk.length; p += 64) {
      junk.writeUInt32LE(junk.length - p - 8, p);
      junk.writeDoubleLE(t, p + 8);
      junk.writeUInt32LE(1, p + 16);
      junk[p + 20] = 0x0a;
    }
    const first = encodeRecord(t, 1, request(1));
    const scan = scanSegment(Buffer.concat([MAGIC, first, junk, encodeRecord(t + 1, 1, request(2))]));
    // Checking each of these would cost ~4000 CRCs over ~128 KiB: the budget stops it early.
    assert.deepEqual(scan.records.map((r) => r.timestampMs - t), [0]);
    assert.equal(scan.goodBytes, MAGIC.length + first.length);
  });

  it('sends the good records after garbage in the middle of a segment, and says what it skipped', () => {
    const now = Date.now();
    const q = open();
    for (let i = 0; i < 3; i++) q.append(now + i, 1, request(i));
    q.close();
    const file = path.join(dir, readdirSync(dir).filter((f) => f.endsWith('.seg')).sort()[0]!);
    const bytes = readFileSync(file);
    const second = MAGIC.length + encodeRecord(now, 1, request(0)).length;
    bytes[second + 30]! ^= 0xff;
    writeFileSync(file, bytes);
    logs.length = 0;
    const q2 = open();
    assert.deepEqual(q2.peek(100).map((r) => q2.read(r)?.[1]), [0, 2]);
    const warn = logs.map((l) => JSON.parse(l) as { msg: string; offset?: number; skipped_bytes?: number }).find((l) => /damaged bytes/.test(l.msg));
    assert.ok(warn, logs.join('\n'));
    assert.equal(warn.offset, second);
    assert.ok(!logs.some((l) => l.includes('at the end of a segment')), logs.join('\n'));
    q2.close();
  });

  it('a saved position inside a record, past its segment or in a segment that is not there sends again, and says so', () => {
    const now = Date.now();
    const q = open();
    for (let i = 0; i < 3; i++) q.append(now + i, 1, payload(i));
    q.close();
    const seg = readdirSync(dir).filter((f) => f.endsWith('.seg')).sort()[0]!;
    const segment = Number(seg.slice(0, 16));
    const rec = encodeRecord(now, 1, payload(0)).length;
    writeFileSync(path.join(dir, 'cursor'), JSON.stringify({ segment, offset: MAGIC.length + rec + 3 }));
    logs.length = 0;
    const q2 = open();
    assert.deepEqual(q2.peek(100).map((r) => q2.read(r)?.[0]), [1, 2]);
    assert.ok(logs.some((l) => l.includes('points inside a record')), logs.join('\n'));
    q2.close();

    writeFileSync(path.join(dir, 'cursor'), JSON.stringify({ segment, offset: 1 << 20 }));
    logs.length = 0;
    const q3 = open();
    assert.deepEqual(q3.peek(100).map((r) => q3.read(r)?.[0]), [0, 1, 2]);
    assert.ok(logs.some((l) => l.includes('past the end of its segment; sending the segment again')), logs.join('\n'));
    q3.close();

    writeFileSync(path.join(dir, 'cursor'), JSON.stringify({ segment: segment + 5, offset: 8 }));
    logs.length = 0;
    const q4 = open();
    assert.deepEqual(q4.peek(100).map((r) => q4.read(r)?.[0]), [0, 1, 2]);
    assert.ok(logs.some((l) => l.includes('names a segment that is not there')), logs.join('\n'));
    q4.close();
  });

  it('an unreadable saved position sends everything, and says so', () => {
    const now = Date.now();
    const q = open();
    q.append(now, 1, payload(0));
    q.ack(q.peek(1));
    q.append(now + 1, 1, payload(1));
    q.close();
    writeFileSync(path.join(dir, 'cursor'), '{"segment": -3, "offset": "x"}');
    logs.length = 0;
    const q2 = open();
    assert.deepEqual(q2.peek(100).map((r) => q2.read(r)?.[0]), [0, 1]);
    assert.ok(logs.some((l) => l.includes('send position is unreadable')), logs.join('\n'));
    q2.close();
  });

  it('a record damaged after it was indexed is not sent (read returns undefined)', () => {
    const q = open();
    // Past the in-memory cache? No: force a read from disk by reopening.
    q.append(Date.now(), 1, payload(1, 200));
    q.close();
    const seg = readdirSync(dir).filter((f) => f.endsWith('.seg')).sort()[0]!;
    const q2 = open();
    const [rec] = q2.peek(10);
    const file = path.join(dir, seg);
    const bytes = readFileSync(file);
    bytes[bytes.length - 5]! ^= 0xff;
    writeFileSync(file, bytes);
    assert.equal(q2.read(rec!), undefined);
    q2.close();
  });

  it('drops the oldest segments when over max bytes, and counts their samples', () => {
    const q = open({ maxBytes: 64 * 1024, segmentBytes: 8 * 1024 });
    const now = Date.now();
    for (let i = 0; i < 100; i++) q.append(now + i, 2, payload(i, 1000));
    assert.ok(q.bytes <= 64 * 1024, `${q.bytes}`);
    const dropped = drops.filter(([r]) => r === 'queue_full').reduce((n, [, k]) => n + k, 0);
    assert.ok(dropped > 0);
    // Nothing lost without being counted, and what is left is the newest, in order.
    assert.equal(dropped + q.pendingSamples, 200);
    const left = q.peek(Infinity).map((r) => r.timestampMs);
    assert.equal(left[left.length - 1], now + 99);
    assert.deepEqual(left, [...left].sort((a, b) => a - b));
    q.close();
  });

  it('drops records older than max age and counts them', () => {
    let now = 1_000_000;
    const q = open({ maxAgeMs: 10_000, now: () => now });
    q.append(now - 20_000, 4, payload(1));
    q.append(now - 5_000, 3, payload(2));
    now += 1000;
    assert.equal(q.dropExpired(), 4);
    assert.deepEqual(drops, [['too_old', 4]]);
    assert.equal(q.pendingSamples, 3);
    q.close();
  });

  it('deletes segments once everything in them was sent', () => {
    const q = open({ segmentBytes: 1024 });
    for (let i = 0; i < 10; i++) q.append(Date.now(), 1, payload(i, 500));
    assert.ok(readdirSync(dir).filter((f) => f.endsWith('.seg')).length > 3);
    q.ack(q.peek(Infinity));
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.seg')).length, 1);
    q.close();
  });

  it('is locked against a second live process, and takes over the lock of a dead one', () => {
    const q = open();
    // The lock names this process; a child holding it would be "another live process".
    q.close();
    const child = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
    const deadPid = Number(child.stdout.trim());
    writeFileSync(path.join(dir, 'lock'), `${deadPid} 12345`);
    open().close(); // dead owner: taken over
    writeFileSync(path.join(dir, 'lock'), `1 `); // pid 1 is alive (init)
    assert.throws(() => open(), QueueLockedError);
    truncateSync(path.join(dir, 'lock'));
    rmSync(path.join(dir, 'lock'));
  });
});
