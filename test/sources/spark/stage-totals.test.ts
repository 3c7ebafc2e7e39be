import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Sample } from '../../../agent/core/sample';
import { MalformedPayloadError } from '../../../agent/sources/spark/parse';
import { parseStageAttempts, sparkDateMs, stageIdsOfJobs, StageTotals, type FetchStage } from '../../../agent/sources/spark/stage-totals';

const FIXTURES = path.resolve(__dirname, '../../fixtures/spark');
const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));

/** The agent started at 14:20:00 GMT (the fixtures' stage 41 was running then, stage 38 had failed at 14:02). */
const START = Date.UTC(2026, 10, 24, 14, 20, 0);
const APP = { spark_app_id: 'app-20261124135501-0000' };

type Entry = Record<string, unknown>;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The entries of the list the agent read at start: 43 and 42 pending, 41 active, 38 failed (before start). */
const atStart = (): Entry[] => fixture('stages/list-at-start.json') as Entry[];
const listed = (id: number): Entry => clone(atStart().find((e) => e.stageId === id)!);
const complete41 = (): Entry[] => fixture('stages/stage-41-complete.json') as Entry[];
const retried42 = (): Entry[] => fixture('stages/stage-42-retried.json') as Entry[];
const skipped43 = (): Entry[] => fixture('stages/stage-43-skipped.json') as Entry[];

/** A stage entry in Spark's shape (the fixture's stage 41), changed as given. */
function stage(stageId: number, status: string, more: Entry = {}): Entry {
  const e = clone(complete41()[0]!);
  Object.assign(e, { stageId, attemptId: 0, status }, more);
  if (status === 'ACTIVE' || status === 'PENDING') delete e.completionTime;
  return e;
}

const gmt = (ms: number): string => new Date(ms).toISOString().replace('Z', 'GMT');

/**
 * Spark's `/stages/<id>` behind a fake: an answer per id (a payload, null for 404, an Error to
 * reject), what it was asked, in order.
 */
class FakeStages {
  readonly answers = new Map<number, unknown>();
  readonly calls: number[] = [];
  readonly fetch: FetchStage = async (id) => {
    this.calls.push(id);
    const a = this.answers.has(id) ? this.answers.get(id) : null;
    if (a instanceof Error) throw a;
    return typeof a === 'function' ? (a as () => unknown)() : clone(a);
  };
  take(): number[] {
    return this.calls.splice(0).sort((a, b) => a - b);
  }
}

/** The value of every series, keyed `name` or `name{status}`, checking each is there once. */
function values(samples: readonly Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    assert.equal(s.type, 'counter');
    assert.equal(s.labels.spark_app_id, APP.spark_app_id);
    const k = s.labels.status ? `${s.name}{${s.labels.status}}` : s.name;
    assert.ok(!(k in out), `${k} twice`);
    out[k] = s.value;
  }
  return out;
}

const ZERO = {
  spark_stage_memory_spilled_bytes_total: 0,
  spark_stage_disk_spilled_bytes_total: 0,
  spark_stage_shuffle_read_bytes_total: 0,
  spark_stage_shuffle_write_bytes_total: 0,
  spark_stage_input_bytes_total: 0,
  spark_stage_output_bytes_total: 0,
  spark_stage_executor_run_time_seconds_total: 0,
  spark_stage_executor_cpu_time_seconds_total: 0,
  'spark_stages_completed_total{complete}': 0,
  'spark_stages_completed_total{failed}': 0,
  dbx_agent_spark_stage_fetches_given_up_total: 0,
};

/** Stage 41's finished attempt (stage-41-complete.json), in base units. */
const STAGE_41 = {
  spark_stage_memory_spilled_bytes_total: 2147483648,
  spark_stage_disk_spilled_bytes_total: 536870912,
  spark_stage_shuffle_read_bytes_total: 0,
  spark_stage_shuffle_write_bytes_total: 734003200,
  spark_stage_input_bytes_total: 5368709120,
  spark_stage_output_bytes_total: 0,
  spark_stage_executor_run_time_seconds_total: 183.456, // 183456 ms
  spark_stage_executor_cpu_time_seconds_total: 151.23456789, // 151234567890 ns
};

function close(actual: Record<string, number>, expected: Record<string, number>): void {
  for (const [k, v] of Object.entries(expected)) assert.ok(Math.abs(actual[k]! - v) < 1e-9 * Math.max(1, v), `${k}: ${actual[k]} != ${v}`);
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
}

