/**
 * Spark SQL query metrics from `/api/v1/applications/<app>/sql`, read incrementally: a
 * duration histogram of the queries (SQL executions) that finished after the agent started,
 * each counted once, and gauges of the queries running now. Pure logic: the caller does the
 * HTTP (`fetch(offset, length)` answers the parsed JSON of
 * `/sql?details=false&planDescription=false&offset=<o>&length=<l>`) and turns a throw into
 * `dbx_agent_spark_endpoint_up{endpoint="sql"} 0`. One `SqlQueries` per Spark application:
 * execution ids start again at 0 in a new one.
 *
 * Facts relied on (apache/spark sources):
 * - `sql/core/.../status/api/v1/sql/SqlResource.scala`: `sqlList(details=true,
 *   planDescription=true, offset=0, length)`; `length` defaulted to 20 up to Spark 3.5 and is -1
 *   ("all") in Spark 4, so the agent always sends both. It answers
 *   `SQLAppStatusStore.executionsList(offset, length)`, mapped to `ExecutionData`. With
 *   details=false `nodes`/`edges` are `[]`; with planDescription=false `planDescription` is "".
 *   `duration = completionTime.getOrElse(new Date()).getTime - submissionTime` (ms): for a running
 *   query it grows with the server's clock, for a finished one `submissionTime + duration` is its
 *   completion time. The agent runs on the driver, so that clock is the agent's.
 * - `.../status/api/v1/sql/api.scala`: `ExecutionData(id: Long, status: String, description,
 *   planDescription, submissionTime: Date, duration: Long, runningJobIds, successJobIds,
 *   failedJobIds, nodes, edges)`; Spark 4 adds `queryId`, `errorMessage`, `rootExecutionId`.
 * - `core/.../status/api/v1/JacksonMessageWriter.scala`: a Date is written with
 *   `SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSS'GMT'")` in GMT (`2026-11-24T14:02:03.456GMT`,
 *   not ISO's `Z`); `NON_ABSENT`: a null field (a null `description`) is left out.
 * - `sql/core/.../execution/ui/SQLAppStatusStore.scala`: `executionsList(offset, length)` is
 *   `store.view(classOf[SQLExecutionUIData]).skip(offset).max(length)`, the natural index, i.e.
 *   ascending execution id (`common/kvstore/.../InMemoryStore.java`: the view sorts a copy by
 *   the index, then skips, then limits). An offset is a rank in that list, not an id.
 * - Status. Spark 3.0–3.4 (`prepareExecutionData`): `COMPLETED` when every job of the execution
 *   succeeded (so also an execution with no job yet, and one between two jobs), else `FAILED`
 *   when one failed, else `RUNNING`. From Spark 3.5 (SPARK-44334, after SPARK-40834) the REST API
 *   uses `SQLExecutionUIData.executionStatus`, from the execution's end event: `RUNNING` while it
 *   has no completion time, `FAILED` when it ended with an error message (events without one: a
 *   failed job), else `COMPLETED`. On 3.4 and older a query can therefore be counted between two
 *   of its jobs with the duration it had then; it is still counted only once.
 * - `sql/core/.../execution/ui/SQLAppStatusListener.scala`: `kvstore.addTrigger(...,
 *   spark.sql.ui.retainedExecutions (StaticSQLConf, default 1000))` → `cleanupExecutions`:
 *   deletes `count - retained` executions from the `completionTime` index starting at 0, keeping
 *   only those with a completion time: the earliest-finished first, never a running one. So
 *   holes open anywhere in the id order (a long query with a low id outlives newer short ones),
 *   every offset behind a hole moves down, and a query that finished and was evicted between two
 *   looks is gone for good. Ids come from `SQLExecution.nextExecutionId` (increasing), but an
 *   execution is listed only once the listener bus has delivered its start event, so one can
 *   appear just after a higher id (`overlap` below re-reads the newest entries for those).
 *
 * Reading. Kept between cycles: `floor` (every id <= floor has been handled), the ids handled
 * above it (`recent`, the newest `overlap`), the rank where the entries above the floor start,
 * an estimate of how many entries Spark evicted, and the running queries (id, submission time,
 * rank when last seen): O(running) plus a few numbers. A cycle first reads the tail: the page
 * that brackets the floor (guessed at the remembered rank moved down by about one cycle's
 * evictions; on a miss the ids of the page missed bound the rank, since ids are distinct whole
 * numbers: a page starting at id F > floor leaves at most F - floor entries between, so the next
 * guess is usually exact; else it bisects), then on, `pageLength` at a time, to the end of the
 * list or until `maxPagesPerCycle` requests were made; a burst of 1,000 new queries takes a few
 * cycles, and a search cut short keeps what it learnt for the next one. Then it looks again at
 * the running queries the tail did not cover (one running at agent start, or for long, has a
 * low id), those looked at longest ago first, each found the same way from its last rank, each
 * request sized to cover its due neighbours too; a request is kept for them when any exist.
 * A running query missing from a page that covers its id finished and was evicted unseen: it is
 * dropped, uncounted, in `lost`. A page is validated whole before any of it is used, and the
 * state is consistent after every page, so a cycle that throws halfway keeps what it read and
 * the next goes on from there: nothing is counted twice or skipped. One collect at a time.
 */
