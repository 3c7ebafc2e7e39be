export type Labels = Record<string, string>;
export type MetricType = 'gauge' | 'counter' | 'histogram';

/**
 * One value of one series. HELP and TYPE travel with the sample because the Pushgateway
 * rejects a push whose HELP/TYPE differ from the same name pushed by another node: every
 * name must be declared in exactly one place (a `family`) so all nodes agree.
 */
export interface Sample {
  /** The series name: for a histogram, `<family>_bucket`, `<family>_sum` or `<family>_count`. */
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labels: Labels;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  (labels: Labels, value: number): Sample;
}

export function family(name: string, type: MetricType, help: string): Family {
  const make = (labels: Labels, value: number): Sample => ({ name, help, type, labels, value });
  // A function's own `name` is read-only to assignment, so define the properties instead.
  Object.defineProperties(make, {
    name: { value: name },
    help: { value: help },
    type: { value: type },
  });
  return make as unknown as Family;
}

export const gauge = (name: string, help: string): Family => family(name, 'gauge', help);
export const counter = (name: string, help: string): Family => family(name, 'counter', help);

/** A classic histogram's state for one label set: cumulative bucket counts, as Prometheus keeps them. */
export interface HistogramValue {
  /** Observations <= each upper bound, in the order of the family's buckets (+Inf is `count`). */
  readonly cumulative: readonly number[];
  readonly count: number;
  readonly sum: number;
}

export interface HistogramFamily {
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  /** The `_bucket{le}` series (+Inf last), `_sum` and `_count` of one label set. */
  (labels: Labels, value: HistogramValue): Sample[];
}

/** The suffixes of a histogram's series, and the family name a series belongs to. */
export const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const;
export function histogramFamilyOf(seriesName: string): string {
  for (const suffix of HISTOGRAM_SUFFIXES) if (seriesName.endsWith(suffix)) return seriesName.slice(0, -suffix.length);
  return seriesName;
}

export function histogram(name: string, help: string, buckets: readonly number[]): HistogramFamily {
  const sorted = [...buckets].sort((a, b) => a - b);
  const les = sorted.map((b) => String(b));
  const make = (labels: Labels, v: HistogramValue): Sample[] => {
    const out: Sample[] = les.map((le, i) => ({ name: `${name}_bucket`, help, type: 'histogram', labels: { ...labels, le }, value: v.cumulative[i] ?? 0 }));
    out.push(
      { name: `${name}_bucket`, help, type: 'histogram', labels: { ...labels, le: '+Inf' }, value: v.count },
      { name: `${name}_sum`, help, type: 'histogram', labels, value: v.sum },
      { name: `${name}_count`, help, type: 'histogram', labels, value: v.count },
    );
    return out;
  };
  Object.defineProperties(make, { name: { value: name }, help: { value: help }, buckets: { value: sorted } });
  return make as unknown as HistogramFamily;
}

/**
 * Observations of one histogram family, by label set: what a source keeps between cycles to
 * report a histogram of events it saw once each (queries that finished, jobs that ended).
 */
export class HistogramSet {
  private readonly byLabels = new Map<string, { labels: Labels; cumulative: number[]; count: number; sum: number }>();

  constructor(readonly family: HistogramFamily) {}

  /** Starts a label set at zero (so rate() sees its first observation). */
  touch(labels: Labels): { cumulative: number[]; count: number; sum: number } {
    const k = labelKey(labels);
    let h = this.byLabels.get(k);
    if (!h) this.byLabels.set(k, (h = { labels, cumulative: this.family.buckets.map(() => 0), count: 0, sum: 0 }));
    return h;
  }

  observe(labels: Labels, value: number): void {
    if (!Number.isFinite(value)) return;
    const h = this.touch(labels);
    this.family.buckets.forEach((b, i) => {
      if (value <= b) h.cumulative[i]!++;
    });
    h.count++;
    h.sum += value;
  }

  samples(): Sample[] {
    return [...this.byLabels.values()].flatMap((h) => this.family(h.labels, h));
  }
}

function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
