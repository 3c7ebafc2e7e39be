/**
 * Part 6: a 500-executor driver with --spark-prometheus forwarding ~100k series. A stand-in
 * Spark UI (bench/spark-500-server.ts, its own process so that serving ~14 MB a cycle is not
 * counted here) serves /allexecutors for 500 executors and the driver, Spark's
 * PrometheusResource text for them (/metrics/executors/prometheus, 200 series per executor: the
 * 39 Spark writes plus padding to the issue's 100k) and the driver's PrometheusServlet
 * (/metrics/prometheus); a real Pushgateway is the sink.
 *
 * In-process: the agent as `run` builds it (createAgent with a Config from buildConfig,
 * `--sources spark --spark-prometheus`), one cycle at a time back to back: collect (HTTP, parse,
 * relabel, the executor cap), labels, serialise, PUT. CPU per cycle (process.cpuUsage: this
 * process only) and wall per cycle, median after warm-up cycles; heapUsed after a forced GC at
 * set cycles over a long run.
 *
 * As a real process (`spark500-bundle`): the bundle running `run` against the same Spark with
 * the init script's heap flag (NODE_OPTIONS=--max-old-space-size from
 * init-scripts/dbx-prom-agent-init.sh), a few cycles, pushing to a local receiver that counts
 * the PUTs (the Pushgateway's /metrics would carry all 100k series to poll); its VmRSS and
 * VmHWM against the init script's systemd MemoryMax.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createAgent } from '../agent/agent';
import { buildConfig, type FlagValues } from '../agent/config';
import { log, setLogLevel } from '../agent/core/log';
import { startPushgateway, type Server } from '../test/helpers/servers';
import { BUNDLE, startBundle, type Daemon } from './binaries';
import { median, memory, mib, ms, sleep } from './proc';
import { addTarget } from './summary';

export const EXECUTORS = 500;
/** Spark's PrometheusResource writes 39 series per executor; the rest pads to 200 (the issue's ~100k). */
const EXTRA_PER_EXECUTOR = 161;
const CLUSTER_ENV = {
  DB_CLUSTER_ID: '0101-120000-bench500',
  DB_CLUSTER_NAME: 'etl-nightly',
  DB_IS_DRIVER: 'TRUE',
  DB_INSTANCE_TYPE: 'i3.xlarge',
  DB_CONTAINER_IP: '10.139.64.4',
};
/** What a 100k-series driver needs besides --spark-prometheus (the defaults, 2000 and 8 MiB, cut it). */
const SIZE_FLAGS = { maxExecutorSeries: '1000000', sparkMaxResponseSize: '64MiB' };

interface SparkServer {
  url: string;
  executorSeries: number;
  driverSeries: number;
  bytes: number;
  close(): Promise<void>;
}

