/** /proc/loadavg (node_exporter's loadavg collector). */
import { gauge, type Sample } from '../../core/sample';
import type { ProcReader } from './proc';
import type { HostCollector } from './collector';

const load1 = gauge('node_load1', '1m load average.');
const load5 = gauge('node_load5', '5m load average.');
const load15 = gauge('node_load15', '15m load average.');

export function parseLoadavg(text: string): [number, number, number] {
  const f = text.trim().split(/\s+/).slice(0, 3).map(Number);
  if (f.length < 3 || f.some((v) => !Number.isFinite(v))) throw new Error(`unexpected /proc/loadavg: ${text.slice(0, 60)}`);
  return [f[0]!, f[1]!, f[2]!];
}

export async function collectLoadavg(read: ProcReader): Promise<Sample[]> {
  const [a, b, c] = parseLoadavg(await read('proc/loadavg'));
  return [load1({}, a), load5({}, b), load15({}, c)];
}

export const loadavg: HostCollector = {
  name: 'loadavg',
  defaultOn: true,
  help: 'load averages from /proc/loadavg',
  create: (read) => () => collectLoadavg(read),
};
