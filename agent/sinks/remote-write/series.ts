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
import type { Labels, Sample } from '../../core/sample';
import type { Label, LabelCache, WireSeries } from './protobuf';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface TargetLabels {
  job: string;
  /** The `instance` label; undefined to leave it out. */
  instance?: string;
  /** The node's labels (a batch's `labels`): every sample has them unless it sets the name itself. */
  node?: Labels;
}

export type BuildResult = { labels: Label[] } | { invalid: string };

/** Where an output label's value comes from. */
const FROM_NAME = 0;
const FROM_JOB = 1;
const FROM_INSTANCE = 2;

interface Step {
  readonly out: string;
  /** FNV-1a of `out`, mixed into the series hash. */
  readonly hash: number;
  /** A sample label name, or one of the FROM_ constants. */
  readonly src: string | number;
  /** Set when the source name is not a valid label name: the sample is invalid if it has a value. */
  readonly invalid?: string;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnv(text: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/**
 * The output labels for samples whose labels have these names (in this order), already sorted:
 * samples of one source share a handful of label-name lists, so the sorting, renaming and name
 * checks are done once per list, not once per sample (see bench/remote-write.ts).
 */
type Plan = { steps: readonly Step[] } | { invalid: string };

function makePlan(labelNames: readonly string[], target: TargetLabels): Plan {
  const step = (out: string, src: string | number, invalid?: string): Step => ({ out, hash: fnv(out), src, invalid });
  const steps: Step[] = [step('__name__', FROM_NAME)];
  const names = [...labelNames];
  for (const name in target.node) if (!labelNames.includes(name)) names.push(name);
  for (const name of names) {
    // `__` names are reserved for Prometheus internals; a sample must not set `__name__` twice.
    if (!LABEL_NAME.test(name) || name.startsWith('__')) steps.push(step(name, name, `label name "${name}"`));
    else if (name === 'job' || name === 'instance') steps.push(step(`exported_${name}`, name));
    else steps.push(step(name, name));
  }
  steps.push(step('job', FROM_JOB));
  if (target.instance !== undefined && target.instance !== '') steps.push(step('instance', FROM_INSTANCE));
  steps.sort((a, b) => (a.out < b.out ? -1 : a.out > b.out ? 1 : 0));
  for (let i = 1; i < steps.length; i++)
    // Only possible when a sample carries both `job` and `exported_job` (or instance alike).
    if (steps[i]!.out === steps[i - 1]!.out) return { invalid: `duplicate label "${steps[i]!.out}"` };
  return { steps };
}

function valueOf(step: Step, s: Sample, target: TargetLabels): string {
  if (typeof step.src === 'string') return s.labels[step.src] ?? target.node?.[step.src] ?? '';
  return step.src === FROM_NAME ? s.name : step.src === FROM_JOB ? target.job : target.instance!;
}

/**
 * A 32-bit FNV-1a hash of the label set a plan gives a sample (empty values skipped), or why
 * the sample is invalid. No string is built: several times cheaper than a string key per
 * sample. Equal hashes are checked label by label (`sameLabels`), so a collision (likely once
 * among ~100k series) costs a comparison, never a wrong series.
 */
function planHash(steps: readonly Step[], s: Sample, target: TargetLabels): number | { invalid: string } {
  let h = FNV_OFFSET;
  for (const step of steps) {
    const v = valueOf(step, s, target);
    // A label with an empty value is no label (Prometheus data model): leave it out.
    if (v === '') continue;
    if (step.invalid !== undefined) return { invalid: `${step.invalid} of ${s.name}` };
    h = Math.imul(h ^ step.hash, FNV_PRIME);
    for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), FNV_PRIME);
    h = Math.imul(h ^ 0xffff, FNV_PRIME);
  }
  return h >>> 0;
}

function planLabels(steps: readonly Step[], s: Sample, target: TargetLabels): Label[] {
  const labels: Label[] = [];
  for (const step of steps) {
    const v = valueOf(step, s, target);
    if (v !== '') labels.push([step.out, v]);
  }
  return labels;
}

/** Whether a sample under a plan has exactly these labels. */
function sameLabels(labels: readonly Label[], steps: readonly Step[], s: Sample, target: TargetLabels): boolean {
  let j = 0;
  for (const step of steps) {
    const v = valueOf(step, s, target);
    if (v === '') continue;
    const l = labels[j++];
    if (l === undefined || l[0] !== step.out || l[1] !== v) return false;
  }
  return j === labels.length;
}

/** Caches plans by label-name list, and metric-name checks; bounded, since names are bounded but not trusted. */
class PlanCache {
  private readonly plans = new Map<string, Plan>();
  private readonly metricNames = new Map<string, boolean>();

