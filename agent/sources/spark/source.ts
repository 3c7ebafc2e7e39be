/**
 * The Spark source (driver, or anywhere with --spark-url): the Spark UI REST API of the
 * running application(s), the driver JVM's memory from /proc and its perf data file, and
 * (--spark-prometheus) Spark's own Prometheus endpoints.
 *
 * Failure shapes, each giving `dbx_agent_source_up{source="spark"}` 0 or a partial result:
 *  - Spark not found / no running application (the first minutes of a cluster): the collect
 *    rejects with SparkNotUpError, which asks to be logged at info (once per outage);
 *  - the applications list fails (500, timeout, dropped connection, HTML, bad JSON): reject
 *    with the reason; the pipeline logs it once per outage;
 *  - one endpoint of an application fails: the rest is still sent, the endpoint's
 *    `dbx_agent_spark_endpoint_up` is 0 and it is logged once per outage.
 */
import type { Labels, Sample } from '../../core/sample';
import { gauge } from '../../core/sample';
import { ExpectedOutage, OutageLog } from '../../core/outage';
import { seriesDropped } from './series-dropped';
import { createSparkClient, SparkRequestError, type SparkClient } from './client';
import { SparkDiscovery } from './discovery';
import {
  capExecutorSeries,
  parseExecutors,
  parseJobs,
  parseStages,
  runningApplications,
  STAGE_STATUSES,
} from './parse';
import { parsePrometheusText, relabelSparkSamples } from './prometheus';
import { DriverProcessFinder } from './driver-process';
import { ExecutorRemovalTracker } from './executor-removals';
import { readJvmHeap } from './hsperfdata';
import type { Source } from '../../core/source';
import type { SourceEnv } from '../index';

const endpointUp = gauge('dbx_agent_spark_endpoint_up', 'Whether the last request to a Spark UI endpoint succeeded (1) or failed (0), by endpoint.');
const driverRss = gauge('spark_driver_jvm_resident_memory_bytes', 'Resident memory of the driver JVM process (from /proc), in bytes.');
const driverHeapUsed = gauge('spark_driver_jvm_heap_used_bytes', "Driver JVM heap used now (eden + survivors + old, as jstat -gc), in bytes, from the JVM's hsperfdata file.");
const driverHeapMax = gauge('spark_driver_jvm_heap_max_bytes', "Driver JVM maximum heap (young + old max capacity, as jstat -gc), in bytes, from the JVM's hsperfdata file.");

/** Spark is not up yet or runs no application: expected at cluster start, logged at info. */
export class SparkNotUpError extends ExpectedOutage {
  constructor(message: string) {
    super(message);
    this.name = 'SparkNotUpError';
  }
}

export interface SparkSourceOverrides {
  /** Stands for `/` when looking for the driver JVM in proc/ and tmp/ (tests). */
  rootDir?: string;
  /** Ports probed when nothing else names the Spark UI (tests). */
  probePorts?: readonly number[];
}

/** Applications read per cycle: a bound on spark_app_id values and on requests. */
export const MAX_APPLICATIONS = 4;

type Endpoint = 'executors' | 'jobs' | 'stages' | 'prometheus_executors' | 'prometheus_driver';

