/**
 * The remote-write disk queue: every cycle's encoded samples are appended here before they are
 * sent, so an outage of the receiver or a `kill -9` of the agent loses nothing that fits in
 * `--queue-max-bytes` and is younger than `--queue-max-age`.
 *
 * Layout of the queue directory:
 *   <seq:16 digits>.seg  segment files: an 8-byte magic, then records
 *                        [u32 LE payload length][u32 LE CRC-32 of payload][payload]
 *                        payload = [f64 LE batch timestamp ms][u32 LE samples][protobuf]
 *                        where protobuf is a complete WriteRequest (see protobuf.ts).
 *   cursor               JSON {segment, offset} of the first record not yet sent.
 *   lock                 "<pid> <process start time>" of the agent using the queue.
 *
 * Durability: appends are plain write(2) calls into the page cache, no fsync. That survives a
 * crash or `kill -9` of the agent (the kernel owns the data once write returns), which is what
 * happens to agents. It does not survive a power loss of the node within the kernel's
 * writeback delay (~30 s); on Databricks the local disk dies with the node anyway, so an fsync
 * per cycle would cost every cycle a disk flush to protect data that would be lost regardless.
 * A record torn by a power loss fails its length or CRC check and is skipped with a warning,
 * never fatal. The cursor is rewritten after each acknowledged send (write + rename); losing
 * its last update resends a batch, which Prometheus accepts as a duplicate (same timestamp,
 * same value).
 *
 * Each start opens a new segment, so appends never follow a torn tail. Whole segments are
 * deleted once sent; when the queue exceeds its byte cap the oldest segment is dropped, and its
 * unsent samples are counted.
 *
 * A full disk (shuffle filling /local_disk0) must not silence the node: when a write fails, the
 * space of records already sent is reclaimed (the active segment is cut back to its header when
 * nothing in it is unsent) and the write tried once more; if the disk still refuses, the record
 * is kept in memory only (up to MEMORY_ONLY_BYTES, oldest dropped first), sent in its turn, and
 * lost only if the agent stops before it is sent.
 */
