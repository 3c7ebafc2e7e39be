import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Reads a file under /proc or /sys; the root is injectable so tests can point at fixtures. */
export type ProcReader = (relative: string) => Promise<string>;

/**
 * /proc files are made in memory by the kernel when read: a synchronous read takes a few µs,
 * where an asynchronous one costs a thread-pool round trip and its callbacks (a third of the
 * host source's time per cycle, measured). The reader stays promise-shaped so a collector's
 * failure flows the same way as any other.
 */
export function procReader(root = '/'): ProcReader {
  return async (relative) => readFileSync(path.join(root, relative), 'utf8');
}
