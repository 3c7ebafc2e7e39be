import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseProcStat, statSamples } from '../../../agent/sources/host/stat';
import { parseLoadavg } from '../../../agent/sources/host/loadavg';
import { parseNetDev } from '../../../agent/sources/host/netdev';
import { diskSamples, parseDiskstats } from '../../../agent/sources/host/diskstats';
import { filesystemSamples, parseMounts } from '../../../agent/sources/host/filesystem';
import { memorySamples, parseMeminfo } from '../../../agent/sources/host/meminfo';

const fixture = (p: string): string => readFileSync(path.join(__dirname, '../../fixtures/proc/proc', p), 'utf8');
const value = (samples: { name: string; labels: Record<string, string>; value: number }[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('sources/host parsers', () => {
  it('stat: CPU seconds per cpu and mode in USER_HZ, boot time, counters', () => {
    const st = parseProcStat(fixture('stat'));
    assert.equal(st.cpus.length, 2);
    assert.deepEqual(st.cpus.map((c) => c.cpu), ['0', '1']);
    // cpu0 2717 0 1076 39473 52 0 5 8 0 0
    assert.equal(st.cpus[0]!.seconds.user, 27.17);
    assert.equal(st.cpus[0]!.seconds.system, 10.76);
    assert.equal(st.cpus[0]!.seconds.idle, 394.73);
    assert.equal(st.cpus[0]!.seconds.steal, 0.08);
    const samples = statSamples(st);
    assert.equal(value(samples, 'node_cpu_seconds_total', { cpu: '1', mode: 'iowait' }), 1.91);
    assert.equal(samples.filter((s) => s.name === 'node_cpu_seconds_total').length, 16);
    assert.equal(value(samples, 'node_context_switches_total'), 414491);
    assert.ok((value(samples, 'node_boot_time_seconds') ?? 0) > 1.6e9);
  });

  it('loadavg: three numbers, and an error on garbage', () => {
    assert.deepEqual(parseLoadavg(fixture('loadavg')), [0.08, 0.13, 0.08]);
    assert.throws(() => parseLoadavg('nope'), /unexpected/);
  });

  it('netdev: receive and transmit counters per device', () => {
    const devs = parseNetDev(fixture('net/dev'));
    assert.deepEqual(devs.map((d) => d.device), ['lo', 'ifb0', 'ifb1', 'eth0']);
    const eth0 = devs.find((d) => d.device === 'eth0')!;
    assert.equal(eth0.stats.receive_bytes, 142891072);
    assert.equal(eth0.stats.receive_packets, 4188);
    assert.equal(eth0.stats.transmit_bytes, 396118);
    assert.equal(eth0.stats.transmit_packets, 3040);
  });

  it('diskstats: bytes from 512-byte sectors, seconds from ms, partitions and loops excluded', () => {
    const disks = parseDiskstats(fixture('diskstats'));
    assert.deepEqual(disks.map((d) => d.device), ['vda', 'nvme0n1', 'nvme1n1', 'sda']);
    const samples = diskSamples(disks);
    assert.equal(value(samples, 'node_disk_read_bytes_total', { device: 'vda' }), 1905346 * 512);
    assert.equal(value(samples, 'node_disk_written_bytes_total', { device: 'vda' }), 1494696 * 512);
    assert.equal(value(samples, 'node_disk_io_time_seconds_total', { device: 'vda' }), 4.14);
    assert.equal(value(samples, 'node_disk_io_now', { device: 'nvme1n1' }), 2);
    assert.equal(value(samples, 'node_disk_reads_completed_total', { device: 'sda' }), 100);
  });

  it("mounts: node_exporter's exclusions, an overlay root kept, duplicates and escapes handled", () => {
    const mounts = parseMounts(fixture('1/mounts'));
    assert.deepEqual(
      mounts.map((m) => `${m.mountpoint} ${m.fstype}`),
      ['/ overlay', '/local_disk0 ext4', '/mnt/readonly ext4', '/dbfs fuse', '/mnt/with space tmpfs'],
    );
    assert.equal(mounts.find((m) => m.mountpoint === '/mnt/readonly')!.readonly, true);
    assert.equal(mounts.find((m) => m.mountpoint === '/local_disk0')!.device, '/dev/nvme1n1');
  });

  it('filesystem samples: sizes in bytes, a device error when statfs failed', () => {
    const m = { device: '/dev/nvme1n1', mountpoint: '/local_disk0', fstype: 'ext4', readonly: false };
    const s = filesystemSamples(m, { bsize: 4096, blocks: 1000, bfree: 600, bavail: 500, files: 64, ffree: 60 });
    assert.equal(value(s, 'node_filesystem_size_bytes'), 4096000);
    assert.equal(value(s, 'node_filesystem_free_bytes'), 600 * 4096);
    assert.equal(value(s, 'node_filesystem_avail_bytes'), 500 * 4096);
    assert.equal(value(s, 'node_filesystem_device_error'), 0);
    assert.deepEqual(s[0]!.labels, { device: '/dev/nvme1n1', fstype: 'ext4', mountpoint: '/local_disk0' });
    assert.deepEqual(filesystemSamples(m, undefined).map((x) => [x.name, x.value]), [['node_filesystem_device_error', 1]]);
  });

  it('meminfo: node_exporter names in bytes; absent fields left out', () => {
    const s = memorySamples(parseMeminfo(fixture('meminfo')));
    assert.equal(value(s, 'node_memory_MemTotal_bytes'), 7812500 * 1024);
    assert.equal(value(s, 'node_memory_MemAvailable_bytes'), 3906250 * 1024);
    assert.equal(value(s, 'node_memory_SwapTotal_bytes'), 0);
    assert.equal(value(s, 'node_memory_Dirty_bytes'), undefined);
    assert.equal(value(s, 'node_memory_Writeback_bytes'), 4096);
  });
});
