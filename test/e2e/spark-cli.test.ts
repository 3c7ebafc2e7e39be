/**
 * The built bundle against a fake Spark UI: `once --dry-run` prints the Spark series with the
 * exact values of the fixtures, and each bad input gives source_up 0 or a partial result, one
 * clear log line, exit 0 (a dry run's sink is stdout, which never fails).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parsePrometheusText, type PromTextSample } from '../../agent/sources/spark/prometheus';
import { runAgent, startAgent, type Daemon, type RunResult } from '../helpers/agent';
import { pushgatewaySeries, startPushgateway, tempDir, waitFor, type PgSeries, type Server } from '../helpers/servers';
import { DATABRICKS_APP_ID, databricksFixture, databricksRoutes, startFakeSpark, type FakeSpark } from '../helpers/fake-spark';

const DRIVER_ENV = { DB_IS_DRIVER: 'TRUE', DB_CLUSTER_ID: '1124-135102-abc123', DB_CLUSTER_NAME: 'shared-analytics' };
const APP = `/api/v1/applications/${DATABRICKS_APP_ID}`;

function series(out: string): PromTextSample[] {
  return parsePrometheusText(out).samples;
}

function value(samples: readonly PromTextSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `${name}${JSON.stringify(labels)}: ${found.length} series`);
  return found[0]?.value;
}

interface Log {
  level: string;
  msg: string;
  error?: string;
}
const logLines = (r: RunResult): Log[] =>
  r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Log);
const problems = (r: RunResult): Log[] => logLines(r).filter((l) => l.level === 'warn' || l.level === 'error');

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}

describe('spark source through the bundle (once --dry-run)', function () {
  this.timeout(60000);
  let spark: FakeSpark;
  let dir: string;
  const once = (args: string[], env: Record<string, string> = {}) =>
    runAgent(['once', '--dry-run', '--sources', 'spark,self', '--spark-timeout', '1s', ...args], { ...DRIVER_ENV, ...env });

  beforeEach(async () => {
    spark = await startFakeSpark(databricksRoutes());
    dir = tempDir();
  });
  afterEach(async () => {
    await spark.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the Spark series with the exact values of the fixtures', async () => {
    const r = await once(['--spark-url', spark.url]);
    assert.equal(r.code, 0, r.stderr);
    const s = series(r.stdout);
    const app = { spark_app_id: DATABRICKS_APP_ID, cluster_id: '1124-135102-abc123', role: 'driver' };
    assert.equal(value(s, 'dbx_agent_source_up', { source: 'spark' }), 1);
    assert.equal(value(s, 'spark_executors', { ...app, state: 'active' }), 3);
    assert.equal(value(s, 'spark_executors', { ...app, state: 'dead' }), 1);
    assert.equal(value(s, 'spark_executor_cores', app), 24);
    assert.equal(value(s, 'spark_active_tasks', app), 7);
    assert.equal(value(s, 'spark_failed_tasks_total', app), 3);
    assert.equal(value(s, 'spark_executor_memory_used_bytes', { ...app, executor_id: '0' }), 536870912);
    assert.equal(value(s, 'spark_executor_gc_seconds_total', { ...app, executor_id: '0' }), 12.345);
    assert.equal(value(s, 'spark_executor_shuffle_write_bytes_total', { ...app, executor_id: '1' }), 1610612736);
    assert.equal(value(s, 'spark_executor_jvm_heap_peak_bytes', { ...app, executor_id: '1' }), 5368709120);
    assert.equal(value(s, 'spark_driver_jvm_heap_peak_bytes', app), 1503238553);
    assert.equal(value(s, 'spark_jobs', { ...app, status: 'running' }), 4);
    assert.equal(value(s, 'spark_jobs', { ...app, status: 'failed' }), 1);
    assert.equal(value(s, 'spark_stages', { ...app, status: 'active' }), 2);
    // An all-purpose cluster running a Databricks job: the Spark series of that run carry its ids.
    assert.equal(value(s, 'spark_databricks_job_active_tasks', { ...app, job_id: '892813468364452', run_id: '1015563' }), 7);
    assert.equal(value(s, 'spark_databricks_job_running_spark_jobs', { job_id: '55', run_id: '66' }), 1);
    assert.equal(value(s, 'dbx_agent_series_dropped_total', { reason: 'executor_cap' }), 0);
    assert.deepEqual(problems(r), []);
  });

  it('finds the port in the driver env file', async () => {
    const envFile = path.join(dir, 'driver-env.sh');
    writeFileSync(envFile, `CONF_UI_PORT=${spark.port}\n`);
    const r = await once(['--driver-env-file', envFile], { DB_DRIVER_IP: '127.0.0.1' });
    assert.equal(value(series(r.stdout), 'spark_active_tasks'), 7);
    assert.ok(logLines(r).some((l) => l.msg === 'Spark UI found'));
  });

  it('Spark not up yet (no env file, nothing on 40001/4040): source_up 0 and one log line naming what was tried', async function () {
    if (!(await portFree(40001)) || !(await portFree(4040))) this.skip();
    const r = await once(['--driver-env-file', path.join(dir, 'not-yet.sh')]);
    assert.equal(r.code, 0);
    assert.equal(value(series(r.stdout), 'dbx_agent_source_up', { source: 'spark' }), 0);
    // SparkNotUpError is an ExpectedOutage: the pipeline's outage log decides the level.
    const lines = logLines(r).filter((l) => /Spark UI not found yet/.test(`${l.msg} ${l.error ?? ''}`));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(String(lines[0]!.error), /no CONF_UI_PORT in .*not-yet\.sh and no Spark REST API on port 40001, 4040 of 127\.0\.0\.1/);
  });

  it('--spark-prometheus forwards Spark own endpoints', async () => {
    const r = await once(['--spark-url', spark.url, '--spark-prometheus']);
    const s = series(r.stdout);
    assert.equal(value(s, 'metrics_executor_memoryUsed_bytes', { executor_id: '0', spark_app_id: DATABRICKS_APP_ID, role: 'driver' }), 536870912);
    assert.equal(value(s, 'metrics_driver_LiveListenerBus_numEventsPosted_Count', { type: 'counters' }), 18231);
    assert.match(r.stdout, /# TYPE metrics_driver_LiveListenerBus_numEventsPosted_Count gauge/);
  });

  it('--max-executor-series cuts whole executors and counts them', async () => {
    const r = await once(['--spark-url', spark.url, '--max-executor-series', '20']);
    const s = series(r.stdout);
    const ids = new Set(s.map((x) => x.labels.executor_id).filter(Boolean));
    assert.deepEqual([...ids], ['driver']);
    assert.equal(value(s, 'spark_active_tasks'), 7);
    // The self source runs beside spark, so the count itself shows from the next cycle on;
    // the cut is logged now.
    const p = problems(r);
    assert.equal(p.length, 1, r.stderr);
    assert.match(String(p[0]!.error), /per-executor series over --max-executor-series 20 left out/);
  });

  describe('bad input', () => {
    const failing: [string, Parameters<FakeSpark['route']>[1], RegExp][] = [
      ['Spark answering 500', { status: 500, body: 'Internal Server Error', contentType: 'text/plain' }, /HTTP 500/],
      ['a hanging Spark (--spark-timeout 1s)', { hang: true }, /no answer within 1000 ms/],
      ['a closed connection', { destroy: true }, /connection failed/],
      ['an HTML login page with 200', { body: '<!DOCTYPE html><html><title>Databricks - Sign In</title></html>', contentType: 'text/html' }, /HTML page/],
      ['truncated JSON', { body: '[ { "id" : "app-2026112413' }, /malformed JSON/],
    ];
    for (const [what, route, reason] of failing)
      it(`${what}: source_up 0, one clear warning, the other sources still report`, async () => {
        spark.route('/api/v1/applications', route);
        const r = await once(['--spark-url', spark.url]);
        assert.equal(r.code, 0, r.stderr);
        const s = series(r.stdout);
        assert.equal(value(s, 'dbx_agent_source_up', { source: 'spark' }), 0);
        assert.equal(value(s, 'dbx_agent_source_up', { source: 'self' }), 1);
        assert.ok(!s.some((x) => x.name.startsWith('spark_')));
        const p = problems(r);
        assert.equal(p.length, 1, r.stderr);
        assert.match(String(p[0]!.error), reason);
      });

    it('malformed JSON on one endpoint: a partial result', async () => {
      spark.route(`${APP}/stages`, { body: '[ { "status" : "ACTI' });
      const r = await once(['--spark-url', spark.url]);
      const s = series(r.stdout);
      assert.equal(value(s, 'dbx_agent_source_up', { source: 'spark' }), 1);
      assert.equal(value(s, 'dbx_agent_spark_endpoint_up', { endpoint: 'stages' }), 0);
      assert.equal(value(s, 'spark_active_tasks'), 7);
      assert.equal(problems(r).length, 1);
    });

    it('numbers sent as strings: the executors endpoint fails naming the field, never a silent 0', async () => {
      const stringly = (JSON.parse(databricksFixture('allexecutors.json')) as Record<string, unknown>[]).map((e) => ({ ...e, activeTasks: String(e.activeTasks) }));
      spark.route(`${APP}/allexecutors`, { body: JSON.stringify(stringly) });
      const r = await once(['--spark-url', spark.url]);
      const s = series(r.stdout);
      assert.equal(value(s, 'dbx_agent_spark_endpoint_up', { endpoint: 'executors' }), 0);
      assert.equal(value(s, 'spark_active_tasks'), undefined);
      assert.equal(value(s, 'spark_jobs', { status: 'running' }), 4);
      const p = problems(r);
      assert.equal(p.length, 1, r.stderr);
      assert.match(String(p[0]!.error), /malformed payload: executor driver activeTasks is "0"/);
    });

    it("a negative count (Spark's own counter gone below zero) is left out, counted and named; the endpoint still answers", async () => {
      const negative = (JSON.parse(databricksFixture('allexecutors.json')) as Record<string, unknown>[]).map((e) => (e.id === '1' ? { ...e, activeTasks: -1 } : e));
      spark.route(`${APP}/allexecutors`, { body: JSON.stringify(negative) });
      const r = await once(['--spark-url', spark.url]);
      const s = series(r.stdout);
      assert.equal(value(s, 'dbx_agent_spark_endpoint_up', { endpoint: 'executors' }), 1);
      assert.equal(value(s, 'dbx_agent_spark_values_left_out', { endpoint: 'executors' }), 1);
      assert.equal(value(s, 'spark_executor_active_tasks', { executor_id: '1' }), undefined);
      const p = problems(r);
      assert.equal(p.length, 1, r.stderr);
      assert.match(String(p[0]!.error), /negative: executor 1 activeTasks/);
    });

    it('an answer over --spark-max-response-size fails its endpoint with the limit named, and memory stays bounded', async () => {
      // 50 MB of executors once took the agent to 284 MB RSS. With a 64 MB heap a full read would
      // not survive; the capped read is cut while it streams in.
      const one = JSON.stringify((JSON.parse(databricksFixture('allexecutors.json')) as unknown[])[1]);
      const big = `[${Array.from({ length: Math.ceil(50e6 / one.length) }, () => one).join(',')}]`;
      spark.route(`${APP}/allexecutors`, { body: big });
      const r = await once(['--spark-url', spark.url], { NODE_OPTIONS: '--max-old-space-size=64' });
      assert.equal(r.code, 0, r.stderr.slice(-2000));
      const s = series(r.stdout);
      assert.equal(value(s, 'dbx_agent_spark_endpoint_up', { endpoint: 'executors' }), 0);
      assert.equal(value(s, 'spark_jobs', { status: 'running' }), 4);
      const p = problems(r);
      assert.equal(p.length, 1, r.stderr);
      assert.match(String(p[0]!.error), /allexecutors: answer larger than 8388608 bytes \(--spark-max-response-size\)/);
    });

    it('an application with no executors yet', async () => {
      spark.route(`${APP}/allexecutors`, { body: JSON.stringify([JSON.parse(databricksFixture('allexecutors.json'))[0]]) });
      const r = await once(['--spark-url', spark.url]);
      const s = series(r.stdout);
      assert.equal(value(s, 'spark_executors', { state: 'active' }), 0);
      assert.equal(value(s, 'spark_executor_cores'), 0);
      assert.deepEqual(problems(r), []);
    });

    it('a second application on the same driver', async () => {
      const second = '/api/v1/applications/app-20261124141210-0001';
      spark.route('/api/v1/applications', { body: databricksFixture('applications-two.json') });
      spark.route(`${second}/allexecutors`, { body: databricksFixture('executors.json') });
      spark.route(`${second}/jobs`, { body: '[]' });
      spark.route(`${second}/stages`, { body: '[]' });
      const r = await once(['--spark-url', spark.url]);
      const s = series(r.stdout);
      assert.equal(value(s, 'spark_executors', { spark_app_id: DATABRICKS_APP_ID, state: 'active' }), 3);
      assert.equal(value(s, 'spark_executors', { spark_app_id: 'app-20261124141210-0001', state: 'active' }), 3);
      assert.equal(value(s, 'spark_jobs', { spark_app_id: 'app-20261124141210-0001', status: 'running' }), 0);
      assert.ok(!r.stdout.includes('app-20261124120000-0002'));
    });
  });
});

describe('spark source in the daemon (run) against a real Pushgateway', function () {
  this.timeout(60000);
  let spark: FakeSpark;
  let pg: Server;
  let agent: Daemon | undefined;

  before(async () => {
    [spark, pg] = await Promise.all([startFakeSpark(databricksRoutes()), startPushgateway()]);
  });
  after(async () => {
    await agent?.stop();
    await Promise.all([spark.close(), pg.stop()]);
  });

  const find = (all: PgSeries[], name: string, labels: Record<string, string> = {}) =>
    all.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;

  it('pushes every Spark series (the Pushgateway accepts them) and the interval follows Spark activity', async () => {
    agent = startAgent(
      [
        'run', '--pushgateway-url', pg.url, '--spark-url', spark.url, '--spark-prometheus', '--sources', 'spark,self',
        // 1 s busy, 2 s after one idle cycle; CPU never counts as busy here, only Spark tasks.
        '--interval', '1s', '--idle-interval', '2s', '--idle-after', '1', '--busy-cpu', '1',
      ],
      DRIVER_ENV,
    );
    let all: PgSeries[] = [];
    const seen = async (name: string, labels: Record<string, string>, v: number) => {
      all = await pushgatewaySeries(pg.url);
      return find(all, name, labels) === v;
    };
    await waitFor(() => seen('spark_active_tasks', { spark_app_id: DATABRICKS_APP_ID }, 7), 20000, 'Spark series in the Pushgateway');
    await waitFor(() => seen('dbx_agent_interval_seconds', {}, 1), 20000, 'the fast interval');
    assert.equal(find(all, 'spark_databricks_job_active_tasks', { job_id: '892813468364452', run_id: '1015563' }), 7);
    assert.equal(find(all, 'metrics_driver_DAGScheduler_job_activeJobs_Number', { spark_app_id: DATABRICKS_APP_ID }), 4);
    assert.equal(find(all, 'dbx_agent_push_total', { sink: 'pushgateway', result: 'failure' }), 0);

    // The job ends: no active task anywhere.
    const idle = (JSON.parse(databricksFixture('allexecutors.json')) as { activeTasks: number }[]).map((e) => ({ ...e, activeTasks: 0 }));
    spark.route(`${APP}/allexecutors`, { body: JSON.stringify(idle) });
    await waitFor(() => seen('dbx_agent_interval_seconds', {}, 2), 20000, 'the idle interval');
    assert.equal(find(all, 'spark_active_tasks'), 0);

    // A new job: back to fast on the first busy cycle.
    spark.route(`${APP}/allexecutors`, { body: databricksFixture('allexecutors.json') });
    await waitFor(() => seen('dbx_agent_interval_seconds', {}, 1), 20000, 'the fast interval again');

    const { code } = await agent.stop();
    agent = undefined;
    assert.equal(code, 0);
    // The group is deleted on exit.
    assert.equal((await pushgatewaySeries(pg.url)).filter((x) => x.name === 'spark_active_tasks').length, 0);
  });
});
