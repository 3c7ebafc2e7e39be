/**
 * A small tmpfs for the full-disk cases: `mount -t tmpfs` needs root, which the tests have
 * (CI runs as root). A filler file takes every free byte, as shuffle files filling
 * /local_disk0 do on a Databricks node.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './servers';

export interface Tmpfs {
  dir: string;
  /** Writes a filler file until the disk refuses more; returns the bytes it took. */
  fill(): number;
  /** Removes the filler file. */
  unfill(): void;
  unmount(): void;
}

export function mountTmpfs(sizeKiB: number): Tmpfs {
  const dir = tempDir('dbx-prom-tmpfs-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mount -t tmpfs failed (the full-disk tests need root): ${r.stderr || r.error?.message}`);
  }
  const filler = path.join(dir, 'filler');
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a');
      const block = Buffer.alloc(4096, 0x55);
      let n = 0;
      try {
        for (;;) {
          const w = writeSync(fd, block);
          n += w;
          if (w < block.length) break;
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      } finally {
        closeSync(fd);
      }
      return n;
    },
    unfill: () => rmSync(filler, { force: true }),
    unmount() {
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