import { gauge, histogram, HistogramSet, type Labels, type Sample } from '../../core/sample';
import { asArray, asObject, MalformedPayloadError, sparkDateMs } from './parse';

// ---- families -----------------------------------------------------------------------------

/** Sub-second interactive queries to hour-long batch ones. */
export const SQL_QUERY_DURATION_BUCKETS: readonly number[] = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export const sqlQueryDuration = histogram(
  'spark_sql_query_duration_seconds',
  'Duration of the Spark SQL queries (SQL executions) that finished after the agent started, by status (completed or failed), each counted once when first seen finished, in seconds.',
  SQL_QUERY_DURATION_BUCKETS,
);
export const sqlQueriesRunning = gauge('spark_sql_queries_running', 'Spark SQL queries (SQL executions) running, as last seen.');
export const sqlQueryRunningMaxAge = gauge(
  'spark_sql_query_running_max_age_seconds',
  'Time since the oldest running Spark SQL query was submitted, in seconds; 0 when none runs.',
);

export const SQL_STATUS_LABELS = ['completed', 'failed'] as const;

// ---- parsing ------------------------------------------------------------------------------

export type SqlStatus = 'RUNNING' | 'COMPLETED' | 'FAILED';
const STATUSES: readonly string[] = ['RUNNING', 'COMPLETED', 'FAILED'];

/** What the agent reads of one `ExecutionData`. */
export interface SqlExecution {
  readonly id: number;
  readonly status: SqlStatus;
  /** Epoch ms (Spark writes -1 as 1969-12-31T23:59:59.999GMT when the start event was not seen yet). */
  readonly submissionMs: number;
  /** ms; for a running query, up to the moment Spark answered. */
  readonly durationMs: number;
}

/** Epoch ms of a Spark REST API date; undefined when it is not one. */
export function parseSparkDate(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  try {
    return sparkDateMs(v, 'date');
  } catch {
    return undefined;
  }
}

/**
 * One page of `/sql`: every entry validated, in Spark's order (ascending id). A wrong shape
 * fails the whole page, naming the field: an entry that is not an object, an id that is not a
 * whole number >= 0, a status other than RUNNING/COMPLETED/FAILED, a submissionTime that is
 * not a Spark date, a duration that is not a number, ids out of order or repeated (the offsets
 * the reader keeps would mean nothing).
 */
export function parseExecutions(json: unknown): SqlExecution[] {
  const out: SqlExecution[] = [];
  asArray(json, 'sql').forEach((item, i) => {
    const e = asObject(item);
    if (!e) throw new MalformedPayloadError(`sql entry ${i}`, item, 'an object');
    const id = e.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw new MalformedPayloadError(`sql entry ${i} id`, id, 'an execution id (a whole number)');
    const status = e.status;
    if (typeof status !== 'string' || !STATUSES.includes(status)) throw new MalformedPayloadError(`sql execution ${id} status`, status, 'RUNNING, COMPLETED or FAILED');
    const submissionMs = sparkDateMs(e.submissionTime, `sql execution ${id} submissionTime`);
    if (submissionMs === undefined) throw new MalformedPayloadError(`sql execution ${id} submissionTime`, e.submissionTime, 'a date (yyyy-MM-ddTHH:mm:ss.SSSGMT)');
    const duration = e.duration;
    if (typeof duration !== 'number' || !Number.isFinite(duration)) throw new MalformedPayloadError(`sql execution ${id} duration`, duration, 'a number of ms');
    const prev = out[out.length - 1];
    if (prev !== undefined && id <= prev.id) throw new MalformedPayloadError(`sql execution ids (${prev.id} then ${id})`, id, 'in ascending order');
    // A wall clock stepping back can make completion precede submission by a little: 0, not < 0.
    out.push({ id, status: status as SqlStatus, submissionMs, durationMs: Math.max(0, duration) });
  });
  return out;
}

