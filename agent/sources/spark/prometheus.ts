/**
 * `--spark-prometheus`: Spark's own Prometheus endpoints (on with spark.ui.prometheus.enabled,
 * Spark 3.0+): `/metrics/executors/prometheus` (PrometheusResource, per executor) and
 * `/metrics/prometheus` (PrometheusServlet, the driver's metrics system). Their text is parsed
 * here (pure) and relabelled: metric names are kept, `spark_app_id` is added, label names are
 * sanitised, labels the agent owns are renamed `exported_<name>` (Prometheus' own habit).
 *
 * HELP and TYPE are NOT taken from Spark: they differ between Spark versions (older ones send
 * none), and the Pushgateway rejects a name whose HELP/TYPE differ from another node's push.
 * Every forwarded series is an untyped-looking gauge with one fixed HELP.
 */
import type { Labels, Sample } from '../../core/sample';
import { RESERVED_LABELS, sanitizeLabelName } from '../../labels';

export interface PromTextSample {
  name: string;
  labels: Labels;
  value: number;
}

export interface ParsedPromText {
  samples: PromTextSample[];
  /** Lines that were neither comments, blank, nor a valid sample. */
  skipped: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
/** Sticky: matched at `lastIndex`, so a label name is read without slicing the line. */
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;

function parseValue(text: string): number | undefined {
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/** Parses `{a="x",b="y\"z"}` starting at `i` (the `{`); returns labels and the index after `}`. */
function parseLabels(line: string, i: number): { labels: Labels; end: number } | undefined {
  const labels: Labels = {};
  i++; // '{'
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    LABEL_NAME.lastIndex = i;
    const m = LABEL_NAME.exec(line);
    if (!m) return undefined;
    const name = m[0];
    i += name.length;
    while (line[i] === ' ') i++;
    if (line[i] !== '=') return undefined;
    i++;
    while (line[i] === ' ') i++;
    if (line[i] !== '"') return undefined;
    i++;
    // A 500-executor driver sends ~100k lines a cycle: a value without escapes (all of Spark's)
    // is one slice, not a string grown a character at a time.
    const close = line.indexOf('"', i);
    const slash = line.indexOf('\\', i);
    if (close >= 0 && (slash < 0 || slash > close)) {
      labels[name] = line.slice(i, close);
      i = close + 1;
      continue;
    }
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) return undefined;
      if (c === '"') break;
      if (c === '\\') {
        const n = line[i + 1];
        value += n === 'n' ? '\n' : n === '\\' ? '\\' : n === '"' ? '"' : `\\${n ?? ''}`;
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++; // closing quote
    labels[name] = value;
  }
}

/** Pure: Prometheus text exposition format 0.0.4 → samples (comments and timestamps ignored). */
export function parsePrometheusText(text: string): ParsedPromText {
  const samples: PromTextSample[] = [];
  let skipped = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = NAME.exec(line);
    if (!m) {
      skipped++;
      continue;
    }
    let i = m[0].length;
    let labels: Labels = {};
    if (line[i] === '{') {
      const parsed = parseLabels(line, i);
      if (!parsed) {
        skipped++;
        continue;
      }
      labels = parsed.labels;
      i = parsed.end;
    }
    const rest = line.slice(i).trim().split(/\s+/);
    const value = rest[0] === undefined ? undefined : parseValue(rest[0]);
    if (value === undefined || rest.length > 2) {
      skipped++;
      continue;
    }
    samples.push({ name: m[0], labels, value });
  }
  return { samples, skipped };
}

/** One HELP for every forwarded name; see the module comment for why it is fixed. */
export const FORWARDED_HELP = "Forwarded from Spark's own Prometheus endpoint (spark.ui.prometheus.enabled); see Spark's monitoring docs.";

/** Spark labels replaced by spark_app_id (the name is free-form text, unbounded). */
const DROPPED_LABELS = new Set(['application_id', 'application_name']);
/** Labels the agent owns that Spark legitimately sends with the same meaning. */
const SHARED_LABELS = new Set(['executor_id']);
/** Names the agent's own families use: a forwarded series must never collide with them. */
const OWN_PREFIXES = ['spark_', 'dbx_agent_', 'node_'];

function sanitizeMetricName(name: string): string {
  let s = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  if (!/^[a-zA-Z_:]/.test(s)) s = '_' + s;
  return s;
}

/**
 * Relabels Spark's samples for the push. Spark's default metrics namespace is the application
 * id, so PrometheusServlet names read `metrics_app_20261124135501_0000_driver_...`: a new
 * name per cluster start. The id is cut out of the name (it is in spark_app_id), which keeps
 * one name per metric across restarts.
 */
export function relabelSparkSamples(samples: readonly PromTextSample[], appId: string): Sample[] {
  const idInName = sanitizeMetricName(appId);
  const out: Sample[] = [];
  const seen = new Set<string>();
  // A few hundred names and a dozen label names among ~100k samples: each is mapped once.
  const names = new Map<string, string | undefined>();
  const labelNames = new Map<string, string | undefined>();
  for (const s of samples) {
    let name = names.get(s.name);
    if (name === undefined && !names.has(s.name)) {
      name = sanitizeMetricName(s.name);
      if (idInName.length > 0) name = name.split(`_${idInName}_`).join('_');
      const own = name;
      if (OWN_PREFIXES.some((p) => own.startsWith(p))) name = undefined;
      names.set(s.name, name);
    }
    if (name === undefined) continue;
    const labels: Labels = {};
    for (const k in s.labels) {
      let n = labelNames.get(k);
      if (n === undefined && !labelNames.has(k)) {
        n = DROPPED_LABELS.has(k) ? undefined : sanitizeLabelName(k);
        if (n !== undefined && RESERVED_LABELS.has(n) && !SHARED_LABELS.has(n)) n = `exported_${n}`;
        labelNames.set(k, n);
      }
      if (n !== undefined) labels[n] = s.labels[k]!;
    }
    labels.spark_app_id = appId;
    // The same series twice in one answer: Spark writes a series' labels in one order, so the
    // key is the labels as they come (a repeat in another order is deduplicated by the sinks).
    let key = name;
    for (const k in labels) key += `\u0000${k}\u0001${labels[k]!}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ name, help: FORWARDED_HELP, type: 'gauge', labels, value: s.value });
  }
  return out;
}
