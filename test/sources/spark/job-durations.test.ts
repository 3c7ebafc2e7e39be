import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Sample } from '../../../agent/core/sample';
import { JOB_DURATION_BUCKETS, JobDurations, parseJobList } from '../../../agent/sources/spark/job-durations';
import { MalformedPayloadError } from '../../../agent/sources/spark/parse';
import { sharedFixture } from '../../helpers/fake-spark';

const FIXTURES = path.resolve(__dirname, '../../fixtures/spark');
const fixture = (name: string): Record<string, unknown>[] => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as Record<string, unknown>[];
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The agent started at 14:20:00 GMT: job 27 was running, 25 and 26 had ended. */
const START = Date.UTC(2026, 10, 24, 14, 20, 0);
const APP = { spark_app_id: 'app-20261124135501-0000' };
const RUN = { job_id: '892813468364452', run_id: '1015563' };
const atStart = (): Record<string, unknown>[] => fixture('jobs/jobs-at-start.json');
const later = (): Record<string, unknown>[] => fixture('jobs/jobs-later.json');
const gmt = (ms: number): string => new Date(ms).toISOString().replace('Z', 'GMT');

/** A finished job in Spark's shape (the fixtures' job 28), changed as given. */
function job(jobId: number, status: string, submittedMs: number, seconds: number, more: Record<string, unknown> = {}): Record<string, unknown> {
  const j = clone(later().find((x) => x.jobId === 28)!);
  return { ...j, jobId, status, submissionTime: gmt(submittedMs), completionTime: gmt(submittedMs + seconds * 1000), ...more };
}

interface Histogram {
  buckets: Record<string, number>;
  sum: number;
  count: number;
}

