/**
 * Pure: Structured Streaming gauges from the driver's Dropwizard servlet `/metrics/json`
 * (Spark's MetricsServlet, on by default on the driver UI: `*.sink.servlet.path=/metrics/json` in
 * MetricsConfig) → samples with a bounded `query` label.
 *
 * The servlet writes the whole driver metric registry with dropwizard's `MetricsModule`:
 * `{"version":"4.0.0","gauges":{"<name>":{"value":…}},"counters":{…},"histograms":{…},
 * "meters":{…},"timers":{…}}`; a gauge whose getter threw is `{"error":"…"}` instead, and Jackson
 * writes a Double NaN/Infinity as the string `"NaN"`/`"Infinity"` (inputRowsPerSecond is NaN or
 * infinite around the first trigger: ProgressReporter divides by the time since the last one).
 *
 * A query's gauges are there only while `spark.sql.streaming.metricsEnabled=true` (default false;
 * read from the query's session when it starts) and only while the query runs (StreamExecution
 * registers its MetricsReporter on start and removes it on termination). Names are
 * `MetricsSystem.buildRegistryName`: `<spark.metrics.namespace, else spark.app.id>.driver.<source>`
 * (just `<source>` when neither is set), with source `spark.streaming.<name, else the query id>`
 * and the metric one of MetricsReporter's: `inputRate-total`, `processingRate-total`, `latency`
 * (ms, the last trigger's `triggerExecution`), `eventTime-watermark` (epoch ms; 0 while there is
 * no watermark), `states-rowsTotal`, `states-usedBytes`. A query name is free text and may hold
 * dots, so a name is cut from the known metric suffix at the end, not split on dots.
 *
 * Unnamed queries. Their source name is the query id, a UUID. The id is kept in the checkpoint,
 * so it survives a restart from the same checkpoint, but every new checkpoint makes a new one:
 * notebook streams without a checkpointLocation (temporary checkpoints), memory/console sinks,
 * tests, a checkpoint deleted to "reset" a stream. On an all-purpose cluster running for weeks,
 * one series set per UUID would grow without end, and a UUID tells an operator nothing on a
 * dashboard anyway. So all unnamed queries are folded into ONE series set, `query="unnamed"`:
 * rates, state rows and state bytes are summed (the totals stay true: what the unnamed streams
 * read, hold and cost together), the batch duration and the watermark lag are the worst (max)
 * of them (an alert on a slow or lagging stream still fires). `spark_streaming_queries{kind}`
 * says how many queries are folded in. A numbered label (`unnamed-0`, `unnamed-1`, …) was
 * rejected: the numbers would have to come from sorting UUIDs, so when one stream restarts with
 * a new UUID the numbers shift and a series silently starts describing another stream, which is
 * worse than an honest total. To get a stream of its own, name it: `.queryName("orders")`. A
 * query literally named `unnamed`, or named with a UUID, is folded in too (its series would
 * collide with the total).
 *
 * Cap: at most `maxQueries` named queries are reported, the first by name (code-unit order, the
 * same on every node and every cycle, so the cap keeps the same ones while the set of queries
 * stays the same); the `unnamed` total is one more and always kept. The rest are counted in
 * `dropped`. Since each cycle replaces the whole Pushgateway group, a query that stops (or falls
 * beyond the cap) disappears with its series.
 */
import { gauge, type Labels, type Sample } from '../../core/sample';
import { asObject } from './parse';

/** The Dropwizard servlet's path on the driver's Spark UI. */
export const STREAMING_METRICS_PATH = '/metrics/json';
/** The Spark SQL setting that makes streaming queries report to the metrics system. */
export const STREAMING_METRICS_CONF = 'spark.sql.streaming.metricsEnabled';
export const DEFAULT_MAX_STREAMING_QUERIES = 20;
/** The `query` label value of all unnamed queries together. */
export const UNNAMED_QUERY = 'unnamed';