async function startSpark500(executors: number, extra: number): Promise<SparkServer> {
  const proc: ChildProcess = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, 'spark-500-server.ts'), String(executors), String(extra)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const first = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    proc.once('exit', (code) => reject(new Error(`spark-500-server exited ${code}`)));
  });
  const info = JSON.parse(first) as { url: string; executorSeries: number; driverSeries: number; bytes: number };
  return {
    ...info,
    async close() {
      proc.stdin!.end();
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * The heap flag and the systemd MemoryMax the init script gives the agent: its default heap, or
 * the DBX_PROM_MAX_HEAP_MB the README asks of a driver this size (BENCH_SPARK500_HEAP_MB, 320),
 * and MemoryMax as the unit makes it from the heap.
 */
export function memoryFlags(): { heapMiB: number; memoryMaxMiB: number | undefined; from: string } {
  const file = path.resolve(__dirname, '../init-scripts/dbx-prom-agent-init.sh');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const heapDefault = /DBX_PROM_MAX_HEAP_MB:-(\d+)/.exec(text);
  const heapMiB = Number(process.env.BENCH_SPARK500_HEAP_MB ?? 320) || (heapDefault ? Number(heapDefault[1]) : 192);
  const fixed = /^MemoryMax=(\d+)M\s*$/m.exec(text);
  const fromHeap = /^MemoryMax=\$\(\(heap \+ (\d+)\)\)M\s*$/m.exec(text);
  const memoryMaxMiB = fixed ? Number(fixed[1]) : fromHeap ? heapMiB + Number(fromHeap[1]) : undefined;
  return { heapMiB, memoryMaxMiB, from: `${path.relative(process.cwd(), file)}, DBX_PROM_MAX_HEAP_MB=${heapMiB}` };
}

export interface Spark500Result {
  executorSeries: number;
  driverSeries: number;
  bytes: number;
  pushedSamples: number;
  forwarded: number;
  warm: number;
  measured: number;
  cpu: number;
  wall: number;
  cpuMin: number;
  cpuMax: number;
  heap: { cycle: number; mib: number }[];
  failures: string[];
  maxCycles: number;
  budgetSeconds: number;
}

export interface Spark500Options {
  warm: number;
  measured: number;
  /** The long run: up to this many cycles... */
  maxCycles: number;
  /** ...or until this much wall time has passed at a heap sample (every 10 cycles from cycle 10). */
  budgetSeconds: number;
}

export async function benchSpark500(o: Spark500Options): Promise<Spark500Result> {
  setLogLevel('error');
  const gc = (globalThis as { gc?: () => void }).gc;
  let pg: Server | undefined;
  let spark: SparkServer | undefined;
  let agent: ReturnType<typeof createAgent> | undefined;
  try {
    pg = await startPushgateway(['--persistence.file=']);
    spark = await startSpark500(EXECUTORS, EXTRA_PER_EXECUTOR);
    const flags: FlagValues = {
      sources: 'spark',
      sparkUrl: spark.url,
      sparkPrometheus: true,
      pushgatewayUrl: pg.url,
      nodeName: 'bench-500',
      ...SIZE_FLAGS,
    };
    const config = buildConfig(flags, CLUSTER_ENV);
    agent = createAgent(config, log, { dryRun: false });
    const cpus: number[] = [];
    const walls: number[] = [];
    const heap: { cycle: number; mib: number }[] = [];
    const failures = new Set<string>();
    let pushedSamples = 0;
    let forwarded = 0;
    gc?.();
    const started = Date.now();
    for (let i = 1; i <= Math.max(o.maxCycles, o.warm + o.measured); i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await agent.cycle(new Date());
      const wall = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      for (const s of r.results) if (!s.ok) failures.add(`source ${s.source}: ${s.error}`);
      for (const [name, ok] of r.sinks) if (!ok) failures.add(`sink ${name} failed`);
      for (const s of r.samples) if (s.name === 'dbx_agent_spark_endpoint_up' && s.value !== 1) failures.add(`endpoint ${s.labels.endpoint} down`);
      pushedSamples = r.samples.length;
      forwarded = r.samples.filter((s) => s.name.startsWith('metrics_')).length;
      if (i > o.warm && i <= o.warm + o.measured) {
        cpus.push((c.user + c.system) / 1e6);
        walls.push(wall);
      }
      if (i % 10 === 0) {
        gc?.();
        heap.push({ cycle: i, mib: process.memoryUsage().heapUsed / 1048576 });
        if (i >= o.warm + o.measured && Date.now() - started > o.budgetSeconds * 1000) break;
      }
    }
    return {
      executorSeries: spark.executorSeries,
      driverSeries: spark.driverSeries,
      bytes: spark.bytes,
      pushedSamples,
      forwarded,
      warm: o.warm,
      measured: o.measured,
      cpu: median(cpus),
      wall: median(walls),
      cpuMin: Math.min(...cpus),
      cpuMax: Math.max(...cpus),
      heap,
      failures: [...failures],
      maxCycles: o.maxCycles,
      budgetSeconds: o.budgetSeconds,
    };
  } finally {
    await agent?.close({ nodeLeaving: true }).catch(() => undefined);
    await spark?.close();
    await pg?.stop();
  }
}

export function formatSpark500(r: Spark500Result): string {
  const gcNote = (globalThis as { gc?: unknown }).gc ? '' : ' (without --expose-gc: includes garbage)';
  const lines = [
    `Spark serves ${r.executorSeries.toLocaleString('en')} executor series (${EXECUTORS} executors + driver x 200) and ${r.driverSeries} driver series, ` +
      `${(r.bytes / 1e6).toFixed(1)} MB a cycle; the agent pushes ${r.pushedSamples.toLocaleString('en')} samples (${r.forwarded.toLocaleString('en')} forwarded)`,
    `  flags besides --spark-prometheus: --max-executor-series ${SIZE_FLAGS.maxExecutorSeries} --spark-max-response-size ${SIZE_FLAGS.sparkMaxResponseSize} ` +
      '(at the defaults, 2000 and 8 MiB, this driver loses almost every forwarded series)',
    `  one cycle (collect, parse, relabel, labels, serialise, PUT), median of ${r.measured} after ${r.warm} warm-up cycles: ` +
      `CPU ${ms(r.cpu)} (min ${ms(r.cpuMin)}, max ${ms(r.cpuMax)}), wall ${ms(r.wall)}`,
    `  heap after a forced GC${gcNote}: ${r.heap.map((h) => `cycle ${h.cycle} ${h.mib.toFixed(1)} MiB`).join(', ') || 'not sampled (fewer than 10 cycles)'}` +
      ((r.heap.at(-1)?.cycle ?? 0) < r.maxCycles ? ` (stopped short of ${r.maxCycles} cycles by the ${r.budgetSeconds} s budget, BENCH_SPARK500_SECONDS)` : ''),
  ];
  for (const f of r.failures) lines.push(`  FAILURE: ${f}`);
  return lines.join('\n');
}

export function addSpark500Targets(r: Spark500Result): void {
  const info = (figure: string, agent: string): void => addTarget({ figure, agent, peer: '-', ratio: '-', target: '-', met: undefined });
  info(`6. 500-executor cycle (${(r.forwarded / 1000).toFixed(0)}k forwarded), CPU (median)`, ms(r.cpu));
  info('6. 500-executor cycle, wall (median)', ms(r.wall));
  const first = r.heap[0];
  const last = r.heap.at(-1);
  if (first && last && last !== first)
    addTarget({
      figure: `6. heap after GC, cycle ${last.cycle} / cycle ${first.cycle}`,
      agent: `${last.mib.toFixed(1)} MiB`,
      peer: `${first.mib.toFixed(1)} MiB`,
      ratio: `${(last.mib / first.mib).toFixed(3)}x`,
      target: '<= 1.05x (flat)',
      met: last.mib / first.mib <= 1.05,
    });
  if (r.failures.length > 0) addTarget({ figure: '6. the 500-executor cycles', agent: `${r.failures.length} failures`, peer: '-', ratio: '-', target: 'none', met: false });
}

export interface Spark500BundleResult {
  heapMiB: number;
  memoryMaxMiB: number | undefined;
  flagsFrom: string;
  pushes: number;
  /** PUTs that carried the forwarded series (over 1 MB). */
  fullPushes: number;
  putBytes: number;
  seconds: number;
  rss: number;
  hwm: number;
  warnings: string[];
  exited?: string;
}

/** Counts the PUTs of a group and their bytes, answering 200 like the Pushgateway (its parsing is not what is measured here). */
async function startCountingReceiver(): Promise<{ url: string; puts: () => number; full: () => number; bytes: () => number; close(): Promise<void> }> {
  let puts = 0;
  let full = 0;
  let bytes = 0;
  const server = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => {
      if (req.method === 'PUT') {
        puts++;
        // A PUT with the forwarded series (a cycle whose Spark collection was cut pushes only the agent's own).
        if (n > 1e6) {
          full++;
          bytes = n;
        }
      }
      res.writeHead(200).end();
    });
  });
  // Node's default keep-alive of 5 s would close the socket between two cycles (EPIPE on the next PUT).
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    puts: () => puts,
    full: () => full,
    bytes: () => bytes,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The bundle running `run` against the 500-executor Spark for `pushes` cycles, with the init script's heap flag. */
