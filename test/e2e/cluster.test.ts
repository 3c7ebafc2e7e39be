/**
 * A simulated Databricks cluster: one driver and three workers as separate agent processes,
 * each with its own DB_* context and node name, a fake Spark UI API (the shared fixtures) that
 * only the driver reads, a real Pushgateway, and a real Prometheus scraping it with
 * `honor_labels: true` (the Pushgateway rule: keep the pushed job/instance labels).
 */
import assert from 'node:assert/strict';
import { requireBundle, startAgent, type Daemon } from '../helpers/agent';
import { startFakeSpark, type FakeSpark } from '../helpers/fake-spark';
import { promQuery, startPrometheus, startPushgateway, pushgatewaySeries, waitFor, type Server } from '../helpers/servers';

const CLUSTER_ID = '0611-084500-sim4node';

function context(role: 'driver' | 'worker', ip: string): Record<string, string> {
  return {
    DB_CLUSTER_ID: CLUSTER_ID,
    DB_CLUSTER_NAME: 'simulated cluster',
    DB_IS_DRIVER: role === 'driver' ? 'TRUE' : 'FALSE',
    DB_DRIVER_IP: '127.0.0.1', // loopback: Spark discovery may probe the driver IP
    DB_CONTAINER_IP: ip,
    DB_INSTANCE_TYPE: 'i3.xlarge',
    DB_IS_JOB_CLUSTER: 'FALSE',
    DATABRICKS_RUNTIME_VERSION: '15.4',
  };
}

async function byRole(prom: string, query: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of await promQuery(prom, query)) out[r.metric.role ?? ''] = Number(r.value[1]);
  return out;
}

describe('simulated cluster: 1 driver + 3 workers → Pushgateway → Prometheus', function () {
  this.timeout(120000);
  let pg: Server;
  let prom: Server;
  let spark: FakeSpark;
  const agents: Daemon[] = [];

  before(async () => {
    requireBundle();
    spark = await startFakeSpark();
    pg = await startPushgateway();
    prom = await startPrometheus(
      `global: {scrape_interval: 1s, evaluation_interval: 1s}\n` +
        `scrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    static_configs: [{targets: ['${pg.url.replace('http://', '')}']}]\n`,
    );
    const common = ['run', '--interval', '1s', '--idle-interval', '1s', '--pushgateway-url', pg.url];
    agents.push(
      startAgent([...common, '--node-name', 'sim-driver', '--spark-url', spark.url], context('driver', '10.1.0.1')),
    );
    for (let i = 1; i <= 3; i++)
      agents.push(startAgent([...common, '--node-name', `sim-worker-${i}`], context('worker', `10.1.0.${i + 1}`)));
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.stop('SIGTERM')));
    await prom?.stop();
    await pg?.stop();
    await spark?.close();
  });

  it('Prometheus counts 1 driver and 3 workers by role', async () => {
    const q = `count by (role) (node_load1{cluster_id="${CLUSTER_ID}"})`;
    await waitFor(async () => {
      const c = await byRole(prom.url, q);
      return c.driver === 1 && c.worker === 3;
    }, 60000, q);
    assert.deepEqual(await byRole(prom.url, q), { driver: 1, worker: 3 });
    // Every node is its own Pushgateway group, with its own identity.
    const nodes = await promQuery(prom.url, `count by (node, node_ip, role, instance_type) (node_load1{cluster_id="${CLUSTER_ID}"})`);
    assert.deepEqual(
      nodes.map((n) => `${n.metric.node} ${n.metric.node_ip} ${n.metric.role} ${n.metric.instance_type}`).sort(),
      ['sim-driver 10.1.0.1 driver i3.xlarge', 'sim-worker-1 10.1.0.2 worker i3.xlarge', 'sim-worker-2 10.1.0.3 worker i3.xlarge', 'sim-worker-3 10.1.0.4 worker i3.xlarge'],
    );
  });

  it('Spark series come only from the driver', async () => {
    const q = `count by (role, node) ({__name__=~"spark_.+", cluster_id="${CLUSTER_ID}"})`;
    await waitFor(async () => (await promQuery(prom.url, q)).length > 0, 60000, q);
    const sources = await promQuery(prom.url, q);
    assert.deepEqual(sources.map((s) => `${s.metric.role} ${s.metric.node}`), ['driver sim-driver']);
    // The driver read the fake Spark API; the workers never ran a Spark source.
    assert.ok(spark.requests.includes('/api/v1/applications'));
    const up = await promQuery(prom.url, `dbx_agent_source_up{source="spark", cluster_id="${CLUSTER_ID}"}`);
    assert.deepEqual(up.map((u) => u.metric.node), ['sim-driver']);
    assert.equal(up[0]!.value[1], '1');
    // Executor series carry the application and executor ids.
    const exec = await promQuery(prom.url, `spark_executor_memory_used_bytes{cluster_id="${CLUSTER_ID}"}`);
    assert.ok(exec.length > 0);
    assert.ok(exec.every((e) => e.metric.spark_app_id && e.metric.executor_id && e.metric.role === 'driver'));
  });

  it('a terminated cluster leaves no group behind', async () => {
    await Promise.all(agents.map((a) => a.stop('SIGTERM')));
    const left = await pushgatewaySeries(pg.url);
    assert.deepEqual([...new Set(left.map((s) => s.group.node))], []);
  });
});
