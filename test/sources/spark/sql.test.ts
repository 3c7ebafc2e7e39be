import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { Sample } from '../../../agent/core/sample';
import { MalformedPayloadError } from '../../../agent/sources/spark/parse';
import {
  SQL_QUERY_DURATION_BUCKETS,
  SqlQueries,
  parseExecutions,
  parseSparkDate,
  sqlListPath,
  type SqlFetch,
  type SqlStatus,
} from '../../../agent/sources/spark/sql';

const FIXTURES = path.resolve(__dirname, '../../fixtures/spark/sql');
const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));
const APP = { spark_app_id: 'app-20261124135501-0000' };

/** One `ExecutionData` of the fixture, the template of every entry the fake serves. */
const TEMPLATE = (fixture('executions.json') as Record<string, unknown>[])[1]!;

const T0 = Date.UTC(2026, 10, 24, 14, 0, 0); // the agent starts
const S = 1000;
const MIN = 60 * S;

const sparkDate = (ms: number): string => new Date(ms).toISOString().replace('Z', 'GMT');

interface Exec {
  id: number;
  submissionMs: number;
  endMs?: number;
  failed: boolean;
  /** What Spark 3.4 and older may say instead (status from the jobs): e.g. COMPLETED between two jobs. */
  shownAs?: SqlStatus;
}

/**
 * Spark's SQL store as the REST API shows it: ascending ids, `offset` a rank, `duration`
 * growing while running, and SQLAppStatusListener.cleanupExecutions' eviction: over
 * `retained`, the finished executions with the earliest completion go first; running ones stay.
 */
class FakeSpark {
  nowMs = T0;
  readonly list: Exec[] = [];
  nextId = 0;
  calls = 0;
  entriesServed = 0;
  /** Makes call number `n` (1-based, counted over the fake's life) throw or answer junk. */
  failOn = new Map<number, 'throw' | 'malformed'>();

  constructor(public retained = 1000) {}

  /** A new execution (the next id unless given: a late-listed one), running. */
  submit(atMs = this.nowMs, id = this.nextId++): number {
    this.nextId = Math.max(this.nextId, id + 1);
    const at = this.list.findIndex((e) => e.id > id);
    this.list.splice(at === -1 ? this.list.length : at, 0, { id, submissionMs: atMs, failed: false });
    this.evict();
    return id;
  }

  finish(id: number, atMs = this.nowMs, failed = false): void {
    const e = this.list.find((x) => x.id === id);
    assert.ok(e, `execution ${id} is not listed`);
    e.endMs = atMs;
    e.failed = failed;
    delete e.shownAs;
    this.evict();
  }

  /** A query submitted at `atMs` that took `durationMs`. */
  ran(atMs: number, durationMs: number, failed = false): number {
    const id = this.submit(atMs);
    this.finish(id, atMs + durationMs, failed);
    return id;
  }

  has(id: number): boolean {
    return this.list.some((e) => e.id === id);
  }

  private evict(): void {
    const over = this.list.length - this.retained;
    if (over <= 0) return;
    const done = this.list.filter((e) => e.endMs !== undefined).sort((a, b) => a.endMs! - b.endMs! || a.id - b.id);
    for (const e of done.slice(0, over)) this.list.splice(this.list.indexOf(e), 1);
  }

  private entry(e: Exec): Record<string, unknown> {
    const running = e.endMs === undefined;
    const status: SqlStatus = e.shownAs ?? (running ? 'RUNNING' : e.failed ? 'FAILED' : 'COMPLETED');
    return {
      ...TEMPLATE,
      id: e.id,
      status,
      description: `SELECT * FROM main.sales.orders WHERE order_id % 1000 = ${e.id}`,
      submissionTime: sparkDate(e.submissionMs),
      duration: (e.endMs ?? this.nowMs) - e.submissionMs,
      runningJobIds: running ? [e.id * 2] : [],
      successJobIds: running || e.failed ? [] : [e.id * 2],
      failedJobIds: !running && e.failed ? [e.id * 2] : [],
    };
  }

