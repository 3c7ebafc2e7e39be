/**
 * Totals over the Spark stages that finished after the agent started: bytes spilled, shuffled,
 * read and written, and executor run and CPU time, each stage attempt counted once (DESIGN
 * "finished things are counted once"). Pure apart from the tracker's state; the caller does the
 * I/O and passes in what it read.
 *
 * Facts it stands on (paths in apache/spark):
 *  - `StageData` (core/.../status/api/v1/api.scala): stageId, attemptId, status (StageStatus:
 *    ACTIVE, COMPLETE, FAILED, PENDING, SKIPPED), submissionTime and completionTime (Option:
 *    left out of the JSON when None, JacksonMessageWriter's NON_ABSENT), executorRunTime in
 *    milliseconds, executorCpuTime in nanoseconds, inputBytes, outputBytes, shuffleReadBytes
 *    (local + remote, status/LiveEntity.scala), shuffleWriteBytes, memoryBytesSpilled,
 *    diskBytesSpilled.
 *  - Dates are written as `yyyy-MM-dd'T'HH:mm:ss.SSS'GMT'` in GMT, e.g.
 *    "2015-02-03T16:43:00.906GMT" (JacksonMessageWriter.makeISODateFormat).
 *  - `GET /stages/<id>` answers the list of that stage's attempts, 404 "unknown stage" when
 *    Spark keeps none; `details` defaults to true there, which adds every task of every attempt
 *    (StagesResource.scala): ask `?details=false`.
 *  - Stage ids come from one counter per SparkContext, from 0 up (DAGScheduler.nextStageId):
 *    an id above the highest seen so far is a stage created since.
 *  - A stage that ran and ended between two reads is never seen active; a stage left PENDING
 *    when its job ends becomes SKIPPED (AppStatusListener.onJobEnd); a cancelled or failed
 *    stage is FAILED (AppStatusListener.onStageCompleted: a failureReason). Finished stages are
 *    dropped oldest completion first past spark.ui.retainedStages (AppStatusListener.cleanupStages).
 *
 * How it avoids listing the completed stages (thousands, every cycle): it reads the list the
 * source asks for anyway (`/stages?status=active&status=pending&status=failed`), remembers the
 * ids in flight (active or pending), and fetches `/stages/<id>` once for an id when it leaves
 * that list, and once for each id above the highest one known that it never saw in flight
 * (created and finished between two reads). FAILED attempts are counted from the list itself,
 * which has them with their metrics; COMPLETE attempts from the fetched attempts. A steady
 * state (nothing new) fetches nothing.
 *
 * One instance per Spark application (stage ids are per SparkContext).
 */
import { counter, type Labels, type Sample } from '../../core/sample';
import { MalformedPayloadError, readCount, sparkDateMs } from './parse';

export { readCount, sparkDateMs } from './parse';

// ---- Spark's shapes -----------------------------------------------------------------------

export type StageStatus = 'active' | 'pending' | 'complete' | 'failed' | 'skipped';
const STATUSES: readonly string[] = ['active', 'pending', 'complete', 'failed', 'skipped'];

/** The StageData fields summed, in Spark's units, and what each becomes. */
const AMOUNTS = [
  { field: 'memoryBytesSpilled', family: counter('spark_stage_memory_spilled_bytes_total', 'Bytes spilled from memory by Spark stages that finished since the agent started (each attempt once; complete and failed ones).'), divisor: 1 },
  { field: 'diskBytesSpilled', family: counter('spark_stage_disk_spilled_bytes_total', 'Bytes spilled to disk by Spark stages that finished since the agent started (each attempt once; complete and failed ones).'), divisor: 1 },
  { field: 'shuffleReadBytes', family: counter('spark_stage_shuffle_read_bytes_total', 'Shuffle bytes read (local and remote) by Spark stages that finished since the agent started (each attempt once; complete and failed ones).'), divisor: 1 },
  { field: 'shuffleWriteBytes', family: counter('spark_stage_shuffle_write_bytes_total', 'Shuffle bytes written by Spark stages that finished since the agent started (each attempt once; complete and failed ones).'), divisor: 1 },
  { field: 'inputBytes', family: counter('spark_stage_input_bytes_total', 'Input bytes read by Spark stages that finished since the agent started (each attempt once; complete and failed ones).'), divisor: 1 },
  { field: 'outputBytes', family: counter('spark_stage_output_bytes_total', 'Output bytes written by Spark stages that finished since the agent started (each attempt once; complete and failed ones).'), divisor: 1 },
  // Spark's executorRunTime is in milliseconds.
  { field: 'executorRunTime', family: counter('spark_stage_executor_run_time_seconds_total', 'Executor time spent running the tasks of Spark stages that finished since the agent started, in seconds (each attempt once; complete and failed ones).'), divisor: 1e3 },
  // Spark's executorCpuTime is in nanoseconds.
  { field: 'executorCpuTime', family: counter('spark_stage_executor_cpu_time_seconds_total', 'Executor CPU time of the tasks of Spark stages that finished since the agent started, in seconds (each attempt once; complete and failed ones).'), divisor: 1e9 },
] as const;