export async function benchSpark500Bundle(pushes: number): Promise<Spark500BundleResult> {
  const flags = memoryFlags();
  let rx: Awaited<ReturnType<typeof startCountingReceiver>> | undefined;
  let spark: SparkServer | undefined;
  let agent: Daemon | undefined;
  try {
    rx = await startCountingReceiver();
    spark = await startSpark500(EXECUTORS, EXTRA_PER_EXECUTOR);
    const args = ['run', '--sources', 'spark', '--spark-url', spark.url, '--spark-prometheus', '--pushgateway-url', rx.url, '--node-name', 'bench-500-bundle'];
    args.push('--max-executor-series', SIZE_FLAGS.maxExecutorSeries, '--spark-max-response-size', SIZE_FLAGS.sparkMaxResponseSize);
    // The default interval (a shorter one shortens the collection deadline, half the interval, and
    // cuts the Spark collection); --log-level warn shows any failure.
    args.push('--interval', '15s', '--idle-interval', '15s', '--log-level', 'warn');
    const t0 = Date.now();
    agent = startBundle(args, { ...CLUSTER_ENV, NODE_OPTIONS: process.env.BENCH_AGENT_NODE_OPTIONS ?? `--max-old-space-size=${flags.heapMiB}` });
    let exited: string | undefined;
    while (rx.full() < pushes && Date.now() - t0 < 20_000 + pushes * 15_000) {
      if (agent.proc.exitCode !== null || agent.proc.signalCode !== null) {
        exited = `exited ${agent.proc.exitCode ?? agent.proc.signalCode}`;
        break;
      }
      await sleep(200);
    }
    // Read right after the last PUT arrived (the agent is still serialising nothing new).
    const m = exited ? { rss: NaN, hwm: NaN } : memory(agent.pid);
    const warnings = agent
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"level":"warn"') || l.includes('"level":"error"') || /heap|memory/i.test(l))
      .slice(0, 5);
    return {
      heapMiB: flags.heapMiB,
      memoryMaxMiB: flags.memoryMaxMiB,
      flagsFrom: flags.from,
      pushes: rx.puts(),
      fullPushes: rx.full(),
      putBytes: rx.bytes(),
      seconds: (Date.now() - t0) / 1000,
      ...m,
      warnings,
      ...(exited ? { exited } : {}),
    };
  } finally {
    await agent?.stop('SIGKILL');
    await spark?.close();
    await rx?.close();
  }
}

