/**
 * Spark depth through the Spark source against the test Spark whose state changes during the
 * test: SQL queries, Spark jobs and stages counted once when they finish after the agent
 * started (never the retained past, and a restarted agent starts from zero), and Structured
 * Streaming from /metrics/json.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createSettings } from '../../../agent/core/options';
import type { Sample } from '../../../agent/core/sample';
import type { Source } from '../../../agent/core/source';
import { spark as sparkEntry } from '../../../agent/sources/spark/index';
import { createSparkSource } from '../../../agent/sources/spark/source';
import { DATABRICKS_APP_ID, databricksRoutes, sqlRoute, startFakeSpark, type FakeSpark } from '../../helpers/fake-spark';
import { tempDir } from '../../helpers/servers';
import { testComponentEnv } from '../../helpers/component-env';

const APP = `/api/v1/applications/${DATABRICKS_APP_ID}`;
/** Spark's JSON date format (JacksonMessageWriter): GMT, milliseconds, a literal "GMT". */
const sparkDate = (ms: number): string => new Date(ms).toISOString().replace('Z', 'GMT');

const value = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('sources/spark: queries, jobs, stages and streams', function () {
  this.timeout(20000);
  let spark: FakeSpark;
  let root: string;
  let sources: Source[] = [];
  const started = Date.now();
  type Execution = { id: number; status: string; submissionTime: string; duration: number; runningJobIds: number[]; successJobIds: number[]; failedJobIds: number[] };
  let executions: Execution[];

  const makeSource = (startedAtMs = started, timeoutMs?: number): Source => {
    const env = testComponentEnv();
    const defaults = sparkEntry.parse(createSettings({}, {}));
    const src = createSparkSource({ ...defaults, url: spark.url, timeoutMs: timeoutMs ?? defaults.timeoutMs }, env, { rootDir: root, probePorts: [], startedAtMs });
    sources.push(src);
    return src;
  };
  const exec = (id: number, status: string, submittedMs: number, durationMs: number): Execution => ({
    id, status, submissionTime: sparkDate(submittedMs), duration: durationMs, runningJobIds: [], successJobIds: [], failedJobIds: [],
  });

  beforeEach(async () => {
    root = tempDir();
    // Two queries finished an hour before the agent started, one running since 5 minutes before.
    executions = [exec(0, 'COMPLETED', started - 3_600_000, 2000), exec(1, 'FAILED', started - 3_500_000, 500), exec(2, 'RUNNING', started - 300_000, 300_000)];
    spark = await startFakeSpark(databricksRoutes());
    spark.route(`${APP}/sql`, sqlRoute(() => executions));
  });
  afterEach(async () => {
    for (const s of sources) await s.close?.();
    sources = [];
    await spark.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('a SQL query running at the start counts once when it finishes; the retained past never', async () => {
    // The agent started a minute ago.
    const src = makeSource(started - 60_000);
    let s = await src.collect(new Date());
    assert.equal(value(s, 'dbx_agent_spark_endpoint_up', { endpoint: 'sql' }), 1);
    assert.equal(value(s, 'spark_sql_query_duration_seconds_count', { status: 'completed' }), 0);
    assert.equal(value(s, 'spark_sql_query_duration_seconds_count', { status: 'failed' }), 0);
    assert.equal(value(s, 'spark_sql_queries_running'), 1);
    assert.ok(value(s, 'spark_sql_query_running_max_age_seconds')! >= 299);

    executions[2] = exec(2, 'COMPLETED', started - 300_000, 270_000);
    executions.push(exec(4, 'FAILED', started - 10_000, 1500));
    for (let i = 0; i < 3; i++) s = await src.collect(new Date());
    assert.equal(value(s, 'spark_sql_query_duration_seconds_count', { status: 'completed' }), 1, 'counted once, over several cycles');
    assert.equal(value(s, 'spark_sql_query_duration_seconds_sum', { status: 'completed' }), 270);
    assert.equal(value(s, 'spark_sql_query_duration_seconds_bucket', { status: 'completed', le: '120' }), 0);
    assert.equal(value(s, 'spark_sql_query_duration_seconds_bucket', { status: 'completed', le: '300' }), 1);
    assert.equal(value(s, 'spark_sql_query_duration_seconds_count', { status: 'failed' }), 1);
    assert.equal(value(s, 'spark_sql_queries_running'), 0);
    assert.equal(value(s, 'spark_sql_query_running_max_age_seconds'), 0);

    // A restarted agent: the retained past is not counted again.
    const again = await makeSource(Date.now()).collect(new Date());
    assert.equal(value(again, 'spark_sql_query_duration_seconds_count', { status: 'completed' }), 0);
    assert.equal(value(again, 'spark_sql_query_duration_seconds_count', { status: 'failed' }), 0);
  });

  it('reads the SQL list incrementally: a steady cycle asks for the new entries only', async () => {
    executions = Array.from({ length: 1000 }, (_, i) => exec(i, 'COMPLETED', started - 3_600_000 + i, 10));
    const src = makeSource();
    for (let i = 0; i < 4; i++) await src.collect(new Date());
    const before = spark.urls.length;
    executions.push(exec(1000, 'COMPLETED', Date.now(), 10));
    const s = await src.collect(new Date());
    const sqlReads = spark.urls.slice(before).filter((u) => u.startsWith(`${APP}/sql`));
    assert.ok(sqlReads.length <= 2, sqlReads.join('\n'));
    for (const u of sqlReads) assert.match(u, /details=false&planDescription=false&offset=\d+&length=\d+/);
    assert.equal(value(s, 'spark_sql_query_duration_seconds_count', { status: 'completed' }), 1);
  });

  it('a stage leaving the in-flight list is read once by id and its spill counted once', async () => {
    const stage = (status: string, extra: Record<string, unknown> = {}) => ({
      status, stageId: 7, attemptId: 0, numTasks: 10, numActiveTasks: status === 'ACTIVE' ? 2 : 0, numCompleteTasks: 8,
      submissionTime: sparkDate(Date.now() - 1000), executorRunTime: 0, executorCpuTime: 0, inputBytes: 0, outputBytes: 0,
      shuffleReadBytes: 0, shuffleWriteBytes: 0, memoryBytesSpilled: 0, diskBytesSpilled: 0, name: 'count at x.scala:1', ...extra,
    });
    spark.route(`${APP}/stages`, { body: JSON.stringify([stage('ACTIVE')]) });
    const src = makeSource();
    let s = await src.collect(new Date());
    assert.equal(value(s, 'spark_stage_disk_spilled_bytes_total'), 0);
    const done = stage('COMPLETE', { completionTime: sparkDate(Date.now()), executorRunTime: 4000, executorCpuTime: 3e9, diskBytesSpilled: 1 << 20, memoryBytesSpilled: 4 << 20 });
    spark.route(`${APP}/stages/7`, { body: JSON.stringify([done]) });
    spark.route(`${APP}/stages`, { body: '[]' });
    for (let i = 0; i < 3; i++) s = await src.collect(new Date());
    assert.equal(spark.requests.filter((p) => p === `${APP}/stages/7`).length, 1, 'read once');
    assert.equal(value(s, 'spark_stage_disk_spilled_bytes_total'), 1 << 20);
    assert.equal(value(s, 'spark_stage_memory_spilled_bytes_total'), 4 << 20);
    assert.equal(value(s, 'spark_stage_executor_run_time_seconds_total'), 4);
    assert.equal(value(s, 'spark_stage_executor_cpu_time_seconds_total'), 3);
  });

  it('a Spark job finishing after the start: its duration counted once, with the Databricks run labels', async () => {
    const job = (id: number, status: string, completed?: number) => ({
      jobId: id, name: 'run at x.scala:1', submissionTime: sparkDate(started - 120_000), ...(completed ? { completionTime: sparkDate(completed) } : {}),
      stageIds: [id], jobGroup: `1234_5678_job-892813468364452-run-1015563-action-4539451284405985`, jobTags: [], status,
      numTasks: 1, numActiveTasks: 0, numCompletedTasks: 1, numSkippedTasks: 0, numFailedTasks: 0, numKilledTasks: 0,
      numCompletedIndices: 1, numActiveStages: 0, numCompletedStages: 1, numSkippedStages: 0, numFailedStages: 0,
    });
    spark.route(`${APP}/jobs`, { body: JSON.stringify([job(1, 'SUCCEEDED', started - 3_000_000), job(2, 'RUNNING')]) });
    const src = makeSource(started - 60_000);
    let s = await src.collect(new Date());
    assert.equal(value(s, 'spark_job_duration_seconds_count', { status: 'succeeded' }), 0);
    spark.route(`${APP}/jobs`, { body: JSON.stringify([job(1, 'SUCCEEDED', started - 3_000_000), job(2, 'SUCCEEDED', started - 30_000)]) });
    for (let i = 0; i < 2; i++) s = await src.collect(new Date());
    const done = s.filter((x) => x.name === 'spark_job_duration_seconds_count' && x.labels.status === 'succeeded' && x.value > 0);
    assert.deepEqual(done.map((x) => [x.value, x.labels.job_id, x.labels.run_id]), [[1, '892813468364452', '1015563']]);
    assert.equal(value(s, 'spark_job_duration_seconds_sum', { status: 'succeeded', job_id: '892813468364452' }), 90);
  });

  it('Structured Streaming queries from /metrics/json, with a query label', async () => {
    const s = await makeSource().collect(new Date());
    assert.equal(value(s, 'dbx_agent_spark_endpoint_up', { endpoint: 'streaming' }), 1);
    const queries = new Set(s.filter((x) => x.name === 'spark_streaming_input_rows_per_second').map((x) => x.labels.query));
    assert.ok(queries.size >= 2, [...queries].join(','));
    assert.ok(queries.has('unnamed'), 'the UUID-named query is folded into "unnamed"');
    assert.ok(s.some((x) => x.name === 'spark_streaming_batch_duration_seconds'));
  });

  for (const [what, route] of [
    ['404 (an older Spark)', { status: 404, body: 'not found', contentType: 'text/plain' }],
    ['500', { status: 500, body: 'boom', contentType: 'text/plain' }],
    ['HTML (a login page)', { body: '<html>login</html>', contentType: 'text/html' }],
    ['truncated JSON', { body: '[{"id": 1, "stat' }],
    ['the wrong shape', { body: '{"executions": []}' }],
    ['nothing (a hang)', { hang: true }],
  ] as const)
    it(`a /sql or /metrics/json answering ${what}: that endpoint is down, the rest goes on`, async () => {
      spark.route(`${APP}/sql`, route);
      spark.route('/metrics/json', route);
      const s = await makeSource(started, 300).collect(new Date());
      assert.equal(value(s, 'dbx_agent_spark_endpoint_up', { endpoint: 'sql' }), 0);
      assert.equal(value(s, 'dbx_agent_spark_endpoint_up', { endpoint: 'streaming' }), 0);
      assert.equal(value(s, 'dbx_agent_spark_endpoint_up', { endpoint: 'executors' }), 1);
      assert.equal(value(s, 'spark_active_tasks'), 7);
    });
});
