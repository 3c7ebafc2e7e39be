/** /proc/diskstats: bytes and time per block device (node_exporter's diskstats collector). */
import { counter, gauge, type Sample } from '../../core/sample';
import type { ProcReader } from './proc';
import type { HostCollector } from './collector';

// node_exporter's default --collector.diskstats.device-exclude (1.6+, which also drops zram): partitions, loop and ram devices.
const EXCLUDE = /^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$/;
const SECTOR = 512; // the kernel always counts 512-byte sectors here, whatever the device's block size

const reads = counter('node_disk_reads_completed_total', 'The total number of reads completed successfully.');
const readsMerged = counter('node_disk_reads_merged_total', 'The total number of reads merged.');
const readBytes = counter('node_disk_read_bytes_total', 'The total number of bytes read successfully.');
const readTime = counter('node_disk_read_time_seconds_total', 'The total number of seconds spent by all reads.');
const writes = counter('node_disk_writes_completed_total', 'The total number of writes completed successfully.');
const writesMerged = counter('node_disk_writes_merged_total', 'The number of writes merged.');
const written = counter('node_disk_written_bytes_total', 'The total number of bytes written successfully.');
const writeTime = counter('node_disk_write_time_seconds_total', 'This is the total number of seconds spent by all writes.');
const ioNow = gauge('node_disk_io_now', 'The number of I/Os currently in progress.');
const ioTime = counter('node_disk_io_time_seconds_total', 'Total seconds spent doing I/Os.');
const ioWeighted = counter('node_disk_io_time_weighted_seconds_total', 'The weighted # of seconds spent doing I/Os.');

export interface DiskStat {
  device: string;
  f: number[];
}

export function parseDiskstats(text: string): DiskStat[] {
  const out: DiskStat[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 14) continue;
    const device = parts[2]!;
    if (EXCLUDE.test(device)) continue;
    out.push({ device, f: parts.slice(3).map(Number) });
  }
  return out;
}

export function diskSamples(disks: DiskStat[]): Sample[] {
  const out: Sample[] = [];
  for (const { device, f } of disks) {
    const l = { device };
    out.push(
      reads(l, f[0]!), readsMerged(l, f[1]!), readBytes(l, f[2]! * SECTOR), readTime(l, f[3]! / 1000),
      writes(l, f[4]!), writesMerged(l, f[5]!), written(l, f[6]! * SECTOR), writeTime(l, f[7]! / 1000),
      ioNow(l, f[8]!), ioTime(l, f[9]! / 1000), ioWeighted(l, f[10]! / 1000),
    );
  }
  return out;
}

export async function collectDiskstats(read: ProcReader): Promise<Sample[]> {
  return diskSamples(parseDiskstats(await read('proc/diskstats')));
}

export const diskstats: HostCollector = {
  name: 'diskstats',
  defaultOn: true,
  help: 'disk I/O counters from /proc/diskstats',
  create: (read) => () => collectDiskstats(read),
};
