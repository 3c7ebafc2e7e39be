/** Mounted filesystems: size, free, avail, inodes (node_exporter's filesystem collector). */
import { statfsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { gauge, type Sample } from '../../core/sample';
import { within } from '../../core/isolate';
import type { ProcReader } from './proc';
import type { HostCollector } from './collector';

// node_exporter 1.5 defaults (--collector.filesystem.mount-points-exclude / fs-types-exclude).
const MOUNT_EXCLUDE = /^\/(dev|proc|run\/credentials\/.+|sys|var\/lib\/docker\/.+|var\/lib\/containers\/storage\/.+)($|\/)/;
const FSTYPE_EXCLUDE =
  /^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$/;

const size = gauge('node_filesystem_size_bytes', 'Filesystem size in bytes.');
const free = gauge('node_filesystem_free_bytes', 'Filesystem free space in bytes.');
const avail = gauge('node_filesystem_avail_bytes', 'Filesystem space available to non-root users in bytes.');
const files = gauge('node_filesystem_files', 'Filesystem total file nodes.');
const filesFree = gauge('node_filesystem_files_free', 'Filesystem total free file nodes.');
const readonly = gauge('node_filesystem_readonly', 'Filesystem read-only status.');
const deviceError = gauge('node_filesystem_device_error', 'Whether an error occurred while getting statistics for the given device.');

export interface Mount {
  device: string;
  mountpoint: string;
  fstype: string;
  readonly: boolean;
}

// /proc/mounts escapes space, tab, newline and backslash as octal.
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * Parses /proc/mounts and keeps what node_exporter keeps, plus an overlay root: on container
 * runtimes `/` is overlay and a full root disk is exactly what an operator must see.
 */
export function parseMounts(text: string): Mount[] {
  const seen = new Set<string>();
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const [device, mp, fstype, options] = line.trim().split(/\s+/);
    if (!device || !mp || !fstype) continue;
    const mountpoint = unescape(mp);
    if (MOUNT_EXCLUDE.test(mountpoint)) continue;
    if (FSTYPE_EXCLUDE.test(fstype) && !(fstype === 'overlay' && mountpoint === '/')) continue;
    if (seen.has(mountpoint)) continue;
    seen.add(mountpoint);
    out.push({ device: unescape(device), mountpoint, fstype, readonly: (options ?? '').split(',').includes('ro') });
  }
  return out;
}

export interface FsStats {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

export type StatFs = (mountpoint: string) => Promise<FsStats>;
export type StatFsNow = (mountpoint: string) => FsStats;

/**
 * Filesystems whose statfs answers from the kernel's own memory: asked synchronously (a few µs,
 * where a thread-pool round trip costs ~0.5 ms of CPU per mount per cycle, measured). Any other
 * type (NFS, SMB, FUSE such as /dbfs, Ceph, ...) can hang and is asked on the thread pool, with
 * a timeout.
 */
const LOCAL_FSTYPES = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'f2fs', 'vfat', 'tmpfs', 'ramfs', 'overlay']);

export function filesystemSamples(m: Mount, st: FsStats | undefined): Sample[] {
  const l = { device: m.device, fstype: m.fstype, mountpoint: m.mountpoint };
  if (!st) return [deviceError(l, 1)];
  return [
    size(l, st.blocks * st.bsize),
    free(l, st.bfree * st.bsize),
    avail(l, st.bavail * st.bsize),
    files(l, st.files),
    filesFree(l, st.ffree),
    readonly(l, m.readonly ? 1 : 0),
    deviceError(l, 0),
  ];
}

/**
 * statfs on a dead NFS mount blocks forever. Like node_exporter's stuck-mount tracking, a
 * mount whose previous statfs has not returned is skipped rather than piled up on.
 */
export class FilesystemCollector {
  private readonly stuck = new Set<string>();

  constructor(
    private readonly read: ProcReader,
    private readonly stat: StatFs = (p) => statfs(p),
    private readonly timeoutMs = 5000,
    private readonly statNow: StatFsNow = (p) => statfsSync(p),
  ) {}

  async collect(): Promise<Sample[]> {
    let text: string;
    try {
      text = await this.read('proc/1/mounts');
    } catch {
      text = await this.read('proc/self/mounts');
    }
    const results = await Promise.all(parseMounts(text).map((m) => this.statOne(m)));
    return results.flat();
  }

  private async statOne(m: Mount): Promise<Sample[]> {
    if (LOCAL_FSTYPES.has(m.fstype)) {
      try {
        return filesystemSamples(m, this.statNow(m.mountpoint));
      } catch {
        return filesystemSamples(m, undefined);
      }
    }
    if (this.stuck.has(m.mountpoint)) return filesystemSamples(m, undefined);
    const pending = this.stat(m.mountpoint);
    const r = await within(pending, this.timeoutMs);
    if (r.status === 'late') {
      // A hung NFS mount: not asked again until the stat in flight returns.
      this.stuck.add(m.mountpoint);
      pending.finally(() => this.stuck.delete(m.mountpoint)).catch(() => undefined);
    }
    return filesystemSamples(m, r.status === 'done' ? r.value : undefined);
  }
}

export const filesystem: HostCollector = {
  name: 'filesystem',
  defaultOn: true,
  help: 'size and free space of the mounted filesystems (statfs)',
  create: (read) => {
    const fs = new FilesystemCollector(read);
    return () => fs.collect();
  },
};