import {
  closeSync, existsSync, ftruncateSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync,
  readSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '../../core/log';
import { RepeatLog } from '../../core/outage';

export const MAGIC = Buffer.from('DBXRWQ1\n', 'latin1');
const RECORD_HEADER = 8;
const META = 12;
const SEGMENT_RE = /^(\d{16})\.seg$/;
/** Payload bytes kept in memory besides the file, so the usual send needs no read back. */
const MEMORY_CACHE_BYTES = 16 * 1024 * 1024;
/** Payload bytes of records the disk refused, kept in memory until sent (about an hour of a busy driver at 15 s). */
export const MEMORY_ONLY_BYTES = 16 * 1024 * 1024;
/** The segment number of a record the disk refused: it lives in memory only. */
export const IN_MEMORY = -1;
/** Far larger than any record the agent writes (max-samples-per-send bounds one); a length past it is damage. */
const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export type DropReason = 'queue_full' | 'too_old' | 'corrupt' | 'disk_error';

export interface QueueOptions {
  dir: string;
  maxBytes: number;
  maxAgeMs: number;
  logger: Logger;
  /** Segment size; default maxBytes/8 within [64 KiB, 32 MiB], so dropping one is a small part. */
  segmentBytes?: number;
  now?: () => number;
  /** Called whenever samples leave the queue unsent. */
  onDrop?: (reason: DropReason, samples: number) => void;
  /** Memory for records the disk refused (default MEMORY_ONLY_BYTES). */
  memoryOnlyBytes?: number;
}

export interface QueuedRecord {
  /** IN_MEMORY for a record the disk refused. */
  readonly segment: number;
  readonly offset: number;
  /** Bytes on disk including the record header. */
  readonly size: number;
  readonly samples: number;
  readonly timestampMs: number;
  data?: Buffer;
  done: boolean;
  /** Set when the record left the queue unsent. */
  dropped?: DropReason | 'rejected';
  /** Set by the sender while a request carries it: it is not dropped for memory meanwhile. */
  sending?: boolean;
}

interface Segment {
  seq: number;
  file: string;
  fd?: number;
  size: number;
}

export class QueueLockedError extends Error {}

function segName(seq: number): string {
  return String(seq).padStart(16, '0') + '.seg';
}

/** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot; tells a reused pid apart. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Encodes one record (header + payload) as it is written to a segment. */
export function encodeRecord(timestampMs: number, samples: number, protobuf: Buffer): Buffer {
  const rec = Buffer.allocUnsafe(RECORD_HEADER + META + protobuf.length);
  rec.writeDoubleLE(timestampMs, RECORD_HEADER);
  rec.writeUInt32LE(samples, RECORD_HEADER + 8);
  protobuf.copy(rec, RECORD_HEADER + META);
  rec.writeUInt32LE(META + protobuf.length, 0);
  rec.writeUInt32LE(crc32(rec.subarray(RECORD_HEADER)), 4);
  return rec;
}

export interface ScannedRecord {
  offset: number;
  size: number;
  timestampMs: number;
  samples: number;
}

export interface SkippedBytes {
  offset: number;
  bytes: number;
}

export interface ScannedSegment {
  records: ScannedRecord[];
  /** End of the last good record: what follows it is a torn or damaged tail. */
  goodBytes: number;
  badMagic: boolean;
  /** Damaged stretches between good records, skipped to resynchronise on the next good one. */
  skipped: SkippedBytes[];
}

/** A whole, CRC-checked record at `pos`, or undefined. */
function recordAt(buf: Buffer, pos: number): ScannedRecord | undefined {
  if (pos + RECORD_HEADER + META > buf.length) return undefined;
  const len = buf.readUInt32LE(pos);
  if (len < META || len > MAX_RECORD_BYTES || pos + RECORD_HEADER + len > buf.length) return undefined;
  const payload = buf.subarray(pos + RECORD_HEADER, pos + RECORD_HEADER + len);
  if (crc32(payload) !== buf.readUInt32LE(pos + 4)) return undefined;
  return { offset: pos, size: RECORD_HEADER + len, timestampMs: payload.readDoubleLE(0), samples: payload.readUInt32LE(8) };
}

/** First byte of every WriteRequest the agent queues: field 1 (timeseries), length-delimited. */
const WRITE_REQUEST_TAG = 0x0a;

/**
 * The next position after `from` where a good record starts, or undefined. Cheap tests first:
 * the batch time's top byte (0x42 for every time in ms between 2001 and 2286) and the
 * WriteRequest's first byte each rule out all but 1 in 256 positions, then a plausible length
 * and sample count; the CRC runs on the few left. `budget` bounds the bytes checksummed in a
 * whole segment, so crafted damage cannot make the start (which scans before the agent runs)
 * slow: past it, the rest is taken as a torn tail.
 */
function nextRecord(buf: Buffer, from: number, budget: { bytes: number }): ScannedRecord | undefined {
  for (let p = from; p + RECORD_HEADER + META + 1 <= buf.length; p++) {
    if (buf[p + RECORD_HEADER + 7] !== 0x42 || buf[p + RECORD_HEADER + META] !== WRITE_REQUEST_TAG) continue;
    const len = buf.readUInt32LE(p);
    if (len < META || p + RECORD_HEADER + len > buf.length) continue;
    const t = buf.readDoubleLE(p + RECORD_HEADER);
    if (!(t >= 1e12 && t < 1e13) || buf.readUInt32LE(p + RECORD_HEADER + 8) === 0) continue;
    budget.bytes -= len;
    if (budget.bytes < 0) return undefined;
    const r = recordAt(buf, p);
    if (r) return r;
  }
  return undefined;
}

/**
 * Reads the records of one segment's bytes. A damaged record in the middle (a bad sector, a
 * stray write) is skipped and reading resumes at the next good record, so the good records
 * after it are still sent; what follows the last good record is a torn tail (a power loss
 * mid-write) and is ignored.
 */
export function scanSegment(buf: Buffer): ScannedSegment {
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC))
    return { records: [], goodBytes: 0, badMagic: true, skipped: [] };
  const records: ScannedRecord[] = [];
  const skipped: SkippedBytes[] = [];
  const budget = { bytes: 4 * buf.length };
  let pos = MAGIC.length;
  while (pos < buf.length) {
    let r = recordAt(buf, pos);
    if (!r) {
      r = nextRecord(buf, pos + 1, budget);
      if (!r) break;
      skipped.push({ offset: pos, bytes: r.offset - pos });
    }
    records.push(r);
    pos = r.offset + r.size;
  }
  return { records, goodBytes: pos, badMagic: false, skipped };
}

