/**
 * Pushing 1k / 10k / 100k series (100k: a 500-executor cluster, 200 series per executor) to a
 * real Pushgateway: the agent's Pushgateway sink (samples → prom-client text → PUT over a
 * keep-alive axios client) against prom-client's own `Pushgateway` client pushing the same
 * series from a registry, in one process and one run. Wall time per push (median) and this
 * process's CPU per push (process.cpuUsage, so the Pushgateway's own work is not counted).
 * prom-client is measured twice: push only (values already in the registry), and update +
 * push (setting every gauge first, what an application does each cycle; the agent's sink
 * always builds its registry from the cycle's samples).
 *
 * Target 5: at 100k series, the sink's CPU per push / prom-client's push-only CPU <= 1.0x.
 *
 * How the sink is handed the series is `batchOf` below, one line. Batch (agent/core/sink.ts)
 * carries the node's base labels in `labels` and the samples without them, as the pipeline
 * sends them; for a sink or pipeline where every sample carries every label, that line is
 *   const batchOf = (s: Shape): Batch => ({ samples: s.samples, timestampMs: Date.now() });
 * The bench checks at start which of the two the pipeline hands its sinks and says so (and
 * fails the target row) if the line is behind.
 */
import { Gauge, Pushgateway, Registry } from 'prom-client';
import { buildConfig } from '../agent/config';
import { createHttpClient } from '../agent/http/client';
import { log } from '../agent/core/log';
import { gauge, type Family, type Labels, type Sample } from '../agent/core/sample';
import type { Batch } from '../agent/core/sink';
import { AgentStats } from '../agent/core/stats';
import { Pipeline } from '../agent/pipeline';
import { createPushgatewaySink } from '../agent/sinks/pushgateway/sink';
import { startPushgateway, type Server } from '../test/helpers/servers';
import { median, ms, ratio, table } from './proc';
import { addTarget, ratioTarget } from './summary';

const EXECUTORS = 500;
/** The node's base labels (what the pipeline adds to every sample). */
const NODE = {
  cluster_id: '0101-120000-bench',
  cluster_name: 'etl-nightly',
  node_ip: '10.1.2.3',
  role: 'driver',
  instance_type: 'i3.xlarge',
};
/** The source's own labels on every series. */
const SOURCE = { spark_app_id: 'app-20261126054500-0000' };
const BASE = { ...NODE, ...SOURCE };

interface Shape {
  families: Family[];
  /** Every label on every sample: what the pipeline hands the sinks today. */
  samples: Sample[];
  /** The same samples without the base labels, and the base labels. */
  bare: Sample[];
  base: Labels;
}

function shape(n: number, node: string): Shape {
  const perExecutor = Math.max(1, Math.round(n / EXECUTORS));
  const families = Array.from({ length: perExecutor }, (_, k) => gauge(`bench_executor_metric_${k}`, `Benchmark series ${k} per executor.`));
  const samples: Sample[] = [];
  const bare: Sample[] = [];
  for (const f of families)
    for (let e = 0; e < EXECUTORS && samples.length < n; e++) {
      samples.push(f({ ...BASE, node, executor_id: String(e) }, e * 1.5 + 0.25));
      bare.push(f({ ...SOURCE, executor_id: String(e) }, e * 1.5 + 0.25));
    }
  return { families, samples, bare, base: { ...NODE, node } };
}

/** What the sink is sent: see the module comment (one line to change when Batch gains `labels`). */
const batchOf = (s: Shape): Batch => ({ samples: s.bare, labels: s.base, timestampMs: Date.now() });

/** Whether the pipeline hands its sinks the base labels apart from the samples (Batch `labels`). */
async function pipelineSendsBaseLabels(): Promise<boolean> {
  let got: Batch | undefined;
  const pipeline = new Pipeline({
    sources: [{ name: 'probe', collect: async () => [gauge('bench_probe', 'probe')({}, 1)] }],
    sinks: [{ name: 'probe', send: async (b) => void (got = b), close: async () => undefined }],
    baseLabels: { bench_base: 'x' },
    stats: new AgentStats(),
    logger: log,
    sourceTimeoutMs: 1000,
  });
  await pipeline.cycle();
  return got !== undefined && 'labels' in got && got.samples[0]?.labels.bench_base === undefined;
}

export interface PushRow {
  series: number;
  client: string;
  wall: number;
  cpu: number;
  runs: number;
}

/**
 * Runs the clients in turns (a, b, c, a, b, c, ...) so that load from elsewhere on the host
 * falls on all of them alike; one warm-up round first. Wall time: median; CPU: mean.
 */
async function timeInTurns(runs: number, clients: (() => Promise<void>)[]): Promise<{ wall: number; cpu: number }[]> {
  for (const fn of clients) await fn();
  const walls = clients.map(() => [] as number[]);
  const cpus = clients.map(() => 0);
  for (let i = 0; i < runs; i++) {
    for (const [k, fn] of clients.entries()) {
      const c0 = process.cpuUsage();
      const t = performance.now();
      await fn();
      walls[k]!.push((performance.now() - t) / 1000);
      const c = process.cpuUsage(c0);
      cpus[k]! += (c.user + c.system) / 1e6;
    }
  }
  return clients.map((_, k) => ({ wall: median(walls[k]!), cpu: cpus[k]! / runs }));
}

