/** /proc/net/dev: bytes, packets, errors per interface (node_exporter's netdev collector). */
import { counter, type Family, type Sample } from '../../core/sample';
import type { ProcReader } from './proc';
import type { HostCollector } from './collector';

const RECEIVE = ['bytes', 'packets', 'errs', 'drop', 'fifo', 'frame', 'compressed', 'multicast'];
const TRANSMIT = ['bytes', 'packets', 'errs', 'drop', 'fifo', 'colls', 'carrier', 'compressed'];

const families = new Map<string, Family>();
for (const [dir, fields] of [['receive', RECEIVE], ['transmit', TRANSMIT]] as const)
  for (const f of fields)
    families.set(`${dir}_${f}`, counter(`node_network_${dir}_${f}_total`, `Network device statistic ${dir}_${f}.`));

export interface NetDevice {
  device: string;
  stats: Record<string, number>;
}

export function parseNetDev(text: string): NetDevice[] {
  const out: NetDevice[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const device = line.slice(0, colon).trim();
    const v = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (v.length < 16) continue;
    const stats: Record<string, number> = {};
    RECEIVE.forEach((f, i) => (stats[`receive_${f}`] = v[i]!));
    TRANSMIT.forEach((f, i) => (stats[`transmit_${f}`] = v[i + 8]!));
    out.push({ device, stats });
  }
  return out;
}

export async function collectNetDev(read: ProcReader): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const d of parseNetDev(await read('proc/net/dev')))
    for (const [k, v] of Object.entries(d.stats)) out.push(families.get(k)!({ device: d.device }, v));
  return out;
}

export const netdev: HostCollector = {
  name: 'netdev',
  defaultOn: true,
  help: 'network interface counters from /proc/net/dev',
  create: (read) => () => collectNetDev(read),
};
