import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { log } from '../../../agent/core/log';
import { ExpectedOutage } from '../../../agent/core/outage';
import { Pipeline } from '../../../agent/pipeline';
import type { Sample } from '../../../agent/core/sample';
import { seriesDropped } from '../../../agent/sources/spark/series-dropped';
import { createSparkSource, MAX_APPLICATIONS, SparkNotUpError, type SparkSourceOverrides } from '../../../agent/sources/spark/source';
import type { SparkOptions } from '../../../agent/sources/spark/options';
import type { Source } from '../../../agent/core/source';
import { AgentStats } from '../../../agent/core/stats';
import { freePort, tempDir } from '../../helpers/servers';
import { DATABRICKS_APP_ID, databricksFixture, databricksRoutes, startFakeSpark, type FakeSpark } from '../../helpers/fake-spark';
import { recordLogs, type LogLine } from './logs';
import { G1_LIKE, perfData } from './perfdata-writer';
import { createSettings } from '../../../agent/core/options';
import { spark as sparkEntry } from '../../../agent/sources/spark/index';
import { testComponentEnv } from '../../helpers/component-env';

const APP = `/api/v1/applications/${DATABRICKS_APP_ID}`;

function value(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `${name}${JSON.stringify(labels)}: ${found.length} series`);
  return found[0]?.value;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected the collect to reject');
}