export interface PushResult {
  rows: PushRow[];
  /** How the sink was sent the series, and whether the pipeline does the same. */
  batch: { sentBaseLabels: boolean; pipelineSendsBaseLabels: boolean };
}

export async function benchPush(sizes = [1_000, 10_000, 100_000]): Promise<PushResult> {
  let pg: Server | undefined;
  const rows: PushRow[] = [];
  const probe = shape(1, 'probe');
  const batch = { sentBaseLabels: 'labels' in batchOf(probe), pipelineSendsBaseLabels: await pipelineSendsBaseLabels() };
  try {
    pg = await startPushgateway(['--persistence.file=']);
    const config = buildConfig({ pushgatewayUrl: pg.url }, {});
    for (const n of sizes) {
      const runs = n >= 100_000 ? 4 : n >= 10_000 ? 8 : 20;
      // Ours: the sink exactly as the agent runs it.
      const ours = shape(n, 'ours');
      const sink = createPushgatewaySink({
        url: pg.url,
        job: 'bench',
        clusterId: BASE.cluster_id,
        node: 'ours',
        http: createHttpClient(config, { timeoutMs: 120_000 }),
        logger: log,
      });
      const send = (): Promise<void> => sink.send(batchOf(ours));

      // Theirs: prom-client's Pushgateway over the same series in its own registry.
      const theirs = shape(n, 'theirs');
      const registry = new Registry();
      const gauges = new Map<string, Gauge>();
      for (const f of theirs.families)
        gauges.set(f.name, new Gauge({ name: f.name, help: f.help, labelNames: [...Object.keys(BASE), 'node', 'executor_id'], registers: [registry] }));
      const update = (): void => {
        for (const s of theirs.samples) gauges.get(s.name)!.set(s.labels, s.value);
      };
      update();
      const gateway = new Pushgateway(pg.url, { timeout: 120_000 }, registry);
      const push = async (): Promise<void> => {
        await gateway.push({ jobName: 'bench', groupings: { cluster_id: BASE.cluster_id, node: 'theirs' } });
      };
      const [o, t1, t2] = await timeInTurns(runs, [
        send,
        push,
        async () => {
          update();
          await push();
        },
      ]);
      rows.push({ series: n, client: 'dbx-prom-agent sink', ...o!, runs });
      rows.push({ series: n, client: 'prom-client Pushgateway (push)', ...t1!, runs });
      rows.push({ series: n, client: 'prom-client Pushgateway (update + push)', ...t2!, runs });
    }
  } finally {
    await pg?.stop();
  }
  return { rows, batch };
}

export function formatPush({ rows, batch }: PushResult): string {
  const lines = [
    table(
      ['series', 'client', 'wall per push (median)', 'CPU per push', 'runs'],
      rows.map((r) => [String(r.series), r.client, ms(r.wall), ms(r.cpu), String(r.runs)]),
    ),
  ];
  for (const n of [...new Set(rows.map((r) => r.series))]) {
    const ours = rows.find((r) => r.series === n && r.client.startsWith('dbx'))!;
    const push = rows.find((r) => r.series === n && r.client.endsWith('(push)'))!;
    const upd = rows.find((r) => r.series === n && r.client.endsWith('(update + push)'))!;
    lines.push(
      `${n} series: agent / prom-client wall ${ratio(ours.wall, push.wall)} (push only), ${ratio(ours.wall, upd.wall)} (update + push); CPU ${ratio(ours.cpu, push.cpu)}, ${ratio(ours.cpu, upd.cpu)}`,
    );
  }
  const how = (b: boolean): string => (b ? 'base labels apart (Batch labels)' : 'every label on every sample');
  lines.push(`the sink was sent ${how(batch.sentBaseLabels)}; the pipeline sends ${how(batch.pipelineSendsBaseLabels)}`);
  if (batch.sentBaseLabels !== batch.pipelineSendsBaseLabels) lines.push('WARNING: bench/push.ts batchOf does not send what the pipeline sends: change that one line');
  return lines.join('\n');
}

export function addPushTargets({ rows, batch }: PushResult): void {
  const n = Math.max(...rows.map((r) => r.series));
  const ours = rows.find((r) => r.series === n && r.client.startsWith('dbx'))!;
  const push = rows.find((r) => r.series === n && r.client.endsWith('(push)'))!;
  const upd = rows.find((r) => r.series === n && r.client.endsWith('(update + push)'))!;
  const label = `${n / 1000}k series`;
  ratioTarget(`5. Pushgateway push, ${label}: sink CPU / prom-client push CPU`, ours.cpu, push.cpu, 1.0, ms);
  addTarget({ figure: `5. (context) ${label}: sink CPU / prom-client update + push CPU`, agent: ms(ours.cpu), peer: ms(upd.cpu), ratio: ratio(ours.cpu, upd.cpu), target: '-', met: undefined });
  addTarget({ figure: `5. (context) ${label}: sink wall / prom-client push wall`, agent: ms(ours.wall), peer: ms(push.wall), ratio: ratio(ours.wall, push.wall), target: '-', met: undefined });
  if (batch.sentBaseLabels !== batch.pipelineSendsBaseLabels)
    addTarget({ figure: '5. WARNING: the bench sent the sink another Batch shape than the pipeline', agent: '-', peer: '-', ratio: '-', target: '-', met: false });
}
