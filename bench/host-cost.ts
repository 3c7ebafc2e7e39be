/**
 * Agent vs prometheus-node-exporter on the same host, in the same wall-clock window, for the
 * same host series: the agent daemon (bundle, `run --sources host`, a cycle every second,
 * each cycle a PUT to a real Pushgateway) against node_exporter with only the collectors that
 * make those series, scraped once a second by this process. CPU comes from /proc/<pid>/stat of
 * each process (the measurer's own work is not counted), peak RSS from VmHWM.
 */
import { runAgent, startAgent, type Daemon } from '../test/helpers/agent';
import { startNodeExporter, startPushgateway, type Server } from '../test/helpers/servers';
import { cpuSeconds, mib, ms, peakRss, ratio, sleep, table } from './proc';

/** node_exporter collectors behind the agent's host series (node_exporter 1.5 names). */
const NODE_EXPORTER_COLLECTORS = ['cpu', 'stat', 'loadavg', 'meminfo', 'netdev', 'diskstats', 'filesystem', 'pressure', 'vmstat', 'time'];

export interface HostCostResult {
  agentCpuPerCycle: number;
  exporterCpuPerScrape: number;
  agentPeakRss: number;
  exporterPeakRss: number;
  agentSeries: number;
  exporterSeries: number;
  cycles: number;
  scrapes: number;
}

function seriesNames(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0]);
}

export async function benchHostCost(windowSeconds = 20): Promise<HostCostResult> {
  let pg: Server | undefined;
  let ne: Server | undefined;
  let agent: Daemon | undefined;
  try {
    pg = await startPushgateway(['--persistence.file=']);
    ne = await startNodeExporter(['--collector.disable-defaults', ...NODE_EXPORTER_COLLECTORS.map((c) => `--collector.${c}`)]);
    const exporterUrl = `${ne.url}/metrics`;

    // The series each one produces for the host (the agent's own dbx_agent_* left out).
    const dry = await runAgent(['once', '--dry-run', '--sources', 'host']);
    const agentNames = seriesNames(dry.stdout).filter((n) => n.startsWith('node_'));
    const agentFamilies = new Set(agentNames);
    const exporterNames = seriesNames(await (await fetch(exporterUrl)).text());
    const shared = exporterNames.filter((n) => agentFamilies.has(n));

    agent = startAgent(['run', '--pushgateway-url', pg.url, '--sources', 'host', '--interval', '1s', '--idle-interval', '1s']);
    const agentPid = agent.proc.pid!;
    const exporterPid = ne.proc.pid!;
    const pushTime = async (): Promise<string | undefined> => {
      const body = (await (await fetch(`${pg!.url}/api/v1/metrics`)).json()) as { data: { push_time_seconds?: { metrics: { value: string }[] } }[] };
      return body.data[0]?.push_time_seconds?.metrics[0]?.value;
    };
    // Warm-up: a few cycles and scrapes before measuring (JIT, first statfs of every mount).
    for (let i = 0; i < 3; i++) {
      await fetch(exporterUrl).then((r) => r.text());
      await sleep(1000);
    }
    if ((await pushTime()) === undefined) throw new Error(`the agent did not push: ${agent.stderr()}`);

    // Cycles are counted as push times seen in the window other than the one before it.
    const before = await pushTime();
    const agentCpu0 = cpuSeconds(agentPid);
    const exporterCpu0 = cpuSeconds(exporterPid);
    const pushes = new Set<string>();
    let scrapes = 0;
    const started = Date.now();
    let nextScrape = started;
    while (Date.now() - started < windowSeconds * 1000) {
      if (Date.now() >= nextScrape) {
        await (await fetch(exporterUrl)).text();
        scrapes++;
        nextScrape += 1000;
      }
      const t = await pushTime();
      if (t !== undefined && t !== before) pushes.add(t);
      await sleep(200);
    }
    const agentCpu = cpuSeconds(agentPid) - agentCpu0;
    const exporterCpu = cpuSeconds(exporterPid) - exporterCpu0;
    const cycles = Math.max(1, pushes.size);
    return {
      agentCpuPerCycle: agentCpu / cycles,
      exporterCpuPerScrape: exporterCpu / scrapes,
      agentPeakRss: peakRss(agentPid),
      exporterPeakRss: peakRss(exporterPid),
      agentSeries: agentNames.length,
      exporterSeries: shared.length,
      cycles,
      scrapes,
    };
  } finally {
    await agent?.stop('SIGKILL');
    await ne?.stop();
    await pg?.stop();
  }
}

export function formatHostCost(r: HostCostResult): string {
  return [
    table(
      ['host metrics', 'CPU per cycle/scrape', 'peak RSS', 'node_* series', 'cycles/scrapes'],
      [
        ['dbx-prom-agent (bundle, run, PUT to Pushgateway)', ms(r.agentCpuPerCycle), mib(r.agentPeakRss), String(r.agentSeries), String(r.cycles)],
        ['prometheus-node-exporter (same collectors, scraped)', ms(r.exporterCpuPerScrape), mib(r.exporterPeakRss), String(r.exporterSeries), String(r.scrapes)],
      ],
    ),
    `agent / node_exporter: CPU per cycle ${ratio(r.agentCpuPerCycle, r.exporterCpuPerScrape)}, peak RSS ${ratio(r.agentPeakRss, r.exporterPeakRss)}`,
  ].join('\n');
}