export const streamingInputRate = gauge(
  'spark_streaming_input_rows_per_second',
  'Rows per second arriving at a Structured Streaming query in its last trigger (Spark inputRate-total); for query="unnamed", the sum over unnamed queries.',
);
export const streamingProcessedRate = gauge(
  'spark_streaming_processed_rows_per_second',
  'Rows per second a Structured Streaming query processed in its last trigger (Spark processingRate-total); for query="unnamed", the sum over unnamed queries.',
);
export const streamingBatchDuration = gauge(
  'spark_streaming_batch_duration_seconds',
  'Duration of the last trigger of a Structured Streaming query, in seconds (Spark latency, triggerExecution); for query="unnamed", the longest of the unnamed queries.',
);
export const streamingStateRows = gauge(
  'spark_streaming_state_rows',
  'Rows held in the state stores of a Structured Streaming query (Spark states-rowsTotal); for query="unnamed", the sum over unnamed queries.',
);
export const streamingStateMemory = gauge(
  'spark_streaming_state_memory_bytes',
  'Memory used by the state stores of a Structured Streaming query, in bytes (Spark states-usedBytes); for query="unnamed", the sum over unnamed queries.',
);
export const streamingWatermarkLag = gauge(
  'spark_streaming_watermark_lag_seconds',
  'Wall-clock time minus the event-time watermark of a Structured Streaming query, in seconds (includes the watermark delay); absent without a watermark; for query="unnamed", the largest of the unnamed queries.',
);
export const streamingQueries = gauge(
  'spark_streaming_queries',
  'Running Structured Streaming queries that report metrics (spark.sql.streaming.metricsEnabled), by kind (named, unnamed), those beyond the cap included.',
);

/** MetricsReporter's gauges, by the suffix Spark gives them. */
const METRICS = {
  'inputRate-total': 'inputRate',
  'processingRate-total': 'processingRate',
  latency: 'latencyMs',
  'eventTime-watermark': 'watermarkMs',
  'states-rowsTotal': 'stateRows',
  'states-usedBytes': 'stateBytes',
} as const;
type SparkMetric = keyof typeof METRICS;
type Field = (typeof METRICS)[SparkMetric];

/** One query's values as Spark sent them; a value left out (not a finite number) is undefined. */
export type QueryValues = Partial<Record<Field, number>>;

// The namespace (app id or spark.metrics.namespace) ends at the first ".driver.spark.streaming.";
// without one, the name starts at "spark.streaming.". The metric is the known suffix at the end.
const GAUGE_RE = new RegExp(
  `^(?:(.*?)\\.driver\\.)?spark\\.streaming\\.(.+)\\.(${Object.keys(METRICS).map((m) => m.replace(/[.-]/g, '\\$&')).join('|')})$`,
);