export const STAGE_TOTAL_FAMILIES = AMOUNTS.map((a) => a.family);
export const stagesCompleted = counter('spark_stages_completed_total', 'Spark stage attempts that finished since the agent started, by status (complete, failed; skipped stages are not counted).');
export const stageFetchesGivenUp = counter(
  'dbx_agent_spark_stage_fetches_given_up_total',
  'Spark stages the agent gave up reading after they finished (fetch failed 3 times, or more stages to read than it keeps): their totals are missing from spark_stage_*_total.',
);

type Amounts = number[];

/** One attempt of a stage, validated. `amounts` only for finished attempts (in AMOUNTS order). */
export interface StageAttempt {
  readonly stageId: number;
  readonly attemptId: number;
  /** undefined for a status this agent does not know (a newer Spark): ignored. */
  readonly status: StageStatus | undefined;
  readonly completionMs: number | undefined;
  readonly amounts: Amounts | undefined;
}

function nonNegativeInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new MalformedPayloadError(field, v, 'a non-negative integer');
  return v;
}

/** One StageData entry, strictly: ids, status and (finished attempts) dates and amounts. */
function stageAttempt(item: unknown, what: string, leftOut: string[]): StageAttempt {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new MalformedPayloadError(what, item, 'an object');
  const e = item as Record<string, unknown>;
  const stageId = nonNegativeInt(e.stageId, `${what} stageId`);
  const name = `stage ${stageId}.${typeof e.attemptId === 'number' ? e.attemptId : '?'}`;
  const attemptId = nonNegativeInt(e.attemptId, `${name} attemptId`);
  if (typeof e.status !== 'string') throw new MalformedPayloadError(`${name} status`, e.status, 'a string');
  const lower = e.status.toLowerCase();
  const status = STATUSES.includes(lower) ? (lower as StageStatus) : undefined;
  const finished = status === 'complete' || status === 'failed';
  return {
    stageId,
    attemptId,
    status,
    completionMs: finished ? sparkDateMs(e.completionTime, `${name} completionTime`) : undefined,
    amounts: finished ? AMOUNTS.map((a) => readCount(e[a.field], `${name} ${a.field}`, leftOut) ?? 0) : undefined,
  };
}

/** A JSON array of StageData (`/stages?status=...`, or `/stages/<id>`), validated whole. */
export function parseStageAttempts(json: unknown, what: string, leftOut: string[] = []): StageAttempt[] {
  if (!Array.isArray(json)) throw new MalformedPayloadError(what, json, 'a JSON array');
  return json.map((item, i) => stageAttempt(item, `${what} entry ${i}`, leftOut));
}

/**
 * The stage ids of the jobs in a `/jobs` payload (JobData.stageIds: every stage of each job,
 * skipped ones included): pass them to `collect` as `knownStageIds`, so a stage that ran and
 * ended between two reads is found even when no later stage shows it. Throws on a payload that
 * is not a list; entries or ids of another shape are skipped (a hint, not a count).
 */
export function stageIdsOfJobs(jobsJson: unknown): number[] {
  if (!Array.isArray(jobsJson)) throw new MalformedPayloadError('jobs', jobsJson, 'a JSON array');
  const out: number[] = [];
  for (const job of jobsJson) {
    const ids = typeof job === 'object' && job !== null ? (job as { stageIds?: unknown }).stageIds : undefined;
    if (Array.isArray(ids)) for (const id of ids) if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) out.push(id);
  }
  return out;
}

// ---- counting once ------------------------------------------------------------------------

export interface StageTotalsOptions {
  /** When the agent started (epoch ms): attempts that finished before it are Spark's retained past. */
  startedAtMs: number;
  /** Ids remembered at most, per kind (in flight, to fetch, failed attempts listed, attempts counted). */
  maxTracked?: number;
  /** Cycles a failing `/stages/<id>` is tried before it is given up. */
  maxRetries?: number;
  /** `/stages/<id>` requests per cycle at most; the rest wait for the next cycle (no retry used). */
  maxFetchesPerCycle?: number;
  /** `/stages/<id>` requests under way at once. */
  fetchConcurrency?: number;
}

