/**
 * From one cycle's samples to remote-write series: the label set of each series (sorted,
 * unique, no empty values, `__name__` first-class), validation, and staleness markers.
 *
 * Label rules (Prometheus remote-write spec 1.0, "Labels"): label names sorted
 * lexicographically, no repeated names, no empty names or values; `__name__` holds the metric
 * name. A label with an empty value is the same as no label in Prometheus, so it is dropped.
 *
 * `job` and `instance` belong to the agent (what a scrape would set): the sample's own `job` or
 * `instance`, if any, is kept as `exported_job` / `exported_instance`, as Prometheus does on a
 * scrape conflict (honor_labels: false).
 */
import type { Sample } from '../sample';
import type { Label, WireSeries } from './protobuf';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface TargetLabels {
  job: string;
  /** The `instance` label; undefined to leave it out. */
  instance?: string;
}

export type BuildResult = { labels: Label[] } | { invalid: string };

/** The sorted label set of one sample, or why it cannot be sent. */
export function seriesLabels(s: Sample, target: TargetLabels): BuildResult {
  if (!METRIC_NAME.test(s.name)) return { invalid: `metric name "${s.name}"` };
  const labels: Label[] = [['__name__', s.name]];
  for (const name in s.labels) {
    const value = s.labels[name]!;
    if (value === '') continue;
    // `__` names are reserved for Prometheus internals; a sample must not set `__name__` twice.
    if (!LABEL_NAME.test(name) || name.startsWith('__')) return { invalid: `label name "${name}" of ${s.name}` };
    if (name === 'job' || name === 'instance') {
      labels.push([`exported_${name}`, value]);
    } else labels.push([name, value]);
  }
  labels.push(['job', target.job]);
  if (target.instance !== undefined && target.instance !== '') labels.push(['instance', target.instance]);
  labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (let i = 1; i < labels.length; i++)
    // Only possible when a sample carries both `job` and `exported_job` (or instance alike).
    if (labels[i]![0] === labels[i - 1]![0]) return { invalid: `duplicate label "${labels[i]![0]}" of ${s.name}` };
  return { labels };
}

/** A stable, injective identity of a label set (length-prefixed, so no separator can collide). */
export function seriesKey(labels: readonly Label[]): string {
  let k = '';
  for (const [n, v] of labels) k += `${n.length}:${n}${v.length}:${v}`;
  return k;
}

export interface CycleSeries {
  series: WireSeries[];
  /** Samples dropped as invalid, with the first reason (for one log line). */
  invalid: number;
  firstInvalid?: string;
  /** Staleness markers added for series gone since the last cycle. */
  stale: number;
}

/**
 * Turns each cycle's samples into series, and remembers which series it sent: a series present
 * last cycle and absent now gets one staleness marker (NaN 0x7ff0000000000002) at the new
 * cycle's timestamp, so Prometheus ends it at once instead of after the 5-minute lookback
 * (prometheus.io/docs/prometheus/latest/querying/basics/#staleness). Scrapes do the same.
 */
export class SeriesTracker {
  private previous = new Map<string, readonly Label[]>();

  constructor(private readonly target: TargetLabels) {}

  cycle(samples: readonly Sample[], timestampMs: number): CycleSeries {
    const current = new Map<string, readonly Label[]>();
    const series: WireSeries[] = [];
    let invalid = 0;
    let firstInvalid: string | undefined;
    for (const s of samples) {
      const built = seriesLabels(s, this.target);
      if ('invalid' in built) {
        invalid++;
        firstInvalid ??= built.invalid;
        continue;
      }
      const key = seriesKey(built.labels);
      // Two samples of one series in one cycle would be a duplicate timestamp: keep the first.
      if (current.has(key)) continue;
      current.set(key, built.labels);
      series.push({ labels: built.labels, samples: [{ value: s.value, timestampMs }] });
    }
    let stale = 0;
    for (const [key, labels] of this.previous) {
      if (current.has(key)) continue;
      series.push({ labels, samples: [{ value: NaN, timestampMs, stale: true }] });
      stale++;
    }
    this.previous = current;
    return { series, invalid, firstInvalid, stale };
  }
}

/** Splits series into chunks of at most `max` samples (each series here holds one sample). */
export function chunk<T extends WireSeries>(series: readonly T[], max: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let n = 0;
  for (const s of series) {
    if (n + s.samples.length > max && cur.length > 0) {
      out.push(cur);
      cur = [];
      n = 0;
    }
    cur.push(s);
    n += s.samples.length;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