/** Splits a registry name into the query's name and MetricsReporter's metric; undefined for any other gauge. */
export function splitStreamingGauge(name: string): { query: string; metric: SparkMetric } | undefined {
  const m = GAUGE_RE.exec(name);
  if (!m) return undefined;
  return { query: m[2]!, metric: m[3] as SparkMetric };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a source name is an unnamed query's id (or the reserved `unnamed`). */
export function isUnnamedQuery(name: string): boolean {
  return name === UNNAMED_QUERY || UUID_RE.test(name);
}

export interface StreamingOptions {
  /** Named queries reported at most (the `unnamed` total is one more). */
  maxQueries: number;
}

export interface StreamingResult {
  samples: Sample[];
  /** Running queries found (named and unnamed), those beyond the cap included. */
  queries: number;
  /** Named queries beyond the cap, not reported. */
  dropped: number;
  /** Streaming gauges left out because their value was not a finite number (Jackson's "NaN", an {"error"}, …). */
  leftOut: number;
}

function what(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/**
 * The streaming gauges of a `/metrics/json` payload, by query name (as Spark sent it). Throws when
 * the payload is not the servlet's object or has no `gauges` object (the endpoint is then down).
 */
export function streamingQueryValues(json: unknown): { byQuery: Map<string, QueryValues>; leftOut: number } {
  const root = asObject(json);
  if (!root) throw new Error(`metrics/json: expected a JSON object, got ${what(json)}`);
  const gauges = asObject(root.gauges);
  if (!gauges) throw new Error(`metrics/json: "gauges" is ${root.gauges === undefined ? 'missing' : what(root.gauges)}, not an object`);
  const byQuery = new Map<string, QueryValues>();
  let leftOut = 0;
  for (const [name, entry] of Object.entries(gauges)) {
    const parts = splitStreamingGauge(name);
    if (!parts) continue;
    let q = byQuery.get(parts.query);
    if (!q) byQuery.set(parts.query, (q = {}));
    const v = asObject(entry)?.value;
    if (typeof v === 'number' && Number.isFinite(v)) q[METRICS[parts.metric]] = v;
    else leftOut++;
  }
  return { byQuery, leftOut };
}

/** The unnamed queries as one: sums of rates and state, the worst latency and watermark lag. */
function foldUnnamed(queries: QueryValues[], nowMs: number): { values: QueryValues; lagSeconds?: number } {
  const values: QueryValues = {};
  let lag: number | undefined;
  const add = (f: Field, v: number | undefined): void => {
    if (v !== undefined) values[f] = (values[f] ?? 0) + v;
  };
  for (const q of queries) {
    add('inputRate', q.inputRate);
    add('processingRate', q.processingRate);
    add('stateRows', q.stateRows);
    add('stateBytes', q.stateBytes);
    if (q.latencyMs !== undefined) values.latencyMs = Math.max(values.latencyMs ?? -Infinity, q.latencyMs);
    const l = lagOf(q, nowMs);
    if (l !== undefined) lag = Math.max(lag ?? -Infinity, l);
  }
  return { values, lagSeconds: lag };
}

/** Now minus the watermark, in seconds; undefined while the query has none (Spark reports 0). */
function lagOf(q: QueryValues, nowMs: number): number | undefined {
  return q.watermarkMs !== undefined && q.watermarkMs > 0 ? (nowMs - q.watermarkMs) / 1000 : undefined;
}

function querySamples(l: Labels, q: QueryValues, lagSeconds: number | undefined): Sample[] {
  const out: Sample[] = [];
  if (q.inputRate !== undefined) out.push(streamingInputRate(l, q.inputRate));
  if (q.processingRate !== undefined) out.push(streamingProcessedRate(l, q.processingRate));
  if (q.latencyMs !== undefined) out.push(streamingBatchDuration(l, q.latencyMs / 1000));
  if (q.stateRows !== undefined) out.push(streamingStateRows(l, q.stateRows));
  if (q.stateBytes !== undefined) out.push(streamingStateMemory(l, q.stateBytes));
  if (lagSeconds !== undefined) out.push(streamingWatermarkLag(l, lagSeconds));
  return out;
}

/**
 * `/metrics/json` of the driver → the streaming series, every one labelled with `labels` plus
 * `query`: named queries by name (capped, see the file's comment), unnamed ones together as
 * `query="unnamed"`, and `spark_streaming_queries{kind}`. `nowMs` is the wall clock the watermark
 * lag is measured against.
 */
export function parseStreamingMetrics(json: unknown, labels: Labels, nowMs: number, opts: StreamingOptions): StreamingResult {
  if (!Number.isInteger(opts.maxQueries) || opts.maxQueries < 0) throw new RangeError(`maxQueries: ${opts.maxQueries} is not a whole number >= 0`);
  const { byQuery, leftOut } = streamingQueryValues(json);
  const named: [string, QueryValues][] = [];
  const unnamed: QueryValues[] = [];
  for (const [name, q] of byQuery) {
    if (isUnnamedQuery(name)) unnamed.push(q);
    else named.push([name, q]);
  }
  // Code-unit order, not localeCompare: the same on every node whatever its locale.
  named.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const kept = named.slice(0, opts.maxQueries);

  const samples: Sample[] = [
    streamingQueries({ ...labels, kind: 'named' }, named.length),
    streamingQueries({ ...labels, kind: 'unnamed' }, unnamed.length),
  ];
  if (unnamed.length > 0) {
    const { values, lagSeconds } = foldUnnamed(unnamed, nowMs);
    samples.push(...querySamples({ ...labels, query: UNNAMED_QUERY }, values, lagSeconds));
  }
  for (const [name, q] of kept) samples.push(...querySamples({ ...labels, query: name }, q, lagOf(q, nowMs)));
  return { samples, queries: byQuery.size, dropped: named.length - kept.length, leftOut };
}
