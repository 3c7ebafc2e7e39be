/**
 * One cycle of the pipeline: sources (side by side, each isolated) → labels → sinks.
 * Each source's outcome becomes dbx_agent_source_up / dbx_agent_source_duration_seconds, the
 * node_exporter habit: a failing source is a metric, not an outage.
 */
import { counter, gauge, type Labels, type Sample } from './sample';
import { applyLabels } from './labels';
import type { Logger } from './log';
import { OutageLog } from './outage';
import type { AgentStats } from './stats';
import type { Sink } from './sinks/sink';
import type { Source } from './sources/source';

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

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function collectOne(
  src: Source,
  now: Date,
  timeoutMs: number,
  outage: OutageLog | undefined,
): Promise<{ samples: Sample[]; result: SourceResult }> {
  const started = performance.now();
  try {
    // The call itself may throw synchronously: keep it inside the try.
    const samples = await withTimeout(Promise.resolve().then(() => src.collect(now)), timeoutMs, `source ${src.name}`);
    outage?.success();
    return { samples, result: { source: src.name, ok: true, seconds: (performance.now() - started) / 1000 } };
  } catch (e) {
    outage?.failure(e);
    const error = e instanceof Error ? e.message : String(e);
    return { samples: [], result: { source: src.name, ok: false, seconds: (performance.now() - started) / 1000, error } };
  }
}

export async function collectAll(
  sources: readonly Source[],
  now: Date,
  timeoutMs: number,
  outages: Map<string, OutageLog>,
): Promise<{ samples: Sample[]; results: SourceResult[] }> {
  const run = (list: readonly Source[]) =>
    Promise.all(list.map((src) => collectOne(src, now, timeoutMs, outages.get(src.name))));
  const settled = [...(await run(sources.filter((s) => !s.last))), ...(await run(sources.filter((s) => s.last)))];
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
  samples: Sample[];
  results: SourceResult[];
  /** Sink name → whether its send succeeded. */
  sinks: Map<string, boolean>;
}

export interface PipelineOptions {
  sources: Source[];
  sinks: Sink[];
  baseLabels: Labels;
  stats: AgentStats;
  logger: Logger;
  sourceTimeoutMs: number;
}

export class Pipeline {
  private readonly sourceOutages: Map<string, OutageLog>;

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

  async cycle(now = new Date()): Promise<CycleResult> {
    const started = performance.now();
    const { samples, results } = await collectAll(this.o.sources, now, this.o.sourceTimeoutMs, this.sourceOutages);
    const labelled = applyLabels(samples, this.o.baseLabels);
    const sinks = new Map<string, boolean>();
    await Promise.all(
      this.o.sinks.map(async (sink) => {
        try {
          await sink.send({ samples: labelled, timestampMs: now.getTime() });
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
    this.o.stats.set(cycleDuration, {}, (performance.now() - started) / 1000);
    return { samples: labelled, results, sinks };
  }

  async close(opts: { deleteGroup: boolean }): Promise<void> {
    await Promise.all(this.o.sinks.map((s) => s.close(opts).catch(() => undefined)));
    await Promise.all(this.o.sources.map(async (s) => s.close?.()));
  }
}
