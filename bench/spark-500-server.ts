/**
 * A stand-in for a Databricks driver's Spark UI with many executors, for bench/spark-500.ts:
 * the test fake Spark (test/helpers/fake-spark.ts) with `/allexecutors`, `/executors` and
 * `/metrics/executors/prometheus` made for N executors, and `/metrics/prometheus` (the
 * driver's PrometheusServlet) with a driver's worth of metrics.
 *
 * `/metrics/executors/prometheus` is written the way Spark 3.x's PrometheusResource writes it
 * from each executor's ExecutorSummary: 39 series per executor (no HELP/TYPE, labels
 * `application_id`, `application_name`, `executor_id`, separated by ", "). `extraPerExecutor`
 * adds more series per executor in the same format (`metrics_executor_extra_<k>_total`), to
 * reach the sizing of ~100k forwarded series for 500 executors (200 per executor):
 * Spark itself writes 39.
 *
 * Run as its own process (`node --require tsx/cjs bench/spark-500-server.ts <executors>
 * <extra>`; it prints `{"url": ...}` on its first stdout line), so that serving ~13 MB a cycle
 * is not counted in the CPU of the agent measured in the bench's process.
 */
import { DATABRICKS_APP_ID, databricksFixture, databricksRoutes, startFakeSpark, type Route } from '../test/helpers/fake-spark';

type Executor = Record<string, unknown> & {
  id: string;
  memoryMetrics?: Record<string, number>;
  peakMemoryMetrics?: Record<string, number>;
};

const APP_NAME = 'Databricks Shell';

/** Spark's PrometheusResource (Spark 3.x, core/.../status/api/v1/PrometheusResource.scala), line for line. */
function prometheusResource(executors: readonly Executor[], extraPerExecutor: number): string {
  const prefix = 'metrics_executor_';
  const parts: string[] = [];
  const peakNames = [
    'JVMHeapMemory', 'JVMOffHeapMemory', 'OnHeapExecutionMemory', 'OffHeapExecutionMemory', 'OnHeapStorageMemory', 'OffHeapStorageMemory',
    'OnHeapUnifiedMemory', 'OffHeapUnifiedMemory', 'DirectPoolMemory', 'MappedPoolMemory', 'ProcessTreeJVMVMemory', 'ProcessTreeJVMRSSMemory',
    'ProcessTreePythonVMemory', 'ProcessTreePythonRSSMemory', 'ProcessTreeOtherVMemory', 'ProcessTreeOtherRSSMemory',
  ];
  for (const e of executors) {
    const labels = `{application_id="${DATABRICKS_APP_ID}", application_name="${APP_NAME}", executor_id="${e.id}"}`;
    const n = (k: string): number => Number(e[k] ?? 0);
    const put = (name: string, v: number): void => void parts.push(`${prefix}${name}${labels} ${v}\n`);
    put('rddBlocks', n('rddBlocks'));
    put('memoryUsed_bytes', n('memoryUsed'));
    put('diskUsed_bytes', n('diskUsed'));
    put('totalCores', n('totalCores'));
    put('maxTasks', n('maxTasks'));
    put('activeTasks', n('activeTasks'));
    put('failedTasks_total', n('failedTasks'));
    put('completedTasks_total', n('completedTasks'));
    put('totalTasks_total', n('totalTasks'));
    put('totalDuration_seconds_total', n('totalDuration') * 0.001);
    put('totalGCTime_seconds_total', n('totalGCTime') * 0.001);
    put('totalInputBytes_bytes_total', n('totalInputBytes'));
    put('totalShuffleRead_bytes_total', n('totalShuffleRead'));
    put('totalShuffleWrite_bytes_total', n('totalShuffleWrite'));
    put('maxMemory_bytes', n('maxMemory'));
    const m = e.memoryMetrics;
    if (m)
      for (const k of ['usedOnHeapStorageMemory', 'usedOffHeapStorageMemory', 'totalOnHeapStorageMemory', 'totalOffHeapStorageMemory'])
        put(`${k}_bytes`, m[k] ?? 0);
    const p = e.peakMemoryMetrics;
    if (p) {
      for (const k of peakNames) put(`${k}_bytes`, p[k] ?? 0);
      for (const k of ['MinorGCCount', 'MajorGCCount']) put(`${k}_total`, p[k] ?? 0);
      for (const k of ['MinorGCTime', 'MajorGCTime']) put(`${k}_seconds_total`, (p[k] ?? 0) * 0.001);
    }
    for (let k = 0; k < extraPerExecutor; k++) put(`extra_${k}_total`, k * 1000 + Number(e.id === 'driver' ? 0 : e.id));
  }
  return parts.join('');
}

