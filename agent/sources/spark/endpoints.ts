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

export const endpointUp = gauge('dbx_agent_spark_endpoint_up', 'Whether the last request to a Spark UI endpoint succeeded (1) or failed (0), by endpoint.');

export type Endpoint = 'executors' | 'jobs' | 'stages' | 'prometheus_executors' | 'prometheus_driver';

/** The endpoints read per application: when all of them fail for every application, the collect fails. */
export const APP_ENDPOINTS = 3;

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
  sayLeftOut(endpoint: string, appId: string, fields: string[]): void {
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

/** The REST endpoints of each application and Spark's own Prometheus endpoints, on one client. */
export class SparkEndpoints {
  private readonly outages: EndpointOutages;
  // Counts each executor removal once, by reason (spark_executor_removals_total).
  private readonly removals = new ExecutorRemovalTracker();

  constructor(
    private readonly client: SparkClient,
    logger: Logger,
  ) {
    this.outages = new EndpointOutages(logger);
  }

  /** The applications read this cycle: what is kept about any other one is dropped. */
  retainApps(apps: string[]): void {
    this.removals.retainApps(apps);
    this.outages.retain(apps);
  }

  async collectApp(base: string, appId: string, signal?: AbortSignal): Promise<AppResult> {
    const api = `${base}/api/v1/applications/${encodeURIComponent(appId)}`;
    const results = await Promise.all([
      runEndpoint(this.outages, 'executors', appId, () => this.executors(api, appId, signal)),
      runEndpoint(this.outages, 'jobs', appId, () => this.jobs(api, appId, signal)),
      runEndpoint(this.outages, 'stages', appId, () => this.stages(api, appId, signal)),
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
    const samples = parseJobs(await this.client.json(`${api}/jobs`, signal), appId, leftOut);
    this.outages.sayLeftOut('jobs', appId, leftOut);
    return samples;
  }

  private async stages(api: string, appId: string, signal?: AbortSignal): Promise<Sample[]> {
    const statusQuery = STAGE_STATUSES.map((s) => `status=${s}`).join('&');
    return parseStages(await this.client.json(`${api}/stages?${statusQuery}`, signal), appId);
  }
}
