/**
 * Targets 1-3: the agent's host-metrics cost against prometheus-node-exporter on the same host,
 * in one wall-clock window after a warm-up, for the same host series. Four processes run side
 * by side for the whole window:
 *   - the agent at a 1 s interval (bundle, `run --sources host --interval 1s --idle-interval 1s`,
 *     each cycle a PUT to a real Pushgateway): CPU per cycle;
 *   - the agent at the default interval (`--interval 15s --idle-interval 15s`): CPU per 15 s
 *     period, which includes whatever it does between cycles (timers, GC);
 *   - node_exporter with only the collectors behind those series, scraped once a second by
 *     this process: CPU per scrape;
 *   - `node -e "setInterval(()=>{},1000)"`: an idle Node.js process, for RSS (and the CPU of a
 *     timer firing every second).
 * CPU from /proc of each process (the measurer's own work is not counted): each thread's
 * schedstat (ns), with /proc/<pid>/stat (10 ms ticks) shown beside it as a check; RSS from
 * VmRSS at the window's end and VmHWM (peak). Warm-up: the window starts once the 1 s agent has
 * pushed for `warmSeconds` and the 15 s agent has pushed twice; it starts half-way between two
 * of the 15 s agent's cycles and lasts whole periods, so it holds exactly that many cycles.
 * Cycles and periods are counted by wall time (a 1 s cycle per second of the window, a 15 s
 * period per 15 s); the pushes seen in the Pushgateway are shown as a check.
 */
import { BUNDLE, runBundle, startBundle, startDaemon, type Daemon } from './binaries';
import { startNodeExporter, startPushgateway, type Server } from '../test/helpers/servers';
import { cpuSeconds, cpuSecondsFine, memory, mib, ms, sleep, table } from './proc';
import { addTarget, ratioTarget } from './summary';

/** node_exporter collectors behind the agent's host series (node_exporter 1.5 names). */
const NODE_EXPORTER_COLLECTORS = ['cpu', 'stat', 'loadavg', 'meminfo', 'netdev', 'diskstats', 'filesystem', 'pressure', 'vmstat', 'time'];
const PERIOD_MS = 15_000;
/** The bound on the agent's resident memory. */
const RSS_TARGET = 60 * 1048576;
const POLL_MS = 500;

export interface HostCostOptions {
  /** Seconds of 1 s cycles after the first push before the window. */
  warmSeconds: number;
  /** Whole 15 s periods in the window. */
  periods: number;
}

interface Proc {
  cpu: number;
  /** The same from /proc/<pid>/stat, in clock ticks. */
  cpuStat: number;
  rss: number;
  hwm: number;
}

export interface HostCostResult {
  windowSeconds: number;
  periods: number;
  agent1: Proc & { cycles: number };
  agent15: Proc & { pushes: number; inCycles: number; between: number };
  exporter: Proc & { scrapes: number };
  idle: Proc;
  agentSeries: number;
  exporterSeries: number;
  warmSeconds: number;
}

function seriesNames(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0]);
}

type PgGroup = { labels: Record<string, string>; push_time_seconds?: { metrics: { value: string }[] } };

/** Push time (ms) of each node's group in the Pushgateway. */
async function pushTimes(pgUrl: string): Promise<Map<string, number>> {
  const body = (await (await fetch(`${pgUrl}/api/v1/metrics`)).json()) as { data: PgGroup[] };
  const out = new Map<string, number>();
  for (const g of body.data) {
    const v = g.push_time_seconds?.metrics[0]?.value;
    if (v !== undefined && g.labels.node) out.set(g.labels.node, Number(v) * 1000);
  }
  return out;
}