/** Where sending resumes, as saved in the cursor file. */
export interface Cursor {
  segment: number;
  offset: number;
}

export class DiskQueue {
  private readonly segments: Segment[] = [];
  private readonly pending: QueuedRecord[] = [];
  private active!: Segment;
  private pendingSamplesCount = 0;
  private memoryBytes = 0;
  /** Payload bytes of pending IN_MEMORY records. */
  private memoryOnly = 0;
  private closed = false;
  private readonly cursorLog: RepeatLog;
  private readonly now: () => number;
  private readonly segmentBytes: number;
  private readonly lockFile: string;
  private readonly cursorFile: string;

  private constructor(private readonly o: QueueOptions) {
    this.now = o.now ?? Date.now;
    this.segmentBytes = o.segmentBytes ?? Math.min(32 << 20, Math.max(64 << 10, Math.floor(o.maxBytes / 8)));
    this.lockFile = path.join(o.dir, 'lock');
    this.cursorFile = path.join(o.dir, 'cursor');
    this.cursorLog = new RepeatLog(o.logger, 'remote-write queue: cannot save the send position (a restart resends from the last saved one)', 'warn');
  }

  /** Opens (or creates) the queue: takes the lock, reads what a previous run left, starts a new segment. */
  static open(o: QueueOptions): DiskQueue {
    const q = new DiskQueue(o);
    mkdirSync(o.dir, { recursive: true });
    q.lock();
    try {
      q.load();
    } catch (e) {
      q.unlock();
      throw e;
    }
    return q;
  }

