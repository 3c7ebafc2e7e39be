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
 *
 * The parts, each on its own: applications.ts (where the UI is, which applications run),
 * endpoints.ts (each application's REST endpoints, Spark's own Prometheus endpoints),
 * driver-jvm.ts (the driver JVM's memory), executor-cap.ts (--max-executor-series).
 */
import type { ComponentEnv } from '../../core/component';
import type { Sample } from '../../core/sample';
import type { Source } from '../../core/source';
import { SparkApplications } from './applications';
import { createSparkClient, type SparkClient } from './client';
import { SparkDiscovery } from './discovery';
import { DriverJvm } from './driver-jvm';
import { APP_ENDPOINTS, SparkEndpoints } from './endpoints';
import { ExecutorSeriesCap } from './executor-cap';
import type { SparkOptions } from './options';

export { MAX_APPLICATIONS, SparkNotUpError } from './applications';

export interface SparkSourceOverrides {
  /** Stands for `/` when looking for the driver JVM in proc/ and tmp/ (tests). */
  rootDir?: string;
  /** Ports probed when nothing else names the Spark UI (tests). */
  probePorts?: readonly number[];
  /** When the agent started (tests): only what finishes after it is counted. */
  startedAtMs?: number;
}

export function createSparkSource(opts: SparkOptions, env: ComponentEnv, overrides: SparkSourceOverrides = {}): Source {
  const { context, logger, stats } = env;
  const { maxResponseBytes } = opts;
  const client: SparkClient = createSparkClient({ timeoutMs: opts.timeoutMs, maxResponseBytes });
  const probeClient: SparkClient = createSparkClient({ timeoutMs: Math.min(opts.timeoutMs, 2000), maxResponseBytes });
  const discovery = new SparkDiscovery({
    configuredUrl: opts.url,
    driverEnvFile: opts.driverEnvFile,
    driverIp: context.driverIp,
    probePorts: overrides.probePorts,
    logger,
    probe: async (base) => Array.isArray(await probeClient.json(`${base}/api/v1/applications`)),
  });
  const applications = new SparkApplications(discovery, client, logger);
  const endpoints = new SparkEndpoints(client, logger, { stats, maxStreamingQueries: opts.maxStreamingQueries, startedAtMs: overrides.startedAtMs ?? Date.now() });
  const driver = new DriverJvm(logger, overrides.rootDir);
  const cap = new ExecutorSeriesCap(opts.maxExecutorSeries, logger, stats);

  return {
    name: 'spark',
    async collect(_now: Date, signal?: AbortSignal): Promise<Sample[]> {
      const { url, apps } = await applications.find(signal);
      endpoints.retainApps(apps);
      // All at once, so a hanging Spark costs one --spark-timeout here, not one per request.
      // The UI serves one application's metrics system and its driver JVM: label with the first.
      const [perApp, prom, streaming, jvm] = await Promise.all([
        Promise.all(apps.map((id) => endpoints.collectApp(url, id, signal))),
        opts.prometheus ? endpoints.collectPrometheus(url, apps[0]!, signal) : Promise.resolve([]),
        endpoints.collectStreaming(url, apps[0]!, signal),
        driver.collect(apps[0]!),
      ]);
      const total = perApp.reduce((n, r) => n + r.failed, 0);
      // Every endpoint of every application failed: that is an outage, not a partial result.
      if (total === apps.length * APP_ENDPOINTS) throw perApp[0]!.errors[0]!;
      return cap.apply([...perApp.flatMap((r) => r.samples), ...prom, ...streaming, ...jvm]);
    },
    close(): void {
      client.close();
      probeClient.close();
    },
  };
}