describe('sources/spark', () => {
  let spark: FakeSpark;
  let root: string;
  let logs: ReturnType<typeof recordLogs>;
  let source: Source | undefined;
  let stats: AgentStats;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);

  /** The Spark options as the config gives them by default, a --spark-timeout of 300 ms, and `opts`. */
  function makeSource(opts: Partial<SparkOptions>, overrides: SparkSourceOverrides = {}, env: Record<string, string> = {}): Source {
    // The entry's own defaults, as the config gives them.
    const spark: SparkOptions = { ...sparkEntry.parse(createSettings({}, {})), timeoutMs: 300, ...opts };
    stats = new AgentStats();
    const componentEnv = testComponentEnv({ DB_CLUSTER_ID: '1124-135102-abc123', ...env }, 'driver-host', stats);
    // An empty root: no driver JVM of this machine leaks into the samples.
    source = createSparkSource(spark, componentEnv, { rootDir: root, probePorts: [], ...overrides });
    return source;
  }
  const warnings = (): LogLine[] => logs.lines.filter((l) => l.level === 'warn' || l.level === 'error');

  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, []);
  });
  beforeEach(async () => {
    spark = await startFakeSpark(databricksRoutes());
    root = tempDir();
    logs = recordLogs();
  });
  afterEach(async () => {
    logs.restore();
    await source?.close?.();
    source = undefined;
    await spark.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('collects a Databricks driver: executors, jobs with job_id/run_id, stages, all with spark_app_id', async () => {
    const samples = await makeSource({ url: spark.url }).collect(new Date());
    assert.equal(value(samples, 'spark_executors', { state: 'active' }), 3);
    assert.equal(value(samples, 'spark_executors', { state: 'dead' }), 1);
    assert.equal(value(samples, 'spark_active_tasks'), 7);
    assert.equal(value(samples, 'spark_executor_gc_seconds_total', { executor_id: '1' }), 23.456);
    assert.equal(value(samples, 'spark_jobs', { status: 'running' }), 4);
    assert.equal(value(samples, 'spark_stages', { status: 'pending' }), 3);
    assert.equal(value(samples, 'spark_databricks_job_active_tasks', { job_id: '892813468364452', run_id: '1015563' }), 7);
    for (const e of ['executors', 'jobs', 'stages']) assert.equal(value(samples, 'dbx_agent_spark_endpoint_up', { endpoint: e }), 1);
    for (const s of samples) assert.equal(s.labels.spark_app_id, DATABRICKS_APP_ID, s.name);
    // Only what is cheap: stages filtered by status; no forwarding unless asked.
    assert.ok(spark.urls.includes(`${APP}/stages?status=active&status=pending&status=failed`));
    assert.ok(!spark.requests.includes('/metrics/prometheus'));
    assert.ok(!samples.some((s) => s.name.startsWith('spark_driver_jvm_heap_used')));
    assert.deepEqual(warnings(), []);
  });

  it('falls back to /executors where /allexecutors is missing (404)', async () => {
    spark.route(`${APP}/allexecutors`, { status: 404, body: 'unknown', contentType: 'text/plain' });
    const samples = await makeSource({ url: spark.url }).collect(new Date());
    assert.equal(value(samples, 'spark_executors', { state: 'active' }), 3);
    assert.equal(value(samples, 'spark_executors', { state: 'dead' }), 0);
    assert.ok(spark.requests.includes(`${APP}/executors`));
  });

  describe('bad input: the collect rejects with a clear reason, the next cycle works', () => {
    const cases: [string, Parameters<FakeSpark['route']>[1], RegExp][] = [
      ['Spark answering 500', { status: 500, body: 'Internal Server Error', contentType: 'text/plain' }, /HTTP 500: Internal Server Error/],
      ['a hanging Spark (timeout)', { hang: true }, /no answer within 300 ms/],
      ['a closed connection', { destroy: true }, /connection failed/],
      ['an HTML login page with 200', { body: '<html><head><title>Databricks - Sign In</title></head></html>', contentType: 'text/html' }, /HTML page, not JSON/],
      ['truncated JSON', { body: '[ { "id" : "app-2026' }, /malformed JSON/],
    ];
    for (const [what, route, reason] of cases)
      it(what, async () => {
        const src = makeSource({ url: spark.url });
        spark.route('/api/v1/applications', route);
        const e = await rejection(src.collect(new Date()));
        assert.match(e.message, reason);
        assert.match(e.message, /GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/applications/);
        spark.route('/api/v1/applications', { body: databricksFixture('applications.json') });
        const samples = await src.collect(new Date());
        assert.equal(value(samples, 'spark_active_tasks'), 7);
      });
  });

  it('one broken endpoint gives a partial result, logged once per outage', async () => {
    const src = makeSource({ url: spark.url });
    spark.route(`${APP}/jobs`, { body: '[ { "jobId" : 12, "name" : "run at' });
    for (let i = 0; i < 3; i++) {
      const samples = await src.collect(new Date());
      assert.equal(value(samples, 'dbx_agent_spark_endpoint_up', { endpoint: 'jobs' }), 0);
      assert.equal(value(samples, 'spark_jobs', { status: 'running' }), undefined);
      assert.equal(value(samples, 'spark_active_tasks'), 7);
    }
    assert.equal(warnings().length, 1);
    assert.match(String(warnings()[0]!.msg), /Spark endpoint jobs failed/);
    assert.match(String(warnings()[0]!.error), /malformed JSON/);
    spark.route(`${APP}/jobs`, { body: databricksFixture('jobs.json') });
    const samples = await src.collect(new Date());
    assert.equal(value(samples, 'spark_jobs', { status: 'running' }), 4);
    assert.ok(logs.lines.some((l) => l.msg === 'Spark endpoint jobs recovered'));
  });

  it('one hanging endpoint: the rest arrives after --spark-timeout', async () => {
    const src = makeSource({ url: spark.url });
    spark.route(`${APP}/stages`, { hang: true });
    const samples = await src.collect(new Date());
    assert.equal(value(samples, 'dbx_agent_spark_endpoint_up', { endpoint: 'stages' }), 0);
    assert.equal(value(samples, 'spark_stages', { status: 'active' }), undefined);
    assert.equal(value(samples, 'spark_jobs', { status: 'running' }), 4);
    assert.match(String(warnings()[0]!.error), /stages\?status=active.*no answer within 300 ms/);
  });

  it('every endpoint failing is an outage, not an empty success', async () => {
    const src = makeSource({ url: spark.url });
    for (const p of ['allexecutors', 'jobs', 'stages', 'sql']) spark.route(`${APP}/${p}`, { status: 500, body: 'boom', contentType: 'text/plain' });
    const e = await rejection(src.collect(new Date()));
    assert.match(e.message, /HTTP 500: boom/);
  });

  it('an application with no executors yet', async () => {
    const driverOnly = (JSON.parse(databricksFixture('allexecutors.json')) as { id: string }[]).filter((e) => e.id === 'driver');
    spark.route(`${APP}/allexecutors`, { body: JSON.stringify(driverOnly) });
    spark.route(`${APP}/jobs`, { body: '[]' });
    spark.route(`${APP}/stages`, { body: '[]' });
    const samples = await makeSource({ url: spark.url }).collect(new Date());
    assert.equal(value(samples, 'spark_executors', { state: 'active' }), 0);
    assert.equal(value(samples, 'spark_active_tasks'), 0);
    assert.equal(value(samples, 'spark_jobs', { status: 'running' }), 0);
    assert.equal(value(samples, 'spark_driver_storage_memory_max_bytes'), 2147483648);
  });

  it('a second running application: both, each with its own spark_app_id; the completed one left out', async () => {
    const second = '/api/v1/applications/app-20261124141210-0001';
    spark.route('/api/v1/applications', { body: databricksFixture('applications-two.json') });
    spark.route(`${second}/allexecutors`, { body: databricksFixture('executors.json') });
    spark.route(`${second}/jobs`, { body: '[]' });
    spark.route(`${second}/stages`, { body: '[]' });
    spark.route(`${second}/sql`, { body: '[]' });
    const samples = await makeSource({ url: spark.url }).collect(new Date());
    assert.equal(value(samples, 'spark_active_tasks', { spark_app_id: DATABRICKS_APP_ID }), 7);
    assert.equal(value(samples, 'spark_active_tasks', { spark_app_id: 'app-20261124141210-0001' }), 7);
    assert.equal(value(samples, 'spark_jobs', { spark_app_id: 'app-20261124141210-0001', status: 'running' }), 0);
    assert.ok(!spark.requests.some((p) => p.includes('app-20261124120000-0002')));
  });

  it('reads at most MAX_APPLICATIONS applications (a history server given by mistake)', async () => {
    const many = Array.from({ length: MAX_APPLICATIONS + 3 }, (_, i) => ({ id: `app-2026112414000${i}-000${i}`, attempts: [{ completed: false }] }));
    spark.route('/api/v1/applications', { body: JSON.stringify(many) });
    for (const a of many) for (const p of ['allexecutors', 'jobs', 'stages', 'sql']) spark.route(`/api/v1/applications/${a.id}/${p}`, { body: '[]' });
    const samples = await makeSource({ url: spark.url }).collect(new Date());
    const ids = new Set(samples.map((s) => s.labels.spark_app_id));
    assert.deepEqual([...ids].sort(), many.slice(0, MAX_APPLICATIONS).map((a) => a.id).sort());
    assert.equal(warnings().length, 1);
    assert.match(String(warnings()[0]!.error), new RegExp(`${MAX_APPLICATIONS + 3} running applications .*reading the first ${MAX_APPLICATIONS}`));
  });

  it('an applications answer that is JSON but not a list', async () => {
    spark.route('/api/v1/applications', { body: '{"message":"unauthorized"}' });
    const e = await rejection(makeSource({ url: spark.url }).collect(new Date()));
    assert.match(e.message, /GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/applications: applications: expected a JSON array, got object/);
  });

  it('one application failing while another works: one warning, not one per cycle', async () => {
    const second = '/api/v1/applications/app-20261124141210-0001';
    spark.route('/api/v1/applications', { body: databricksFixture('applications-two.json') });
    spark.route(`${second}/allexecutors`, { status: 500, body: 'boom', contentType: 'text/plain' });
    spark.route(`${second}/jobs`, { body: '[]' });
    spark.route(`${second}/stages`, { body: '[]' });
    spark.route(`${second}/sql`, { body: '[]' });
    const src = makeSource({ url: spark.url });
    for (let i = 0; i < 3; i++) {
      const samples = await src.collect(new Date());
      assert.equal(value(samples, 'dbx_agent_spark_endpoint_up', { endpoint: 'executors', spark_app_id: 'app-20261124141210-0001' }), 0);
      assert.equal(value(samples, 'dbx_agent_spark_endpoint_up', { endpoint: 'executors', spark_app_id: DATABRICKS_APP_ID }), 1);
    }
    assert.equal(warnings().length, 1);
    assert.equal(warnings()[0]!.spark_app_id, 'app-20261124141210-0001');
  });

  it('Spark not up yet: a quiet (info) rejection until the driver env file names the port', async () => {
    const envFile = path.join(root, 'driver-env.sh');
    const src = makeSource({ driverEnvFile: envFile }, { probePorts: [await freePort()] });
    const e = await rejection(src.collect(new Date()));
    assert.ok(e instanceof SparkNotUpError);
    assert.ok(e instanceof ExpectedOutage, 'an expected outage: logged at info');
    assert.match(e.message, /Spark UI not found yet .*no CONF_UI_PORT in .*driver-env\.sh/);
    writeFileSync(envFile, `CONF_UI_PORT=${spark.port}\n`);
    const samples = await src.collect(new Date());
    assert.equal(value(samples, 'spark_active_tasks'), 7);
    assert.ok(logs.lines.some((l) => l.msg === 'Spark UI found' && l.how === 'driver-env'));
  });

  it('Spark listening nowhere (refused) and no running application are quiet too', async () => {
    const closed = await freePort();
    let e = await rejection(makeSource({ url: `http://127.0.0.1:${closed}` }).collect(new Date()));
    assert.ok(e instanceof SparkNotUpError, e.message);
    assert.match(e.message, /connection refused/);
    spark.route('/api/v1/applications', { body: '[]' });
    e = await rejection(makeSource({ url: spark.url }).collect(new Date()));
    assert.ok(e instanceof SparkNotUpError);
    assert.match(e.message, /no running Spark application/);
  });

  it('caps per-executor series and counts the cut in dbx_agent_series_dropped_total', async () => {
    const src = makeSource({ url: spark.url, maxExecutorSeries: 40 });
    assert.equal(stats.get(seriesDropped, { reason: 'executor_cap' }), 0);
    const samples = await src.collect(new Date());
    const ids = new Set(samples.map((s) => s.labels.executor_id).filter(Boolean));
    const full = await makeSource({ url: spark.url }).collect(new Date());
    const perExec = (id: string) => full.filter((s) => s.labels.executor_id === id).length;
    // Whole executors, driver first, while they fit in 40.
    let budget = 40;
    const expected: string[] = [];
    for (const id of ['driver', '0', '1', '2']) {
      if (perExec(id) > budget) break;
      expected.push(id);
      budget -= perExec(id);
    }
    assert.deepEqual([...ids], expected);
    assert.ok(expected.length < 4);
  });

  it('counts cut series across cycles and logs the cap once', async () => {
    const src = makeSource({ url: spark.url, maxExecutorSeries: 1 });
    const s1 = await src.collect(new Date());
    const cut = stats.get(seriesDropped, { reason: 'executor_cap' })!;
    assert.ok(cut > 20, String(cut));
    assert.ok(!s1.some((s) => s.labels.executor_id !== undefined));
    await src.collect(new Date());
    assert.equal(stats.get(seriesDropped, { reason: 'executor_cap' }), 2 * cut);
    assert.equal(warnings().length, 1);
    assert.match(String(warnings()[0]!.error), /per-executor series over --max-executor-series 1 left out/);
  });

  it("--spark-prometheus forwards Spark's own endpoints, and skips them when they are off", async () => {
    const src = makeSource({ url: spark.url, prometheus: true });
    let samples = await src.collect(new Date());
    assert.equal(value(samples, 'metrics_executor_memoryUsed_bytes', { executor_id: '0', spark_app_id: DATABRICKS_APP_ID }), 536870912);
    assert.equal(value(samples, 'metrics_driver_DAGScheduler_job_activeJobs_Number'), 4);
    assert.equal(value(samples, 'dbx_agent_spark_endpoint_up', { endpoint: 'prometheus_driver' }), 1);
    // spark.ui.prometheus.enabled=false: Spark answers 404.
    spark.route('/metrics/prometheus', { status: 404, body: 'not found', contentType: 'text/plain' });
    spark.route('/metrics/executors/prometheus', { status: 404, body: 'not found', contentType: 'text/plain' });
    samples = await src.collect(new Date());
    assert.equal(value(samples, 'metrics_driver_DAGScheduler_job_activeJobs_Number'), undefined);
    assert.equal(value(samples, 'dbx_agent_spark_endpoint_up', { endpoint: 'prometheus_driver' }), 0);
    assert.equal(value(samples, 'spark_active_tasks'), 7);
  });

  it('reads the driver JVM memory from /proc and its perf data file', async () => {
    mkdirSync(path.join(root, 'proc', '4242'), { recursive: true });
    writeFileSync(path.join(root, 'proc', '4242', 'cmdline'), '/usr/bin/java\0-Xmx7g\0com.databricks.backend.daemon.driver.DriverDaemon\0');
    writeFileSync(path.join(root, 'proc', '4242', 'status'), 'Name:\tjava\nVmRSS:\t 2097152 kB\n');
    const samples = await makeSource({ url: spark.url }).collect(new Date());
    assert.equal(value(samples, 'spark_driver_jvm_resident_memory_bytes', { spark_app_id: DATABRICKS_APP_ID }), 2147483648);
    // No hsperfdata file in this root: no heap series rather than a guess.
    assert.equal(value(samples, 'spark_driver_jvm_heap_used_bytes'), undefined);
    mkdirSync(path.join(root, 'tmp', 'hsperfdata_root'), { recursive: true });
    writeFileSync(path.join(root, 'tmp', 'hsperfdata_root', '4242'), perfData(G1_LIKE, true));
    const again = await source!.collect(new Date());
    assert.equal(value(again, 'spark_driver_jvm_heap_used_bytes', { spark_app_id: DATABRICKS_APP_ID }), 1073741824 + 104857600 + 8388608);
    assert.equal(value(again, 'spark_driver_jvm_heap_max_bytes'), 2684354560 + 5368709120);
  });

  it('in the pipeline: source_up 0 on failure, one log line per outage, never an unhandled rejection', async () => {
    const src = makeSource({ url: spark.url });
    const pipeline = new Pipeline({ sources: [src], sinks: [], baseLabels: { node: 'driver-host' }, stats, logger: log, sourceTimeoutMs: 5000 });
    spark.route('/api/v1/applications', { status: 503, body: 'starting', contentType: 'text/plain' });
    for (let i = 0; i < 3; i++) {
      const r = await pipeline.cycle();
      assert.equal(value(r.samples, 'dbx_agent_source_up', { source: 'spark' }), 0);
    }
    assert.equal(warnings().length, 1);
    assert.match(String(warnings()[0]!.error), /HTTP 503: starting/);
    spark.route('/api/v1/applications', { body: databricksFixture('applications.json') });
    const r = await pipeline.cycle();
    assert.equal(value(r.samples, 'dbx_agent_source_up', { source: 'spark' }), 1);
    assert.equal(value(r.samples, 'spark_active_tasks'), 7);
    assert.equal(r.labels.node, 'driver-host');
  });
});