// ---- incremental reader -------------------------------------------------------------------

/** `offset`/`length` of `/sql?details=false&planDescription=false&offset=<o>&length=<l>` → parsed JSON. */
export type SqlFetch = (offset: number, length: number) => Promise<unknown>;

/** The request a `SqlFetch` makes, under the Spark UI's base URL: no plans, no node metrics. */
export function sqlListPath(appId: string, offset: number, length: number): string {
  return `/api/v1/applications/${encodeURIComponent(appId)}/sql?details=false&planDescription=false&offset=${offset}&length=${length}`;
}

export interface SqlQueriesOptions {
  /** The agent's start (epoch ms): only queries that finished at or after it are counted. */
  startedAtMs: number;
  /** Entries per request (default 100). */
  pageLength?: number;
  /** Requests per cycle at most (default 5). */
  maxPagesPerCycle?: number;
  /** Running queries followed at most (default 1000); more are counted in `untracked`. */
  maxRunning?: number;
  /** Newest entries read again each cycle, for executions listed late (default 20; at most pageLength - 3 - pageLength/4). */
  overlap?: number;
}

/** What the last cycle did, for tests and logs. */
export interface SqlCycleStats {
  requests: number;
  /** Entries received in all. */
  entries: number;
  /** Executions seen for the first time. */
  newExecutions: number;
  /** Observations added to the histogram. */
  counted: number;
  /** Whether the tail read reached the end of the list. */
  caughtUp: boolean;
}

interface Running {
  submissionMs: number;
  /** Its rank in the list when last seen. */
  offset: number;
  /** The cycle it was last seen in. */
  seen: number;
  /** `evicted` when last seen: how far its offset may have moved down since is `evicted` now minus this. */
  evictedAt: number;
}

interface Cycle {
  fetch: SqlFetch;
  stats: SqlCycleStats;
}

interface Page {
  offset: number;
  length: number;
  entries: SqlExecution[];
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

const DEFAULTS = { pageLength: 100, maxPagesPerCycle: 5, maxRunning: 1000, overlap: 20 };

export class SqlQueries {
  private readonly startedAtMs: number;
  private readonly pageLength: number;
  private readonly maxPages: number;
  private readonly maxRunning: number;
  private readonly overlap: number;
  private readonly durations = new HistogramSet(sqlQueryDuration);

  /** Every execution id <= floor has been handled. */
  private floor = -1;
  /** Rank of the first entry above `floor`, when last read. */
  private floorOffset = 0;
  /** Ids above `floor` already handled. */
  private readonly recent = new Set<number>();
  private readonly running = new Map<number, Running>();
  /** Length of the list when the tail last reached its end; undefined before that. */
  private knownTotal: number | undefined;
  /** Executions first seen since `knownTotal` was measured. */
  private addedSince = 0;
  /** Estimated evictions since this tracker started; and in the last measured stretch. */
  private evicted = 0;
  private lastEvictions = 0;
  private newLastCycle = 0;
  private cycle = 0;
  private labels: Labels = {};

  private lostCount = 0;
  private untrackedCount = 0;
  private last: SqlCycleStats = { requests: 0, entries: 0, newExecutions: 0, counted: 0, caughtUp: false };

