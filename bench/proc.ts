/**
 * Process cost from /proc (proc(5)): CPU time from /proc/<pid>/stat fields 14-15 (utime,
 * stime, in clock ticks) or, finer, from each thread's schedstat (ns); resident memory from VmRSS (now) and VmHWM (peak) in
 * /proc/<pid>/status. Read from
 * outside the measured process, so the measurement costs the process nothing.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks: number | undefined;

/** Clock ticks per second (sysconf(_SC_CLK_TCK)), 100 on Linux almost everywhere. */
export function clockTicks(): number {
  if (ticks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    ticks = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticks;
}

/** Pure: utime + stime in ticks from the text of /proc/<pid>/stat. */
export function parseStatTicks(text: string): number {
  // The command name (field 2) is in parentheses and may contain spaces or ")".
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(rest[11]) + Number(rest[12]);
}

/** CPU seconds (user + system) a process used so far. */
export function cpuSeconds(pid: number): number {
  return parseStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / clockTicks();
}

/**
 * CPU seconds a process used so far, to the nanosecond: the sum over its threads of the first
 * field of /proc/<pid>/task/<tid>/schedstat (time on a CPU, ns). /proc/<pid>/stat counts in
 * clock ticks (10 ms), too coarse for a process that uses 20 ms a minute; this misses only
 * threads that ended between two reads (Node's and Go's threads live as long as the process).
 * Falls back to cpuSeconds where schedstat is missing.
 */
export function cpuSecondsFine(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e9;
  } catch {
    return cpuSeconds(pid);
  }
}

/** Pure: a "Vm...:  N kB" line of /proc/<pid>/status, in bytes. */
export function parseStatusKb(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Peak resident set size of a running process, in bytes. */
export function peakRss(pid: number): number {
  return parseStatusKb(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmHWM');
}

/** Resident set size now (VmRSS) and its peak so far (VmHWM) of a running process, in bytes. */
export function memory(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: parseStatusKb(text, 'VmRSS'), hwm: parseStatusKb(text, 'VmHWM') };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A small aligned table: first column left-aligned, the others right-aligned. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export const ms = (s: number): string => `${(s * 1000).toFixed(1)} ms`;
export const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
export const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;
