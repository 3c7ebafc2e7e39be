/**
 * Memory, through systeminformation's mem(): on Linux it reads /proc/meminfo with one
 * fs.readFile and spawns nothing. Its submodule is imported directly to keep the bundle small
 * (the package's index pulls in every platform's code).
 */
import { gauge, type Sample } from '../../core/sample';

export interface SiMem {
  total: number;
  free: number;
  available: number;
  buffers: number;
  cached: number;
  slab: number;
  reclaimable: number;
  swaptotal: number;
  swapfree: number;
  dirty: number | null;
  writeback: number | null;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const siMemory = require('systeminformation/lib/memory') as { mem(): Promise<SiMem> };

const FIELDS: [keyof SiMem, string][] = [
  ['total', 'MemTotal'],
  ['free', 'MemFree'],
  ['available', 'MemAvailable'],
  ['buffers', 'Buffers'],
  ['cached', 'Cached'],
  ['slab', 'Slab'],
  ['reclaimable', 'SReclaimable'],
  ['swaptotal', 'SwapTotal'],
  ['swapfree', 'SwapFree'],
  ['dirty', 'Dirty'],
  ['writeback', 'Writeback'],
];
const families = new Map(
  FIELDS.map(([k, name]) => [k, gauge(`node_memory_${name}_bytes`, `Memory information field ${name}_bytes.`)]),
);

export function memorySamples(mem: SiMem): Sample[] {
  const out: Sample[] = [];
  for (const [k] of FIELDS) {
    const v = mem[k];
    if (typeof v === 'number' && Number.isFinite(v)) out.push(families.get(k)!({}, v));
  }
  return out;
}

export async function collectMeminfo(mem: () => Promise<SiMem> = () => siMemory.mem()): Promise<Sample[]> {
  const m = await mem();
  if (!m.total) throw new Error('systeminformation returned no memory total');
  return memorySamples(m);
}