  constructor(options: SqlQueriesOptions) {
    const o = {
      startedAtMs: options.startedAtMs,
      pageLength: options.pageLength ?? DEFAULTS.pageLength,
      maxPagesPerCycle: options.maxPagesPerCycle ?? DEFAULTS.maxPagesPerCycle,
      maxRunning: options.maxRunning ?? DEFAULTS.maxRunning,
      overlap: options.overlap ?? DEFAULTS.overlap,
    };
    if (!Number.isFinite(o.startedAtMs)) throw new Error('SqlQueries: startedAtMs must be a time in ms');
    for (const k of ['pageLength', 'maxPagesPerCycle', 'maxRunning'] as const)
      if (!Number.isSafeInteger(o[k]) || o[k] < 1) throw new Error(`SqlQueries: ${k} must be a whole number >= 1`);
    // A tail page holds the look back (up to a quarter page), the floor's entry, the overlap and
    // the new entries: at least one must fit, or a cycle of one request would never move on.
    const maxOverlap = o.pageLength - 3 - Math.floor(o.pageLength / 4);
    if (!Number.isSafeInteger(o.overlap) || o.overlap < 0 || o.overlap > maxOverlap)
      throw new Error(`SqlQueries: overlap must be a whole number from 0 to ${maxOverlap} (pageLength - 3 - pageLength/4)`);
    this.startedAtMs = o.startedAtMs;
    this.pageLength = o.pageLength;
    this.maxPages = o.maxPagesPerCycle;
    this.maxRunning = o.maxRunning;
    this.overlap = o.overlap;
  }

  /** Running queries followed now. */
  get runningCount(): number {
    return this.running.size;
  }

  /** Running queries that finished and were evicted before they were seen again (never counted). */
  get lost(): number {
    return this.lostCount;
  }

  /** Running queries not followed because `maxRunning` already were (never counted). */
  get untracked(): number {
    return this.untrackedCount;
  }

  /** What the last (or current) cycle did. */
  get lastCycle(): Readonly<SqlCycleStats> {
    return this.last;
  }

  /**
   * One cycle: reads what changed, returns the histogram (both statuses, from zero) and the
   * running gauges, every series with `labels` (the caller's `spark_app_id`). Throws when a
   * request fails or a page is malformed; what was read before stays read.
   */
  async collect(fetch: SqlFetch, labels: Labels, nowMs: number): Promise<Sample[]> {
    this.cycle++;
    this.labels = labels;
    this.newLastCycle = this.last.newExecutions;
    for (const status of SQL_STATUS_LABELS) this.durations.touch({ ...labels, status });
    const stats: SqlCycleStats = { requests: 0, entries: 0, newExecutions: 0, counted: 0, caughtUp: false };
    this.last = stats;
    const c: Cycle = { fetch, stats };
    // Keep a request for the running queries below the floor, which the tail will not cover
    // (with one request a cycle, every other cycle is theirs).
    const below = [...this.running.keys()].some((id) => id <= this.floor);
    const tailBudget = !below ? this.maxPages : this.maxPages > 1 ? this.maxPages - 1 : this.cycle % 2;
    if (tailBudget > 0) await this.readTail(c, tailBudget);
    await this.recheckRunning(c);
    return [...this.durations.samples(), sqlQueriesRunning(labels, this.running.size), sqlQueryRunningMaxAge(labels, this.maxAgeSeconds(nowMs))];
  }

  private maxAgeSeconds(nowMs: number): number {
    let oldest = Infinity;
    // A submission time <= 0 is Spark's -1 placeholder (start event not seen yet): no age.
    for (const r of this.running.values()) if (r.submissionMs > 0 && r.submissionMs < oldest) oldest = r.submissionMs;
    return oldest === Infinity ? 0 : Math.max(0, nowMs - oldest) / 1000;
  }

  // -- reading --

  private async read(c: Cycle, offset: number, length: number): Promise<Page> {
    c.stats.requests++;
    const json = await c.fetch(offset, length);
    const entries = parseExecutions(json);
    if (entries.length > length) throw new Error(`sql: asked for ${length} entries at offset ${offset}, got ${entries.length} (the server ignores offset/length)`);
    c.stats.entries += entries.length;
    return { offset, length, entries };
  }

