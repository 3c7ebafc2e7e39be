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
 * order. Longs have data_type 'J' and vector_length 0; strings are byte vectors ('B').
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

const MAGIC = 0xcafec0c0;

export type PerfCounters = Map<string, number | string>;

/** Pure: the scalar long counters and the strings of a perf data buffer (other vectors skipped). */
export function parsePerfData(buf: Buffer): PerfCounters {
  if (buf.length < 32 || buf.readUInt32BE(0) !== MAGIC) throw new Error('not a HotSpot perf data file');
  const le = buf.readUInt8(4) === 1;
  const major = buf.readUInt8(5);
  if (major !== 2) throw new Error(`perf data version ${major} is not supported`);
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const entryOffset = u32(24);
  const count = u32(28);
  const out: PerfCounters = new Map();
  const cString = (from: number, limit: number): string => {
    const end = buf.indexOf(0, from);
    return buf.toString('latin1', from, end < 0 || end > limit ? limit : end);
  };
  let at = entryOffset;
  for (let i = 0; i < count && at + 20 <= buf.length; i++) {
    const length = u32(at);
    if (length < 20 || at + length > buf.length) break;
    const nameAt = at + u32(at + 4);
    const vector = u32(at + 8);
    const type = String.fromCharCode(buf.readUInt8(at + 12));
    const dataAt = at + u32(at + 16);
    if (nameAt < at + length && dataAt <= at + length) {
      const name = cString(nameAt, at + length);
      if (type === 'J' && vector === 0 && dataAt + 8 <= at + length)
        out.set(name, Number(le ? buf.readBigInt64LE(dataAt) : buf.readBigInt64BE(dataAt)));
      else if (type === 'B' && vector > 0) out.set(name, cString(dataAt, Math.min(dataAt + vector, at + length)));
    }
    at += length;
  }
  return out;
}

const MiB = 1024 * 1024;

/**
 * Pure: heap used (eden + survivors + old, jstat's EU+S0U+S1U+OU) and its maximum from the
 * counters of generations 0 (young) and 1 (old). Undefined when the collector publishes no
 * generation counters (ZGC, Shenandoah).
 *
 * The maximum is young max + old max (jstat's NGCMX + OGCMX) for Serial/Parallel/CMS. G1's
 * regions belong to either generation, so it reports the whole heap as the maximum of each
 * (summing would double it), padded by a few bytes per space (G1MonitoringSupport::
 * pad_capacity); its heap is a whole number of regions (>= 1 MiB), hence the rounding down.
 */
export function heapFromCounters(c: PerfCounters): { usedBytes: number; maxBytes?: number } | undefined {
  const long = (k: string): number | undefined => {
    const v = c.get(k);
    return typeof v === 'number' ? v : undefined;
  };
  let used = 0;
  let any = false;
  for (const [name, v] of c)
    if (typeof v === 'number' && /^sun\.gc\.generation\.[01]\.space\.\d+\.used$/.test(name)) {
      used += v;
      any = true;
    }
  if (!any) return undefined;
  const young = long('sun.gc.generation.0.maxCapacity');
  const old = long('sun.gc.generation.1.maxCapacity');
  if (young === undefined || old === undefined) return { usedBytes: used };
  const g1 = c.get('sun.gc.policy.name') === 'GarbageFirst';
  const maxBytes = g1 ? Math.floor(Math.max(young, old) / MiB) * MiB : young + old;
  return { usedBytes: used, maxBytes };
}

// Where each JVM's file was found: /tmp of a driver can hold thousands of entries, and the
// collection path should not list it every cycle.
const foundFiles = new Map<string, string>();

/** Reads the heap of JVM `pid`; `root` stands for `/` in tests. Undefined when there is no file. */
export async function readJvmHeap(pid: number, root = '/'): Promise<{ usedBytes: number; maxBytes?: number } | undefined> {
  const key = `${root}\0${pid}`;
  const known = foundFiles.get(key);
  if (known !== undefined) {
    try {
      return heapFromCounters(parsePerfData(await readFile(known)));
    } catch {
      foundFiles.delete(key); // the JVM ended, or its file moved: look again
    }
  }
  const tmp = path.join(root, 'tmp');
  let dirs: string[];
  try {
    dirs = (await readdir(tmp)).filter((d) => d.startsWith('hsperfdata_'));
  } catch {
    return undefined;
  }
  for (const d of dirs) {
    const file = path.join(tmp, d, String(pid));
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch {
      continue;
    }
    foundFiles.set(key, file);
    return heapFromCounters(parsePerfData(buf));
  }
  return undefined;
}