/**
 * GETs `/api/v1/applications/<app>/stages/<id>?details=false`: the attempts of one stage.
 * Resolve `null` (or undefined) when Spark answers 404 (it keeps no such stage: nothing to
 * count, nothing to retry); reject on any other failure (retried next cycle).
 */
export type FetchStage = (stageId: number) => Promise<unknown>;

export interface StageFetchError {
  readonly stageId: number;
  readonly error: Error;
  /** The last try: the stage is given up (counted in dbx_agent_spark_stage_fetches_given_up_total). */
  readonly givenUp: boolean;
}

export const DEFAULT_MAX_TRACKED = 2000;
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_MAX_FETCHES_PER_CYCLE = 64;
export const DEFAULT_FETCH_CONCURRENCY = 4;

interface Queued {
  /** Attempts below this one were counted (or finished before the agent started) already. */
  fromAttempt: number;
  tries: number;
}

type FetchResult = { id: number; json: unknown } | { id: number; error: Error };

const attemptKey = (a: { stageId: number; attemptId: number }): string => `${a.stageId}.${a.attemptId}`;
/** Latest completion first (none last), then highest id: the order in which the cap keeps failed attempts. */
const latestFirst = (a: StageAttempt, b: StageAttempt): number =>
  (b.completionMs ?? -Infinity) - (a.completionMs ?? -Infinity) || b.stageId - a.stageId || b.attemptId - a.attemptId;

/**
 * Counts each stage attempt once, when it is first known finished, if it finished after
 * `startedAtMs`. Memory: at most `maxTracked` ids of each kind (in flight, to fetch, failed
 * attempts Spark lists, attempts counted) and a few numbers.
 */
export class StageTotals {
  private readonly startedAtMs: number;
  private readonly max: number;
  private readonly maxRetries: number;
  private readonly maxFetches: number;
  private readonly concurrency: number;

  private cycles = 0;
  /** The highest stage id known; undefined until known (no stage seen and no job list given). */
  private highWater: number | undefined;
  /** Stage ids in flight (active or pending) at the last read → the first attempt still to count. */
  private tracked = new Map<number, number>();
  /** Stage ids to fetch, in the order they finished. */
  private readonly queue = new Map<number, Queued>();
  /** FAILED attempts in the last list (already weighed) → their completion time. */
  private failedSeen = new Map<string, number | undefined>();
  /** No FAILED attempt completed at or before this is counted: the latest such attempt forgotten. */
  private failedFloorMs = -Infinity;
  /** COMPLETE attempts counted, oldest first (a guard against a stage read twice). */
  private readonly counted = new Set<string>();

  private readonly sums: number[] = AMOUNTS.map(() => 0);
  private complete = 0;
  private failed = 0;
  private givenUp = 0;
  private errors: StageFetchError[] = [];
  private leftOutFields: string[] = [];

  constructor(opts: StageTotalsOptions) {
    this.startedAtMs = opts.startedAtMs;
    this.max = Math.max(1, opts.maxTracked ?? DEFAULT_MAX_TRACKED);
    this.maxRetries = Math.max(1, opts.maxRetries ?? DEFAULT_MAX_RETRIES);
    this.maxFetches = Math.max(1, opts.maxFetchesPerCycle ?? DEFAULT_MAX_FETCHES_PER_CYCLE);
    this.concurrency = Math.max(1, opts.fetchConcurrency ?? DEFAULT_FETCH_CONCURRENCY);
  }

  /**
   * One cycle. `activeJson` is the answer of `/stages?status=active&status=pending&status=failed`;
   * `fetchStage` reads `/stages/<id>` (see FetchStage); `labels` go on every sample (the
   * application's `spark_app_id`); `knownStageIds` (optional, see stageIdsOfJobs) are the
   * stage ids of the jobs Spark lists now. A malformed `activeJson` throws and changes nothing;
   * a failing or malformed `/stages/<id>` is retried next cycle (see lastFetchErrors).
   * Returns every counter, from the first cycle at 0.
   */
  async collect(activeJson: unknown, fetchStage: FetchStage, labels: Labels, knownStageIds?: Iterable<number>): Promise<Sample[]> {
    const leftOut: string[] = [];
    const listed = parseStageAttempts(activeJson, 'stages', leftOut);
    const known = knownStageIds === undefined ? undefined : [...knownStageIds].filter((id) => Number.isSafeInteger(id) && id >= 0);
    // Validated whole: from here on nothing throws.
    const inFlight = new Map<number, number>();
    for (const a of listed)
      if (a.status === 'active' || a.status === 'pending') inFlight.set(a.stageId, Math.min(a.attemptId, inFlight.get(a.stageId) ?? Infinity));
    this.countListedFailures(listed.filter((a) => a.status === 'failed'));
    this.follow(inFlight, listed, known);
    this.errors = [];
    await this.fetchQueued(fetchStage, leftOut);
    this.leftOutFields = leftOut;
    this.cycles++;
    return this.samples(labels);
  }

