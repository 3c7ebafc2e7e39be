/**
 * /proc/vmstat (node_exporter's vmstat collector) with node_exporter's default field set,
 * `--collector.vmstat.fields="^(oom_kill|pgpg|pswp|pg.*fault).*"`: paging, swapping, page
 * faults and the kernel OOM killer's kills.
 *
 * Type: node_exporter exposes these as `untyped`, which our samples cannot be (gauge or
 * counter). They are gauge, what Prometheus takes an untyped series for: a counter must end in
 * `_total` (promtool's lint refuses the exposition otherwise, and remote-write metadata would
 * claim a counter under a gauge's name), and the names must stay node_exporter's, so its
 * dashboards and alerts work unchanged. increase()/rate() read them all the same: they are
 * kernel event counts since boot that only go up (`oom_kill` is "processes killed by the OOM
 * killer so far"). The parity test (test/e2e/node-exporter.test.ts) accepts exactly these
 * names as gauge where node_exporter says untyped.
 */
import { gauge, type Sample } from '../../core/sample';
import type { HostCollector } from './collector';
import type { ProcReader } from './proc';

/** node_exporter's default --collector.vmstat.fields. */
export const VMSTAT_DEFAULT_FIELDS = /^(oom_kill|pgpg|pswp|pg.*fault).*/;

/**
 * The fields of /proc/vmstat that pattern matches on Linux 4.13+ (`oom_kill` is from 4.13),
 * declared once so that every node sends the same HELP/TYPE for a name.
 */
export const VMSTAT_FIELDS = ['pgpgin', 'pgpgout', 'pswpin', 'pswpout', 'pgfault', 'pgmajfault', 'oom_kill'] as const;
const families = new Map(VMSTAT_FIELDS.map((f) => [f, gauge(`node_vmstat_${f}`, `/proc/vmstat information field ${f}.`)]));

/** Pure: `name value` lines → value by name. Any other line is an error, as node_exporter's. */
export function parseVmstat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([a-z0-9_]+)\s+(-?\d+)\s*$/.exec(line);
    if (!m) throw new Error(`unexpected /proc/vmstat line: ${line.slice(0, 80)}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Pure: the samples of the fields present (an older kernel lacks oom_kill, say). */
export function vmstatSamples(fields: ReadonlyMap<string, number>): Sample[] {
  const out: Sample[] = [];
  for (const f of VMSTAT_FIELDS) {
    const v = fields.get(f);
    if (v !== undefined) out.push(families.get(f)!({}, v));
  }
  return out;
}

export async function collectVmstat(read: ProcReader): Promise<Sample[]> {
  const fields = parseVmstat(await read('proc/vmstat'));
  if (!fields.has('pgfault')) throw new Error('/proc/vmstat has no pgfault');
  return vmstatSamples(fields);
}

export const vmstat: HostCollector = {
  name: 'vmstat',
  defaultOn: true,
  help: 'paging, swapping, page faults and OOM kills from /proc/vmstat',
  create: (read) => () => collectVmstat(read),
};
