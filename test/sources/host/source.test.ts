import assert from 'node:assert/strict';
import childProcess from 'node:child_process';
import path from 'node:path';
import { createHostSource } from '../../../agent/sources/host/source';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { captureLogs, log, setLogLevel } from '../../../agent/core/log';
import type { Sample } from '../../../agent/core/sample';
import { FilesystemCollector } from '../../../agent/sources/host/filesystem';
import { NoDataError, type HostCollector } from '../../../agent/sources/host/collector';
import { COLLECTORS } from '../../../agent/sources/host/collectors';
import { tempDir } from '../../helpers/servers';

const FIXTURE_ROOT = path.join(__dirname, '../../fixtures/proc');
const success = (samples: Sample[], collector: string): number | undefined =>
  samples.find((s) => s.name === 'node_scrape_collector_success' && s.labels.collector === collector)?.value;

describe('sources/host', () => {
  it('collects every node_exporter family from the live host', async () => {
    const samples = await createHostSource({ logger: log }).collect(new Date());
    const names = new Set(samples.map((s) => s.name));
    for (const n of [
      'node_cpu_seconds_total', 'node_memory_MemTotal_bytes', 'node_memory_MemAvailable_bytes', 'node_memory_MemFree_bytes',
      'node_memory_Buffers_bytes', 'node_memory_Cached_bytes', 'node_memory_SwapTotal_bytes', 'node_memory_SwapFree_bytes',
      'node_load1', 'node_load5', 'node_load15', 'node_filesystem_size_bytes', 'node_filesystem_avail_bytes',
      'node_filesystem_free_bytes', 'node_network_receive_bytes_total', 'node_network_transmit_bytes_total',
      'node_network_receive_errs_total', 'node_network_receive_packets_total', 'node_disk_read_bytes_total',
      'node_disk_written_bytes_total', 'node_disk_io_time_seconds_total', 'node_boot_time_seconds', 'node_time_seconds',
    ])
      assert.ok(names.has(n), `missing ${n}`);
    // A kernel without PSI (before 4.20, psi=0) has no /proc/pressure: "no data", success 0.
    const noData = existsSync('/proc/pressure/cpu') ? [] : ['pressure'];
    const failed = samples.filter((s) => s.name === 'node_scrape_collector_success' && s.value !== 1 && !noData.includes(s.labels.collector!));
    assert.deepEqual(failed, []);
  });

  it('starts no child process in a cycle', async () => {
    // Every exec/execFile/spawn/fork goes through ChildProcess.prototype.spawn, even when a
    // module captured `exec` at load time.
    const proto = childProcess.ChildProcess.prototype as unknown as { spawn: (...a: unknown[]) => unknown };
    const original = proto.spawn;
    let spawned = 0;
    proto.spawn = function (this: unknown, ...args: unknown[]) {
      spawned++;
      return original.apply(this, args);
    };
    try {
      const src = createHostSource({ logger: log });
      await src.collect(new Date());
      await src.collect(new Date());
      assert.equal(spawned, 0);
      // The counter works: a real child process is seen.
      await new Promise((resolve) => childProcess.execFile('true', resolve));
      assert.equal(spawned, 1);
    } finally {
      proto.spawn = original;
    }
  });

  it('reports a broken collector as a metric and keeps the others', async () => {
    // The fixture root without /proc/net/dev: netdev fails, every other collector works.
    const root = tempDir('dbx-prom-proc-');
    cpSync(FIXTURE_ROOT, root, { recursive: true });
    rmSync(path.join(root, 'proc/net/dev'));
    const lines: string[] = [];
    const restore = captureLogs((l) => lines.push(l));
    let samples: Sample[];
    try {
      samples = await createHostSource({ logger: log, procRoot: root }).collect(new Date());
    } finally {
      restore();
      rmSync(root, { recursive: true, force: true });
    }
    const names = new Set(samples.map((s) => s.name));
    const others = COLLECTORS.filter((c) => c.defaultOn && c.name !== 'netdev').map((c) => c.name);
    assert.ok(others.length >= 5, others.join());
    assert.equal(success(samples, 'netdev'), 0);
    for (const c of others) assert.equal(success(samples, c), 1, `collector ${c}`);
    assert.deepEqual([...names].filter((n) => n.startsWith('node_network_')), [], 'no samples from the broken collector');
    // The others' samples are all there, with the fixture's values.
    assert.ok(samples.some((s) => s.name === 'node_load1' && s.value === 0.08));
    for (const n of ['node_cpu_seconds_total', 'node_memory_MemTotal_bytes', 'node_disk_read_bytes_total', 'node_filesystem_size_bytes', 'node_time_seconds'])
      assert.ok(names.has(n), `missing ${n}`);
    assert.ok(samples.some((s) => s.name === 'node_scrape_collector_duration_seconds' && s.labels.collector === 'netdev'));
    // The failure is said once, at warn, naming the collector.
    const said = lines.map((l) => JSON.parse(l) as { level: string; msg: string; error?: string });
    assert.deepEqual(said.map((l) => [l.level, l.msg]), [['warn', 'host collector netdev failed; further failures are logged at debug until it recovers']]);
    assert.match(said[0]!.error ?? '', /ENOENT.*proc\/net\/dev/);
  });

  it('a collector with no data here (NoDataError) reports success 0, logged at debug, not warn', async () => {
    const noData: HostCollector = {
      name: 'nodata',
      defaultOn: true,
      help: 'a file this kernel does not have',
      create: () => async () => {
        throw new NoDataError('no /proc/nodata on this kernel');
      },
    };
    const cpu = COLLECTORS.find((c) => c.name === 'cpu')!;
    const src = createHostSource({ logger: log, procRoot: FIXTURE_ROOT, collectors: [cpu, noData] });
    setLogLevel('debug');
    const lines: string[] = [];
    const restore = captureLogs((l) => lines.push(l));
    let first: Sample[];
    let second: Sample[];
    try {
      first = await src.collect(new Date());
      second = await src.collect(new Date());
    } finally {
      restore();
    }
    for (const samples of [first, second]) {
      assert.equal(success(samples, 'nodata'), 0);
      assert.equal(success(samples, 'cpu'), 1);
      assert.ok(samples.some((s) => s.name === 'node_cpu_seconds_total'));
    }
    const said = lines.map((l) => JSON.parse(l) as { level: string; msg: string; error?: string });
    assert.deepEqual(said.map((l) => [l.level, l.msg]), [
      ['debug', 'host collector nodata: no data'],
      ['debug', 'host collector nodata: no data'],
    ]);
    assert.equal(said[0]!.error, 'no /proc/nodata on this kernel');
  });

  it('skips a mount whose statfs hangs instead of piling up on it', async () => {
    let calls = 0;
    const read = async () => 'server:/export /mnt/nfs nfs4 rw 0 0\n/dev/sda1 /data ext4 rw 0 0\n';
    const stat = (p: string) => {
      calls++;
      if (p === '/mnt/nfs') return new Promise<never>(() => undefined);
      return Promise.resolve({ bsize: 1, blocks: 10, bfree: 5, bavail: 4, files: 1, ffree: 1 });
    };
    const local: string[] = [];
    const statNow = (p: string) => (local.push(p), { bsize: 1, blocks: 10, bfree: 5, bavail: 4, files: 1, ffree: 1 });
    const fs = new FilesystemCollector(read, stat, 50, statNow);
    const first = await fs.collect();
    const err = (s: typeof first, mp: string) =>
      s.find((x) => x.name === 'node_filesystem_device_error' && x.labels.mountpoint === mp)?.value;
    assert.equal(err(first, '/mnt/nfs'), 1);
    assert.equal(err(first, '/data'), 0);
    // The NFS mount is asked on the thread pool (it can hang), the local ext4 one at once.
    assert.equal(calls, 1);
    assert.deepEqual(local, ['/data']);
    const second = await fs.collect();
    assert.equal(err(second, '/mnt/nfs'), 1);
    assert.equal(calls, 1, 'the stuck mount is not statted again');
    assert.deepEqual(local, ['/data', '/data']);
  });
});