export async function benchHostCost(o: HostCostOptions): Promise<HostCostResult> {
  let pg: Server | undefined;
  let ne: Server | undefined;
  const daemons: Daemon[] = [];
  try {
    pg = await startPushgateway(['--persistence.file=']);
    ne = await startNodeExporter(['--collector.disable-defaults', ...NODE_EXPORTER_COLLECTORS.map((c) => `--collector.${c}`)]);
    const exporterUrl = `${ne.url}/metrics`;

    // The series each one produces for the host (the agent's own dbx_agent_* left out).
    const dry = await runBundle(['once', '--dry-run', '--sources', 'host']);
    const agentNames = seriesNames(dry.stdout).filter((n) => n.startsWith('node_'));
    const agentFamilies = new Set(agentNames);
    const exporterNames = seriesNames(await (await fetch(exporterUrl)).text());
    const shared = exporterNames.filter((n) => agentFamilies.has(n));

    const common = ['run', '--pushgateway-url', pg.url, '--sources', 'host'];
    const agent1 = startBundle([...common, '--interval', '1s', '--idle-interval', '1s', '--node-name', 'bench-1s']);
    const agent15 = startBundle([...common, '--interval', '15s', '--idle-interval', '15s', '--node-name', 'bench-15s']);
    const idle = startDaemon(process.execPath, ['-e', 'setInterval(()=>{},1000)']);
    daemons.push(agent1, agent15, idle);
    const exporterPid = ne.proc.pid!;

    // Scrapes node_exporter once a second (from the start: it warms up too), polls the push times.
    let nextScrape = Date.now();
    let scrapes = 0;
    const pushes1 = new Set<number>();
    const pushes15 = new Set<number>();
    const samples15: { t: number; cpu: number }[] = [];
    const step = async (): Promise<void> => {
      if (Date.now() >= nextScrape) {
        await (await fetch(exporterUrl)).text();
        scrapes++;
        nextScrape += 1000;
      }
      const t = await pushTimes(pg!.url);
      const a = t.get('bench-1s');
      const b = t.get('bench-15s');
      if (a !== undefined) pushes1.add(a);
      if (b !== undefined) pushes15.add(b);
      samples15.push({ t: Date.now(), cpu: cpuSecondsFine(agent15.pid) });
      for (const d of [agent1, agent15])
        if (d.proc.exitCode !== null || d.proc.signalCode !== null) throw new Error(`an agent exited during the bench: ${d.stderr()}`);
      await sleep(Math.max(0, Math.min(POLL_MS, nextScrape - Date.now())));
    };

    // Warm-up.
    const spawned = Date.now();
    let first1: number | undefined;
    for (;;) {
      await step();
      if (first1 === undefined && pushes1.size > 0) first1 = Date.now();
      if (first1 === undefined && Date.now() - spawned > 20_000) throw new Error(`the 1 s agent did not push in 20 s: ${agent1.stderr()}`);
      if (Date.now() - spawned > 3 * PERIOD_MS + 15_000) throw new Error(`the 15 s agent did not push twice: ${agent15.stderr()}`);
      if (first1 !== undefined && Date.now() - first1 >= o.warmSeconds * 1000 && pushes15.size >= 2) break;
    }
    // Half-way between two of the 15 s agent's cycles.
    let windowStart = Math.max(...pushes15) + PERIOD_MS / 2;
    while (windowStart < Date.now() + 100) windowStart += PERIOD_MS;
    while (Date.now() < windowStart - POLL_MS) await step();
    await sleep(Math.max(0, windowStart - Date.now()));

    const pids = [agent1.pid, agent15.pid, exporterPid, idle.pid];
    const cpu0 = pids.map(cpuSecondsFine);
    const stat0 = pids.map(cpuSeconds);
    const started = Date.now();
    const t0 = performance.now();
    const scrapes0 = scrapes;
    const before1 = new Set(pushes1);
    const before15 = new Set(pushes15);
    samples15.length = 0;
    samples15.push({ t: started, cpu: cpu0[1]! });
    nextScrape = started;
    const windowMs = o.periods * PERIOD_MS;
    while (Date.now() - started < windowMs - POLL_MS) await step();
    await sleep(Math.max(0, started + windowMs - Date.now()));
    const cpu1 = pids.map(cpuSecondsFine);
    const stat1 = pids.map(cpuSeconds);
    const wall = (performance.now() - t0) / 1000;
    const mem = pids.map(memory);
    samples15.push({ t: Date.now(), cpu: cpu1[1]! });

    const cycles1 = [...pushes1].filter((p) => !before1.has(p) && p >= started).length;
    const cycles15 = [...pushes15].filter((p) => !before15.has(p) && p >= started);
    // The 15 s agent's CPU in the second around each of its cycles, and between them.
    let inCycles = 0;
    for (let i = 1; i < samples15.length; i++) {
      const a = samples15[i - 1]!;
      const b = samples15[i]!;
      if (cycles15.some((p) => b.t > p - 1200 && a.t < p + 600)) inCycles += b.cpu - a.cpu;
    }
    const cpu = (i: number): number => cpu1[i]! - cpu0[i]!;
    const proc = (i: number): Proc => ({ cpu: cpu(i), cpuStat: stat1[i]! - stat0[i]!, rss: mem[i]!.rss, hwm: mem[i]!.hwm });
    return {
      windowSeconds: wall,
      periods: (wall * 1000) / PERIOD_MS,
      agent1: { ...proc(0), cycles: cycles1 },
      agent15: { ...proc(1), pushes: cycles15.length, inCycles, between: cpu(1) - inCycles },
      exporter: { ...proc(2), scrapes: scrapes - scrapes0 },
      idle: proc(3),
      agentSeries: agentNames.length,
      exporterSeries: shared.length,
      warmSeconds: o.warmSeconds,
    };
  } finally {
    for (const d of daemons) await d.stop('SIGKILL');
    await ne?.stop();
    await pg?.stop();
  }
}