  /** `/stages/<id>` failures of the last cycle (to log). */
  get lastFetchErrors(): readonly StageFetchError[] {
    return this.errors;
  }

  /** Fields of the last cycle left out for a negative value (to report as parse.ts does). */
  get lastLeftOut(): readonly string[] {
    return this.leftOutFields;
  }

  /** Memory bound checks: ids remembered of each kind. */
  get remembered(): { inFlight: number; toFetch: number; failedListed: number; counted: number } {
    return { inFlight: this.tracked.size, toFetch: this.queue.size, failedListed: this.failedSeen.size, counted: this.counted.size };
  }

  /**
   * FAILED attempts come with their metrics in the list: each is weighed once, when it first
   * appears there. The list keeps them (up to spark.ui.retainedStages), so what is remembered
   * is exactly the failed attempts it shows now. One forgotten (Spark dropped it, the list came
   * back short, or past the cap: the oldest go) raises a floor on completion times instead, so
   * it is never counted again: Spark's listener records stages in the order they end, so an
   * attempt not yet seen that ended before one already seen cannot turn up later.
   */
  private countListedFailures(failedNow: StageAttempt[]): void {
    const next = new Map<string, number | undefined>();
    let floor = this.failedFloorMs;
    for (const a of [...failedNow].sort(latestFirst)) {
      const k = attemptKey(a);
      const isNew = !this.failedSeen.has(k) && !next.has(k) && !(a.completionMs !== undefined && a.completionMs <= this.failedFloorMs);
      const seenRunning = this.tracked.has(a.stageId) || this.queue.has(a.stageId);
      if (isNew && this.finishedAfterStart(a.completionMs, seenRunning)) {
        this.add(a.amounts!);
        this.failed++;
      }
      if (next.size < this.max) next.set(k, a.completionMs);
      else if (a.completionMs !== undefined) floor = Math.max(floor, a.completionMs);
    }
    for (const [k, completionMs] of this.failedSeen)
      if (!next.has(k) && completionMs !== undefined && completionMs >= this.startedAtMs) floor = Math.max(floor, completionMs);
    this.failedFloorMs = floor;
    this.failedSeen = next;
  }

  /** Updates the ids in flight and queues the ones to fetch: those that left, and new ids never seen in flight. */
  private follow(inFlight: Map<number, number>, listed: StageAttempt[], known: number[] | undefined): void {
    for (const [id, from] of this.tracked) if (!inFlight.has(id)) this.enqueue(id, from);
    let top = -1;
    for (const a of listed) top = Math.max(top, a.stageId);
    for (const id of known ?? []) top = Math.max(top, id);
    const base = this.baseline(inFlight, listed.length > 0 || known !== undefined, top);
    const next = new Map<number, number>();
    for (const [id, attempt] of [...inFlight].sort(([a], [b]) => a - b)) {
      if (next.size >= this.max) break; // beyond the cap, the newest stages in flight are not followed
      const queued = this.queue.get(id);
      this.queue.delete(id);
      // Back in flight before it was read: keep its first attempt to count. A known id seen in
      // flight again (a retry, or a finished stage a new job reuses) counts from this attempt.
      const from = this.tracked.get(id) ?? queued?.fromAttempt ?? (base !== undefined && id > base ? 0 : attempt);
      next.set(id, from);
    }
    this.tracked = next;
    if (base === undefined) return;
    this.enqueueUnseen(base, top, inFlight);
    this.highWater = Math.max(base, top);
  }

  /**
   * Ids created since the last read (above `base`, up to `top`) never seen in flight: they ran
   * and ended in between (or were skipped, or never made it into Spark's store). The newest
   * maxTracked of them are queued; any more are given up.
   */
  private enqueueUnseen(base: number, top: number, inFlight: Map<number, number>): void {
    const unseen: number[] = [];
    let id = top;
    for (; id > base && unseen.length < this.max; id--) if (!inFlight.has(id)) unseen.push(id);
    let rest = id - base;
    for (const f of inFlight.keys()) if (f > base && f <= id) rest--;
    this.givenUp += Math.max(0, rest);
    for (const u of unseen.reverse()) this.enqueue(u, 0);
  }