describe('spark/stage-totals', () => {
  describe('sparkDateMs (JacksonMessageWriter: yyyy-MM-dd\'T\'HH:mm:ss.SSS\'GMT\')', () => {
    it('reads Spark\'s dates as epoch milliseconds', () => {
      assert.equal(sparkDateMs('2015-02-03T16:43:00.906GMT', 'f'), Date.UTC(2015, 1, 3, 16, 43, 0, 906));
      assert.equal(sparkDateMs('2026-11-24T14:21:12.987GMT', 'f'), Date.UTC(2026, 10, 24, 14, 21, 12, 987));
      assert.equal(sparkDateMs('2026-11-24T14:21:12.987Z', 'f'), Date.UTC(2026, 10, 24, 14, 21, 12, 987));
      assert.equal(sparkDateMs('2026-11-24T15:21:12.987+01:00', 'f'), Date.UTC(2026, 10, 24, 14, 21, 12, 987));
      assert.equal(sparkDateMs(undefined, 'f'), undefined);
      assert.equal(sparkDateMs(null, 'f'), undefined);
    });

    it('refuses anything else, naming the field', () => {
      for (const bad of ['2015-02-03 16:43:00', '2015-02-30T16:43:00.906GMT', '2015-02-03T25:43:00.906GMT', 1422981780906, true, 'yesterday'])
        assert.throws(() => sparkDateMs(bad, 'stage 1.0 completionTime'), (e: unknown) => e instanceof MalformedPayloadError && e.field === 'stage 1.0 completionTime');
    });
  });

  describe('parseStageAttempts and stageIdsOfJobs', () => {
    it('reads the fixtures: ids, statuses, completion times; amounts of finished attempts only', () => {
      const list = parseStageAttempts(atStart(), 'stages');
      assert.deepEqual(
        list.map((a) => [a.stageId, a.attemptId, a.status, a.completionMs]),
        [
          [43, 0, 'pending', undefined],
          [42, 0, 'pending', undefined],
          [41, 0, 'active', undefined],
          [38, 0, 'failed', Date.UTC(2026, 10, 24, 14, 2, 57, 861)],
        ],
      );
      assert.equal(list[2]!.amounts, undefined);
      assert.deepEqual(list[3]!.amounts, [0, 0, 0, 0, 805306368, 0, 40211, 30110204887]);
      assert.deepEqual(parseStageAttempts(skipped43(), 'stage 43').map((a) => a.status), ['skipped']);
    });

    it('takes the stage ids of every job in a /jobs payload', () => {
      assert.deepEqual(stageIdsOfJobs(fixture('jobs/jobs-later.json')).sort((a, b) => a - b), [36, 37, 38, 41, 42, 43, 44, 45]);
      assert.throws(() => stageIdsOfJobs({ jobs: [] }), MalformedPayloadError);
    });
  });

  describe('StageTotals over changing lists', () => {
    it('starts every counter at 0 on the first read, fetches nothing, and does not count the failed stage of before the start', async () => {
      const spark = new FakeStages();
      const t = new StageTotals({ startedAtMs: START });
      assert.deepEqual(values(await t.collect(atStart(), spark.fetch, APP)), ZERO);
      assert.deepEqual(spark.take(), []);
    });

    it('counts a stage running at start once, when it leaves the list, in base units (ms and ns to seconds)', async () => {
      const spark = new FakeStages();
      spark.answers.set(41, complete41());
      const t = new StageTotals({ startedAtMs: START });
      await t.collect(atStart(), spark.fetch, APP);
      // 41 finished; 42 started; 43 still pending; 38 still listed failed.
      const next = [listed(43), { ...listed(42), status: 'ACTIVE' }, listed(38)];
      const expected = { ...ZERO, ...STAGE_41, 'spark_stages_completed_total{complete}': 1 };
      close(values(await t.collect(next, spark.fetch, APP)), expected);
      assert.deepEqual(spark.take(), [41]);
      for (let i = 0; i < 3; i++) close(values(await t.collect(next, spark.fetch, APP)), expected);
      assert.deepEqual(spark.take(), [], 'a counted stage is not read again');
    });

    it('counts a failed attempt from the list, its retry from /stages/<id>, and nothing for a skipped stage', async () => {
      const spark = new FakeStages();
      spark.answers.set(41, complete41());
      spark.answers.set(42, retried42());
      spark.answers.set(43, skipped43());
      const t = new StageTotals({ startedAtMs: START });
      const [failed42, done42] = retried42();
      await t.collect(atStart(), spark.fetch, APP);
      await t.collect([listed(43), { ...listed(42), status: 'ACTIVE' }, listed(38)], spark.fetch, APP);
      spark.take();
      // Attempt 0 of 42 failed (a fetch failure) and attempt 1 runs.
      const retrying = [listed(43), { ...done42!, status: 'ACTIVE' }, failed42!, listed(38)];
      let v = values(await t.collect(retrying, spark.fetch, APP));
      assert.equal(v['spark_stages_completed_total{failed}'], 1);
      assert.equal(v.spark_stage_shuffle_read_bytes_total, 367001600); // 42.0's shuffleReadBytes
      assert.deepEqual(spark.take(), []);
      // 42 finished; its job ended and left 43 skipped.
      const after = [failed42!, listed(38)];
      v = values(await t.collect(after, spark.fetch, APP));
      assert.deepEqual(spark.take(), [42, 43]);
      close(v, {
        ...ZERO,
        spark_stage_memory_spilled_bytes_total: 2147483648 + 16777216,
        spark_stage_disk_spilled_bytes_total: 536870912 + 4194304,
        spark_stage_shuffle_read_bytes_total: 367001600 + 122334400,
        spark_stage_shuffle_write_bytes_total: 734003200,
        spark_stage_input_bytes_total: 5368709120,
        spark_stage_output_bytes_total: 104857600 + 35651584,
        spark_stage_executor_run_time_seconds_total: 183.456 + 52 + 17.5,
        spark_stage_executor_cpu_time_seconds_total: 151.23456789 + 41 + 14.25,
        'spark_stages_completed_total{complete}': 2,
        'spark_stages_completed_total{failed}': 1,
      });
      for (let i = 0; i < 3; i++) assert.deepEqual(values(await t.collect(after, spark.fetch, APP)), v);
      assert.deepEqual(spark.take(), []);
    });

    it('never counts what finished before the start: a restarted agent reads the same lists from zero', async () => {
      const spark = new FakeStages();
      spark.answers.set(41, complete41());
      spark.answers.set(42, retried42());
      // The new agent starts at 14:30, after all of it.
      const t = new StageTotals({ startedAtMs: Date.UTC(2026, 10, 24, 14, 30) });
      const [failed42] = retried42();
      for (let i = 0; i < 3; i++) assert.deepEqual(values(await t.collect([failed42!, listed(38)], spark.fetch, APP)), ZERO);
      assert.deepEqual(spark.take(), [], 'finished stages of before the start are not read at all');
    });

    it('finds stages that ran and ended between two reads by their ids (404 and skipped ones count nothing)', async () => {
      const spark = new FakeStages();
      spark.answers.set(41, complete41());
      spark.answers.set(42, retried42());
      spark.answers.set(43, skipped43());
      spark.answers.set(44, [stage(44, 'COMPLETE', { executorRunTime: 1500, executorCpuTime: 1e9, inputBytes: 1000 })]);
      // 45: Spark has none (its job failed at submission): the fake answers null, as for a 404.
      const t = new StageTotals({ startedAtMs: START });
      await t.collect(atStart(), spark.fetch, APP);
      // Next read: 46 is running; 41..45 all ended in between.
      const v = values(await t.collect([stage(46, 'ACTIVE'), listed(38)], spark.fetch, APP));
      assert.deepEqual(spark.take(), [41, 42, 43, 44, 45]);
      assert.equal(v['spark_stages_completed_total{complete}'], 3); // 41, 42.1, 44
      assert.equal(v.spark_stage_input_bytes_total, 5368709120 + 1000);
      assert.equal(v.dbx_agent_spark_stage_fetches_given_up_total, 0);
      await t.collect([stage(46, 'ACTIVE'), listed(38)], spark.fetch, APP);
      assert.deepEqual(spark.take(), [], 'a 404 is not retried');
    });

    it('with the job list\'s stage ids, finds them even when nothing is running at the next read', async () => {
      const spark = new FakeStages();
      spark.answers.set(41, complete41());
      spark.answers.set(42, retried42());
      spark.answers.set(43, skipped43());
      spark.answers.set(44, [stage(44, 'FAILED', { completionTime: '2026-11-24T14:22:04.001GMT' })]);
      spark.answers.set(45, [stage(45, 'COMPLETE', { executorRunTime: 2000 })]);
      const t = new StageTotals({ startedAtMs: START });
      await t.collect(atStart(), spark.fetch, APP, stageIdsOfJobs(fixture('jobs/jobs-at-start.json')));
      const v = values(await t.collect([listed(38)], spark.fetch, APP, stageIdsOfJobs(fixture('jobs/jobs-later.json'))));
      assert.deepEqual(spark.take(), [41, 42, 43, 44, 45]);
      // 41, 42.1 and 45 complete. 44 failed: a failed attempt counts from the failed list only
      // (which here does not show it), never from /stages/<id>.
      assert.equal(v['spark_stages_completed_total{complete}'], 3);
      assert.equal(v['spark_stages_completed_total{failed}'], 0);
    });

    it('with an empty job list at start (a fresh application), counts stage 0 on', async () => {
      const spark = new FakeStages();
      for (const id of [0, 1, 2]) spark.answers.set(id, [stage(id, 'COMPLETE')]);
      const t = new StageTotals({ startedAtMs: START });
      await t.collect([], spark.fetch, APP, []);
      const v = values(await t.collect([], spark.fetch, APP, [0, 1, 2]));
      assert.deepEqual(spark.take(), [0, 1, 2]);
      assert.equal(v['spark_stages_completed_total{complete}'], 3);
    });

    it('steady state: 1,000 stages completed, nothing new, no /stages/<id> at all', async () => {
      const spark = new FakeStages();
      let n = 0;
      const t = new StageTotals({ startedAtMs: START });
      await t.collect([], spark.fetch, APP, []);
      // 1,000 stages run, 100 per read, each seen active once, then done.
      for (let wave = 0; wave < 10; wave++) {
        const running = Array.from({ length: 100 }, (_, i) => wave * 100 + i);
        for (const id of running) spark.answers.set(id, [stage(id, 'COMPLETE', { executorRunTime: 1000 })]);
        await t.collect(running.map((id) => stage(id, 'ACTIVE')), spark.fetch, APP);
      }
      // Read 64 per cycle: drained within a few reads.
      for (let i = 0; i < 20 && (i === 0 || t.remembered.toFetch > 0); i++) await t.collect([listed(38)], spark.fetch, APP);
      assert.equal(t.remembered.toFetch, 0);
      n = spark.take().length;
      assert.equal(n, 1000, 'each stage read once');
      const v = values(await t.collect([listed(38)], spark.fetch, APP));
      assert.equal(v['spark_stages_completed_total{complete}'], 1000);
      assert.equal(v.spark_stage_executor_run_time_seconds_total, 1000);
      for (let i = 0; i < 20; i++) await t.collect([listed(38)], spark.fetch, APP);
      assert.deepEqual(spark.take(), []);
      assert.deepEqual(t.remembered, { inFlight: 0, toFetch: 0, failedListed: 1, counted: 1000 });
    });

    it('retries a failing /stages/<id> next cycle and counts it once when it answers', async () => {
      const spark = new FakeStages();
      let failures = 2;
      spark.answers.set(41, () => {
        if (failures-- > 0) throw new Error('timeout of 5000ms exceeded');
        return complete41();
      });
      const t = new StageTotals({ startedAtMs: START });
      await t.collect(atStart(), spark.fetch, APP);
      const next = [listed(43), listed(42), listed(38)];
      for (let i = 0; i < 2; i++) {
        assert.equal(values(await t.collect(next, spark.fetch, APP))['spark_stages_completed_total{complete}'], 0);
        assert.deepEqual(t.lastFetchErrors.map((e) => [e.stageId, e.error.message, e.givenUp]), [[41, 'timeout of 5000ms exceeded', false]]);
      }
      const v = values(await t.collect(next, spark.fetch, APP));
      close(v, { ...ZERO, ...STAGE_41, 'spark_stages_completed_total{complete}': 1 });
      assert.deepEqual(t.lastFetchErrors, []);
      for (let i = 0; i < 3; i++) assert.deepEqual(values(await t.collect(next, spark.fetch, APP)), v);
      assert.deepEqual(spark.take(), [41, 41, 41]);
    });

    it('gives a stage up after 3 failed reads (a malformed answer is one), counted, and never reads it again', async () => {
      const spark = new FakeStages();
      const bad = complete41();
      bad[0]!.executorRunTime = '183456';
      spark.answers.set(41, bad);
      const t = new StageTotals({ startedAtMs: START });
      await t.collect(atStart(), spark.fetch, APP);
      const next = [listed(43), listed(42), listed(38)];
      for (let i = 0; i < 3; i++) await t.collect(next, spark.fetch, APP);
      assert.ok(t.lastFetchErrors[0]!.error instanceof MalformedPayloadError);
      assert.equal(t.lastFetchErrors[0]!.givenUp, true);
      const v = values(await t.collect(next, spark.fetch, APP));
      assert.deepEqual(v, { ...ZERO, dbx_agent_spark_stage_fetches_given_up_total: 1 });
      spark.answers.set(41, complete41());
      for (let i = 0; i < 3; i++) await t.collect(next, spark.fetch, APP);
      assert.deepEqual(spark.take(), [41, 41, 41]);
    });

    it('follows a stage /stages/<id> says is still running (the list was older), and counts it once it ends', async () => {
      const spark = new FakeStages();
      const t = new StageTotals({ startedAtMs: START });
      await t.collect([], spark.fetch, APP, []);
      spark.answers.set(0, [stage(0, 'ACTIVE')]);
      await t.collect([], spark.fetch, APP, [0]); // the job list already shows stage 0
      assert.deepEqual(spark.take(), [0]);
      spark.answers.set(0, [stage(0, 'COMPLETE')]);
      await t.collect([stage(0, 'ACTIVE')], spark.fetch, APP, [0]);
      assert.deepEqual(spark.take(), []);
      const v = values(await t.collect([], spark.fetch, APP, [0]));
      assert.deepEqual(spark.take(), [0]);
      assert.equal(v['spark_stages_completed_total{complete}'], 1);
    });

    it('does not count a finished stage twice when a later job reuses it (seen pending again)', async () => {
      const spark = new FakeStages();
      spark.answers.set(41, complete41());
      const t = new StageTotals({ startedAtMs: START });
      await t.collect(atStart(), spark.fetch, APP);
      await t.collect([listed(38)], spark.fetch, APP);
      spark.take();
      // A new job lists 41 again, pending (its output is reused), then ends.
      await t.collect([{ ...complete41()[0]!, status: 'PENDING' }, listed(38)], spark.fetch, APP);
      const v = values(await t.collect([listed(38)], spark.fetch, APP)); // /stages/41 still says COMPLETE
      assert.deepEqual(spark.take(), [41]);
      assert.equal(v['spark_stages_completed_total{complete}'], 1);
    });

    it('a list that comes back empty once counts nothing again', async () => {
      const spark = new FakeStages();
      const failedAfter = stage(40, 'FAILED', { completionTime: '2026-11-24T14:20:30.000GMT', memoryBytesSpilled: 7 });
      spark.answers.set(41, [stage(41, 'ACTIVE')]);
      const t = new StageTotals({ startedAtMs: START });
      await t.collect(atStart(), spark.fetch, APP);
      const full = [...atStart(), failedAfter];
      const v = values(await t.collect(full, spark.fetch, APP));
      assert.equal(v['spark_stages_completed_total{failed}'], 1);
      await t.collect([], spark.fetch, APP); // a proxy's hiccup
      assert.deepEqual(values(await t.collect(full, spark.fetch, APP)), v);
      assert.deepEqual(values(await t.collect(full, spark.fetch, APP)), v);
    });

    it('refuses malformed lists, naming the field, and changes nothing', async () => {
      const spark = new FakeStages();
      spark.answers.set(41, complete41());
      const t = new StageTotals({ startedAtMs: START });
      await t.collect(atStart(), spark.fetch, APP);
      const cases: [unknown, RegExp][] = [
        [{ message: 'no' }, /stages is .*not a JSON array/],
        [null, /stages is null/],
        [[listed(43), 'x'], /stages entry 1 is "x", not an object/],
        [[{ ...listed(43), stageId: '43' }], /stages entry 0 stageId is "43"/],
        [[{ ...listed(43), stageId: -1 }], /stageId is -1/],
        [[{ ...listed(43), attemptId: undefined }], /stage 43\.\? attemptId/],
        [[{ ...listed(43), status: 5 }], /stage 43\.0 status is 5/],
        [[{ ...listed(38), completionTime: 'yesterday' }], /stage 38\.0 completionTime is "yesterday"/],
        [[{ ...listed(38), memoryBytesSpilled: '0' }], /stage 38\.0 memoryBytesSpilled is "0", not a number/],
        [[{ ...listed(38), executorCpuTime: true }], /stage 38\.0 executorCpuTime is true/],
      ];
      for (const [json, message] of cases)
        await assert.rejects(t.collect(json, spark.fetch, APP), (e: unknown) => e instanceof MalformedPayloadError && message.test(e.message));
      assert.deepEqual(spark.take(), [], 'a refused list reads nothing');
      // The state is that of the first read: 41, 42, 43 are still followed.
      const v = values(await t.collect([listed(38)], spark.fetch, APP));
      assert.deepEqual(spark.take(), [41, 42, 43]);
      assert.equal(v['spark_stages_completed_total{complete}'], 1);
    });

    it('leaves out a negative value (and names it), counts the rest of the stage', async () => {
      const spark = new FakeStages();
      const t = new StageTotals({ startedAtMs: START });
      await t.collect([], spark.fetch, APP);
      const v = values(await t.collect([stage(50, 'FAILED', { memoryBytesSpilled: -5, diskBytesSpilled: 9 })], spark.fetch, APP));
      assert.equal(v.spark_stage_memory_spilled_bytes_total, 0);
      assert.equal(v.spark_stage_disk_spilled_bytes_total, 9);
      assert.equal(v['spark_stages_completed_total{failed}'], 1);
      assert.deepEqual(t.lastLeftOut, ['stage 50.0 memoryBytesSpilled']);
    });

    it('keeps its memory bounded: stages followed in flight at most maxTracked', async () => {
      const spark = new FakeStages();
      const t = new StageTotals({ startedAtMs: START, maxTracked: 50 });
      await t.collect([], spark.fetch, APP, []);
      await t.collect(Array.from({ length: 200 }, (_, i) => stage(i, 'ACTIVE')), spark.fetch, APP);
      assert.equal(t.remembered.inFlight, 50);
      assert.equal(t.remembered.toFetch, 0);
    });

    it('keeps its memory bounded: unseen stages to read at most maxTracked, the rest given up (counted)', async () => {
      const spark = new FakeStages();
      for (let i = 0; i < 1000; i++) spark.answers.set(i, [stage(i, 'COMPLETE', { diskBytesSpilled: 1 })]);
      const t = new StageTotals({ startedAtMs: START, maxTracked: 50, maxFetchesPerCycle: 10 });
      await t.collect([], spark.fetch, APP, []);
      // 0..998 ran and ended between two reads; 999 runs.
      let v = values(await t.collect([stage(999, 'ACTIVE')], spark.fetch, APP));
      assert.equal(v.dbx_agent_spark_stage_fetches_given_up_total, 949);
      assert.deepEqual(t.remembered, { inFlight: 1, toFetch: 40, failedListed: 0, counted: 10 });
      for (let i = 0; i < 10; i++) v = values(await t.collect([stage(999, 'ACTIVE')], spark.fetch, APP));
      assert.equal(v['spark_stages_completed_total{complete}'], 50);
      assert.equal(v.spark_stage_disk_spilled_bytes_total, 50);
      assert.deepEqual(spark.take(), Array.from({ length: 50 }, (_, i) => 949 + i), 'the newest ones, each once');
    });

    it('keeps its memory bounded: attempts counted and failed ones listed at most maxTracked, none counted twice', async () => {
      const spark = new FakeStages();
      const t = new StageTotals({ startedAtMs: START, maxTracked: 50, maxFetchesPerCycle: 100 });
      await t.collect([], spark.fetch, APP, []);
      for (let wave = 0; wave < 4; wave++) {
        const ids = Array.from({ length: 40 }, (_, i) => wave * 40 + i);
        for (const id of ids) spark.answers.set(id, [stage(id, 'COMPLETE')]);
        await t.collect(ids.map((id) => stage(id, 'ACTIVE')), spark.fetch, APP);
      }
      let v = values(await t.collect([], spark.fetch, APP));
      assert.equal(v['spark_stages_completed_total{complete}'], 160);
      assert.equal(t.remembered.counted, 50);
      const spilledBefore = v.spark_stage_memory_spilled_bytes_total;
      // 300 failed attempts listed, each failed after the start.
      const failed = Array.from({ length: 300 }, (_, i) => stage(1000 + i, 'FAILED', { completionTime: gmt(START + 60_000 + i * 1000), memoryBytesSpilled: 1 }));
      for (let i = 0; i < 10; i++) v = values(await t.collect(failed, spark.fetch, APP));
      assert.equal(v['spark_stages_completed_total{failed}'], 300, 'failed attempts past the cap are not counted again');
      assert.equal(v.spark_stage_memory_spilled_bytes_total - spilledBefore, 300);
      assert.equal(t.remembered.failedListed, 50);
    });
  });
});
