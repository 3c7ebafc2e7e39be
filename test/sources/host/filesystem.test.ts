import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { filesystemSamples, parseMounts } from '../../../agent/sources/host/filesystem';

const fixture = (p: string): string => readFileSync(path.join(__dirname, '../../fixtures/proc/proc', p), 'utf8');
const value = (samples: { name: string; labels: Record<string, string>; value: number }[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('sources/host/filesystem', () => {
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
});
