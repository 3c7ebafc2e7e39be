/**
 * The label step of the pipeline: every series gets the node's identity (DESIGN "Labels").
 * Values are bounded: only identity, never free-form text from a workload.
 */
import type { DatabricksContext } from './databricks/context';
import type { Labels, Sample } from './core/sample';

/** Labels the agent owns; `--labels` cannot override them. */
export const RESERVED_LABELS = new Set([
  'job', 'instance', 'cluster_id', 'cluster_name', 'node', 'node_ip', 'role', 'instance_type',
  'job_id', 'run_id', 'spark_app_id', 'executor_id',
]);

/**
 * Labels some of the agent's own series carry, and where: a `--labels` key of the same name
 * loses to the series' own value there, which the agent says at start. A test collects every
 * label name the agent emits and checks it is here or reserved.
 */
export const SERIES_LABELS: ReadonlyMap<string, string> = new Map([
  ['cpu', 'node_cpu_*'],
  ['mode', 'node_cpu_*'],
  ['device', 'node_disk_*, node_network_*, node_filesystem_*'],
  ['fstype', 'node_filesystem_*'],
  ['mountpoint', 'node_filesystem_*'],
  ['collector', 'node_scrape_collector_*'],
  ['state', 'spark_executors'],
  ['status', 'spark_jobs, spark_stages, spark_sql_query_duration_seconds, spark_job_duration_seconds, spark_stages_completed_total'],
  ['area', 'spark_executor_storage_memory_*'],
  ['endpoint', 'dbx_agent_spark_endpoint_up'],
  ['source', 'dbx_agent_source_*'],
  ['sink', 'dbx_agent_push_*'],
  ['result', 'dbx_agent_*_total'],
  ['reason', 'dbx_agent_*_dropped_total, spark_executor_removals_total'],
  ['version', 'dbx_agent_build_info'],
  ['node_version', 'dbx_agent_build_info'],
  ['le', 'histograms'],
  ['query', 'spark_streaming_*'],
  ['kind', 'spark_streaming_queries'],
  ['quantile', 'summaries'],
  ['type', 'Spark metrics forwarded by --spark-prometheus'],
]);

export function isValidLabelName(name: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) && !name.startsWith('__');
}

/** Turns anything into a valid label name (for relabelled foreign metrics). */
export function sanitizeLabelName(name: string): string {
  let s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (!/^[a-zA-Z_]/.test(s)) s = '_' + s;
  return s.replace(/^__+/, '_');
}

/** The labels that identify this node, in DESIGN order; empty values are left out. */
export function nodeLabels(ctx: DatabricksContext, extra: Labels = {}): Labels {
  const out: Labels = { ...extra };
  const put = (k: string, v: string | undefined): void => {
    if (v !== undefined && v !== '') out[k] = v;
  };
  put('cluster_id', ctx.clusterId);
  put('cluster_name', ctx.clusterName);
  put('node', ctx.node);
  put('node_ip', ctx.nodeIp);
  put('role', ctx.role);
  put('instance_type', ctx.instanceType);
  put('job_id', ctx.jobId);
  put('run_id', ctx.runId);
  return out;
}

/**
 * Adds the node labels to every sample. A label the source set itself wins (e.g. a Spark
 * series carrying the job_id of the running job on an all-purpose cluster). The definition of
 * how a batch's `labels` apply: the sinks do the same without the copy, and tests hold them to it.
 */
export function applyLabels(samples: readonly Sample[], base: Labels): Sample[] {
  return samples.map((s) => ({ ...s, labels: { ...base, ...s.labels } }));
}
