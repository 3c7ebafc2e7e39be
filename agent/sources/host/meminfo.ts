/** /proc/meminfo (node_exporter's meminfo collector): the fields Spark nodes are watched by, in bytes. */
import { gauge, type Sample } from '../../core/sample';
import type { HostCollector } from './collector';
import type { ProcReader } from './proc';

const FIELDS = ['MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached', 'Slab', 'SReclaimable', 'SwapTotal', 'SwapFree', 'Dirty', 'Writeback'] as const;
const families = new Map(FIELDS.map((name) => [name, gauge(`node_memory_${name}_bytes`, `Memory information field ${name}_bytes.`)]));

/** Pure: `MemTotal:  16318412 kB` lines → bytes by field name (node_exporter multiplies kB by 1024). */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1));
  }
  return out;
}

/** Pure: the samples of the fields present (an older kernel lacks MemAvailable, say). */
export function memorySamples(fields: ReadonlyMap<string, number>): Sample[] {
  const out: Sample[] = [];
  for (const name of FIELDS) {
    const v = fields.get(name);
    if (v !== undefined && Number.isFinite(v)) out.push(families.get(name)!({}, v));
  }
  return out;
}

export async function collectMeminfo(read: ProcReader): Promise<Sample[]> {
  const fields = parseMeminfo(await read('proc/meminfo'));
  if (!fields.get('MemTotal')) throw new Error('/proc/meminfo has no MemTotal');
  return memorySamples(fields);
}

export const meminfo: HostCollector = {
  name: 'meminfo',
  defaultOn: true,
  help: 'memory from /proc/meminfo',
  create: (read) => () => collectMeminfo(read),
};
