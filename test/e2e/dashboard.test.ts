/**
 * deploy/grafana/dbx-prom-agent.json against a real Prometheus holding the agent's series:
 * every variable query and every panel query parses and returns data.
 *
 * The fleet: a driver (Pushgateway sink, Spark from the fake Spark UI, a real JVM posing as
 * the Spark driver when a JDK is here) and a worker (remote-write sink straight into the same
 * Prometheus), both daemons of the built bundle on one job cluster. Prometheus runs with
 * deploy/prometheus/scrape-pushgateway.yml (its scrape job and rule file) at a 1s interval.
 *
 * The fake Spark does work while the agents run: once the driver agent has read it, SQL
 * queries, Spark jobs and stages finish (the agent counts only what finishes after it started),
 * so the duration quantiles, the finished-per-second rates and the stage totals have real
 * increases to show; Structured Streaming queries run throughout (the driver's /metrics/json).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { startAgent, type Daemon } from '../helpers/agent';
import { databricksFixture, sharedFixture, sqlRoute, startFakeSpark, type FakeSpark } from '../helpers/fake-spark';
import { promQuery, startPrometheus, startPushgateway, tempDir, waitFor, type Server } from '../helpers/servers';

const DASHBOARD = path.resolve(__dirname, '../../deploy/grafana/dbx-prom-agent.json');
const SCRAPE_CONFIG = path.resolve(__dirname, '../../deploy/prometheus/scrape-pushgateway.yml');
const RULES = path.resolve(__dirname, '../../deploy/prometheus/dbx-prom-agent.rules.yml');
const SPARK_FIXTURES = path.resolve(__dirname, '../fixtures/spark');

interface Target {
  expr: string;
  refId: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Target[];
}
interface Variable {
  type: string;
  name: string;
  query: string | { query: string };
  allValue?: string | null;
  includeAll?: boolean;
}
interface Dashboard {
  schemaVersion: number;
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');
const variables = dashboard.templating.list.filter((v) => v.type === 'query');
const varQuery = (v: Variable): string => (typeof v.query === 'string' ? v.query : v.query.query);

const CLUSTER_ID = '0101-120000-dash';
const DRIVER = 'ip-10-0-0-1';
const WORKER = 'ip-10-0-0-2';
// A Databricks job cluster is named job-<jobId>-run-<runId>: every series gets job_id/run_id.
const CLUSTER_NAME = 'job-123-run-456';

/** Grafana's built-in intervals, as Grafana would set them for a short range. */
const BUILTINS: Record<string, string> = { __rate_interval: '1m', __interval: '15s', __range: '5m' };

/** Spark's REST date: 2026-11-24T14:21:12.987GMT. */
const sparkDate = (ms: number): string => new Date(ms).toISOString().replace('Z', 'GMT');

type Json = Record<string, unknown>;
const fixture = (name: string): Json[] => JSON.parse(readFileSync(path.join(SPARK_FIXTURES, name), 'utf8')) as Json[];

/**
 * Stage attempts with each finished one moved to complete at `nowMs`, its dates shifted
 * together (its duration kept): all after the agents started, so all counted.
 */
function finishedAt(attempts: Json[], nowMs: number): Json[] {
  const ms = (v: unknown): number => Date.parse(String(v).replace('GMT', 'Z'));
  return attempts.map((a) => {
    if (typeof a.completionTime !== 'string') return a;
    const shift = nowMs - ms(a.completionTime);
    return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, k.endsWith('Time') && typeof v === 'string' ? sparkDate(ms(v) + shift) : v]));
  });
}

/** Replaces $var / ${var} with the values chosen: one value as is, several as (a|b), like Grafana. */
function substitute(expr: string, values: Record<string, string[]>): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => {
    if (BUILTINS[name] !== undefined) return BUILTINS[name]!;
    const v = values[name];
    if (v === undefined) throw new Error(`unknown variable ${whole} in ${expr}`);
    return v.length === 1 ? v[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : `(${v.map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`;
  });
}