  readonly fetch: SqlFetch = async (offset, length) => {
    this.calls++;
    const fail = this.failOn.get(this.calls);
    if (fail === 'throw') throw new Error('connect ECONNREFUSED 127.0.0.1:40001');
    const page = this.list.slice(offset, offset + length).map((e) => this.entry(e));
    this.entriesServed += page.length;
    if (fail === 'malformed' && page.length > 0) page[0]!.id = String(page[0]!.id);
    // Through the wire, as the caller's JSON.parse would give it.
    return JSON.parse(JSON.stringify(page)) as unknown;
  };
}

function find(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function value(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = find(samples, name, labels);
  assert.equal(found.length, 1, `${name}${JSON.stringify(labels)}: ${found.length} series`);
  return found[0]!.value;
}

const count = (samples: readonly Sample[], status: 'completed' | 'failed'): number => value(samples, 'spark_sql_query_duration_seconds_count', { status });
const sum = (samples: readonly Sample[], status: 'completed' | 'failed'): number => value(samples, 'spark_sql_query_duration_seconds_sum', { status });

/** Runs a cycle `stepMs` later. */
async function cycle(q: SqlQueries, spark: FakeSpark, stepMs = 15 * S): Promise<Sample[]> {
  spark.nowMs += stepMs;
  return q.collect(spark.fetch, APP, spark.nowMs);
}

/** Cycles until the tracker has read to the end of the list; fails after `max`. */
async function catchUp(q: SqlQueries, spark: FakeSpark, max = 10): Promise<{ samples: Sample[]; cycles: number }> {
  for (let i = 1; i <= max; i++) {
    const samples = await cycle(q, spark);
    if (q.lastCycle.caughtUp) return { samples, cycles: i };
  }
  throw new Error(`not caught up after ${max} cycles`);
}

describe('spark/sql', () => {
  describe('parseExecutions (Spark-shaped fixtures)', () => {
    it('reads id, status, submission time (Spark’s …SSSGMT dates) and duration', () => {
      assert.deepEqual(parseExecutions(fixture('executions.json')), [
        { id: 0, status: 'COMPLETED', submissionMs: Date.UTC(2026, 10, 24, 13, 56, 10, 482), durationMs: 1234 },
        { id: 1, status: 'COMPLETED', submissionMs: Date.UTC(2026, 10, 24, 13, 57, 2, 117), durationMs: 842 },
        { id: 2, status: 'FAILED', submissionMs: Date.UTC(2026, 10, 24, 13, 58, 40, 3), durationMs: 15302 },
        { id: 4, status: 'COMPLETED', submissionMs: Date.UTC(2026, 10, 24, 14, 0, 5, 760), durationMs: 64210 },
        { id: 5, status: 'RUNNING', submissionMs: Date.UTC(2026, 10, 24, 14, 1, 30, 250), durationMs: 125418 },
      ]);
    });

    it('reads Spark 4’s shape (queryId, errorMessage, rootExecutionId) the same way', () => {
      assert.deepEqual(
        parseExecutions(fixture('executions-spark4.json')).map((e) => [e.id, e.status, e.durationMs]),
        [
          [7, 'COMPLETED', 2390],
          [8, 'FAILED', 37],
          [9, 'RUNNING', 8120],
        ],
      );
    });

    it('parses dates: Spark’s format, ISO 8601, and nothing else', () => {
      assert.equal(parseSparkDate('2015-02-03T16:42:59.720GMT'), Date.UTC(2015, 1, 3, 16, 42, 59, 720));
      assert.equal(parseSparkDate('1969-12-31T23:59:59.999GMT'), -1); // Spark's submissionTime -1
      assert.equal(parseSparkDate('2026-11-24T14:00:00.000Z'), T0);
      assert.equal(parseSparkDate('2026-11-24T15:00:00+01:00'), T0);
      for (const bad of ['2026-02-31T10:00:00.000GMT', '2026-11-24 14:00:00', 'yesterday', '', 1764000000000, null])
        assert.equal(parseSparkDate(bad), undefined, String(bad));
    });

    it('asks for the list without plans or node metrics', () => {
      assert.equal(
        sqlListPath('app-20261124135501-0000', 200, 100),
        '/api/v1/applications/app-20261124135501-0000/sql?details=false&planDescription=false&offset=200&length=100',
      );
    });

    it('an empty list is no executions', () => {
      assert.deepEqual(parseExecutions([]), []);
    });

    describe('a wrong shape fails the whole page, naming the field', () => {
      const good = (): Record<string, unknown>[] => fixture('executions.json') as Record<string, unknown>[];
      const withEntry = (i: number, patch: Record<string, unknown>): unknown => good().map((e, j) => (j === i ? { ...e, ...patch } : e));
      const cases: [string, unknown, RegExp][] = [
        ['an id as a string', withEntry(1, { id: '1' }), /sql entry 1 id is "1", not an execution id/],
        ['no id', withEntry(0, { id: undefined }), /sql entry 0 id is undefined/],
        ['a fractional id', withEntry(0, { id: 0.5 }), /sql entry 0 id is 0.5/],
        ['an unknown status', withEntry(2, { status: 'SUCCEEDED' }), /sql execution 2 status is "SUCCEEDED", not RUNNING, COMPLETED or FAILED/],
        ['a status of another type', withEntry(2, { status: 3 }), /sql execution 2 status is 3/],
        ['no status', withEntry(2, { status: null }), /sql execution 2 status is null/],
        ['a submission time that is a number', withEntry(0, { submissionTime: 1764000000000 }), /sql execution 0 submissionTime is 1764000000000, not a date/],
        ['a duration as a string', withEntry(4, { duration: '125418' }), /sql execution 5 duration is "125418", not a number of ms/],
        ['ids out of order', [good()[1], good()[0]], /sql execution ids \(1 then 0\)/],
        ['an entry that is not an object', [good()[0], null], /sql entry 1 is null, not an object/],
      ];
      for (const [what, json, message] of cases)
        it(what, () => {
          assert.throws(
            () => parseExecutions(json),
            (e: unknown) => e instanceof MalformedPayloadError && message.test(e.message),
          );
        });

      it('not a list (an HTML login page parsed as nothing, an error object)', () => {
        assert.throws(() => parseExecutions({ message: 'no such app' }), /sql: expected a JSON array, got object/);
        assert.throws(() => parseExecutions(null), /got null/);
      });
    });
  });

  describe('SqlQueries', () => {
    it('counts a query running at agent start once, when it finishes; the finished past never', async () => {
      const spark = new FakeSpark();
      spark.ran(T0 - 30 * MIN, 2 * MIN); // finished before the start
      spark.ran(T0 - 10 * MIN, 5 * MIN, true);
      const long = spark.submit(T0 - 1 * MIN); // running at the start
      spark.ran(T0 - 20 * S, 19 * S); // finished 1 s before the start
      const q = new SqlQueries({ startedAtMs: T0 });

      let s = await cycle(q, spark); // T0 + 15 s
      assert.equal(count(s, 'completed'), 0);
      assert.equal(count(s, 'failed'), 0);
      assert.equal(value(s, 'spark_sql_queries_running'), 1);
      assert.equal(value(s, 'spark_sql_query_running_max_age_seconds'), 75);

      spark.finish(long, T0 + 20 * S);
      s = await cycle(q, spark);
      assert.equal(count(s, 'completed'), 1);
      assert.equal(sum(s, 'completed'), 80);
      assert.equal(value(s, 'spark_sql_queries_running'), 0);
      assert.equal(value(s, 'spark_sql_query_running_max_age_seconds'), 0);

      for (let i = 0; i < 3; i++) s = await cycle(q, spark);
      assert.equal(count(s, 'completed'), 1, 'counted once');
      assert.equal(count(s, 'failed'), 0);
    });

    it('counts a query that finished after the start even if first seen finished; one that ended at the very start counts', async () => {
      const spark = new FakeSpark();
      spark.ran(T0 - 10 * S, 12 * S); // ended at T0 + 2 s, before the first read
      spark.ran(T0 - 5 * S, 5 * S, true); // ended exactly at T0
      const q = new SqlQueries({ startedAtMs: T0 });
      const s = await cycle(q, spark);
      assert.equal(count(s, 'completed'), 1);
      assert.equal(sum(s, 'completed'), 12);
      assert.equal(count(s, 'failed'), 1);
      assert.equal(sum(s, 'failed'), 5);
    });

    it('starts both status series at zero on the first cycle, with the caller’s labels', async () => {
      const spark = new FakeSpark();
      const s = await new SqlQueries({ startedAtMs: T0 }).collect(spark.fetch, APP, T0);
      for (const status of ['completed', 'failed']) {
        const buckets = find(s, 'spark_sql_query_duration_seconds_bucket', { status });
        assert.equal(buckets.length, SQL_QUERY_DURATION_BUCKETS.length + 1);
        assert.ok(buckets.every((b) => b.value === 0 && b.labels.spark_app_id === APP.spark_app_id && b.type === 'histogram'));
        assert.equal(count(s, status as 'completed'), 0);
        assert.equal(sum(s, status as 'completed'), 0);
      }
      assert.equal(value(s, 'spark_sql_queries_running', APP), 0);
      assert.equal(value(s, 'spark_sql_query_running_max_age_seconds', APP), 0);
    });

    it('gives classic histogram buckets, sum and count in seconds', async () => {
      const spark = new FakeSpark();
      const q = new SqlQueries({ startedAtMs: T0 });
      await cycle(q, spark);
      for (const ms of [50, 700, 3000, 45_000, 700_000, 4_000_000]) spark.ran(spark.nowMs - ms, ms);
      spark.ran(spark.nowMs - 12_000, 12_000, true);
      const s = await cycle(q, spark);
      const le = (status: string): Record<string, number> =>
        Object.fromEntries(find(s, 'spark_sql_query_duration_seconds_bucket', { status }).map((b) => [b.labels.le!, b.value]));
      assert.deepEqual(le('completed'), {
        '0.1': 1,
        '0.5': 1,
        '1': 2,
        '2.5': 2,
        '5': 3,
        '10': 3,
        '30': 3,
        '60': 4,
        '120': 4,
        '300': 4,
        '600': 4,
        '1800': 5,
        '3600': 5,
        '+Inf': 6,
      });
      assert.equal(count(s, 'completed'), 6);
      assert.ok(Math.abs(sum(s, 'completed') - (0.05 + 0.7 + 3 + 45 + 700 + 4000)) < 1e-9);
      assert.equal(le('failed')['10'], 0);
      assert.equal(le('failed')['30'], 1);
      assert.equal(count(s, 'failed'), 1);
      assert.equal(sum(s, 'failed'), 12);
    });

    it('a restarted agent (a new tracker) does not count the retained past again', async () => {
      const spark = new FakeSpark();
      const first = new SqlQueries({ startedAtMs: T0 });
      await cycle(first, spark);
      for (let i = 0; i < 30; i++) spark.ran(spark.nowMs - 4 * S, 3 * S, i % 5 === 0);
      let s = await cycle(first, spark);
      assert.equal(count(s, 'completed') + count(s, 'failed'), 30);

      // The agent restarts: a new process, a new tracker, a new start time.
      spark.nowMs += 40 * S;
      const second = new SqlQueries({ startedAtMs: spark.nowMs });
      s = await cycle(second, spark);
      assert.equal(count(s, 'completed'), 0);
      assert.equal(count(s, 'failed'), 0);
      spark.ran(spark.nowMs - 2 * S, 1 * S);
      s = await cycle(second, spark);
      assert.equal(count(s, 'completed'), 1);
      assert.equal(count(s, 'failed'), 0);
    });

    it('gives the age of the oldest running query, skipping Spark’s -1 placeholder', async () => {
      const spark = new FakeSpark();
      const a = spark.submit(T0 - 300 * S);
      const b = spark.submit(T0 - 100 * S);
      spark.submit(-1); // listed by a job start before its execution start event
      const q = new SqlQueries({ startedAtMs: T0 });
      let s = await cycle(q, spark);
      assert.equal(value(s, 'spark_sql_queries_running'), 3);
      assert.equal(value(s, 'spark_sql_query_running_max_age_seconds'), 315);
      spark.finish(a);
      s = await cycle(q, spark);
      assert.equal(value(s, 'spark_sql_query_running_max_age_seconds'), 130);
      spark.finish(b);
      s = await cycle(q, spark);
      assert.equal(value(s, 'spark_sql_queries_running'), 1);
      assert.equal(value(s, 'spark_sql_query_running_max_age_seconds'), 0);
    });

    it('1,000 retained executions: catches up in a few bounded cycles, then reads little per cycle', async () => {
      const spark = new FakeSpark(1000);
      // A day of history: 1,000 queries finished before the start, one still running from long ago.
      for (let i = 0; i < 3; i++) spark.ran(T0 - 24 * 60 * MIN + i * MIN, 10 * S);
      const old = spark.submit(T0 - 3 * 60 * MIN);
      for (let i = 0; i < 997; i++) spark.ran(T0 - 20 * 60 * MIN + i * MIN, 2 * S);
      assert.equal(spark.list.length, 1000);
      const q = new SqlQueries({ startedAtMs: T0 });

      const { samples, cycles } = await catchUp(q, spark);
      assert.ok(cycles <= 3, `${cycles} cycles to catch up`);
      assert.equal(count(samples, 'completed') + count(samples, 'failed'), 0);
      assert.equal(value(samples, 'spark_sql_queries_running'), 1);

      // Steady state: 4 queries a cycle, one of them failing; the cap evicts as many old ones.
      let expected = 0;
      let expectedFailed = 0;
      let maxRequests = 0;
      let maxEntries = 0;
      let s: Sample[] = [];
      for (let c = 0; c < 60; c++) {
        for (let i = 0; i < 4; i++) spark.ran(spark.nowMs + i * S, 3 * S, i === 3);
        expected += 3;
        expectedFailed += 1;
        if (c === 40) spark.finish(old, spark.nowMs + 14 * S);
        const callsBefore = spark.calls;
        const servedBefore = spark.entriesServed;
        s = await cycle(q, spark);
        assert.equal(q.lastCycle.requests, spark.calls - callsBefore);
        assert.equal(q.lastCycle.entries, spark.entriesServed - servedBefore);
        if (c === 0) {
          // Right after catching up, how much Spark evicts per cycle is not measured yet: a wider look.
          assert.ok(q.lastCycle.requests <= 2 && q.lastCycle.entries <= 60, JSON.stringify(q.lastCycle));
          continue;
        }
        maxRequests = Math.max(maxRequests, q.lastCycle.requests);
        maxEntries = Math.max(maxEntries, q.lastCycle.entries);
      }
      assert.equal(spark.list.length, 1000, 'Spark evicted old executions all along');
      assert.ok(!spark.has(0));
      assert.equal(count(s, 'completed'), expected + 1, 'every query once, and the old one when it finished');
      assert.equal(count(s, 'failed'), expectedFailed);
      assert.equal(q.lost, 0);
      // While the old query runs: one request for the tail (the 4 new, 20 re-read, 2 to find
      // the place), one of 2 entries for the old query's place; then the tail alone.
      assert.equal(maxRequests, 2);
      assert.ok(maxEntries <= 30, `${maxEntries} entries in a cycle`);
      assert.equal(q.lastCycle.requests, 1);
      assert.ok(q.lastCycle.entries <= 30, `${q.lastCycle.entries} entries`);
    });

    it('a burst of ~1,000 new queries costs a few bounded cycles, and eviction shifting offsets loses nothing', async () => {
      const spark = new FakeSpark(1000);
      for (let i = 0; i < 1000; i++) spark.ran(T0 - 20 * 60 * MIN + i * S, 500);
      const q = new SqlQueries({ startedAtMs: T0 });
      await catchUp(q, spark);
      // Three long queries with low ids keep running while everything around them is evicted.
      const long = [spark.submit(), spark.submit(), spark.submit()];
      await cycle(q, spark);
      // The burst: 997 short queries between two cycles, evicting all 1,000 old ones (997 + the
      // 3 running fill the store; any more and the first of the burst to finish would go unseen).
      const burst = 997;
      for (let i = 0; i < burst; i++) spark.ran(spark.nowMs + (i % 10) * S, 200 + i, i % 7 === 0);
      assert.equal(spark.list[0]!.id, long[0]);
      const failed = [...Array(burst).keys()].filter((i) => i % 7 === 0).length;
      let cycles = 0;
      let s: Sample[] = [];
      do {
        s = await cycle(q, spark);
        cycles++;
        assert.ok(q.lastCycle.requests <= 5, `${q.lastCycle.requests} requests`);
        assert.ok(q.lastCycle.entries <= 500, `${q.lastCycle.entries} entries`);
      } while (!q.lastCycle.caughtUp && cycles < 10);
      assert.ok(cycles <= 3, `${cycles} cycles for the burst`);
      assert.equal(count(s, 'completed'), burst - failed);
      assert.equal(count(s, 'failed'), failed);
      assert.equal(value(s, 'spark_sql_queries_running'), 3);

      // More churn moves the long ones' offsets down; they finish one by one.
      for (const [n, id] of long.entries()) {
        for (let i = 0; i < 150; i++) spark.ran(spark.nowMs + S, 100);
        spark.finish(id, spark.nowMs + 2 * S, n === 1);
        s = await cycle(q, spark);
        s = await cycle(q, spark);
      }
      assert.equal(count(s, 'completed'), burst - failed + 450 + 2);
      assert.equal(count(s, 'failed'), failed + 1);
      assert.equal(value(s, 'spark_sql_queries_running'), 0);
      assert.equal(q.lost, 0);
    });

    it('counts an execution listed late, after a higher id was seen', async () => {
      const spark = new FakeSpark();
      const q = new SqlQueries({ startedAtMs: T0 });
      spark.ran(T0 + S, S);
      const lateId = spark.nextId++; // id taken; its start event is still on the listener bus
      spark.ran(T0 + 2 * S, S);
      let s = await cycle(q, spark);
      assert.equal(count(s, 'completed'), 2);
      spark.submit(T0 + 3 * S, lateId);
      s = await cycle(q, spark);
      assert.equal(value(s, 'spark_sql_queries_running'), 1);
      spark.finish(lateId);
      s = await cycle(q, spark);
      assert.equal(count(s, 'completed'), 3);
    });

    it('a query Spark 3.4 shows COMPLETED between two jobs is counted once, not again when it ends', async () => {
      const spark = new FakeSpark();
      const q = new SqlQueries({ startedAtMs: T0 });
      const id = spark.submit(T0 + S);
      await cycle(q, spark);
      spark.list.find((e) => e.id === id)!.shownAs = 'COMPLETED'; // first job done, next not started
      let s = await cycle(q, spark);
      assert.equal(count(s, 'completed'), 1);
      spark.list.find((e) => e.id === id)!.shownAs = 'RUNNING'; // second job
      s = await cycle(q, spark);
      spark.finish(id);
      s = await cycle(q, spark);
      s = await cycle(q, spark);
      assert.equal(count(s, 'completed'), 1);
      assert.equal(value(s, 'spark_sql_queries_running'), 0);
    });

    it('a failing request in the middle of a cycle, then good cycles: counts stay exact', async () => {
      const spark = new FakeSpark(1000);
      for (let i = 0; i < 600; i++) spark.ran(T0 - 60 * MIN + i * S, 100);
      for (let i = 0; i < 300; i++) spark.ran(T0 + i * 10, 50, i % 3 === 0); // after the start
      const running = spark.submit(T0 - MIN);
      for (let i = 0; i < 99; i++) spark.ran(T0 + 5 * S + i * 10, 50);
      const q = new SqlQueries({ startedAtMs: T0 });
      spark.nowMs = T0 + 10 * S;

      // Third request of the first cycle: the driver is busy and refuses.
      spark.failOn.set(spark.calls + 3, 'throw');
      await assert.rejects(cycle(q, spark), /ECONNREFUSED/);
      assert.equal(q.lastCycle.requests, 3);
      // First request of the next cycle: a page that is not Spark's shape.
      spark.failOn.set(spark.calls + 1, 'malformed');
      await assert.rejects(cycle(q, spark), MalformedPayloadError);

      spark.finish(running, spark.nowMs + S);
      await catchUp(q, spark);
      // And a failure while steady.
      for (let i = 0; i < 10; i++) spark.ran(spark.nowMs + S, 100);
      spark.failOn.set(spark.calls + 1, 'throw');
      await assert.rejects(cycle(q, spark));
      const s = await cycle(q, spark);
      assert.equal(count(s, 'failed'), 100);
      assert.equal(count(s, 'completed'), 200 + 99 + 1 + 10);
      assert.equal(q.lost, 0);
    });

    it('a running query that finishes and is evicted before it is seen again is dropped, not counted', async () => {
      const spark = new FakeSpark(20);
      const q = new SqlQueries({ startedAtMs: T0, overlap: 2 });
      const id = spark.submit(T0 + S);
      await cycle(q, spark);
      spark.finish(id, spark.nowMs + S); // the earliest finished: the first to go
      for (let i = 0; i < 20; i++) spark.ran(spark.nowMs + 2 * S, 100);
      assert.ok(!spark.has(id));
      const s = await cycle(q, spark);
      assert.equal(q.lost, 1);
      assert.equal(value(s, 'spark_sql_queries_running'), 0);
      assert.equal(count(s, 'completed'), 20);
    });

    it('follows at most maxRunning running queries', async () => {
      const spark = new FakeSpark();
      for (let i = 0; i < 3; i++) spark.submit(T0 + i * S);
      const q = new SqlQueries({ startedAtMs: T0, maxRunning: 2 });
      const s = await cycle(q, spark);
      assert.equal(value(s, 'spark_sql_queries_running'), 2);
      assert.equal(q.untracked, 1);
      assert.equal(q.runningCount, 2);
    });

    it('refuses a server that ignores offset/length', async () => {
      const q = new SqlQueries({ startedAtMs: T0, pageLength: 4, overlap: 0 });
      const all = fixture('executions.json');
      await assert.rejects(q.collect(async () => all, APP, T0), /asked for 4 entries at offset 0, got 5/);
    });

    it('refuses options that cannot work', () => {
      assert.throws(() => new SqlQueries({ startedAtMs: Number.NaN }), /startedAtMs/);
      assert.throws(() => new SqlQueries({ startedAtMs: T0, pageLength: 0 }), /pageLength/);
      assert.throws(() => new SqlQueries({ startedAtMs: T0, pageLength: 10, overlap: 6 }), /overlap must be a whole number from 0 to 5/);
      assert.throws(() => new SqlQueries({ startedAtMs: T0, pageLength: 2 }), /overlap/);
    });

    it('property: whatever Spark does between cycles, no query is counted twice; once it calms down, each is counted exactly once', async () => {
      type Step = { newQueries: number; finishShare: number; failEvery: number; late: boolean; failRequest: number };
      const step = fc.record({
        newQueries: fc.integer({ min: 0, max: 60 }),
        finishShare: fc.double({ min: 0, max: 1, noNaN: true }),
        failEvery: fc.integer({ min: 2, max: 9 }),
        late: fc.boolean(),
        failRequest: fc.integer({ min: 0, max: 8 }),
      });
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 1200 }), fc.array(step, { minLength: 1, maxLength: 25 }), async (history, steps: Step[]) => {
          const spark = new FakeSpark(1000);
          for (let i = 0; i < history; i++) spark.ran(T0 - 10 * 60 * MIN + i * S, 10);
          const early = [spark.submit(T0 - MIN), spark.submit(T0 - 30 * S)];
          const q = new SqlQueries({ startedAtMs: T0 });
          const open = new Set(early);
          let failed = 0;
          let completed = 0;
          const end = (id: number, isFailed: boolean): void => {
            spark.finish(id, spark.nowMs + 5 * S, isFailed);
            open.delete(id);
            if (isFailed) failed++;
            else completed++;
          };
          let late: number | undefined;
          for (const st of steps) {
            // An id taken in the last step is listed only now, after up to 4 higher ones were read.
            if (late !== undefined) open.add(spark.submit(spark.nowMs + S, late));
            late = undefined;
            for (let i = 0; i < st.newQueries; i++) {
              if (st.late && i === Math.max(0, st.newQueries - 5)) late = spark.nextId++;
              else open.add(spark.submit(spark.nowMs + S));
            }
            for (const id of [...open]) if (((id * 2654435761) % 1000) / 1000 < st.finishShare || id % 5 === 0) end(id, id % st.failEvery === 0);
            if (st.failRequest > 0) spark.failOn.set(spark.calls + st.failRequest, st.failRequest % 2 ? 'throw' : 'malformed');
            await cycle(q, spark).catch(() => undefined);
            spark.failOn.clear();
          }
          if (late !== undefined) open.add(spark.submit(spark.nowMs + S, late));
          for (const id of [...open]) end(id, false);
          let s: Sample[] = [];
          for (let i = 0; i < 8; i++) s = await cycle(q, spark);
          assert.equal(q.lost, 0);
          assert.equal(count(s, 'completed'), completed);
          assert.equal(count(s, 'failed'), failed);
          assert.equal(value(s, 'spark_sql_queries_running'), 0);
        }),
        { numRuns: 60, seed: 20261124 },
      );
    });

    it('property: with small pages and few requests a cycle it is slower, never wrong', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            pageLength: fc.integer({ min: 3, max: 40 }),
            maxPagesPerCycle: fc.integer({ min: 1, max: 5 }),
            history: fc.integer({ min: 0, max: 150 }),
            perCycle: fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 30 }),
            keepRunning: fc.integer({ min: 2, max: 6 }),
          }),
          async ({ pageLength, maxPagesPerCycle, history, perCycle, keepRunning }) => {
            const spark = new FakeSpark(1000);
            for (let i = 0; i < history; i++) spark.ran(T0 - 60 * MIN + i * S, 10);
            const open = new Set([spark.submit(T0 - MIN)]);
            const q = new SqlQueries({ startedAtMs: T0, pageLength, maxPagesPerCycle, overlap: Math.min(20, pageLength - 3 - Math.floor(pageLength / 4)) });
            let done = 0;
            for (const n of perCycle) {
              for (let i = 0; i < n; i++) open.add(spark.submit(spark.nowMs + S));
              // Every `keepRunning`-th query runs on; the others finish within the cycle.
              for (const id of [...open]) if (id % keepRunning !== 0) {
                spark.finish(id, spark.nowMs + 2 * S, id % 3 === 0);
                open.delete(id);
                done++;
              }
              await cycle(q, spark);
            }
            for (const id of open) spark.finish(id, spark.nowMs + S);
            done += open.size;
            let s: Sample[] = [];
            for (let i = 0; i < 400 && !(q.lastCycle.caughtUp && q.runningCount === 0); i++) s = await cycle(q, spark);
            s = await cycle(q, spark);
            assert.equal(q.lost, 0);
            assert.equal(count(s, 'completed') + count(s, 'failed'), done);
            assert.equal(q.runningCount, 0);
          },
        ),
        { numRuns: 80, seed: 7 },
      );
    });

    it('property: when Spark evicts faster than the agent reads, queries go uncounted, never twice', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 5, max: 60 }),
          fc.array(fc.record({ n: fc.integer({ min: 0, max: 120 }), fail: fc.boolean() }), { minLength: 1, maxLength: 20 }),
          async (retained, steps) => {
            const spark = new FakeSpark(retained);
            const q = new SqlQueries({ startedAtMs: T0, pageLength: 10, maxPagesPerCycle: 2, overlap: 3 });
            const counted = { completed: 0, failed: 0 };
            const running: number[] = [];
            for (const { n, fail } of steps) {
              for (let i = 0; i < n; i++) {
                const id = spark.submit(spark.nowMs + S);
                if (id % 4 === 0) running.push(id);
                else {
                  spark.finish(id, spark.nowMs + 2 * S, id % 3 === 0);
                  counted[id % 3 === 0 ? 'failed' : 'completed']++;
                }
              }
              while (running.length > 3) {
                const id = running.shift()!;
                spark.finish(id, spark.nowMs + 3 * S);
                counted.completed++;
              }
              if (fail) spark.failOn.set(spark.calls + 1, 'throw');
              const s = await cycle(q, spark).catch(() => undefined);
              spark.failOn.clear();
              if (!s) continue;
              assert.ok(count(s, 'completed') <= counted.completed);
              assert.ok(count(s, 'failed') <= counted.failed);
              assert.ok(value(s, 'spark_sql_queries_running') <= spark.list.filter((e) => e.endMs === undefined).length + 0);
            }
          },
        ),
        { numRuns: 100, seed: 11 },
      );
    });
  });
});
