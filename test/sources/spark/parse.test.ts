import assert from 'node:assert/strict';
import type { Sample } from '../../../agent/core/sample';
import {
  MalformedPayloadError,
  capExecutorSeries,
  parseApplications,
  parseExecutors,
  parseJobs,
  parseStages,
  runningApplications,
} from '../../../agent/sources/spark/parse';
import { DATABRICKS_APP_ID, databricksFixture, sharedFixture } from '../../helpers/fake-spark';

const shared = (name: string): unknown => JSON.parse(sharedFixture(name));
const own = (name: string): unknown => JSON.parse(databricksFixture(name));

/** The one value of `name` whose labels include `labels`; fails when there is not exactly one. */
function value(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.equal(found.length, 1, `${name}${JSON.stringify(labels)}: ${found.length} series`);
  return found[0]!.value;
}

describe('spark/parse', () => {
  describe('parseApplications (shared running_app_list_json_expectation.json)', () => {
    it('finds the one running application', () => {
      const json = shared('running_app_list_json_expectation.json');
      assert.deepEqual(parseApplications(json), [{ id: 'application_1547723113049_0006', running: true }]);
      assert.deepEqual(runningApplications(json), ['application_1547723113049_0006']);
    });

    it('keeps only the running ones of several (Databricks Shell and a second app; a completed one left out)', () => {
      assert.deepEqual(runningApplications(own('applications-two.json')), [DATABRICKS_APP_ID, 'app-20261124141210-0001']);
      assert.deepEqual(runningApplications(own('applications.json')), [DATABRICKS_APP_ID]);
    });

    it('refuses what is not a list', () => {
      assert.throws(() => parseApplications({ message: 'nope' }), /expected a JSON array/);
      assert.throws(() => parseApplications(null), /got null/);
    });
  });

  describe('parseExecutors (shared executor_memory_usage_expectation.json)', () => {
    const samples = parseExecutors(shared('executor_memory_usage_expectation.json'), 'app-x');

    it('counts executors without the driver, sums cores and tasks', () => {
      assert.equal(value(samples, 'spark_executors', { state: 'active' }), 4);
      assert.equal(value(samples, 'spark_executors', { state: 'dead' }), 0);
      assert.equal(value(samples, 'spark_executor_cores'), 16);
      assert.equal(value(samples, 'spark_active_tasks'), 0);
      // failedTasks 0 + 0 + 4 + 0 + 4 and completedTasks 0 + 12 + 0 + 4 + 0 in the file.
      assert.equal(value(samples, 'spark_failed_tasks_total'), 8);
      assert.equal(value(samples, 'spark_completed_tasks_total'), 16);
    });

    it('gives per-executor series in base units, with executor_id and spark_app_id', () => {
      const e3 = { executor_id: '3', spark_app_id: 'app-x' };
      assert.equal(value(samples, 'spark_executor_completed_tasks_total', e3), 12);
      assert.equal(value(samples, 'spark_executor_gc_seconds_total', e3), 0.072);
      assert.equal(value(samples, 'spark_executor_duration_seconds_total', e3), 2.453);
      assert.equal(value(samples, 'spark_executor_max_memory_bytes', e3), 908381388);
      assert.equal(value(samples, 'spark_executor_failed_tasks_total', { executor_id: '2' }), 4);
      assert.equal(value(samples, 'spark_executor_gc_seconds_total', { executor_id: '0' }), 0.116);
      assert.equal(value(samples, 'spark_executor_storage_memory_total_bytes', { executor_id: '1', area: 'on_heap' }), 384093388);
      assert.equal(value(samples, 'spark_executor_storage_memory_total_bytes', { executor_id: '1', area: 'off_heap' }), 524288000);
      assert.equal(value(samples, 'spark_executor_storage_memory_used_bytes', { executor_id: 'driver', area: 'on_heap' }), 0);
      // No peakMemoryMetrics in this file: no peak series rather than a made-up 0.
      assert.ok(!samples.some((s) => s.name === 'spark_executor_jvm_heap_peak_bytes'));
      for (const s of samples) assert.equal(s.labels.spark_app_id, 'app-x');
    });

    it('reads the driver entry as the driver', () => {
      assert.equal(value(samples, 'spark_driver_storage_memory_max_bytes'), 908381388);
      assert.equal(value(samples, 'spark_driver_storage_memory_used_bytes'), 0);
    });

    it('puts the driver first, then executors by number (the order the cap keeps)', () => {
      const ids = [...new Set(samples.map((s) => s.labels.executor_id).filter((x) => x !== undefined))];
      assert.deepEqual(ids, ['driver', '0', '1', '2', '3']);
    });
  });

  describe('parseExecutors (Databricks allexecutors.json)', () => {
    const samples = parseExecutors(own('allexecutors.json'), DATABRICKS_APP_ID);

    it('counts the dead executor apart and gives it no per-executor series', () => {
      assert.equal(value(samples, 'spark_executors', { state: 'active' }), 3);
      assert.equal(value(samples, 'spark_executors', { state: 'dead' }), 1);
      assert.ok(!samples.some((s) => s.labels.executor_id === '3'));
      // Its tasks still count in the application totals: 1 + 2 failed, 1200 + 1100 + 900 + 50 completed.
      assert.equal(value(samples, 'spark_failed_tasks_total'), 3);
      assert.equal(value(samples, 'spark_completed_tasks_total'), 3250);
    });

    it('sums running tasks and cores of the active ones', () => {
      assert.equal(value(samples, 'spark_active_tasks'), 7);
      assert.equal(value(samples, 'spark_executor_cores'), 24);
      assert.equal(value(samples, 'spark_executor_active_tasks', { executor_id: '0' }), 4);
      assert.equal(value(samples, 'spark_executor_max_tasks', { executor_id: '0' }), 8);
    });

    it('reads shuffle, input, GC and peak JVM memory', () => {
      const e0 = { executor_id: '0' };
      assert.equal(value(samples, 'spark_executor_gc_seconds_total', e0), 12.345);
      assert.equal(value(samples, 'spark_executor_shuffle_read_bytes_total', e0), 1073741824);
      assert.equal(value(samples, 'spark_executor_shuffle_write_bytes_total', e0), 2147483648);
      assert.equal(value(samples, 'spark_executor_input_bytes_total', e0), 7516192768);
      assert.equal(value(samples, 'spark_executor_memory_used_bytes', e0), 536870912);
      assert.equal(value(samples, 'spark_executor_disk_used_bytes', e0), 4096);
      assert.equal(value(samples, 'spark_executor_jvm_heap_peak_bytes', e0), 6442450944);
      assert.equal(value(samples, 'spark_executor_jvm_off_heap_peak_bytes', { executor_id: '1' }), 390070272);
      assert.equal(value(samples, 'spark_driver_jvm_heap_peak_bytes'), 1503238553);
      assert.equal(value(samples, 'spark_driver_jvm_off_heap_peak_bytes'), 301989888);
      assert.equal(value(samples, 'spark_driver_storage_memory_max_bytes'), 2147483648);
    });

    it('an application with no executors yet (driver only): zeros, not an error', () => {
      const driverOnly = (own('allexecutors.json') as { id: string }[]).filter((e) => e.id === 'driver');
      const s = parseExecutors(driverOnly, DATABRICKS_APP_ID);
      assert.equal(value(s, 'spark_executors', { state: 'active' }), 0);
      assert.equal(value(s, 'spark_active_tasks'), 0);
      assert.deepEqual(parseExecutors([], 'a').map((x) => [x.name, x.value]), [
        ['spark_executors', 0], ['spark_executors', 0], ['spark_executor_cores', 0],
        ['spark_active_tasks', 0], ['spark_failed_tasks_total', 0], ['spark_completed_tasks_total', 0],
        ['dbx_agent_spark_values_left_out', 0],
      ]);
    });

    it('refuses a non-list and skips entries without an id', () => {
      assert.throws(() => parseExecutors({}, 'a'), /executors: expected a JSON array/);
      const s = parseExecutors([{ memoryUsed: 1 }, null, 3], 'a');
      assert.equal(value(s, 'spark_executors', { state: 'active' }), 0);
    });
  });

  describe('a field of the wrong type or a negative count', () => {
    const executors = (): Record<string, unknown>[] => JSON.parse(databricksFixture('allexecutors.json')) as Record<string, unknown>[];
    const withField = (id: string, field: string, v: unknown): Record<string, unknown>[] =>
      executors().map((e) => (e.id === id ? { ...e, [field]: v } : e));

    for (const [what, v] of [['a number sent as a string', '5'], ['"NaN"', 'NaN'], ['a boolean', true], ['an object', {}]] as const)
      it(`${what} fails the executors endpoint, naming the field, instead of reading as 0`, () => {
        assert.throws(() => parseExecutors(withField('0', 'activeTasks', v), 'a'), (e: Error) => {
          assert.ok(e instanceof MalformedPayloadError);
          assert.match(e.message, /executor 0 activeTasks is .* not a number/);
          return true;
        });
      });

    it("a negative count (Spark's task counters go below zero when its listener drops events) is left out and counted", () => {
      const s = parseExecutors(withField('0', 'activeTasks', -1), 'a');
      assert.ok(!s.some((x) => x.name === 'spark_executor_active_tasks' && x.labels.executor_id === '0'));
      // The other executors still count: 7 running in the fixture, 4 of them on executor 0.
      assert.equal(value(s, 'spark_active_tasks'), 3);
      assert.equal(value(s, 'dbx_agent_spark_values_left_out', { endpoint: 'executors' }), 1);
      const jobs = JSON.parse(databricksFixture('jobs.json')) as Record<string, unknown>[];
      const running = jobs.findIndex((j) => j.status === 'RUNNING');
      jobs[running] = { ...jobs[running], numActiveTasks: -2 };
      const j = parseJobs(jobs, 'a');
      assert.equal(value(j, 'spark_jobs', { status: 'running' }), 4);
      assert.equal(value(j, 'dbx_agent_spark_values_left_out', { endpoint: 'jobs' }), 1);
    });

    it('an executor id that is not a string, or an isActive that is not a boolean, fails the endpoint', () => {
      assert.throws(() => parseExecutors(withField('1', 'id', 7), 'a'), /executor entry \d+ id is 7, not a string/);
      assert.throws(() => parseExecutors(withField('1', 'isActive', 'false'), 'a'), /executor 1 isActive is "false", not true or false/);
    });

    it('nested memory fields and job task counts are held to the same rule', () => {
      const bad = executors().map((e) => (e.id === '1' ? { ...e, memoryMetrics: { usedOnHeapStorageMemory: 'lots' } } : e));
      assert.throws(() => parseExecutors(bad, 'a'), /executor 1 usedOnHeapStorageMemory/);
      const jobs = JSON.parse(databricksFixture('jobs.json')) as Record<string, unknown>[];
      const running = jobs.findIndex((j) => j.status === 'RUNNING');
      jobs[running] = { ...jobs[running], numActiveTasks: '12' };
      assert.throws(() => parseJobs(jobs, 'a'), /job \d+ numActiveTasks is "12"/);
    });

    it('a field sent as null, or not at all, is left out, not an error', () => {
      const s = parseExecutors(withField('0', 'diskUsed', null), 'a');
      assert.ok(!s.some((x) => x.name === 'spark_executor_disk_used_bytes' && x.labels.executor_id === '0'));
      assert.equal(value(s, 'spark_executor_memory_used_bytes', { executor_id: '0' }), 536870912);
    });
  });

  describe('parseJobs', () => {
    it('counts the shared job_list_json_expectation.json by status', () => {
      const s = parseJobs(shared('job_list_json_expectation.json'), 'app-x');
      assert.equal(value(s, 'spark_jobs', { status: 'succeeded' }), 2);
      assert.equal(value(s, 'spark_jobs', { status: 'failed' }), 1);
      assert.equal(value(s, 'spark_jobs', { status: 'running' }), 0);
      assert.equal(value(s, 'spark_jobs', { status: 'unknown' }), 0);
      assert.equal(value(s, 'spark_job_active_tasks'), 0);
      assert.ok(!s.some((x) => x.labels.job_id !== undefined));
    });

    it('labels running Databricks job runs by job_id/run_id, one label set per run', () => {
      const s = parseJobs(own('jobs.json'), DATABRICKS_APP_ID);
      assert.equal(value(s, 'spark_jobs', { status: 'running' }), 4);
      assert.equal(value(s, 'spark_jobs', { status: 'succeeded' }), 2);
      assert.equal(value(s, 'spark_jobs', { status: 'failed' }), 1);
      assert.equal(value(s, 'spark_job_active_tasks'), 7);
      const run = { job_id: '892813468364452', run_id: '1015563', spark_app_id: DATABRICKS_APP_ID };
      // Spark jobs 12 and 11 (actions ...985 and ...986) belong to the same run; 8 succeeded already.
      assert.equal(value(s, 'spark_databricks_job_running_spark_jobs', run), 2);
      assert.equal(value(s, 'spark_databricks_job_active_tasks', run), 7);
      assert.equal(value(s, 'spark_databricks_job_failed_tasks', run), 1);
      assert.equal(value(s, 'spark_databricks_job_active_tasks', { job_id: '55', run_id: '66' }), 0);
      const runs = new Set(s.filter((x) => x.labels.job_id).map((x) => `${x.labels.job_id}/${x.labels.run_id}`));
      assert.deepEqual([...runs].sort(), ['55/66', '892813468364452/1015563']);
      // Never a Spark job id or a stage id as a label.
      for (const x of s) assert.deepEqual(Object.keys(x.labels).filter((k) => !['spark_app_id', 'status', 'job_id', 'run_id', 'endpoint'].includes(k)), []);
    });
  });

  describe('parseStages', () => {
    it('counts active, pending and failed stages only, even when the filter was ignored', () => {
      const s = parseStages(own('stages.json'), DATABRICKS_APP_ID);
      assert.equal(value(s, 'spark_stages', { status: 'active' }), 2);
      assert.equal(value(s, 'spark_stages', { status: 'pending' }), 3);
      assert.equal(value(s, 'spark_stages', { status: 'failed' }), 1);
      assert.equal(s.length, 3);
    });

    it('reports zeros for an empty list', () => {
      assert.deepEqual(parseStages([], 'a').map((x) => [x.labels.status, x.value]), [['active', 0], ['pending', 0], ['failed', 0]]);
    });
  });

  describe('capExecutorSeries', () => {
    const samples = parseExecutors(own('allexecutors.json'), DATABRICKS_APP_ID);
    const perExecutor = (id: string) => samples.filter((s) => s.labels.executor_id === id).length;

    it('keeps everything under the cap', () => {
      const { kept, dropped } = capExecutorSeries(samples, 2000);
      assert.equal(dropped, 0);
      assert.equal(kept.length, samples.length);
    });

    it('keeps whole executors, driver first, and counts what it cut', () => {
      const max = perExecutor('driver') + perExecutor('0') + 1; // not room enough for executor 1
      const { kept, dropped } = capExecutorSeries(samples, max);
      const ids = new Set(kept.map((s) => s.labels.executor_id).filter(Boolean));
      assert.deepEqual([...ids], ['driver', '0']);
      assert.equal(dropped, perExecutor('1') + perExecutor('2'));
      // Application-level series are never cut.
      assert.equal(value(kept, 'spark_active_tasks'), 7);
    });
  });
});