/** The histogram of one label set (its labels exactly), checking its series are all there. */
function histogramOf(samples: readonly Sample[], labels: Record<string, string>): Histogram {
  const same = (s: Sample): boolean => {
    const { le: _le, ...rest } = s.labels;
    return JSON.stringify(Object.entries(rest).sort()) === JSON.stringify(Object.entries(labels).sort());
  };
  const mine = samples.filter((s) => s.name.startsWith('spark_job_duration_seconds_') && same(s));
  assert.ok(mine.every((s) => s.type === 'histogram'));
  const bucketSeries = mine.filter((s) => s.name === 'spark_job_duration_seconds_bucket');
  assert.deepEqual(bucketSeries.map((s) => s.labels.le), [...JOB_DURATION_BUCKETS.map(String), '+Inf'], JSON.stringify(labels));
  const buckets = Object.fromEntries(bucketSeries.map((s) => [s.labels.le!, s.value]));
  const one = (name: string): number => {
    const found = mine.filter((s) => s.name === name);
    assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}`);
    return found[0]!.value;
  };
  return { buckets, sum: one('spark_job_duration_seconds_sum'), count: one('spark_job_duration_seconds_count') };
}

/** The label sets of the histogram (without le). */
function labelSets(samples: readonly Sample[]): string[] {
  return [...new Set(samples.filter((s) => s.name === 'spark_job_duration_seconds_count').map((s) => JSON.stringify(s.labels)))].sort();
}

const zero = (): Histogram => ({ buckets: Object.fromEntries([...JOB_DURATION_BUCKETS.map(String), '+Inf'].map((le) => [le, 0])), sum: 0, count: 0 });

describe('spark/job-durations', () => {
  it('reads the fixtures: ids, statuses, dates of finished jobs, Databricks runs', () => {
    const jobs = parseJobList(later());
    assert.deepEqual(
      jobs.map((j) => [j.jobId, j.status, j.submissionMs, j.completionMs, j.run?.runId]),
      [
        [29, 'running', undefined, undefined, undefined],
        [28, 'failed', Date.UTC(2026, 10, 24, 14, 22, 3, 701), Date.UTC(2026, 10, 24, 14, 22, 4, 3), undefined],
        [27, 'succeeded', Date.UTC(2026, 10, 24, 14, 18, 40, 498), Date.UTC(2026, 10, 24, 14, 22, 3, 671), '1015563'],
        [26, 'failed', Date.UTC(2026, 10, 24, 14, 2, 10, 991), Date.UTC(2026, 10, 24, 14, 2, 57, 874), undefined],
        [25, 'succeeded', Date.UTC(2026, 10, 24, 14, 1, 2, 101), Date.UTC(2026, 10, 24, 14, 1, 4, 612), undefined],
      ],
    );
  });

  it('starts both statuses at 0 (and a running Databricks run\'s), and does not count the jobs that ended before the start', () => {
    const d = new JobDurations({ startedAtMs: START });
    const s = d.observe(atStart(), APP);
    assert.deepEqual(labelSets(s), [
      JSON.stringify({ ...APP, status: 'failed' }),
      JSON.stringify({ ...APP, status: 'failed', ...RUN }),
      JSON.stringify({ ...APP, status: 'succeeded' }),
      JSON.stringify({ ...APP, status: 'succeeded', ...RUN }),
    ].sort());
    for (const status of ['succeeded', 'failed']) {
      assert.deepEqual(histogramOf(s, { ...APP, status }), zero());
      assert.deepEqual(histogramOf(s, { ...APP, status, ...RUN }), zero());
    }
  });

  it('counts a job running at start once when it ends, with its run; a quick failure without one', () => {
    const d = new JobDurations({ startedAtMs: START });
    d.observe(atStart(), APP);
    for (let i = 0; i < 3; i++) {
      const s = d.observe(later(), APP);
      // Job 27: 14:18:40.498 → 14:22:03.671, 203.173 s.
      const run = histogramOf(s, { ...APP, status: 'succeeded', ...RUN });
      assert.equal(run.count, 1);
      assert.ok(Math.abs(run.sum - 203.173) < 1e-9);
      assert.equal(run.buckets['60'], 0);
      assert.equal(run.buckets['300'], 1);
      assert.equal(run.buckets['+Inf'], 1);
      // Job 28: 0.302 s, no Databricks run.
      const failed = histogramOf(s, { ...APP, status: 'failed' });
      assert.equal(failed.count, 1);
      assert.ok(Math.abs(failed.sum - 0.302) < 1e-9);
      assert.equal(failed.buckets['0.1'], 0);
      assert.equal(failed.buckets['0.5'], 1);
      assert.deepEqual(histogramOf(s, { ...APP, status: 'succeeded' }), zero());
      assert.deepEqual(histogramOf(s, { ...APP, status: 'failed', ...RUN }), zero());
    }
  });

  it('a restarted agent does not count the retained past; a job that ends as it starts counts', () => {
    const d = new JobDurations({ startedAtMs: Date.UTC(2026, 10, 24, 14, 30) });
    for (let i = 0; i < 3; i++) for (const status of ['succeeded', 'failed']) assert.equal(histogramOf(d.observe(later(), APP), { ...APP, status }).count, 0);
    const edge = new JobDurations({ startedAtMs: Date.UTC(2026, 10, 24, 14, 22, 4, 3) }); // job 28's completion
    assert.equal(histogramOf(edge.observe(later(), APP), { ...APP, status: 'failed' }).count, 1);
    // Job 27 ended 332 ms before: not counted, and its run (no job running) gets no series.
    assert.ok(!labelSets(edge.observe(later(), APP)).some((l) => l.includes(RUN.run_id)));
  });

  it('counts a job that started and ended between two reads', () => {
    const d = new JobDurations({ startedAtMs: START });
    d.observe([], APP);
    const s = d.observe([job(0, 'SUCCEEDED', START + 1000, 12.5)], APP);
    assert.equal(histogramOf(s, { ...APP, status: 'succeeded' }).sum, 12.5);
  });

  it('reads the run from jobTags (newer runtimes) when the job group has none', () => {
    const d = new JobDurations({ startedAtMs: START });
    const tagged = job(30, 'SUCCEEDED', START, 7200.5, { jobGroup: undefined, jobTags: ['spark-job-tag', 'job-55-run-66-action-77'] });
    const h = histogramOf(d.observe([tagged], APP), { ...APP, status: 'succeeded', job_id: '55', run_id: '66' });
    assert.equal(h.count, 1);
    assert.equal(h.buckets['7200'], 0);
    assert.equal(h.buckets['+Inf'], 1);
  });

  it('Spark\'s own expectation (no job dates, old event logs): counts nothing, refuses nothing', () => {
    const d = new JobDurations({ startedAtMs: 0 });
    const s = d.observe(JSON.parse(sharedFixture('job_list_json_expectation.json')), APP);
    for (const status of ['succeeded', 'failed']) assert.equal(histogramOf(s, { ...APP, status }).count, 0);
  });

  it('observes nowhere a job without a submission time, or one that ended before it began (a clock step)', () => {
    const d = new JobDurations({ startedAtMs: START });
    const noStart = { ...job(1, 'SUCCEEDED', START, 1) };
    delete noStart.submissionTime;
    const s = d.observe([noStart, job(2, 'FAILED', START + 5000, -3)], APP);
    for (const status of ['succeeded', 'failed']) assert.equal(histogramOf(s, { ...APP, status }).count, 0);
    assert.equal(d.remembered.jobs, 2, 'counted as seen');
  });

  it('refuses malformed payloads, naming the field, and changes nothing', () => {
    const d = new JobDurations({ startedAtMs: START });
    d.observe(atStart(), APP);
    const cases: [unknown, RegExp][] = [
      [{ jobs: [] }, /jobs is .*not a JSON array/],
      [[later()[0], 7], /jobs entry 1 is 7, not an object/],
      [[{ ...later()[1], jobId: '28' }], /jobs entry 0 jobId is "28"/],
      [[{ ...later()[1], jobId: 1.5 }], /jobId is 1\.5/],
      [[{ ...later()[1], status: undefined }], /job 28 status is undefined, not a string/],
      [[{ ...later()[1], completionTime: '2026-11-24 14:22:04' }], /job 28 completionTime is "2026-11-24 14:22:04"/],
      [[{ ...later()[1], submissionTime: 1732457523701 }], /job 28 submissionTime is 1732457523701/],
    ];
    for (const [json, message] of cases) assert.throws(() => d.observe(json, APP), (e: unknown) => e instanceof MalformedPayloadError && message.test(e.message));
    assert.equal(histogramOf(d.observe(later(), APP), { ...APP, status: 'failed' }).count, 1);
  });

  it('a list that comes back short once counts nothing again', () => {
    const d = new JobDurations({ startedAtMs: START });
    d.observe(atStart(), APP);
    d.observe(later(), APP);
    d.observe([], APP);
    const s = d.observe(later(), APP);
    assert.equal(histogramOf(s, { ...APP, status: 'failed' }).count, 1);
    assert.equal(histogramOf(s, { ...APP, status: 'succeeded', ...RUN }).count, 1);
  });

  it('keeps its memory bounded: ids Spark still lists (as it drops the oldest), at most maxRemembered, none counted twice', () => {
    const retained = 1000; // spark.ui.retainedJobs
    const d = new JobDurations({ startedAtMs: START });
    const all: Record<string, unknown>[] = [];
    for (let cycle = 0; cycle < 50; cycle++) {
      for (let i = 0; i < 100; i++) all.push(job(all.length, 'SUCCEEDED', START + all.length * 100, 1));
      d.observe(all.slice(-retained), APP);
      assert.ok(d.remembered.jobs <= retained);
    }
    assert.equal(histogramOf(d.observe(all.slice(-retained), APP), { ...APP, status: 'succeeded' }).count, 5000);

    const capped = new JobDurations({ startedAtMs: START, maxRemembered: 10 });
    const fifty = Array.from({ length: 50 }, (_, i) => job(i, 'FAILED', START + i * 1000, 2));
    for (let i = 0; i < 5; i++) assert.equal(histogramOf(capped.observe(fifty, APP), { ...APP, status: 'failed' }).count, 50);
    assert.equal(capped.remembered.jobs, 10);
  });

  it('keeps the label sets of the most recent Databricks runs only (maxRuns)', () => {
    const d = new JobDurations({ startedAtMs: START, maxRuns: 4 });
    const runs = Array.from({ length: 40 }, (_, i) => job(i, 'SUCCEEDED', START + i * 1000, 3, { jobGroup: `1_2_job-7-run-${100 + i}-action-1` }));
    let s: Sample[] = [];
    for (let i = 0; i < 40; i++) s = d.observe(runs.slice(0, i + 1), APP);
    assert.equal(d.remembered.runs, 4);
    // The plain two and the newest four runs' two each.
    assert.equal(labelSets(s).length, 2 + 4 * 2);
    assert.equal(histogramOf(s, { ...APP, status: 'succeeded', job_id: '7', run_id: '139' }).count, 1);
    assert.ok(!labelSets(s).some((l) => l.includes('"run_id":"100"')));
  });

  it('observes without run labels the jobs of runs past maxRuns all active at once (none lost, no churn)', () => {
    const d = new JobDurations({ startedAtMs: START, maxRuns: 4 });
    const group = (i: number): string => `1_2_job-7-run-${100 + i}-action-1`;
    const running = Array.from({ length: 6 }, (_, i) => job(i, 'RUNNING', START, 0, { jobGroup: group(i), completionTime: undefined }));
    d.observe(running, APP);
    const done = running.map((_, i) => job(i, 'SUCCEEDED', START, 2, { jobGroup: group(i) }));
    const s = d.observe(done, APP);
    assert.equal(d.remembered.runs, 4);
    const inRuns = [100, 101, 102, 103].map((r) => histogramOf(s, { ...APP, status: 'succeeded', job_id: '7', run_id: String(r) }).count);
    assert.deepEqual(inRuns, [1, 1, 1, 1]);
    assert.equal(histogramOf(s, { ...APP, status: 'succeeded' }).count, 2);
  });
});