/** The driver's PrometheusServlet: Dropwizard gauges, counters, histograms and timers under the app-id namespace. */
function prometheusServlet(): string {
  const ns = `metrics_${DATABRICKS_APP_ID.replace(/-/g, '_')}_driver`;
  const out: string[] = [];
  const sources = ['BlockManager', 'DAGScheduler', 'LiveListenerBus', 'CodeGenerator', 'HiveExternalCatalog', 'ExecutorMetrics', 'JVMCPU', 'appStatus', 'ExecutorAllocationManager', 'Databricks'];
  for (const [i, src] of sources.entries()) {
    for (let k = 0; k < 12; k++) {
      out.push(`${ns}_${src}_gauge${k}_Number{type="gauges"} ${i * 100 + k}\n`, `${ns}_${src}_gauge${k}_Value{type="gauges"} ${i * 100 + k}\n`);
      out.push(`${ns}_${src}_counter${k}_Count{type="counters"} ${i * 1000 + k}\n`);
    }
    for (let k = 0; k < 3; k++) {
      out.push(`${ns}_${src}_timer${k}_Count{type="timers"} 57\n`);
      for (const q of ['0.5', '0.75', '0.95', '0.98', '0.99', '0.999']) out.push(`${ns}_${src}_timer${k}{type="timers", quantile="${q}"} ${Number(q) * 400}\n`);
    }
  }
  return out.join('');
}

export interface Spark500Shape {
  executors: number;
  extraPerExecutor: number;
}

export function spark500Routes({ executors, extraPerExecutor }: Spark500Shape): { routes: Map<string, Route>; executorSeries: number; driverSeries: number; bytes: number } {
  const fixture = JSON.parse(databricksFixture('allexecutors.json')) as Executor[];
  const driver = fixture.find((e) => e.id === 'driver')!;
  const worker = fixture.find((e) => e.id !== 'driver')!;
  const all: Executor[] = [driver];
  for (let i = 0; i < executors; i++)
    all.push({ ...worker, id: String(i), hostPort: `10.139.${64 + (i >> 8)}.${i & 255}:40123`, completedTasks: 1000 + i, totalTasks: 1005 + i });
  const execText = prometheusResource(all, extraPerExecutor);
  const driverText = prometheusServlet();
  const routes = databricksRoutes();
  const base = `/api/v1/applications/${DATABRICKS_APP_ID}`;
  const json = JSON.stringify(all);
  routes.set(`${base}/allexecutors`, { body: json });
  routes.set(`${base}/executors`, { body: json });
  routes.set('/metrics/executors/prometheus', { body: execText, contentType: 'text/plain; version=0.0.4' });
  routes.set('/metrics/prometheus', { body: driverText, contentType: 'text/plain; version=0.0.4' });
  const lines = (t: string): number => t.split('\n').filter((l) => l && !l.startsWith('#')).length;
  return { routes, executorSeries: lines(execText), driverSeries: lines(driverText), bytes: Buffer.byteLength(execText) + Buffer.byteLength(driverText) };
}

if (require.main === module) {
  const executors = Number(process.argv[2] ?? 500);
  const extraPerExecutor = Number(process.argv[3] ?? 0);
  const { routes, executorSeries, driverSeries, bytes } = spark500Routes({ executors, extraPerExecutor });
  void startFakeSpark(routes).then((s) => {
    process.stdout.write(JSON.stringify({ url: s.url, executorSeries, driverSeries, bytes }) + '\n');
    // Ends with the bench (stdin closed) or a signal.
    process.stdin.resume();
    process.stdin.on('end', () => void s.close().then(() => process.exit(0)));
  });
}
