/**
 * The driver JVM's heap, read the way `jstat -gc` does: from the HotSpot performance data file
 * /tmp/hsperfdata_<user>/<pid>, which every HotSpot JVM writes unless started with
 * -XX:-UsePerfData. No JVM agent, no JMX port, no child process. The Spark REST API only has
 * storage memory and peak heap; this is the current heap used and its maximum.
 *
 * Format (OpenJDK hotspot/share/runtime/perfMemory.hpp, read by sun.jvmstat's
 * PerfDataBuffer v2): a 32-byte prologue {magic 0xcafec0c0, byte_order (0 big, 1 little),
 * major, minor, accessible, used, overflow, mod_time_stamp(8), entry_offset, num_entries}, then
 * entries {entry_length, name_offset, vector_length, data_type, flags, data_units,
 * data_variability, data_offset} with a NUL-terminated name and the value, in the JVM's byte
 * order. Longs have data_type 'J' and vector_length 0.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

const MAGIC = 0xcafec0c0;

/** Pure: the scalar long counters of a perf data buffer (strings and vectors are skipped). */
export function parsePerfData(buf: Buffer): Map<string, number> {
  if (buf.length < 32 || buf.readUInt32BE(0) !== MAGIC) throw new Error('not a HotSpot perf data file');
  const le = buf.readUInt8(4) === 1;
  const major = buf.readUInt8(5);
  if (major !== 2) throw new Error(`perf data version ${major} is not supported`);
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const entryOffset = u32(24);
  const count = u32(28);
  const out = new Map<string, number>();
  let at = entryOffset;
  for (let i = 0; i < count && at + 20 <= buf.length; i++) {
    const length = u32(at);
    if (length < 20 || at + length > buf.length) break;
    const nameAt = at + u32(at + 4);
    const vector = u32(at + 8);
    const type = String.fromCharCode(buf.readUInt8(at + 12));
    const dataAt = at + u32(at + 16);
    if (type === 'J' && vector === 0 && dataAt + 8 <= buf.length) {
      const end = buf.indexOf(0, nameAt);
      const name = buf.toString('latin1', nameAt, end < 0 || end > at + length ? at + length : end);
      const v = le ? buf.readBigInt64LE(dataAt) : buf.readBigInt64BE(dataAt);
      out.set(name, Number(v));
    }
    at += length;
  }
  return out;
}

/**
 * Pure: heap used (eden + survivors + old, jstat's EU+S0U+S1U+OU) and max (NGCMX + OGCMX)
 * from the counters: generations 0 (young) and 1 (old). Undefined when the collector publishes
 * no generation counters.
 */
export function heapFromCounters(c: Map<string, number>): { usedBytes: number; maxBytes?: number } | undefined {
  let used = 0;
  let any = false;
  let max = 0;
  let anyMax = false;
  for (const [name, v] of c) {
    const u = /^sun\.gc\.generation\.([01])\.space\.\d+\.used$/.exec(name);
    if (u) {
      used += v;
      any = true;
    }
    if (/^sun\.gc\.generation\.[01]\.maxCapacity$/.test(name)) {
      max += v;
      anyMax = true;
    }
  }
  if (!any) return undefined;
  return anyMax ? { usedBytes: used, maxBytes: max } : { usedBytes: used };
}

/** Reads the heap of JVM `pid`; `root` stands for `/` in tests. Undefined when there is no file. */
export async function readJvmHeap(pid: number, root = '/'): Promise<{ usedBytes: number; maxBytes?: number } | undefined> {
  const tmp = path.join(root, 'tmp');
  let dirs: string[];
  try {
    dirs = (await readdir(tmp)).filter((d) => d.startsWith('hsperfdata_'));
  } catch {
    return undefined;
  }
  for (const d of dirs) {
    let buf: Buffer;
    try {
      buf = await readFile(path.join(tmp, d, String(pid)));
    } catch {
      continue;
    }
    return heapFromCounters(parsePerfData(buf));
  }
  return undefined;
}
