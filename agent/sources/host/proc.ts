import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** Reads a file under /proc or /sys; the root is injectable so tests can point at fixtures. */
export type ProcReader = (relative: string) => Promise<string>;

export function procReader(root = '/'): ProcReader {
  return (relative) => readFile(path.join(root, relative), 'utf8');
}
