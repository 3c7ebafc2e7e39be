/**
 * The Spark UI endpoints read each cycle: the per-application REST endpoints (executors, jobs,
 * stages) and Spark's own Prometheus endpoints (--spark-prometheus). Each endpoint runs isolated
 * (core/isolate.ts): one failing gives its `dbx_agent_spark_endpoint_up` 0 and one log line per
 * outage, and the rest is still sent.
 */
import type { Labels, Sample } from '../../core/sample';
import { gauge } from '../../core/sample';
import { isolate } from '../../core/isolate';
import type { Logger } from '../../core/log';
import { OutageLog } from '../../core/outage';
import { SparkRequestError, type SparkClient } from './client';
import { ExecutorRemovalTracker } from './executor-removals';
import { parseExecutors, parseJobs, parseStages, STAGE_STATUSES } from './parse';
import { parsePrometheusText, relabelSparkSamples } from './prometheus';
import { seriesDropped } from './series-dropped';
import { JobDurations } from './job-durations';
import { StageTotals, stageIdsOfJobs } from './stage-totals';
import { SqlQueries, sqlListPath } from './sql';
import { parseStreamingMetrics, STREAMING_METRICS_PATH } from './streaming';
import type { AgentStats } from '../../core/stats';

export const endpointUp = gauge('dbx_agent_spark_endpoint_up', 'Whether the last request to a Spark UI endpoint succeeded (1) or failed (0), by endpoint.');

export type Endpoint = 'executors' | 'jobs' | 'stages' | 'sql' | 'streaming' | 'prometheus_executors' | 'prometheus_driver';

/** The endpoints read per application: when all of them fail for every application, the collect fails. */
export const APP_ENDPOINTS = 4;

export interface EndpointResult {
  samples: Sample[];
  error?: Error;
}

export interface AppResult {
  samples: Sample[];
  failed: number;
  errors: Error[];
}

/**
 * One outage log per application and endpoint, so two applications' states do not toggle one
 * log; entries of applications that ended are dropped.
 */
export class EndpointOutages {
  private readonly logs = new Map<string, { appId: string; log: OutageLog }>();

  constructor(private readonly logger: Logger) {}

  get(endpoint: string, appId: string, what = `Spark endpoint ${endpoint}`): OutageLog {
    const k = `${appId} ${what}`;
    let o = this.logs.get(k);
    if (!o) {
      o = { appId, log: new OutageLog(this.logger, what, 'warn') };
      this.logs.set(k, o);
    }
    return o.log;
  }

  /** Spark's negative counts, left out: said once per stretch of them, per application and endpoint. */
  sayLeftOut(endpoint: string, appId: string, fields: readonly string[]): void {
    const l = this.get(endpoint, appId, `Spark endpoint ${endpoint} sent negative counts (left out, counted in dbx_agent_spark_values_left_out)`);
    if (fields.length > 0) l.failure(new Error(`negative: ${fields.slice(0, 5).join(', ')}${fields.length > 5 ? ', ...' : ''}`), { spark_app_id: appId });
    else l.success({ spark_app_id: appId });
  }

  /** Forgets the applications not in `apps` (they ended). */
  retain(apps: readonly string[]): void {
    for (const [k, o] of this.logs) if (!apps.includes(o.appId)) this.logs.delete(k);
  }
}

/** One endpoint: its samples, or none and a logged outage; never rejects. */
export async function runEndpoint(outages: EndpointOutages, endpoint: Endpoint, appId: string, run: () => Promise<Sample[]>): Promise<EndpointResult> {
  const labels: Labels = { endpoint, spark_app_id: appId };
  const r = await isolate(run, { outage: outages.get(endpoint, appId), fields: { spark_app_id: appId } });
  if (r.ok) return { samples: [...(r.value ?? []), endpointUp(labels, 1)] };
  const error = r.error instanceof Error ? r.error : new Error(String(r.error));
  return { samples: [endpointUp(labels, 0)], error };
}

export interface SparkEndpointsOptions {
  stats: AgentStats;
  maxStreamingQueries: number;
  /** When the agent started: only what finishes after it is counted (a restart must not count the retained past again). */
  startedAtMs: number;
}

/** What the agent keeps about one application between cycles, to count what finishes once. */
interface AppState {
  stages: StageTotals;
  jobs: JobDurations;
  sql: SqlQueries;
  /** The stage ids the last /jobs answer named: a gap in them is stages that ran between two reads. */
  stageIds: number[];
}

/** The REST endpoints of each application, and the driver's metrics servlets, on one client. */
export class SparkEndpoints {
  private readonly outages: EndpointOutages;
  // Counts each executor removal once, by reason (spark_executor_removals_total).
  private readonly removals = new ExecutorRemovalTracker();
  private readonly apps = new Map<string, AppState>();

  constructor(
    private readonly client: SparkClient,
    logger: Logger,
    private readonly o: SparkEndpointsOptions,
  ) {
    this.outages = new EndpointOutages(logger);
    // From the start, so an alert on increase() sees the first cut.
    o.stats.inc(seriesDropped, { reason: 'streaming_query_cap' }, 0);
  }

  /** The applications read this cycle: what is kept about any other one is dropped. */
  retainApps(apps: string[]): void {
    this.removals.retainApps(apps);
    this.outages.retain(apps);
    for (const id of this.apps.keys()) if (!apps.includes(id)) this.apps.delete(id);
  }