export function formatHostCost(r: HostCostResult): string {
  const perScrape = r.exporter.cpu / r.exporter.scrapes;
  const perCycle1 = r.agent1.cpu / r.windowSeconds;
  const perPeriod15 = r.agent15.cpu / r.periods;
  const secs = r.windowSeconds;
  const lines = [
    `window ${secs.toFixed(1)} s = ${r.periods.toFixed(2)} periods of 15 s, after ${r.warmSeconds} s of 1 s cycles and two 15 s cycles; bundle ${BUNDLE}`,
    table(
      ['process', 'CPU in window', '(stat)', 'CPU per unit', 'unit', 'count', 'RSS at end', 'peak RSS'],
      [
        ['agent, run --interval 1s (PUT each cycle)', ms(r.agent1.cpu), ms(r.agent1.cpuStat), ms(perCycle1), '1 s cycle', `${r.agent1.cycles} pushes`, mib(r.agent1.rss), mib(r.agent1.hwm)],
        ['agent, run --interval 15s (default)', ms(r.agent15.cpu), ms(r.agent15.cpuStat), ms(perPeriod15), '15 s period', `${r.agent15.pushes} pushes`, mib(r.agent15.rss), mib(r.agent15.hwm)],
        ['prometheus-node-exporter (same collectors)', ms(r.exporter.cpu), ms(r.exporter.cpuStat), ms(perScrape), 'scrape', `${r.exporter.scrapes} scrapes`, mib(r.exporter.rss), mib(r.exporter.hwm)],
        ['node -e "setInterval(()=>{},1000)"', ms(r.idle.cpu), ms(r.idle.cpuStat), ms(r.idle.cpu / r.periods), '15 s period', '-', mib(r.idle.rss), mib(r.idle.hwm)],
      ],
    ),
    `series: agent ${r.agentSeries} node_*, node_exporter ${r.exporterSeries} of the same names`,
    `15 s agent per period: ${ms(r.agent15.inCycles / r.periods)} in the ~2 s around its cycle, ${ms(r.agent15.between / r.periods)} in the rest ` +
      `(idle node with a 1 s timer: ${ms(r.idle.cpu / r.periods)} per period); 1 s agent per cycle: ${ms(perCycle1)}`,
  ];
  if (r.agent1.cycles < Math.floor(secs) - 1) lines.push(`note: the 1 s agent pushed ${r.agent1.cycles} times in ${secs.toFixed(0)} s`);
  if (r.agent15.pushes !== Math.round(r.periods)) lines.push(`note: the 15 s agent pushed ${r.agent15.pushes} times in ${r.periods.toFixed(2)} periods`);
  return lines.join('\n');
}

export function addHostTargets(r: HostCostResult): void {
  const perScrape = r.exporter.cpu / r.exporter.scrapes;
  ratioTarget('1. CPU per cycle, 1 s interval / node_exporter per scrape', r.agent1.cpu / r.windowSeconds, perScrape, 1.0, ms);
  ratioTarget('2. CPU per 15 s period, default interval / node_exporter per scrape', r.agent15.cpu / r.periods, perScrape, 1.5, ms);
  const rssRow = (figure: string, agent: number, peer: number): void =>
    addTarget({ figure, agent: mib(agent), peer: mib(peer), ratio: `${(agent / peer).toFixed(2)}x`, target: `<= ${mib(RSS_TARGET)}`, met: agent <= RSS_TARGET });
  rssRow('3. RSS at window end, 15 s agent / node_exporter', r.agent15.rss, r.exporter.rss);
  rssRow('3. RSS at window end, 1 s agent / node_exporter', r.agent1.rss, r.exporter.rss);
  rssRow('3. peak RSS (VmHWM), 15 s agent / node_exporter', r.agent15.hwm, r.exporter.hwm);
  rssRow('3. peak RSS (VmHWM), 1 s agent / node_exporter', r.agent1.hwm, r.exporter.hwm);
  addTarget({
    figure: '3. RSS at window end, 15 s agent / idle node',
    agent: mib(r.agent15.rss),
    peer: mib(r.idle.rss),
    ratio: `${(r.agent15.rss / r.idle.rss).toFixed(2)}x`,
    target: '-',
    met: undefined,
  });
}