  plan(s: Sample, target: TargetLabels): Plan {
    let nameOk = this.metricNames.get(s.name);
    if (nameOk === undefined) {
      nameOk = METRIC_NAME.test(s.name);
      if (this.metricNames.size >= 10_000) this.metricNames.clear();
      this.metricNames.set(s.name, nameOk);
    }
    if (!nameOk) return { invalid: `metric name "${s.name}"` };
    let shape = '';
    for (const name in s.labels) shape += name + '\u0000';
    let plan = this.plans.get(shape);
    if (plan === undefined) {
      plan = makePlan(Object.keys(s.labels), target);
      if (this.plans.size >= 10_000) this.plans.clear();
      this.plans.set(shape, plan);
    }
    return plan;
  }
}

export interface CycleSeries {
  series: WireSeries[];
  /** Samples dropped as invalid, with the first reason (for one log line). */
  invalid: number;
  firstInvalid?: string;
  /** Staleness markers added for series gone since the last cycle. */
  stale: number;
}

interface Known extends LabelCache {
  readonly labels: readonly Label[];
  /** The cycle that last had this series. */
  seen: number;
}

/**
 * Turns each cycle's samples into series, and remembers which series it sent: a series present
 * last cycle and absent now gets one staleness marker (NaN 0x7ff0000000000002) at the new
 * cycle's timestamp, so Prometheus ends it at once instead of after the 5-minute lookback
 * (prometheus.io/docs/prometheus/latest/querying/basics/#staleness). Scrapes do the same.
 *
 * Known series keep their label arrays (and encoded label bytes) between cycles, found by
 * hash: a cycle builds and encodes labels only for new series.
 */
export class SeriesTracker {
  /** Hash → the series with that hash (almost always one). */
  private readonly known = new Map<number, Known[]>();
  private plans = new PlanCache();
  private cycleNo = 0;

  constructor(private target: TargetLabels) {}

  /** `node`: the node's labels, merged here as `{ ...node, ...sample.labels }` would, without the copy. */
  cycle(samples: readonly Sample[], timestampMs: number, node?: Labels): CycleSeries {
    if (node !== this.target.node) {
      // Plans hold the node's label names: new labels (never, in a run) mean new plans.
      this.target = { ...this.target, node };
      this.plans = new PlanCache();
    }
    const no = ++this.cycleNo;
    const series: WireSeries[] = [];
    let invalid = 0;
    let firstInvalid: string | undefined;
    for (const s of samples) {
      const plan = this.plans.plan(s, this.target);
      if ('invalid' in plan) {
        invalid++;
        firstInvalid ??= `${plan.invalid} of ${s.name}`;
        continue;
      }
      const h = planHash(plan.steps, s, this.target);
      if (typeof h !== 'number') {
        invalid++;
        firstInvalid ??= h.invalid;
        continue;
      }
      let bucket = this.known.get(h);
      let k: Known | undefined;
      if (bucket !== undefined)
        for (const x of bucket)
          if (sameLabels(x.labels, plan.steps, s, this.target)) {
            k = x;
            break;
          }
      if (k === undefined) {
        k = { labels: planLabels(plan.steps, s, this.target), seen: no };
        if (bucket === undefined) this.known.set(h, (bucket = []));
        bucket.push(k);
      } else if (k.seen === no) {
        // Two samples of one series in one cycle would be a duplicate timestamp: keep the first.
        continue;
      } else k.seen = no;
      series.push({ labels: k.labels, samples: [{ value: s.value, timestampMs }], cache: k });
    }
    let stale = 0;
    for (const [h, bucket] of this.known) {
      let gone = 0;
      for (const k of bucket) {
        if (k.seen === no) continue;
        // Seen in an earlier cycle and not now; entries are removed once marked, so this is
        // the first cycle without it.
        series.push({ labels: k.labels, samples: [{ value: NaN, timestampMs, stale: true }], cache: k });
        gone++;
      }
      if (gone === 0) continue;
      stale += gone;
      if (gone === bucket.length) this.known.delete(h);
      else this.known.set(h, bucket.filter((k) => k.seen === no));
    }
    return { series, invalid, firstInvalid, stale };
  }

  /**
   * Staleness markers for every series still alive, and forgets them: what a Prometheus scrape
   * writes when its target goes away. Sent when the agent stops (the remote-write counterpart
   * of deleting the Pushgateway group), so a node that left ends its series at once.
   */
  endAll(timestampMs: number): WireSeries[] {
    const out: WireSeries[] = [];
    for (const bucket of this.known.values())
      for (const k of bucket) out.push({ labels: k.labels, samples: [{ value: NaN, timestampMs, stale: true }], cache: k });
    this.known.clear();
    return out;
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