  private app(appId: string): AppState {
    let a = this.apps.get(appId);
    if (!a) {
      const startedAtMs = this.o.startedAtMs;
      a = { stages: new StageTotals({ startedAtMs }), jobs: new JobDurations({ startedAtMs }), sql: new SqlQueries({ startedAtMs }), stageIds: [] };
      this.apps.set(appId, a);
    }
    return a;
  }

  async collectApp(base: string, appId: string, signal?: AbortSignal): Promise<AppResult> {
    const api = `${base}/api/v1/applications/${encodeURIComponent(appId)}`;
    const results = await Promise.all([
      runEndpoint(this.outages, 'executors', appId, () => this.executors(api, appId, signal)),
      runEndpoint(this.outages, 'jobs', appId, () => this.jobs(api, appId, signal)),
      runEndpoint(this.outages, 'stages', appId, () => this.stages(api, appId, signal)),
      runEndpoint(this.outages, 'sql', appId, () => this.sql(base, appId, signal)),
    ]);
    const errors = results.flatMap((r) => (r.error ? [r.error] : []));
    return { samples: results.flatMap((r) => r.samples), failed: errors.length, errors };
  }

  /** Spark's own Prometheus text, once per UI (it serves one application). */
  async collectPrometheus(base: string, appId: string, signal?: AbortSignal): Promise<Sample[]> {
    const paths: [Endpoint, string][] = [
      ['prometheus_executors', '/metrics/executors/prometheus'],
      ['prometheus_driver', '/metrics/prometheus'],
    ];
    const results = await Promise.all(
      paths.map(([endpoint, p]) =>
        runEndpoint(this.outages, endpoint, appId, async () =>
          relabelSparkSamples(parsePrometheusText(await this.client.text(base + p, signal)).samples, appId),
        ),
      ),
    );
    return results.flatMap((r) => r.samples);
  }

  /**
   * Structured Streaming's gauges from the driver's Dropwizard servlet (once per UI, like the
   * Prometheus endpoints): they exist while queries run with spark.sql.streaming.metricsEnabled.
   */
  async collectStreaming(base: string, appId: string, signal?: AbortSignal): Promise<Sample[]> {
    const r = await runEndpoint(this.outages, 'streaming', appId, async () => {
      const result = parseStreamingMetrics(await this.client.json(base + STREAMING_METRICS_PATH, signal), { spark_app_id: appId }, Date.now(), {
        maxQueries: this.o.maxStreamingQueries,
      });
      if (result.dropped > 0) this.o.stats.inc(seriesDropped, { reason: 'streaming_query_cap' }, result.dropped);
      return result.samples;
    });
    return r.samples;
  }

  private async executors(api: string, appId: string, signal?: AbortSignal): Promise<Sample[]> {
    let json: unknown;
    try {
      json = await this.client.json(`${api}/allexecutors`, signal);
    } catch (e) {
      // Spark before 2.0.1 has no /allexecutors: the active ones are what there is.
      if (!(e instanceof SparkRequestError && e.status === 404)) throw e;
      json = await this.client.json(`${api}/executors`, signal);
    }
    // Parsed whole first: a malformed answer must not count as executors that left.
    const leftOut: string[] = [];
    const samples = parseExecutors(json, appId, leftOut);
    this.outages.sayLeftOut('executors', appId, leftOut);
    return [...samples, ...this.removals.observeJson(appId, json)];
  }

  private async jobs(api: string, appId: string, signal?: AbortSignal): Promise<Sample[]> {
    const leftOut: string[] = [];
    const json = await this.client.json(`${api}/jobs`, signal);
    const samples = parseJobs(json, appId, leftOut);
    this.outages.sayLeftOut('jobs', appId, leftOut);
    const app = this.app(appId);
    const durations = app.jobs.observe(json, { spark_app_id: appId });
    app.stageIds = stageIdsOfJobs(json);
    return [...samples, ...durations];
  }

  /** SQL queries: read incrementally (`offset`/`length`), each finished one counted once. */
  private async sql(base: string, appId: string, signal?: AbortSignal): Promise<Sample[]> {
    const fetch = (offset: number, length: number): Promise<unknown> => this.client.json(base + sqlListPath(appId, offset, length), signal);
    return this.app(appId).sql.collect(fetch, { spark_app_id: appId }, Date.now());
  }

  /**
   * The stages in flight (counts by status), and totals over the stages that finished: a stage
   * is read once by id (`/stages/<id>`, its attempts) when it leaves the in-flight list, so the
   * thousands of completed stages Spark retains are never listed.
   */
  private async stages(api: string, appId: string, signal?: AbortSignal): Promise<Sample[]> {
    const statusQuery = STAGE_STATUSES.map((s) => `status=${s}`).join('&');
    const json = await this.client.json(`${api}/stages?${statusQuery}`, signal);
    const counts = parseStages(json, appId);
    const app = this.app(appId);
    const fetchStage = async (id: number): Promise<unknown> => {
      try {
        // details=false: by default Spark sends every task of every attempt here.
        return await this.client.json(`${api}/stages/${id}?details=false`, signal);
      } catch (e) {
        if (e instanceof SparkRequestError && e.status === 404) return null; // Spark no longer retains it
        throw e;
      }
    };
    const totals = await app.stages.collect(json, fetchStage, { spark_app_id: appId }, app.stageIds);
    this.outages.sayLeftOut('stages', appId, app.stages.lastLeftOut);
    return [...counts, ...totals];
  }
}