/** Grafana's `label_values(selector, label)` as PromQL: the label's values among the series. */
function labelValuesQuery(q: string): { expr: string; label: string } {
  const m = /^label_values\((.*),\s*(\w+)\)$/.exec(q.trim());
  if (!m) throw new Error(`not a label_values() query: ${q}`);
  return { expr: `group by (${m[2]}) (${m[1]})`, label: m[2]! };
}

describe('deploy/grafana dashboard', () => {
  it('is a schema 39 dashboard on a ${datasource} variable with cluster → node → executor → job', () => {
    assert.ok(dashboard.schemaVersion >= 39);
    assert.equal(dashboard.uid, 'dbx-prom-agent');
    const ds = dashboard.templating.list.find((v) => v.name === 'datasource');
    assert.equal(ds?.type, 'datasource');
    assert.deepEqual(variables.map((v) => v.name), ['cluster', 'node', 'executor', 'job']);
    // Each variable after the first narrows by the cluster chosen.
    for (const v of variables.slice(1)) assert.match(varQuery(v), /cluster_id=~"\$cluster"/, v.name);
    for (const v of variables.slice(1)) assert.equal(v.allValue, '.*', `${v.name}: All must match series without the label`);
    const ids = new Set<number>();
    for (const p of dashboard.panels) {
      assert.ok(!ids.has(p.id), `duplicate panel id ${p.id}`);
      ids.add(p.id);
      assert.ok(p.gridPos && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title}: gridPos`);
    }
    for (const p of queryPanels) {
      assert.equal(p.datasource?.uid, '${datasource}', `${p.title}: panel datasource`);
      assert.ok((p.targets ?? []).length > 0, `${p.title}: no query`);
      for (const t of p.targets!) assert.equal(t.datasource?.uid, '${datasource}', `${p.title} ${t.refId}: target datasource`);
    }
    // Panels follow the variables: host panels by node, executor panels by executor, all by job.
    const exprs = queryPanels.flatMap((p) => p.targets!.map((t) => t.expr));
    assert.ok(exprs.every((e) => e.includes('$cluster')), 'every query filters by $cluster');
    assert.ok(exprs.some((e) => e.includes('$node')) && exprs.some((e) => e.includes('$executor')) && exprs.some((e) => e.includes('$job')));
  });

  describe('against a real Prometheus holding the agent series', function () {
    this.timeout(120000);
    let pg: Server | undefined;
    let prom: Server | undefined;
    let spark: FakeSpark | undefined;
    let jvm: ChildProcess | undefined;
    const daemons: Daemon[] = [];
    const dirs: string[] = [];
    const hasJava = spawnSync('java', ['-version']).status === 0;
    // Linux 4.20+ with CONFIG_PSI: the agents send node_pressure_* (the host's, both nodes).
    const hasPsi = existsSync('/proc/pressure/memory');

    // The fake Spark's application, and what it answers (changed by finishSparkWork()).
    const api = `/api/v1/applications/${(JSON.parse(sharedFixture('running_app_list_json_expectation.json')) as { id: string }[])[0]!.id}`;
    // Done long ago (a DDL, a query, a failed insert, a merge) and an OPTIMIZE running since.
    let sqlList = fixture('sql/executions.json');
    // Spark's own job list: finished jobs without dates (never counted).
    let jobList = JSON.parse(sharedFixture('job_list_json_expectation.json')) as Json[];
    // Stage 41 running, 42 and 43 pending, 38 failed long ago.
    let stageList = fixture('stages/list-at-start.json');

    /**
     * Work finishing after the agents started, the only work they count: SQL queries 6
     * (completed, 2.5 s) and 7 (failed, 40 s), query 5 still running; Spark jobs 3 (succeeded,
     * 150 s) and 4 (failed, 20 s); stage 41 complete, stage 42 failed and then complete on its
     * retry, stage 43 skipped (spill, shuffle, input, run and CPU time in the stage fixtures).
     */
    function finishSparkWork(): void {
      const now = Date.now();
      const done = sqlList.find((e) => e.id === 1)!;
      sqlList = [
        ...sqlList,
        { ...done, id: 6, status: 'COMPLETED', description: 'SELECT * FROM main.sales.orders LIMIT 10', submissionTime: sparkDate(now - 2500), duration: 2500, successJobIds: [3] },
        { ...done, id: 7, status: 'FAILED', description: 'MERGE INTO main.sales.daily', submissionTime: sparkDate(now - 40000), duration: 40000, successJobIds: [], failedJobIds: [4] },
      ];
      const job = jobList[0]!;
      jobList = [
        { ...job, jobId: 4, status: 'FAILED', stageIds: [42], submissionTime: sparkDate(now - 20000), completionTime: sparkDate(now) },
        { ...job, jobId: 3, status: 'SUCCEEDED', stageIds: [41, 43], submissionTime: sparkDate(now - 150000), completionTime: sparkDate(now) },
        ...jobList,
      ];
      const stage42 = finishedAt(fixture('stages/stage-42-retried.json'), now);
      // The list shows failed attempts with their metrics: 38 from long ago, 42's first attempt now.
      stageList = [...stageList.filter((s) => s.status === 'FAILED'), stage42.find((a) => a.status === 'FAILED')!];
      spark!.route(`${api}/stages/41`, { body: JSON.stringify(finishedAt(fixture('stages/stage-41-complete.json'), now)) });
      spark!.route(`${api}/stages/42`, { body: JSON.stringify(stage42) });
      spark!.route(`${api}/stages/43`, { body: JSON.stringify(fixture('stages/stage-43-skipped.json')) });
    }

    before(async () => {
      pg = await startPushgateway(['--persistence.file=']);
      // The shipped scrape config, pointed at this Pushgateway, scraped every second.
      const config = yaml.load(readFileSync(SCRAPE_CONFIG, 'utf8')) as {
        global: Record<string, string>;
        rule_files: string[];
        scrape_configs: { job_name: string; honor_labels?: boolean; scrape_timeout?: string; static_configs: { targets: string[] }[] }[];
      };
      config.global = { scrape_interval: '1s', evaluation_interval: '1s' };
      config.rule_files = [RULES];
      const job = config.scrape_configs.find((s) => s.job_name === 'pushgateway')!;
      assert.equal(job.honor_labels, true);
      job.static_configs = [{ targets: [`127.0.0.1:${pg.port}`] }];
      job.scrape_timeout = '1s';
      prom = await startPrometheus(yaml.dump(config), ['--web.enable-remote-write-receiver']);
      spark = await startFakeSpark();
      spark.route(`${api}/sql`, sqlRoute(() => sqlList));
      spark.route(`${api}/jobs`, { handler: () => ({ body: JSON.stringify(jobList) }) });
      spark.route(`${api}/stages`, { handler: () => ({ body: JSON.stringify(stageList) }) });
      // Structured Streaming queries running (spark.sql.streaming.metricsEnabled=true): named ones
      // with and without a watermark, and an unnamed one.
      spark.route('/metrics/json', { body: databricksFixture('metrics.json') });
      if (hasJava) {
        // A sleeping JVM whose command line names spark-submit's main class, as the driver's does.
        const dir = tempDir();
        dirs.push(dir);
        writeFileSync(path.join(dir, 'Driver.java'), 'public class Driver { public static void main(String[] a) throws Exception { System.out.println("ready"); Thread.sleep(300000); } }');
        jvm = spawn('java', ['-Xmx128m', path.join(dir, 'Driver.java'), 'org.apache.spark.deploy.SparkSubmit'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        jvm.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        await waitFor(async () => out.includes('ready'), 30000, 'the JVM to start');
      }
      const common = { DB_CLUSTER_ID: CLUSTER_ID, DB_CLUSTER_NAME: CLUSTER_NAME, DB_IS_JOB_CLUSTER: 'TRUE', DB_INSTANCE_TYPE: 'i3.xlarge' };
      const fast = ['--interval', '1s', '--idle-interval', '1s'];
      daemons.push(
        startAgent(['run', '--pushgateway-url', pg.url, '--spark-url', spark.url, '--node-name', DRIVER, ...fast], {
          ...common,
          DB_IS_DRIVER: 'TRUE',
        }),
      );
      const queueDir = tempDir();
      dirs.push(queueDir);
      daemons.push(
        startAgent(['run', '--remote-write-url', `${prom.url}/api/v1/write`, '--queue-dir', queueDir, '--node-name', WORKER, ...fast], {
          ...common,
          DB_IS_DRIVER: 'FALSE',
        }),
      );
      // Enough samples of both nodes for rate() over a minute, Spark in, remote write in.
      await waitFor(
        async () => {
          const per = await promQuery(prom!.url, `count_over_time(dbx_agent_process_cpu_seconds_total{cluster_id="${CLUSTER_ID}"}[1m]) >= 5`);
          const spk = await promQuery(prom!.url, `spark_executors{cluster_id="${CLUSTER_ID}"}`);
          return new Set(per.map((r) => r.metric.node)).size === 2 && spk.length > 0;
        },
        60000,
        'both agents series in Prometheus',
      );
      // The driver agent has read Spark (stage 41 seen running): now the work finishes.
      const running = await promQuery(prom!.url, `spark_stages{cluster_id="${CLUSTER_ID}", status="active"}`);
      assert.equal(running[0]?.value[1], '1', 'stage 41 seen running');
      finishSparkWork();
      await waitFor(
        async () => {
          for (const q of ['spark_sql_query_duration_seconds_count', 'spark_job_duration_seconds_count', 'spark_stages_completed_total']) {
            const r = await promQuery(prom!.url, `${q}{cluster_id="${CLUSTER_ID}"} > 0`);
            if (r.length < 2) return false; // both statuses
          }
          return true;
        },
        30000,
        'the SQL queries, jobs and stages that finished in Prometheus',
      );
    });

    after(async () => {
      await Promise.all(daemons.map((d) => d.stop()));
      jvm?.kill('SIGKILL');
      await spark?.close();
      await prom?.stop();
      await pg?.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    /**
     * Queries allowed to parse and return nothing here, with the reason. Keep it short.
     * - The driver JVM series come from a HotSpot JVM's hsperfdata on the driver; without a
     *   JDK on the test host there is none.
     * - node_pressure_* come from /proc/pressure, absent on a kernel before 4.20 or without PSI.
     */
    const allowNoData = (expr: string): string | undefined =>
      !hasJava && /spark_driver_jvm_/.test(expr)
        ? 'no JVM on this host'
        : !hasPsi && /node_pressure_/.test(expr)
          ? 'no /proc/pressure on this kernel'
          : undefined;

    it('answers every variable query, cluster → node → executor → job', async () => {
      const values = await chooseVariables();
      assert.deepEqual(values.cluster, [CLUSTER_ID]);
      assert.deepEqual(values.node, [DRIVER, WORKER]);
      assert.ok(values.executor!.length >= 2, `executors: ${values.executor}`);
      assert.deepEqual(values.job, ['123']);
    });

    it('counts the SQL queries, jobs and stages that finished after the agents started, and only those', async () => {
      const by = async (q: string, label: string): Promise<Record<string, string>> =>
        Object.fromEntries((await promQuery(prom!.url, `sum by (${label}) (${q}{cluster_id="${CLUSTER_ID}"})`)).map((r) => [r.metric[label], r.value[1]]));
      assert.deepEqual(await by('spark_sql_query_duration_seconds_count', 'status'), { completed: '1', failed: '1' });
      assert.deepEqual(await by('spark_sql_query_duration_seconds_sum', 'status'), { completed: '2.5', failed: '40' });
      assert.deepEqual(await by('spark_job_duration_seconds_count', 'status'), { succeeded: '1', failed: '1' });
      assert.deepEqual(await by('spark_stages_completed_total', 'status'), { complete: '2', failed: '1' });
      assert.deepEqual(await by('spark_sql_queries_running', 'spark_app_id'), { [api.split('/').pop()!]: '1' });
    });

    it('parses and returns data for every panel query', async () => {
      const values = await chooseVariables();
      const empty: string[] = [];
      const allowed: string[] = [];
      let checked = 0;
      for (const p of queryPanels) {
        for (const t of p.targets!) {
          const expr = substitute(t.expr, values);
          const result = await promQuery(prom!.url, expr); // throws on a parse error
          checked++;
          // NaN is no data: what a quantile over no observation, or 0/0, gives (Grafana draws nothing).
          if (result.some((r) => r.value[1] !== 'NaN')) continue;
          const why = allowNoData(t.expr);
          if (why) allowed.push(`${p.title} ${t.refId}: ${why}`);
          else empty.push(`${p.title} ${t.refId}: ${expr}`);
        }
      }
      assert.deepEqual(empty, [], `queries without data (no series, or NaN only):\n${empty.join('\n')}`);
      assert.ok(checked >= 71, `only ${checked} queries`);
      if (allowed.length > 0) console.log(`      (no data, allowed: ${allowed.join('; ')})`);
    });

    it('uses only metric names the agents sent (or the Pushgateway added)', async () => {
      const res = await fetch(`${prom!.url}/api/v1/label/__name__/values`);
      const names = new Set(((await res.json()) as { data: string[] }).data);
      const exprs = queryPanels.flatMap((p) => p.targets!.map((t) => t.expr));
      for (const e of exprs) {
        const bare = e.replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '[]').replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
        for (const m of bare.matchAll(/\b([a-z_][a-z0-9_]*_[a-z0-9_]+)\b(?!\s*\()/gi)) {
          if (/^group_(left|right)$/.test(m[1]!)) continue;
          if (!hasJava && m[1]!.startsWith('spark_driver_jvm_')) continue;
          if (!hasPsi && m[1]!.startsWith('node_pressure_')) continue;
          assert.ok(names.has(m[1]!), `${m[1]} is not in Prometheus (query ${e})`);
        }
      }
    });

    it('evaluates every recording and alerting rule on the live series without error', async () => {
      await waitFor(async () => {
        const res = await fetch(`${prom!.url}/api/v1/rules`);
        const groups = ((await res.json()) as { data: { groups: { rules: { lastEvaluation: string }[] }[] } }).data.groups;
        return groups.every((g) => g.rules.every((r) => !r.lastEvaluation.startsWith('0001')));
      }, 20000, 'every rule evaluated');
      const res = await fetch(`${prom!.url}/api/v1/rules`);
      const groups = ((await res.json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } }).data.groups;
      const rules = groups.flatMap((g) => g.rules);
      assert.equal(rules.length, 27);
      for (const r of rules) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
      // The cluster views are computed from the agents' series.
      const nodes = await promQuery(prom!.url, `cluster:dbx_nodes:count{cluster_id="${CLUSTER_ID}"}`);
      assert.deepEqual(nodes.map((n) => [n.metric.role, n.value[1]]).sort(), [['driver', '1'], ['worker', '1']]);
      const mem = await promQuery(prom!.url, `cluster:spark_executor_memory_used:ratio{cluster_id="${CLUSTER_ID}"}`);
      assert.equal(mem.length, 1);
    });

    /** Runs the variable queries in order, each with the values chosen before it (All = every value). */
    async function chooseVariables(): Promise<Record<string, string[]>> {
      const values: Record<string, string[]> = {};
      for (const v of variables) {
        const { expr, label } = labelValuesQuery(substitute(varQuery(v), values));
        const result = await promQuery(prom!.url, expr);
        values[v.name] = [...new Set(result.map((r) => r.metric[label]!).filter((x) => x !== undefined))].sort();
        assert.ok(values[v.name]!.length > 0, `variable ${v.name}: no values from ${expr}`);
      }
      return values;
    }
  });
});
