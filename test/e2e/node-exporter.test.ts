/**
 * The host series must be drop-in for node_exporter dashboards and alerts: same names, same
 * label sets and, where a value does not move between two reads, the same value.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startNodeExporter, type Server } from '../helpers/servers';
import { runAgent } from '../helpers/agent';

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseText(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    for (let l = re.exec(m[2] ?? ''); l; l = re.exec(m[2] ?? '')) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * Debian patches node_exporter's defaults (netdev excludes `lo`; filesystem also excludes
 * /run, /mnt and /media). The agent keeps upstream's defaults, so those few series are ours only.
 */
const debianOnlyExcluded = (s: Series): boolean =>
  s.labels.device === 'lo' || /^\/(run|mnt|media)($|\/)/.test(s.labels.mountpoint ?? '');

/**
 * node_exporter's vmstat series are `untyped`, a type our samples do not have (gauge or counter):
 * the agent sends them as gauge, what Prometheus takes untyped for (a counter must end in
 * `_total`; see agent/sources/host/vmstat.ts). Only these names may differ so; any other untyped name of
 * node_exporter shared with the agent fails the type test until it is decided here.
 */
const OURS_FOR_UNTYPED: Record<string, string> = Object.fromEntries(
  ['pgpgin', 'pgpgout', 'pswpin', 'pswpout', 'pgfault', 'pgmajfault', 'oom_kill'].map((f) => [`node_vmstat_${f}`, 'gauge']),
);

/** Linux 4.20+ with CONFIG_PSI (and not psi=0): both sides have node_pressure_* series. */
const HAS_PSI = existsSync('/proc/pressure/memory');
/** The families of the pressure and vmstat collectors (both on by default in both). */
const PSI_VMSTAT = /^node_(pressure|vmstat)_/;

const IDENTITY = ['cluster_id', 'cluster_name', 'node', 'node_ip', 'role', 'instance_type', 'job_id', 'run_id'];
const key = (s: Series): string =>
  s.name + JSON.stringify(Object.entries(s.labels).filter(([k]) => !IDENTITY.includes(k)).sort());

describe('host series match node_exporter (real prometheus-node-exporter)', function () {
  this.timeout(60000);
  let ne: Server;
  let theirs: Series[];
  let ours: Series[];
  /** Wall-clock seconds from node_exporter's read to the end of the agent's. */
  let elapsed: number;

  before(async () => {
    // On by default in node_exporter 1.5; named so that a changed default cannot drop them.
    ne = await startNodeExporter(['--collector.pressure', '--collector.vmstat']);
    const t0 = Date.now();
    theirs = parseText(await (await fetch(`${ne.url}/metrics`)).text());
    const r = await runAgent(['once', '--dry-run', '--sources', 'host']);
    elapsed = (Date.now() - t0) / 1000;
    assert.equal(r.code, 0, r.stderr);
    ours = parseText(r.stdout).filter((s) => !debianOnlyExcluded(s));
  });
  after(async () => ne?.stop());

  it('every host series name the agent shares with node_exporter has the same label sets', () => {
    const theirNames = new Set(theirs.map((s) => s.name));
    const shared = [...new Set(ours.map((s) => s.name))].filter((n) => theirNames.has(n) && !n.startsWith('node_scrape_'));
    for (const n of ['node_cpu_seconds_total', 'node_memory_MemTotal_bytes', 'node_load1', 'node_filesystem_avail_bytes',
      'node_network_receive_bytes_total', 'node_disk_read_bytes_total', 'node_boot_time_seconds', 'node_vmstat_oom_kill',
      'node_vmstat_pgmajfault', ...(HAS_PSI ? ['node_pressure_memory_waiting_seconds_total', 'node_pressure_memory_stalled_seconds_total'] : [])])
      assert.ok(shared.includes(n), `${n} is shared`);
    const theirKeys = new Set(theirs.map(key));
    for (const name of shared) {
      const mine = ours.filter((s) => s.name === name).map(key).sort();
      const notTheirs = mine.filter((k) => !theirKeys.has(k));
      assert.deepEqual(notTheirs, [], `${name}: label sets node_exporter does not have`);
    }
  });

  it('same CPU count, memory total and filesystem sizes', () => {
    const cpus = (s: Series[]) => new Set(s.filter((x) => x.name === 'node_cpu_seconds_total').map((x) => x.labels.cpu)).size;
    assert.equal(cpus(ours), cpus(theirs));
    const v = (s: Series[], name: string) => s.find((x) => x.name === name)?.value;
    assert.equal(v(ours, 'node_memory_MemTotal_bytes'), v(theirs, 'node_memory_MemTotal_bytes'));
    assert.equal(v(ours, 'node_memory_SwapTotal_bytes'), v(theirs, 'node_memory_SwapTotal_bytes'));
    const sizes = (s: Series[]) =>
      s.filter((x) => x.name === 'node_filesystem_size_bytes').map((x) => `${x.labels.mountpoint}=${x.value}`).sort();
    const ourSizes = sizes(ours);
    assert.ok(ourSizes.length > 0);
    assert.deepEqual(ourSizes.filter((x) => !sizes(theirs).includes(x)), []);
  });

  it('the same pressure and vmstat series: every one of either side, on this kernel', () => {
    const names = (s: Series[]) => [...new Set(s.filter((x) => PSI_VMSTAT.test(x.name)).map(key))].sort();
    assert.deepEqual(names(ours), names(theirs));
    assert.equal(names(ours).filter((k) => k.startsWith('node_vmstat_')).length, 7);
    assert.equal(names(ours).filter((k) => k.startsWith('node_pressure_')).length, HAS_PSI ? 5 : 0);
  });

  it('pressure in seconds: read after node_exporter, ahead by at most the wall time between', () => {
    const v = (s: Series[], name: string) => s.find((x) => x.name === name)?.value;
    for (const name of new Set(theirs.filter((x) => x.name.startsWith('node_pressure_')).map((x) => x.name))) {
      const d = v(ours, name)! - v(theirs, name)!;
      assert.ok(d >= 0 && d <= elapsed + 0.5, `${name}: ours - theirs = ${d}, ${elapsed}s apart`);
    }
    // A kernel counter read later is never behind.
    assert.ok(v(ours, 'node_vmstat_oom_kill')! >= v(theirs, 'node_vmstat_oom_kill')!);
  });

  it('same types: counters stay counters, gauges stay gauges', async () => {
    const types = (text: string) => new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const theirTypes = types(await (await fetch(`${ne.url}/metrics`)).text());
    const r = await runAgent(['once', '--dry-run', '--sources', 'host']);
    const mine = types(r.stdout);
    for (const [name, type] of mine) {
      if (!theirTypes.has(name) || name.startsWith('node_scrape_')) continue;
      const expected = theirTypes.get(name) === 'untyped' ? OURS_FOR_UNTYPED[name] : theirTypes.get(name);
      assert.equal(type, expected, `${name}: theirs ${theirTypes.get(name)}`);
    }
    for (const name of Object.keys(OURS_FOR_UNTYPED)) assert.equal(theirTypes.get(name), 'untyped', `${name}: node_exporter's type`);
    for (const name of [...theirTypes.keys()].filter((n) => PSI_VMSTAT.test(n))) assert.ok(mine.has(name), `${name}: not ours`);
  });
});
