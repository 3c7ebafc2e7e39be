/**
 * One cycle of the pipeline: sources (side by side, each isolated) → labels → sinks.
 * Each source's outcome becomes dbx_agent_source_up / dbx_agent_source_duration_seconds, the
 * node_exporter habit: a failing source is a metric, not an outage.
 */
import { counter, gauge, type Labels, type Sample } from './core/sample';
import type { Logger } from './core/log';
import { isolate, messageOf } from './core/isolate';
import { OutageLog } from './core/outage';
import type { AgentStats } from './core/stats';
import type { CloseOptions, Sink } from './core/sink';
import type { Source } from './core/source';

export const sourceUp = gauge('dbx_agent_source_up', 'Whether the last collection of a source succeeded (1) or failed (0).');
export const sourceDuration = gauge('dbx_agent_source_duration_seconds', 'Duration of the last collection of a source.');
export const pushTotal = counter('dbx_agent_push_total', 'Pushes by sink and result (success or failure).');
export const lastPush = gauge('dbx_agent_last_push_timestamp_seconds', 'Time of the last successful push of a sink, in unixtime.');
export const cycleDuration = gauge('dbx_agent_cycle_duration_seconds', 'Duration of the previous whole cycle (collect and push).');

export interface SourceResult {
  source: string;
  ok: boolean;
  seconds: number;
  error?: string;
}

/** For the sources that are never cut (self). */
const NEVER: AbortSignal = new AbortController().signal;

/** Why a source's collection was cut short. */
export class CollectionCutError extends Error {
  constructor(
    message: string,
    /** Cut because the agent is stopping: not a failure of the source, so not logged as one. */
    readonly stopping = false,
  ) {
    super(message);
  }
}

async function collectOne(
  src: Source,
  now: Date,
  signal: AbortSignal,
  outage: OutageLog | undefined,
): Promise<{ samples: Sample[]; result: SourceResult }> {
  // Given up on when `signal` aborts, so a source that ignores its signal (or hangs in a
  // sync-looking read) cannot hold the cycle.
  const r = await isolate(() => src.collect(now, signal), {
    signal,
    outage,
    describe: (why) =>
      why instanceof CollectionCutError ? (why.stopping ? undefined : new Error(`source ${src.name}: ${why.message}`)) : why,
  });
  const result: SourceResult = { source: src.name, ok: r.ok, seconds: r.seconds, ...(r.ok ? {} : { error: messageOf(r.error) }) };
  return { samples: r.value ?? [], result };
}

/**
 * Runs the sources side by side, each cut at `deadlineMs` (a slow Spark must not hold the host
 * series of the cycle) or when `stop` aborts (the agent is stopping). The self source runs
 * after the others, so it reports what they recorded.
 */
export async function collectAll(
  sources: readonly Source[],
  now: Date,
  deadlineMs: number,
  outages: Map<string, OutageLog>,
  stop?: AbortSignal,
): Promise<{ samples: Sample[]; results: SourceResult[] }> {
  const cut = new AbortController();
  const timer = setTimeout(() => cut.abort(new CollectionCutError(`cut at the cycle's collection deadline of ${deadlineMs} ms`)), deadlineMs);
  timer.unref();
  const onStop = (): void => cut.abort(new CollectionCutError('cut short: the agent is stopping', true));
  if (stop?.aborted) onStop();
  stop?.addEventListener('abort', onStop, { once: true });
  const run = (list: readonly Source[], signal: AbortSignal) =>
    Promise.all(list.map((src) => collectOne(src, now, signal, outages.get(src.name))));
  let settled: Awaited<ReturnType<typeof run>>;
  try {
    const first = await run(sources.filter((s) => !s.readsOthers), cut.signal);
    // The agent's own health is read from memory: it never waits, and must report a cut cycle too.
    const last = await run(sources.filter((s) => s.readsOthers), NEVER);
    settled = [...first, ...last];
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener('abort', onStop);
  }
  const samples: Sample[] = [];
  const results: SourceResult[] = [];
  for (const s of settled) {
    samples.push(...s.samples);
    results.push(s.result);
    samples.push(sourceUp({ source: s.result.source }, s.result.ok ? 1 : 0));
    samples.push(sourceDuration({ source: s.result.source }, s.result.seconds));
  }
  return { samples, results };
}

export interface CycleResult {
  /** The sources' samples, without the node's labels (`labels`). */
  samples: Sample[];
  labels: Labels;
  results: SourceResult[];
  /** Sink name → whether its send succeeded (empty when the cycle was stopped before sending). */
  sinks: Map<string, boolean>;
}

export interface CycleOptions {
  stop?: AbortSignal;
  collectMs?: number;
}

export interface PipelineOptions {
  sources: Source[];
  sinks: Sink[];
  /** The node's labels: handed to the sinks with each batch, never copied onto its samples. */
  baseLabels: Labels;
  stats: AgentStats;
  logger: Logger;
  /** How long the sources of one cycle may take before the cycle goes on without the slow ones. */
  sourceTimeoutMs: number;
}

export class Pipeline {
  private readonly sourceOutages: Map<string, OutageLog>;
  /** When the sinks last finished a cycle's push (Date.now()), whatever its outcome. */
  lastPushAt?: number;

  constructor(private readonly o: PipelineOptions) {
    this.sourceOutages = new Map(o.sources.map((s) => [s.name, new OutageLog(o.logger, `source ${s.name}`, 'warn')]));
    for (const sink of o.sinks) {
      // Zero-valued series from the start, so rate() and alerts see the first failure.
      for (const result of ['success', 'failure']) o.stats.inc(pushTotal, { sink: sink.name, result }, 0);
    }
  }

  get sinks(): readonly Sink[] {
    return this.o.sinks;
  }

  /**
   * One cycle. `stop` aborting cuts the collection short and then nothing is sent (the agent is
   * stopping); `collectMs` shortens the collection deadline (the final push at exit).
   */
  async cycle(now = new Date(), opts: CycleOptions = {}): Promise<CycleResult> {
    const { stop } = opts;
    const started = performance.now();
    const deadline = Math.min(this.o.sourceTimeoutMs, opts.collectMs ?? Infinity);
    const { samples, results } = await collectAll(this.o.sources, now, deadline, this.sourceOutages, stop);
    const labels = this.o.baseLabels;
    const sinks = new Map<string, boolean>();
    if (stop?.aborted) return { samples, labels, results, sinks };
    await Promise.all(
      this.o.sinks.map(async (sink) => {
        try {
          await sink.send({ samples, labels, timestampMs: now.getTime() });
          this.o.stats.inc(pushTotal, { sink: sink.name, result: 'success' });
          this.o.stats.set(lastPush, { sink: sink.name }, Date.now() / 1000);
          sinks.set(sink.name, true);
        } catch {
          // The sink logs its own failures once per outage; here it is only counted.
          this.o.stats.inc(pushTotal, { sink: sink.name, result: 'failure' });
          sinks.set(sink.name, false);
        }
      }),
    );
    this.lastPushAt = Date.now();
    this.o.stats.set(cycleDuration, {}, (performance.now() - started) / 1000);
    return { samples, labels, results, sinks };
  }

  async close(opts: CloseOptions): Promise<void> {
    await Promise.all(this.o.sinks.map((s) => s.close(opts).catch(() => undefined)));
    await Promise.all(this.o.sources.map(async (s) => s.close?.()));
  }
}
