/**
 * `run` stopping, through the bundle, a real Pushgateway and a recording proxy in front of it:
 * whatever is in flight when the signal comes (a slow Spark, a hung PUT), the group is deleted
 * and nothing is pushed after the DELETE, or the log says the group is left for `gc`.
 */
import assert from 'node:assert/strict';
import { startAgent, type Daemon } from '../helpers/agent';
import { keepsOptimizingCompiler } from '../../agent/commands/run';
import { buildConfig } from '../../agent/config';
import { readContext } from '../../agent/databricks/context';
import { databricksFixture, databricksRoutes, startFakeSpark, type FakeSpark } from '../helpers/fake-spark';
import { startGateProxy, type GateProxy } from '../helpers/gate-proxy';
import { pushgatewaySeries, startPushgateway, waitFor, type Server } from '../helpers/servers';

const DRIVER_ENV = { DB_CLUSTER_ID: '0101-120000-stop', DB_IS_DRIVER: 'TRUE', DB_DRIVER_IP: '127.0.0.1' };

describe('commands/run: stopping', function () {
  this.timeout(60000);
  let pg: Server;
  let proxy: GateProxy;
  let spark: FakeSpark | undefined;
  let agent: Daemon | undefined;

  before(async () => (pg = await startPushgateway()));
  after(async () => pg?.stop());
  beforeEach(async () => (proxy = await startGateProxy(pg.url)));
  afterEach(async () => {
    await agent?.stop('SIGKILL');
    agent = undefined;
    await spark?.close();
    spark = undefined;
    await proxy.close();
  });

  const start = (node: string, extra: string[] = []): Daemon =>
    startAgent(['run', '--pushgateway-url', proxy.url, '--interval', '1s', '--idle-interval', '1s', '--node-name', node, ...extra], DRIVER_ENV);
  const groupOf = async (node: string) => (await pushgatewaySeries(pg.url)).filter((s) => s.group.node === node);
  /** From now on the Pushgateway holds PUTs without an answer; resolves once one hangs. */
  const hangPuts = async (): Promise<void> => {
    proxy.hold('PUT');
    const puts = proxy.arrivals().filter((m) => m === 'PUT').length;
    await waitFor(async () => proxy.arrivals().filter((m) => m === 'PUT').length > puts, 10000, 'a hung PUT');
  };
  /** Methods that reached the Pushgateway after the first DELETE. */
  const afterDelete = (): string[] => {
    const a = proxy.arrivals();
    return a.slice(a.indexOf('DELETE') + 1);
  };

  it('SIGTERM during a slow Spark cycle: the cycle is stopped, the group deleted, no PUT after the DELETE', async () => {
    spark = await startFakeSpark(databricksRoutes());
    // The driver answers its applications list one byte a second.
    spark.route('/api/v1/applications', { trickle: databricksFixture('applications.json'), trickleMs: 1000 });
    agent = start('slow-spark', ['--spark-url', spark.url, '--sources', 'spark,host,self']);
    await waitFor(async () => (await groupOf('slow-spark')).length > 0, 20000, 'a first push');
    // A new cycle has asked Spark and waits on it.
    const asked = spark.requests.length;
    await waitFor(async () => spark!.requests.length > asked, 10000, 'a cycle waiting on Spark');
    const { code } = await agent.stop('SIGTERM');
    const log = agent.stderr();
    agent = undefined;
    assert.equal(code, 0, log);
    assert.ok(proxy.arrivals().includes('DELETE'), proxy.arrivals().join(' '));
    assert.deepEqual(afterDelete(), [], `requests after the DELETE: ${proxy.arrivals().join(' ')}`);
    assert.deepEqual(await groupOf('slow-spark'), []);
    // The signal did cut a cycle waiting on Spark, not a pause between two, and that is not
    // logged as a failure of the source.
    assert.match(log, /"msg":"stopping","signal":"SIGTERM","cycle_in_flight":true/);
    assert.doesNotMatch(log, /cut short: the agent is stopping/);
    assert.match(log, /deleted Pushgateway group/);
  });

  it('SIGTERM while a PUT hangs: the PUT is aborted, the DELETE still goes out, and both are said', async () => {
    agent = start('hung-put', ['--sources', 'self']);
    await waitFor(async () => (await groupOf('hung-put')).length > 0, 20000, 'a first push');
    await hangPuts();
    const { code } = await agent.stop('SIGTERM');
    const log = agent.stderr();
    agent = undefined;
    assert.equal(code, 0, log);
    assert.deepEqual(afterDelete(), [], proxy.arrivals().join(' '));
    assert.ok(proxy.arrivals().includes('DELETE'), `no DELETE: ${proxy.arrivals().join(' ')}\n${log}`);
    assert.deepEqual(await groupOf('hung-put'), []);
    assert.match(log, /a push to the Pushgateway still hangs at exit: aborted/);
    assert.match(log, /deleted Pushgateway group/);
  });

  it('SIGTERM with the Pushgateway hung altogether: exits 0 and says the group is left for gc', async () => {
    agent = start('hung-all', ['--sources', 'self']);
    await waitFor(async () => (await groupOf('hung-all')).length > 0, 20000, 'a first push');
    proxy.hold('DELETE');
    await hangPuts();
    const { code } = await agent.stop('SIGTERM');
    const log = agent.stderr();
    agent = undefined;
    assert.equal(code, 0, log);
    assert.match(log, /could not delete the Pushgateway group before exit: it is left for `dbx-prom-agent gc`/);
  });

  it('a second SIGTERM while stopping (the DELETE on its way) does not kill the agent: the DELETE lands, exit 0', async () => {
    // systemd signals every process of the unit and a wrapper may forward the same SIGTERM: the
    // second one comes while the agent is stopping. The DELETE is held at a gate, so the agent
    // is provably in its stopping phase, waiting on it, when the second signal comes.
    const gate = await startGateProxy(pg.url);
    try {
      const a = (agent = startAgent(
        ['run', '--pushgateway-url', gate.url, '--interval', '1s', '--idle-interval', '1s', '--node-name', 'twice-node', '--sources', 'self'],
        DRIVER_ENV,
      ));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        a.proc.once('exit', (code, signal) => resolve({ code, signal })),
      );
      await gate.when((e) => e.method === 'PUT' && e.what === 'answered');
      assert.ok((await groupOf('twice-node')).length > 0, 'first push');
      const del = gate.hold('DELETE');
      a.proc.kill('SIGTERM');
      await del.arrived;
      await waitFor(async () => /"msg":"stopping","signal":"SIGTERM"/.test(a.stderr()), 5000, 'the "stopping" line');
      assert.equal(a.proc.exitCode, null, 'still stopping');
      a.proc.kill('SIGTERM');
      del.release();
      const { code, signal } = await exited;
      const log = a.stderr();
      agent = undefined;
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, log);
      assert.ok(gate.events.some((e) => e.method === 'DELETE' && e.what === 'answered'), gate.describe());
      assert.deepEqual(await groupOf('twice-node'), []);
      assert.match(log, /deleted Pushgateway group/);
      assert.equal(log.match(/"msg":"stopping"/g)?.length, 1, log);
    } finally {
      await gate.close();
    }
  });

  it('SIGHUP (a closed terminal) stops like SIGTERM: group deleted, exit 0', async () => {
    agent = start('hup-node', ['--sources', 'self']);
    await waitFor(async () => (await groupOf('hup-node')).length > 0, 20000, 'a first push');
    const { code } = await agent.stop('SIGHUP');
    const log = agent.stderr();
    agent = undefined;
    assert.equal(code, 0, log);
    assert.match(log, /"msg":"stopping","signal":"SIGHUP"/);
    assert.deepEqual(await groupOf('hup-node'), []);
  });
});

describe('run: V8 optimising compiler', () => {
  const driver = readContext({ DB_CLUSTER_ID: 'c', DB_IS_DRIVER: 'TRUE' });
  const worker = readContext({ DB_CLUSTER_ID: 'c', DB_IS_DRIVER: 'FALSE' });
  const config = (flags: Record<string, unknown>) => buildConfig({ pushgatewayUrl: 'http://127.0.0.1:9091', ...flags }, {});

  it('kept only on a driver forwarding Spark\'s Prometheus endpoints, where JavaScript work grows with the cluster', () => {
    assert.equal(keepsOptimizingCompiler(config({ sparkPrometheus: true }), driver), true);
    // The same cluster-wide settings on a worker (no Spark source there), and a driver without forwarding.
    assert.equal(keepsOptimizingCompiler(config({ sparkPrometheus: true }), worker), false);
    assert.equal(keepsOptimizingCompiler(config({}), driver), false);
    assert.equal(keepsOptimizingCompiler(config({ sparkPrometheus: true, sources: 'host,self' }), driver), false);
  });
});