export function createSparkSource(env: SourceEnv, overrides: SparkSourceOverrides = {}): Source {
  const { config, context, logger, stats } = env;
  const maxResponseBytes = config.spark.maxResponseBytes;
  const client: SparkClient = createSparkClient({ timeoutMs: config.spark.timeoutMs, maxResponseBytes });
  const probeClient: SparkClient = createSparkClient({ timeoutMs: Math.min(config.spark.timeoutMs, 2000), maxResponseBytes });
  const discovery = new SparkDiscovery({
    configuredUrl: config.spark.url,
    driverEnvFile: config.spark.driverEnvFile,
    driverIp: context.driverIp,
    probePorts: overrides.probePorts,
    logger,
    probe: async (base) => Array.isArray(await probeClient.json(`${base}/api/v1/applications`)),
  });
  const driverProcess = new DriverProcessFinder(overrides.rootDir);
  // One outage log per application and endpoint, so two applications' states do not toggle
  // one log; entries of applications that ended are dropped.
  const endpointOutages = new Map<string, { appId: string; log: OutageLog }>();
  const outage = (endpoint: string, appId: string, what = `Spark endpoint ${endpoint}`): OutageLog => {
    const k = `${appId} ${what}`;
    let o = endpointOutages.get(k);
    if (!o) {
      o = { appId, log: new OutageLog(logger, what, 'warn') };
      endpointOutages.set(k, o);
    }
    return o.log;
  };
  const capLog = new OutageLog(logger, 'per-executor series cap', 'warn');
  /** Spark's negative counts, left out: said once per stretch of them, per application and endpoint. */
  const sayLeftOut = (endpoint: string, appId: string, fields: string[]): void => {
    const l = outage(endpoint, appId, `Spark endpoint ${endpoint} sent negative counts (left out, counted in dbx_agent_spark_values_left_out)`);
    if (fields.length > 0) l.failure(new Error(`negative: ${fields.slice(0, 5).join(', ')}${fields.length > 5 ? ', ...' : ''}`), { spark_app_id: appId });
    else l.success({ spark_app_id: appId });
  };
  // Counts each executor removal once, by reason (spark_executor_removals_total).
  const removals = new ExecutorRemovalTracker();
  const appsLog = new OutageLog(logger, 'application count', 'warn');
  // From the start, so an alert on increase() sees the first cut.
  stats.inc(seriesDropped, { reason: 'executor_cap' }, 0);

  /** One endpoint: its samples, or none and a logged outage; never rejects. */
  async function fetchEndpoint(endpoint: Endpoint, appId: string, run: () => Promise<Sample[]>): Promise<{ samples: Sample[]; error?: Error }> {
    const labels: Labels = { endpoint, spark_app_id: appId };
    try {
      const samples = await run();
      outage(endpoint, appId).success({ spark_app_id: appId });
      return { samples: [...samples, endpointUp(labels, 1)] };
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      outage(endpoint, appId).failure(error, { spark_app_id: appId });
      return { samples: [endpointUp(labels, 0)], error };
    }
  }

  async function collectApp(base: string, appId: string, signal?: AbortSignal): Promise<{ samples: Sample[]; failed: number; errors: Error[] }> {
    const api = `${base}/api/v1/applications/${encodeURIComponent(appId)}`;
    const statusQuery = STAGE_STATUSES.map((s) => `status=${s}`).join('&');
    const results = await Promise.all([
      fetchEndpoint('executors', appId, async () => {
        let json: unknown;
        try {
          json = await client.json(`${api}/allexecutors`, signal);
        } catch (e) {
          // Spark before 2.0.1 has no /allexecutors: the active ones are what there is.
          if (!(e instanceof SparkRequestError && e.status === 404)) throw e;
          json = await client.json(`${api}/executors`, signal);
        }
        // Parsed whole first: a malformed answer must not count as executors that left.
        const leftOut: string[] = [];
        const samples = parseExecutors(json, appId, leftOut);
        sayLeftOut('executors', appId, leftOut);
        return [...samples, ...removals.observeJson(appId, json)];
      }),
      fetchEndpoint('jobs', appId, async () => {
        const leftOut: string[] = [];
        const samples = parseJobs(await client.json(`${api}/jobs`, signal), appId, leftOut);
        sayLeftOut('jobs', appId, leftOut);
        return samples;
      }),
      fetchEndpoint('stages', appId, async () => parseStages(await client.json(`${api}/stages?${statusQuery}`, signal), appId)),
    ]);
    const errors = results.flatMap((r) => (r.error ? [r.error] : []));
    return { samples: results.flatMap((r) => r.samples), failed: errors.length, errors };
  }

  /** Spark's own Prometheus text, once per UI (it serves one application). */
  async function collectPrometheus(base: string, appId: string, signal?: AbortSignal): Promise<Sample[]> {
    const paths: [Endpoint, string][] = [
      ['prometheus_executors', '/metrics/executors/prometheus'],
      ['prometheus_driver', '/metrics/prometheus'],
    ];
    const results = await Promise.all(
      paths.map(([endpoint, p]) =>
        fetchEndpoint(endpoint, appId, async () => relabelSparkSamples(parsePrometheusText(await client.text(base + p, signal)).samples, appId)),
      ),
    );
    return results.flatMap((r) => r.samples);
  }

  async function collectDriver(appId: string): Promise<Sample[]> {
    const app: Labels = { spark_app_id: appId };
    try {
      const proc = await driverProcess.read();
      if (!proc) return [];
      const out = [driverRss(app, proc.rssBytes)];
      const heap = await readJvmHeap(proc.pid, overrides.rootDir).catch((e: unknown) => {
        logger.debug('driver JVM perf data unreadable', { error: e instanceof Error ? e.message : String(e) });
        return undefined;
      });
      if (heap) {
        out.push(driverHeapUsed(app, heap.usedBytes));
        if (heap.maxBytes !== undefined) out.push(driverHeapMax(app, heap.maxBytes));
      }
      return out;
    } catch (e) {
      logger.debug('driver JVM process not readable', { error: e instanceof Error ? e.message : String(e) });
      return [];
    }
  }

  return {
    name: 'spark',
    async collect(_now: Date, signal?: AbortSignal): Promise<Sample[]> {
      const found = await discovery.resolve();
      if (!found)
        throw new SparkNotUpError(`Spark UI not found yet (normal in the first minutes of a cluster): ${discovery.describeAttempts()}`);
      let appsJson: unknown;
      try {
        appsJson = await client.json(`${found.url}/api/v1/applications`, signal);
      } catch (e) {
        discovery.failed();
        // Nothing listening: Spark is starting (or restarting). Anything else is a real fault.
        if (e instanceof SparkRequestError && e.kind === 'refused')
          throw new SparkNotUpError(`Spark UI not up yet at ${found.url} (${found.how}): ${e.message}`);
        throw e;
      }
      let running: string[];
      try {
        running = runningApplications(appsJson);
      } catch (e) {
        discovery.failed();
        throw new Error(`GET ${found.url}/api/v1/applications: ${(e as Error).message}`);
      }
      if (running.length === 0) throw new SparkNotUpError(`no running Spark application at ${found.url}`);
      discovery.succeeded();
      // A driver's UI lists its one application; a history server pointed at by mistake may
      // list hundreds of unfinished ones: read the first few, in Spark's order.
      const apps = running.slice(0, MAX_APPLICATIONS);
      removals.retainApps(apps);
      for (const [k, o] of endpointOutages) if (!apps.includes(o.appId)) endpointOutages.delete(k);
      if (running.length > MAX_APPLICATIONS)
        appsLog.failure(new Error(`${running.length} running applications at ${found.url}; reading the first ${MAX_APPLICATIONS}`));
      else appsLog.success();

      // All at once, so a hanging Spark costs one --spark-timeout here, not one per request.
      // The UI serves one application's metrics system and its driver JVM: label with the first.
      const [perApp, prom, driver] = await Promise.all([
        Promise.all(apps.map((id) => collectApp(found.url, id, signal))),
        config.spark.prometheus ? collectPrometheus(found.url, apps[0]!, signal) : Promise.resolve([]),
        collectDriver(apps[0]!),
      ]);
      const total = perApp.reduce((n, r) => n + r.failed, 0);
      // Every endpoint of every application failed: that is an outage, not a partial result.
      if (total === apps.length * 3) throw perApp[0]!.errors[0]!;
      const samples = [...perApp.flatMap((r) => r.samples), ...prom, ...driver];

      const { kept, dropped } = capExecutorSeries(samples, config.spark.maxExecutorSeries);
      if (dropped > 0) {
        stats.inc(seriesDropped, { reason: 'executor_cap' }, dropped);
        capLog.failure(new Error(`${dropped} per-executor series over --max-executor-series ${config.spark.maxExecutorSeries} left out`));
      } else capLog.success();
      return kept;
    },
    close(): void {
      client.close();
      probeClient.close();
    },
  };
}
