/**
 * /proc/pressure/{cpu,io,memory}: Linux pressure stall information (node_exporter's pressure
 * collector, 1.5). `some` (at least one task stalled) → *_waiting_seconds_total, `full` (all
 * non-idle tasks stalled) → *_stalled_seconds_total; the kernel's `total=` is in microseconds.
 * CPU's `full` line (kernels 5.13+) is ignored, as node_exporter 1.5 does.
 */
import { counter, type Family, type Sample } from '../../core/sample';
import { NoDataError, type HostCollector } from './collector';
import type { ProcReader } from './proc';

export const PSI_RESOURCES = ['cpu', 'io', 'memory'] as const;
export type PsiResource = (typeof PSI_RESOURCES)[number];

/** The `total=` of each line, in microseconds; `full` is absent from cpu on older kernels. */
export interface PsiTotals {
  some: number;
  full?: number;
}

// node_exporter's HELP texts, word for word (the Pushgateway wants one HELP per name).
const waiting: Record<PsiResource, Family> = {
  cpu: counter('node_pressure_cpu_waiting_seconds_total', 'Total time in seconds that processes have waited for CPU time'),
  io: counter('node_pressure_io_waiting_seconds_total', 'Total time in seconds that processes have waited due to IO congestion'),
  memory: counter('node_pressure_memory_waiting_seconds_total', 'Total time in seconds that processes have waited for memory'),
};
const stalled: Partial<Record<PsiResource, Family>> = {
  io: counter('node_pressure_io_stalled_seconds_total', 'Total time in seconds no process could make progress due to IO congestion'),
  memory: counter('node_pressure_memory_stalled_seconds_total', 'Total time in seconds no process could make progress due to memory congestion'),
};

const LINE = /^(some|full)\s+avg10=\d+(?:\.\d+)?\s+avg60=\d+(?:\.\d+)?\s+avg300=\d+(?:\.\d+)?\s+total=(\d+)$/;

/**
 * Pure: one /proc/pressure/<resource> file → its totals. A `some` or `full` line that does not
 * parse is an error (as procfs's Sscanf); lines with another prefix are skipped (procfs: "should
 * new measurement types be added in the future we'll simply ignore them").
 */
export function parsePressure(resource: string, text: string): PsiTotals {
  let some: number | undefined;
  let full: number | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const prefix = line.split(/\s/)[0];
    if (prefix !== 'some' && prefix !== 'full') continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`unexpected /proc/pressure/${resource} line: ${line.slice(0, 80)}`);
    if (m[1] === 'some') some = Number(m[2]);
    else full = Number(m[2]);
  }
  if (some === undefined) throw new Error(`/proc/pressure/${resource} has no "some" line`);
  return full === undefined ? { some } : { some, full };
}

/** µs → s as node_exporter computes it (float64(total)/1000.0/1000.0), to the last bit. */
const seconds = (us: number): number => us / 1000 / 1000;

/** Pure: totals per resource → node_exporter's series, in seconds. */
export function pressureSamples(totals: ReadonlyMap<PsiResource, PsiTotals>): Sample[] {
  const out: Sample[] = [];
  for (const res of PSI_RESOURCES) {
    const t = totals.get(res);
    if (!t) continue;
    out.push(waiting[res]({}, seconds(t.some)));
    const f = stalled[res];
    if (!f) continue; // cpu: its full line is not exported (node_exporter 1.5)
    if (t.full === undefined) throw new Error(`/proc/pressure/${res} has no "full" line`);
    out.push(f({}, seconds(t.full)));
  }
  return out;
}

/** ENOENT: a kernel before 4.20 or without CONFIG_PSI; EOPNOTSUPP: PSI off (psi=0 at boot). */
const unavailable = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTSUP' || code === 'EOPNOTSUPP';
};

export async function collectPressure(read: ProcReader): Promise<Sample[]> {
  const totals = new Map<PsiResource, PsiTotals>();
  for (const res of PSI_RESOURCES) {
    let text: string;
    try {
      text = await read(`proc/pressure/${res}`);
    } catch (e) {
      if (unavailable(e)) throw new NoDataError(`pressure information is unavailable (/proc/pressure/${res}: ${(e as Error).message}); it needs Linux 4.20+ with CONFIG_PSI, and psi=1 where it is off by default`);
      throw e;
    }
    totals.set(res, parsePressure(res, text));
  }
  return pressureSamples(totals);
}

export const pressure: HostCollector = {
  name: 'pressure',
  defaultOn: true,
  help: 'pressure stall information from /proc/pressure',
  create: (read) => () => collectPressure(read),
};
