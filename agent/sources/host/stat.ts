/** /proc/stat: CPU seconds by cpu and mode, boot time, forks, context switches (node_exporter's cpu and stat collectors). */
import { counter, gauge, type Sample } from '../../core/sample';
import type { ProcReader } from './proc';
import type { HostCollector } from './collector';

// /proc/stat counts in USER_HZ, which Linux fixes at 100 for userspace ABI stability.
const USER_HZ = 100;
const MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

export interface CpuTimes {
  cpu: string;
  seconds: Record<(typeof MODES)[number], number>;
  guest: number;
  guestNice: number;
}

export interface ProcStat {
  cpus: CpuTimes[];
  bootTime?: number;
  contextSwitches?: number;
  forks?: number;
  interrupts?: number;
  procsRunning?: number;
  procsBlocked?: number;
}

export function parseProcStat(text: string): ProcStat {
  const out: ProcStat = { cpus: [] };
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const head = f[0] ?? '';
    const n = (i: number): number => Number(f[i] ?? 0);
    if (/^cpu\d+$/.test(head)) {
      const seconds = {} as CpuTimes['seconds'];
      MODES.forEach((m, i) => (seconds[m] = n(i + 1) / USER_HZ));
      out.cpus.push({ cpu: head.slice(3), seconds, guest: n(9) / USER_HZ, guestNice: n(10) / USER_HZ });
    } else if (head === 'btime') out.bootTime = n(1);
    else if (head === 'ctxt') out.contextSwitches = n(1);
    else if (head === 'processes') out.forks = n(1);
    else if (head === 'intr') out.interrupts = n(1);
    else if (head === 'procs_running') out.procsRunning = n(1);
    else if (head === 'procs_blocked') out.procsBlocked = n(1);
  }
  return out;
}

export const cpuSeconds = counter('node_cpu_seconds_total', 'Seconds the CPUs spent in each mode.');
const cpuGuest = counter('node_cpu_guest_seconds_total', 'Seconds the CPUs spent in guests (VMs) for each mode.');
const bootTime = gauge('node_boot_time_seconds', 'Node boot time, in unixtime.');
const ctxt = counter('node_context_switches_total', 'Total number of context switches.');
const forks = counter('node_forks_total', 'Total number of forks.');
const intr = counter('node_intr_total', 'Total number of interrupts serviced.');
const running = gauge('node_procs_running', 'Number of processes in runnable state.');
const blocked = gauge('node_procs_blocked', 'Number of processes blocked waiting for I/O to complete.');

export function statSamples(stat: ProcStat): Sample[] {
  const out: Sample[] = [];
  for (const c of stat.cpus) {
    for (const m of MODES) out.push(cpuSeconds({ cpu: c.cpu, mode: m }, c.seconds[m]));
    out.push(cpuGuest({ cpu: c.cpu, mode: 'user' }, c.guest), cpuGuest({ cpu: c.cpu, mode: 'nice' }, c.guestNice));
  }
  if (stat.bootTime !== undefined) out.push(bootTime({}, stat.bootTime));
  if (stat.contextSwitches !== undefined) out.push(ctxt({}, stat.contextSwitches));
  if (stat.forks !== undefined) out.push(forks({}, stat.forks));
  if (stat.interrupts !== undefined) out.push(intr({}, stat.interrupts));
  if (stat.procsRunning !== undefined) out.push(running({}, stat.procsRunning));
  if (stat.procsBlocked !== undefined) out.push(blocked({}, stat.procsBlocked));
  return out;
}

export async function collectStat(read: ProcReader): Promise<Sample[]> {
  return statSamples(parseProcStat(await read('proc/stat')));
}

export const cpu: HostCollector = {
  name: 'cpu',
  defaultOn: true,
  help: 'CPU time by mode, context switches, boot time from /proc/stat',
  create: (read) => () => collectStat(read),
};
