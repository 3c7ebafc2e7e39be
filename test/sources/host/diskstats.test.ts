import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { diskSamples, parseDiskstats } from '../../../agent/sources/host/diskstats';

const fixture = (p: string): string => readFileSync(path.join(__dirname, '../../fixtures/proc/proc', p), 'utf8');
const value = (samples: { name: string; labels: Record<string, string>; value: number }[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('sources/host/diskstats', () => {
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
});