  private lock(): void {
    const me = `${process.pid} ${processStartTime(process.pid) ?? ''}`;
    try {
      writeFileSync(this.lockFile, me, { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const [pidText, start] = readFileSync(this.lockFile, 'utf8').trim().split(' ');
    const pid = Number(pidText);
    const owned =
      Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid) &&
      (start === undefined || start === '' || processStartTime(pid) === undefined || processStartTime(pid) === start);
    if (owned) throw new QueueLockedError(`queue ${this.o.dir} is in use by process ${pid}`);
    // The owner is gone (crash, kill -9) or the pid was reused: the queue is ours.
    writeFileSync(this.lockFile, me);
  }

  private unlock(): void {
    try {
      const owner = readFileSync(this.lockFile, 'utf8').split(' ')[0];
      if (Number(owner) === process.pid) unlinkSync(this.lockFile);
    } catch {
      /* already gone */
    }
  }

  private readCursor(): Cursor {
    let text: string;
    try {
      text = readFileSync(this.cursorFile, 'utf8');
    } catch {
      return { segment: 0, offset: 0 }; // no cursor yet: send everything that is there
    }
    try {
      const c = JSON.parse(text) as { segment?: unknown; offset?: unknown };
      if (Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset) && (c.segment as number) >= 0 && (c.offset as number) >= 0)
        return { segment: c.segment as number, offset: c.offset as number };
    } catch {
      /* said below */
    }
    this.o.logger.warn('remote-write queue: the saved send position is unreadable; sending everything queued (the receiver takes a duplicate sample as the same one)', {
      file: this.cursorFile,
    });
    return { segment: 0, offset: 0 };
  }

  /** Says what a segment's scan found: damage skipped, a torn tail, a cursor that is not a record boundary. */
  private reportScan(file: string, size: number, scan: ScannedSegment, cursorOffset: number | undefined): void {
    const log = this.o.logger;
    if (scan.badMagic) {
      log.warn('remote-write queue: not a queue segment, ignored', { file });
      return;
    }
    for (const s of scan.skipped)
      log.warn('remote-write queue: skipped damaged bytes in a segment; the records after them are still sent', {
        file,
        offset: s.offset,
        skipped_bytes: s.bytes,
      });
    if (scan.goodBytes < size)
      // A torn tail (power loss mid-write): the records before it are still good.
      log.warn('remote-write queue: skipped a torn or damaged record at the end of a segment', { file, skipped_bytes: size - scan.goodBytes });
    if (cursorOffset === undefined) return;
    if (cursorOffset > scan.goodBytes)
      log.warn('remote-write queue: the saved send position is past the end of its segment; sending the segment again', {
        file,
        offset: cursorOffset,
        size: scan.goodBytes,
      });
    else if (cursorOffset !== scan.goodBytes && cursorOffset > MAGIC.length && !scan.records.some((r) => r.offset === cursorOffset))
      log.warn('remote-write queue: the saved send position points inside a record; sending again from that record', { file, offset: cursorOffset });
  }

  private load(): void {
    let cursor = this.readCursor();
    const seqs = readdirSync(this.o.dir)
      .map((f) => SEGMENT_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    // Segments before the cursor's are deleted before the cursor moves past them: one left
    // below a segment that is not there means a damaged cursor. Send again rather than lose.
    if (!seqs.includes(cursor.segment) && seqs.some((q) => q < cursor.segment)) {
      this.o.logger.warn('remote-write queue: the saved send position names a segment that is not there; sending everything queued again', {
        segment: cursor.segment,
        segments: seqs.length,
      });
      cursor = { segment: 0, offset: 0 };
    }
    let lastSeq = 0;
    for (const seq of seqs) {
      lastSeq = seq;
      const file = path.join(this.o.dir, segName(seq));
      const buf = readFileSync(file);
      const scan = scanSegment(buf);
      this.reportScan(file, buf.length, scan, seq === cursor.segment ? cursor.offset : undefined);
      // Past the end of its segment means damage too: the whole segment goes again.
      const sentUpTo = seq === cursor.segment && cursor.offset > scan.goodBytes ? 0 : cursor.offset;
      let kept = 0;
      for (const r of scan.records) {
        // Sent: the cursor is at or past the record's end (inside it means damage: send it again).
        if (seq < cursor.segment || (seq === cursor.segment && r.offset + r.size <= sentUpTo)) continue;
        this.pending.push({ segment: seq, offset: r.offset, size: r.size, samples: r.samples, timestampMs: r.timestampMs, done: false });
        this.pendingSamplesCount += r.samples;
        kept++;
      }
      if (kept === 0) rmSync(file, { force: true });
      else this.segments.push({ seq, file, size: buf.length });
    }
    if (this.pending.length > 0)
      this.o.logger.info('remote-write queue: found unsent samples from a previous run', {
        samples: this.pendingSamplesCount,
        records: this.pending.length,
      });
    const seq = lastSeq + 1;
    try {
      this.activate(this.openSegment(seq));
    } catch (e) {
      // A full disk at start: run anyway, keeping records in memory until a segment can be made.
      this.diskError = e instanceof Error ? e.message : String(e);
      this.activate({ seq, file: path.join(this.o.dir, segName(seq)), size: 0 });
    }
    this.writeCursor();
  }

  /** Opens (or creates) a segment; throws leaving nothing half-made (a full disk). */
  private openSegment(seq: number): Segment {
    const file = path.join(this.o.dir, segName(seq));
    const fd = openSync(file, 'a+');
    try {
      if (fstatSync(fd).size === 0) writeSync(fd, MAGIC);
      return { seq, file, fd, size: fstatSync(fd).size };
    } catch (e) {
      closeSync(fd);
      rmSync(file, { force: true });
      throw e;
    }
  }

  private activate(seg: Segment): void {
    this.segments.push(seg);
    this.active = seg;
  }

  get pendingSamples(): number {
    return this.pendingSamplesCount;
  }

  get pendingRecords(): number {
    return this.pending.length;
  }

  /** Batch timestamp of the oldest unsent record, or undefined when all is sent. */
  get oldestTimestampMs(): number | undefined {
    return this.pending[0]?.timestampMs;
  }

  /** Bytes of all segment files. */
  get bytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  get dir(): string {
    return this.o.dir;
  }

  /**
   * Appends one encoded WriteRequest of `samples` samples taken at `timestampMs`. Never throws
   * for a disk that refuses the write: the record is then kept in memory (`segment` IN_MEMORY)
   * and `diskError` says why.
   */
  append(timestampMs: number, samples: number, protobuf: Buffer): QueuedRecord {
    if (this.closed) throw new Error('queue is closed');
    const rec = encodeRecord(timestampMs, samples, protobuf);
    let r: QueuedRecord;
    try {
      r = this.appendToDisk(rec, timestampMs, samples);
    } catch (first) {
      // The disk is full or failing: make room from what was sent already, then try once more.
      try {
        if (!this.reclaim()) throw first;
        r = this.appendToDisk(rec, timestampMs, samples);
      } catch (e) {
        this.diskError = e instanceof Error ? e.message : String(e);
        return this.keepInMemory(timestampMs, samples, protobuf, rec.length);
      }
    }
    this.diskError = undefined;
    if (this.memoryBytes + protobuf.length <= MEMORY_CACHE_BYTES) {
      r.data = protobuf;
      this.memoryBytes += protobuf.length;
    }
    this.pending.push(r);
    this.pendingSamplesCount += samples;
    this.enforceMaxBytes();
    return r;
  }

  /** Why the last append could not go to disk, or undefined when it did. */
  diskError?: string;

  private appendToDisk(rec: Buffer, timestampMs: number, samples: number): QueuedRecord {
    // Not made at start (the disk was full): try again now.
    if (this.active.fd === undefined) Object.assign(this.active, this.openSegment(this.active.seq));
    if (this.active.size > MAGIC.length && this.active.size + rec.length > this.segmentBytes) {
      try {
        this.rotate();
      } catch {
        // No room for a new segment file: the current one may still take the record.
      }
    }
    const seg = this.active;
    let written = 0;
    try {
      written = writeSync(seg.fd!, rec);
    } finally {
      if (written !== rec.length) {
        // ENOSPC or a short write: cut the partial record off so later appends stay readable.
        try {
          ftruncateSync(seg.fd!, seg.size);
        } catch {
          /* the scanner resynchronises after the torn record on the next start */
        }
      }
    }
    if (written !== rec.length) throw new Error(`short write to ${seg.file} (${written} of ${rec.length} bytes)`);
    const r: QueuedRecord = { segment: seg.seq, offset: seg.size, size: rec.length, samples, timestampMs, done: false };
    seg.size += rec.length;
    return r;
  }

  /**
   * Frees the disk space of sent records: segments nothing unsent points into are deleted
   * (compact), and the active segment is cut back to its header when all of it was sent.
   * Returns whether anything was freed.
   */
  private reclaim(): boolean {
    const before = this.bytes;
    this.compact();
    const seg = this.active;
    // Nothing unsent on disk (compact left the active segment alone): its records may go.
    if (this.firstOnDisk() === undefined && seg.size > MAGIC.length && seg.fd !== undefined) {
      // The saved position must never point past the cut: records written after it would read
      // as sent on the next start. Save it first; if even that cannot be written, remove it
      // (an unlink needs no space, and no cursor means "send all", which is nothing here).
      if (!this.saveCursor({ segment: seg.seq, offset: MAGIC.length })) rmSync(this.cursorFile, { force: true });
      ftruncateSync(seg.fd, MAGIC.length);
      seg.size = MAGIC.length;
    }
    return this.bytes < before;
  }

  private keepInMemory(timestampMs: number, samples: number, protobuf: Buffer, size: number): QueuedRecord {
    const r: QueuedRecord = { segment: IN_MEMORY, offset: -1, size, samples, timestampMs, done: false, data: protobuf };
    this.pending.push(r);
    this.pendingSamplesCount += samples;
    this.memoryOnly += protobuf.length;
    // Over its memory: the oldest of these records go first (the newest say most about now).
    let dropped = 0;
    const cap = this.o.memoryOnlyBytes ?? MEMORY_ONLY_BYTES;
    for (const old of this.pending) {
      if (this.memoryOnly <= cap) break;
      if (old.segment !== IN_MEMORY || old.done || old.sending) continue;
      this.finish(old);
      old.dropped = 'disk_error';
      dropped += old.samples;
    }
    if (dropped > 0) {
      this.compact();
      this.o.onDrop?.('disk_error', dropped);
    }
    return r;
  }

  /** Samples held in memory only because the disk refused them. */
  get memoryOnlySamples(): number {
    let n = 0;
    for (const r of this.pending) if (r.segment === IN_MEMORY && !r.done) n += r.samples;
    return n;
  }

  /** The next segment first, then the old one closed: a failed open (disk full) keeps appending possible. */
  private rotate(): void {
    const next = this.openSegment(this.active.seq + 1);
    closeSync(this.active.fd!);
    this.active.fd = undefined;
    this.activate(next);
  }

  /** Drops the oldest segments while the queue is over its cap, counting their unsent samples. */
  private enforceMaxBytes(): void {
    let dropped = 0;
    while (this.bytes > this.o.maxBytes && this.segments.length > 1) {
      const oldest = this.segments[0]!;
      for (const r of this.pending) {
        // In time order: the disk records of the oldest segment come first, perhaps between
        // records the disk refused (those are not in any segment).
        if (r.segment === IN_MEMORY) continue;
        if (r.segment !== oldest.seq) break;
        if (this.finish(r)) {
          dropped += r.samples;
          r.dropped = 'queue_full';
        }
      }
      this.removeSegment(oldest);
      this.compact();
    }
    if (dropped > 0) {
      this.o.onDrop?.('queue_full', dropped);
      this.writeCursor();
    }
  }

  private removeSegment(seg: Segment): void {
    const i = this.segments.indexOf(seg);
    if (i < 0) return;
    if (seg.fd !== undefined) closeSync(seg.fd);
    seg.fd = undefined;
    rmSync(seg.file, { force: true });
    this.segments.splice(i, 1);
  }

  private finish(r: QueuedRecord): boolean {
    if (r.done) return false;
    r.done = true;
    this.pendingSamplesCount -= r.samples;
    if (r.data) {
      if (r.segment === IN_MEMORY) this.memoryOnly -= r.data.length;
      else this.memoryBytes -= r.data.length;
      r.data = undefined;
    }
    return true;
  }

  /** The first unsent record that is on disk (the cursor's target). */
  private firstOnDisk(): QueuedRecord | undefined {
    return this.pending.find((r) => !r.done && r.segment !== IN_MEMORY);
  }

  /** Removes finished records from the front and deletes segments nothing points into. */
  private compact(): void {
    let n = 0;
    while (n < this.pending.length && this.pending[n]!.done) n++;
    if (n > 0) this.pending.splice(0, n);
    const first = this.firstOnDisk()?.segment ?? this.active.seq;
    while (this.segments.length > 1 && this.segments[0]!.seq < first && this.segments[0] !== this.active)
      this.removeSegment(this.segments[0]!);
  }

  /** Drops records older than max-age from the front; returns the samples dropped. */
  dropExpired(): number {
    const limit = this.now() - this.o.maxAgeMs;
    let dropped = 0;
    for (const r of this.pending) {
      if (r.timestampMs >= limit) break;
      if (this.finish(r)) {
        dropped += r.samples;
        r.dropped = 'too_old';
      }
    }
    if (dropped > 0) {
      this.compact();
      this.writeCursor();
      this.o.onDrop?.('too_old', dropped);
    }
    return dropped;
  }

  /**
   * The next records to send, oldest first: as many as fit in `maxSamples` (at least one, even
   * if it alone is larger), at most `maxRecords`. Records stay queued until `ack` or `reject`.
   */
  peek(maxSamples: number, maxRecords = Infinity): QueuedRecord[] {
    const out: QueuedRecord[] = [];
    let n = 0;
    for (const r of this.pending) {
      if (r.done) continue;
      if (out.length >= maxRecords || (out.length > 0 && n + r.samples > maxSamples)) break;
      out.push(r);
      n += r.samples;
    }
    return out;
  }

  /**
   * The record's WriteRequest bytes, from memory or from its segment (CRC-checked); undefined
   * when it cannot be had (torn, or its file removed by a temp-dir cleaner), so the sender
   * discards it as corrupt instead of stalling on it.
   */
  read(r: QueuedRecord): Buffer | undefined {
    if (r.data) return r.data;
    const seg = this.segments.find((s) => s.seq === r.segment);
    if (!seg) return undefined;
    let fd: number;
    try {
      fd = seg.fd ?? openSync(seg.file, 'r');
    } catch {
      return undefined;
    }
    try {
      const buf = Buffer.allocUnsafe(r.size);
      const got = readSync(fd, buf, 0, r.size, r.offset);
      const len = buf.readUInt32LE(0);
      if (got !== r.size || len !== r.size - RECORD_HEADER || crc32(buf.subarray(RECORD_HEADER)) !== buf.readUInt32LE(4))
        return undefined;
      return buf.subarray(RECORD_HEADER + META);
    } catch {
      return undefined;
    } finally {
      if (seg.fd === undefined) closeSync(fd);
    }
  }

  /** Marks records sent; returns how many of their samples were still pending. */
  ack(records: readonly QueuedRecord[]): number {
    return this.remove(records);
  }

  /** Removes records that will never be sent (rejected by the receiver, unreadable); returns their samples. */
  discard(records: readonly QueuedRecord[], reason: DropReason | 'rejected'): number {
    for (const r of records) if (!r.done) r.dropped = reason;
    const n = this.remove(records);
    if (reason !== 'rejected' && n > 0) this.o.onDrop?.(reason, n);
    return n;
  }

  private remove(records: readonly QueuedRecord[]): number {
    let n = 0;
    for (const r of records) if (this.finish(r)) n += r.samples;
    this.compact();
    this.writeCursor();
    return n;
  }

  private writeCursor(): void {
    if (this.closed) return;
    // Records kept in memory are not on disk to resume from: a restart loses them.
    const first = this.firstOnDisk();
    this.saveCursor(first ? { segment: first.segment, offset: first.offset } : { segment: this.active.seq, offset: this.active.size });
  }

  /** Writes the cursor file (write + rename); false when the disk refused it. */
  private saveCursor(cursor: Cursor): boolean {
    const tmp = this.cursorFile + '.tmp';
    try {
      writeFileSync(tmp, JSON.stringify(cursor));
      renameSync(tmp, this.cursorFile);
      return true;
    } catch (e) {
      // Disk full or gone: sending goes on. On a full disk this fails and succeeds by turns,
      // cycle after cycle: said at a bounded rate.
      this.cursorLog.note({ error: e instanceof Error ? e.message : String(e) });
      rmSync(tmp, { force: true });
      return false;
    }
  }

  /** Closes files and releases the lock; what is unsent stays on disk for the next start. */
  close(opts: { removeIfEmpty?: boolean } = {}): void {
    if (this.closed) return;
    this.writeCursor();
    this.closed = true;
    for (const s of this.segments) if (s.fd !== undefined) closeSync(s.fd);
    this.unlock();
    try {
      if (opts.removeIfEmpty && this.pending.length === 0 && existsSync(this.o.dir)) rmSync(this.o.dir, { recursive: true, force: true });
    } catch {
      /* left for the next start, which finds nothing to send in it */
    }
  }
}