  /**
   * The highest stage id known before this read, or undefined while unknown. Not known yet, it
   * is learnt from the first read that shows anything (a stage, or the job list even empty: a
   * fresh application has no stage, -1), as that read's highest id: what is there is the past,
   * no stage is looked for below it. Without a job list, when nothing was listed at first, the
   * first stages seen in flight later are new: known is just below the lowest of them.
   */
  private baseline(inFlight: Map<number, number>, anything: boolean, top: number): number | undefined {
    if (this.highWater !== undefined) return this.highWater;
    if (this.cycles > 0 && inFlight.size > 0) return Math.min(...inFlight.keys()) - 1;
    return anything ? top : undefined;
  }

  private enqueue(id: number, fromAttempt: number): void {
    const q = this.queue.get(id);
    if (q) {
      q.fromAttempt = Math.min(q.fromAttempt, fromAttempt);
      return;
    }
    if (this.queue.size >= this.max) {
      const oldest = this.queue.keys().next().value as number;
      this.queue.delete(oldest);
      this.givenUp++;
    }
    this.queue.set(id, { fromAttempt, tries: 0 });
  }

  /** Fetches up to maxFetches queued stages, a few at a time, and counts what they say. */
  private async fetchQueued(fetchStage: FetchStage, leftOut: string[]): Promise<void> {
    const ids = [...this.queue.keys()].slice(0, this.maxFetches);
    const results: FetchResult[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const id = ids[next++]!;
        try {
          results.push({ id, json: await fetchStage(id) });
        } catch (e) {
          results.push({ id, error: e instanceof Error ? e : new Error(String(e)) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, ids.length) }, worker));
    for (const r of results.sort((a, b) => a.id - b.id)) this.settle(r, leftOut);
  }

  private settle(r: FetchResult, leftOut: string[]): void {
    const q = this.queue.get(r.id);
    if (!q) return;
    if ('error' in r) return this.failFetch(r.id, q, r.error);
    if (r.json === null || r.json === undefined) {
      this.queue.delete(r.id); // Spark keeps no such stage (a job that failed at submission, or dropped)
      return;
    }
    const mine: string[] = [];
    let attempts: StageAttempt[];
    try {
      attempts = parseStageAttempts(r.json, `stage ${r.id}`, mine);
      const other = attempts.find((a) => a.stageId !== r.id);
      if (other) throw new MalformedPayloadError(`stage ${r.id} entry stageId`, other.stageId, `${r.id}`);
    } catch (e) {
      return this.failFetch(r.id, q, e as Error);
    }
    leftOut.push(...mine);
    this.queue.delete(r.id);
    // FAILED attempts are counted from the list; COMPLETE ones here.
    for (const a of attempts) if (a.status === 'complete' && a.attemptId >= q.fromAttempt) this.countComplete(a);
    // Still (or again) in flight by its own answer (the list was older): follow it.
    if (attempts.some((a) => a.status === 'active' || a.status === 'pending') && this.tracked.size < this.max && !this.tracked.has(r.id))
      this.tracked.set(r.id, q.fromAttempt);
  }

  private failFetch(id: number, q: Queued, error: Error): void {
    q.tries++;
    const givenUp = q.tries >= this.maxRetries;
    this.errors.push({ stageId: id, error, givenUp });
    if (givenUp) {
      this.queue.delete(id);
      this.givenUp++;
    }
  }

  private countComplete(a: StageAttempt): void {
    const k = attemptKey(a);
    // Reached through a read after the agent started: without a completion time it finished since.
    if (this.counted.has(k) || !this.finishedAfterStart(a.completionMs, true)) return;
    this.add(a.amounts!);
    this.complete++;
    this.counted.add(k);
    if (this.counted.size > this.max) this.counted.delete(this.counted.values().next().value as string);
  }

  private finishedAfterStart(completionMs: number | undefined, seenRunning: boolean): boolean {
    return completionMs === undefined ? seenRunning : completionMs >= this.startedAtMs;
  }

  private add(amounts: Amounts): void {
    amounts.forEach((v, i) => (this.sums[i]! += v));
  }

  private samples(labels: Labels): Sample[] {
    return [
      ...AMOUNTS.map((a, i) => a.family(labels, this.sums[i]! / a.divisor)),
      stagesCompleted({ ...labels, status: 'complete' }, this.complete),
      stagesCompleted({ ...labels, status: 'failed' }, this.failed),
      stageFetchesGivenUp(labels, this.givenUp),
    ];
  }
}