export function formatSpark500Bundle(r: Spark500BundleResult): string {
  const lines = [
    `  bundle ${path.basename(BUNDLE)} as \`run\` with NODE_OPTIONS=--max-old-space-size=${r.heapMiB} (${r.flagsFrom}), ${r.fullPushes} PUTs of ${(r.putBytes / 1e6).toFixed(1)} MB (of ${r.pushes}) in ${r.seconds.toFixed(0)} s: ` +
      `RSS ${mib(r.rss)}, peak RSS ${mib(r.hwm)}${r.memoryMaxMiB ? ` (systemd MemoryMax=${r.memoryMaxMiB}M)` : ''}`,
  ];
  if (r.exited) lines.push(`  FAILURE: the bundle ${r.exited}`);
  for (const w of r.warnings) lines.push(`  agent said: ${w.slice(0, 300)}`);
  return lines.join('\n');
}

export function addSpark500BundleTargets(r: Spark500BundleResult): void {
  const max = r.memoryMaxMiB;
  addTarget({
    figure: `6. bundle, 500-executor cycles, peak RSS (heap flag ${r.heapMiB} MiB)`,
    agent: mib(r.hwm),
    peer: max ? `${max}.0 MiB MemoryMax` : '-',
    ratio: max ? `${(r.hwm / 1048576 / max).toFixed(2)}x` : '-',
    target: max ? '<= 1.00x (fits)' : '-',
    met: max ? !r.exited && r.fullPushes > 0 && r.hwm / 1048576 <= max : undefined,
  });
}