  /**
   * Reads pages until one brackets `target` (starts at or before it, or at 0; ends at or after
   * it, or at the end of the list). The first guess is `hint` (the rank of `target`, or of the
   * entry just above it, when last seen) moved down by `maxShift` evictions, wide enough to reach
   * `hiHint`. A miss bounds the rank from both sides, since ids are distinct whole numbers: a
   * page that starts at id F > target leaves at most F - target entries between target and it,
   * one that ends at id E < target at most target - E; the next probe goes to the lowest place
   * still possible (exact when nothing was evicted between), bisecting when that missed too.
   * Pages that miss are still used for the running queries. When `budget` runs out, the bounds.
   */
  private async bracket(
    c: Cycle,
    target: number,
    hint: number,
    hiHint: number,
    maxShift: number,
    length: number | undefined,
    budget: number,
  ): Promise<{ page: Page } | { lo: number; hi: number }> {
    const L = this.pageLength;
    let lo = 0;
    let hi = Infinity;
    let probe = Math.max(0, hint - maxShift - 1);
    let len = length ?? Math.min(L, Math.max(1, hiHint - probe + 3));
    let missedLow = false;
    while (c.stats.requests < budget) {
      const page = await this.read(c, probe, len);
      const first = page.entries[0];
      const last = page.entries[page.entries.length - 1];
      const startsBefore = probe === 0 || (first !== undefined && first.id <= target);
      const endsAfter = page.entries.length < page.length || (last !== undefined && last.id >= target);
      if (startsBefore && endsAfter) return { page };
      this.takePage(page, false);
      let optimistic: boolean;
      if (!startsBefore) {
        // Up the list from it: more was evicted below than guessed (or the list is shorter).
        hi = Math.min(hi, probe);
        lo = first === undefined ? lo : Math.max(lo, probe - (first.id - target));
        optimistic = first !== undefined;
      } else {
        // Down the list from it (e.g. entries listed late below it).
        lo = Math.max(lo, probe + page.entries.length);
        hi = Math.min(hi, probe + page.entries.length + (target - last!.id));
        optimistic = false;
        missedLow = true;
      }
      if (lo > hi) {
        // The list changed under the search: start again over all of it.
        lo = 0;
        hi = Infinity;
      }
      if (hi === Infinity) {
        probe = lo;
        len = L;
      } else if (hi - lo + 2 <= L || (optimistic && !missedLow)) {
        probe = Math.max(0, lo - 1);
        len = length ?? Math.min(L, hi - probe + 2);
      } else {
        probe = lo + Math.floor((hi - lo - L) / 2);
        len = L;
      }
    }
    return { lo, hi };
  }

  /** New executions: from the page that brackets the floor to the end of the list (or the budget). */
  private async readTail(c: Cycle, budget: number): Promise<void> {
    const L = this.pageLength;
    const hint = this.floorOffset - 1; // where the entry `floor` was
    // Down by about what Spark evicts in a cycle: what it evicted in the last stretch measured,
    // or (at the cap it evicts as many as come) the newcomers of the last cycle; at most a
    // quarter page, since a guess too low costs one more request and one too high may cost more.
    const shift = Math.min(Math.max(this.lastEvictions, this.newLastCycle), Math.floor(L / 4));
    const found = await this.bracket(c, this.floor, hint, hint, shift, L, budget);
    if (!('page' in found)) {
      // Out of requests before the place was found: start from what was learnt next time.
      this.floorOffset = clamp(this.floorOffset, found.lo + 1, found.hi + 1);
      return;
    }
    let p = found.page;
    const window: { id: number; offset: number }[] = [];
    for (;;) {
      this.takePage(p, true);
      p.entries.forEach((e, i) => window.push({ id: e.id, offset: p.offset + i }));
      if (window.length > this.overlap + 1) window.splice(0, window.length - this.overlap - 1);
      this.raiseFloor(window);
      if (p.entries.length < p.length) {
        this.reachedEnd(p.offset + p.entries.length);
        c.stats.caughtUp = true;
        return;
      }
      if (c.stats.requests >= budget) return;
      p = await this.read(c, p.offset + p.entries.length, L);
    }
  }

  /** Keeps only the newest `overlap` handled ids above the floor. */
  private raiseFloor(window: readonly { id: number; offset: number }[]): void {
    if (window.length <= this.overlap) return;
    const to = window[window.length - this.overlap - 1]!;
    if (to.id <= this.floor) return;
    this.floor = to.id;
    this.floorOffset = to.offset + 1;
    for (const id of this.recent) if (id <= this.floor) this.recent.delete(id);
  }

  private reachedEnd(total: number): void {
    if (this.knownTotal !== undefined) {
      const evicted = Math.max(0, this.knownTotal + this.addedSince - total);
      this.evicted += evicted;
      this.lastEvictions = evicted;
    }
    this.knownTotal = total;
    this.addedSince = 0;
  }

  /** The running queries not seen this cycle, those seen longest ago first. */
  private async recheckRunning(c: Cycle): Promise<void> {
    const L = this.pageLength;
    const due = [...this.running.entries()].filter(([, r]) => r.seen < this.cycle).sort(([a, ra], [b, rb]) => ra.seen - rb.seen || a - b);
    for (const [id, r] of due) {
      if (c.stats.requests >= this.maxPages) return;
      if (this.running.get(id)?.seen !== r.seen) continue; // settled by a page read for another
      // It is at most `shiftOf` below where it was; guess a little (a miss costs a request, and
      // the ids of the page missed then say where to look), and cover the due ones just above.
      const margin = Math.min(this.shiftOf(r), Math.floor(L / 4));
      let hiHint = r.offset;
      for (const [n, nr] of due) if (n > id && this.running.has(n) && nr.offset - r.offset <= L - margin - 4) hiHint = Math.max(hiHint, nr.offset);
      const found = await this.bracket(c, id, r.offset, hiHint, margin, undefined, this.maxPages);
      if ('page' in found) this.takePage(found.page, false);
      else if (this.running.get(id) === r) r.offset = clamp(r.offset, found.lo, found.hi);
    }
  }

  /** How far down a running query may have moved since it was last seen. */
  private shiftOf(r: Running): number {
    // Until this cycle's tail reached the end, this cycle's evictions are not in `evicted` yet.
    return this.evicted - r.evictedAt + (this.last.caughtUp ? 0 : this.lastEvictions);
  }

  // -- handling entries --

  /**
   * Handles a page: running queries it holds are updated (counted when finished), and in the
   * tail (`tail`) executions above the floor not handled yet are new. A running query whose id
   * the page covers but does not hold is gone.
   */
  private takePage(page: Page, tail: boolean): void {
    page.entries.forEach((e, i) => this.take(e, page.offset + i, tail));
    if (this.running.size === 0) return;
    const first = page.entries[0];
    const last = page.entries[page.entries.length - 1];
    const fromStart = page.offset === 0;
    const toEnd = page.entries.length < page.length;
    if (!fromStart && first === undefined) return;
    const held = new Set(page.entries.map((e) => e.id));
    for (const id of [...this.running.keys()]) {
      const covered = (fromStart || id >= first!.id) && (toEnd || id <= last!.id);
      if (covered && !held.has(id)) {
        this.running.delete(id);
        this.lostCount++;
      }
    }
  }

  private take(e: SqlExecution, offset: number, tail: boolean): void {
    const r = this.running.get(e.id);
    if (r) {
      if (e.status === 'RUNNING') {
        r.submissionMs = e.submissionMs;
        r.offset = offset;
        r.seen = this.cycle;
        r.evictedAt = this.evicted;
        return;
      }
      this.running.delete(e.id);
      this.finished(e);
      return;
    }
    if (!tail || e.id <= this.floor || this.recent.has(e.id)) return;
    this.recent.add(e.id);
    this.addedSince++;
    this.last.newExecutions++;
    if (e.status !== 'RUNNING') {
      this.finished(e);
      return;
    }
    if (this.running.size >= this.maxRunning) {
      this.untrackedCount++;
      return;
    }
    this.running.set(e.id, { submissionMs: e.submissionMs, offset, seen: this.cycle, evictedAt: this.evicted });
  }

  private finished(e: SqlExecution): void {
    // submissionTime + duration is the completion time; before the agent started: Spark's past.
    if (e.submissionMs + e.durationMs < this.startedAtMs) return;
    this.durations.observe({ ...this.labels, status: e.status === 'FAILED' ? 'failed' : 'completed' }, e.durationMs / 1000);
    this.last.counted++;
  }
}
