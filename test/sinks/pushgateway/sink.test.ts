import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPushgatewaySink } from '../../../agent/sinks/pushgateway/sink';
import { createHttpClient } from '../../../agent/http/client';
import { buildConfig } from '../../../agent/config';
import { captureLogs, log } from '../../../agent/core/log';
import { gauge } from '../../../agent/core/sample';
import { freePort, pushgatewaySeries, startPushgateway, waitFor, type Server } from '../../helpers/servers';
import { runAgent, startAgent } from '../../helpers/agent';

const DRIVER_ENV = {
  DB_CLUSTER_ID: '0101-120000-abcd123',
  DB_CLUSTER_NAME: `Data Eng's "shared" cluster`,
  DB_IS_DRIVER: 'TRUE',
  DB_DRIVER_IP: '127.0.0.1',
  DB_CONTAINER_IP: '10.0.1.4',
  DB_INSTANCE_TYPE: 'i3.xlarge',
  DB_IS_JOB_CLUSTER: 'FALSE',
  DATABRICKS_RUNTIME_VERSION: '15.4',
};

const executorMemory = gauge('test_executor_memory_used_bytes', 'Test executor memory.');

describe('sinks/pushgateway (real Pushgateway)', function () {
  this.timeout(60000);
  let pg: Server;
  before(async () => (pg = await startPushgateway(['--web.enable-admin-api'])));
  after(async () => pg?.stop());
  beforeEach(async () => {
    await fetch(`${pg.url}/api/v1/admin/wipe`, { method: 'PUT' });
  });

  it('once: the group holds the node series with every DESIGN label', async () => {
    const r = await runAgent(['once', '--pushgateway-url', pg.url, '--node-name', 'ip-10-0-1-4', '--sources', 'host,self'], DRIVER_ENV);
    assert.equal(r.code, 0, r.stderr);
    const series = await pushgatewaySeries(pg.url);
    const load = series.find((s) => s.name === 'node_load1');
    assert.ok(load, 'node_load1 pushed');
    assert.deepEqual(load.group, { job: 'databricks', cluster_id: '0101-120000-abcd123', node: 'ip-10-0-1-4' });
    // The Pushgateway's API shows an empty `instance` on every pushed series.
    const { instance, ...labels } = load.labels;
    assert.equal(instance, '');
    assert.deepEqual(labels, {
      job: 'databricks',
      cluster_id: '0101-120000-abcd123',
      cluster_name: `Data Eng's "shared" cluster`,
      node: 'ip-10-0-1-4',
      node_ip: '10.0.1.4',
      role: 'driver',
      instance_type: 'i3.xlarge',
    });
    assert.ok(series.some((s) => s.name === 'dbx_agent_build_info' && s.labels.version));
    // No timestamps were sent: the Pushgateway would have answered 400.
  });

  it('labels job clusters with job_id and run_id', async () => {
    const r = await runAgent(['once', '--pushgateway-url', pg.url, '--sources', 'self'], {
      ...DRIVER_ENV,
      DB_CLUSTER_NAME: 'job-123456-run-789-etl_task',
      DB_IS_JOB_CLUSTER: 'TRUE',
    });
    assert.equal(r.code, 0, r.stderr);
    const s = (await pushgatewaySeries(pg.url)).find((x) => x.name === 'dbx_agent_build_info')!;
    assert.equal(s.labels.job_id, '123456');
    assert.equal(s.labels.run_id, '789');
  });

  it('a second PUT replaces the group: a series that left disappears', async () => {
    const config = buildConfig({ pushgatewayUrl: pg.url }, {});
    const sink = createPushgatewaySink({
      url: pg.url,
      job: 'databricks',
      clusterId: 'c/with/slash',
      node: 'n1',
      http: createHttpClient(config, { timeoutMs: 5000 }),
      logger: log,
    });
    await sink.send({ samples: [executorMemory({ executor_id: '1' }, 10), executorMemory({ executor_id: '2' }, 20)], timestampMs: Date.now() });
    let series = (await pushgatewaySeries(pg.url)).filter((s) => s.name === 'test_executor_memory_used_bytes');
    assert.deepEqual(series.map((s) => s.labels.executor_id).sort(), ['1', '2']);
    assert.equal(series[0]!.group.cluster_id, 'c/with/slash');
    await sink.send({ samples: [executorMemory({ executor_id: '1' }, 11)], timestampMs: Date.now() });
    series = (await pushgatewaySeries(pg.url)).filter((s) => s.name === 'test_executor_memory_used_bytes');
    assert.deepEqual(series.map((s) => [s.labels.executor_id, s.value]), [['1', 11]]);
    await sink.close({ nodeLeaving: true });
    assert.deepEqual((await pushgatewaySeries(pg.url)).filter((s) => s.group.node === 'n1'), []);
  });

  it('run: SIGTERM pushes, deletes the group and exits 0', async () => {
    const agent = startAgent(['run', '--pushgateway-url', pg.url, '--interval', '1s', '--idle-interval', '1s', '--sources', 'self', '--node-name', 'term-node'], DRIVER_ENV);
    await waitFor(async () => (await pushgatewaySeries(pg.url)).some((s) => s.group.node === 'term-node'), 15000, 'first push');
    const { code } = await agent.stop('SIGTERM');
    assert.equal(code, 0, agent.stderr());
    assert.deepEqual((await pushgatewaySeries(pg.url)).filter((s) => s.group.node === 'term-node'), []);
    assert.match(agent.stderr(), /deleted Pushgateway group/);
  });

  it('run: a second SIGTERM right after the first still ends with the DELETE and exit 0', async () => {
    const agent = startAgent(['run', '--pushgateway-url', pg.url, '--interval', '1s', '--idle-interval', '1s', '--sources', 'self', '--node-name', 'twice-node'], DRIVER_ENV);
    await waitFor(async () => (await pushgatewaySeries(pg.url)).some((s) => s.group.node === 'twice-node'), 15000, 'first push');
    agent.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 10));
    const { code } = await agent.stop('SIGTERM');
    assert.equal(code, 0, agent.stderr());
    assert.deepEqual((await pushgatewaySeries(pg.url)).filter((s) => s.group.node === 'twice-node'), []);
  });

  it('run: the DELETE waits for a slow PUT in flight, so no ghost group comes back', async () => {
    // A Pushgateway stand-in that takes 2.5 s to answer PUTs and records the order of events.
    const events: string[] = [];
    let slow = false;
    const server = http.createServer((req, res) => {
      const what = `${req.method}`;
      req.resume();
      req.on('end', () => {
        events.push(`${what} received`);
        const answer = () => {
          events.push(`${what} answered`);
          res.writeHead(req.method === 'DELETE' ? 202 : 200).end();
        };
        if (req.method === 'PUT' && slow) setTimeout(answer, 2500);
        else answer();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const agent = startAgent(['run', '--pushgateway-url', url, '--interval', '1s', '--idle-interval', '1s', '--sources', 'self'], DRIVER_ENV);
    try {
      await waitFor(async () => events.includes('PUT answered'), 15000, 'first push');
      slow = true;
      events.length = 0;
      await waitFor(async () => events.includes('PUT received'), 5000, 'a slow PUT in flight');
      const { code } = await agent.stop('SIGTERM');
      assert.equal(code, 0, agent.stderr());
      const del = events.indexOf('DELETE received');
      assert.ok(del > 0, `a DELETE was sent: ${events.join(', ')}`);
      assert.ok(events.slice(0, del).includes('PUT answered'), `DELETE only after the PUT finished: ${events.join(', ')}`);
      assert.doesNotMatch(agent.stderr(), /exit deadline reached/);
    } finally {
      await agent.stop('SIGKILL');
      server.closeAllConnections();
      server.close();
    }
  });

  it('run --keep-on-exit: SIGINT leaves the group in place', async () => {
    const agent = startAgent(['run', '--pushgateway-url', pg.url, '--interval', '1s', '--idle-interval', '1s', '--sources', 'self', '--node-name', 'keep-node', '--keep-on-exit'], DRIVER_ENV);
    await waitFor(async () => (await pushgatewaySeries(pg.url)).some((s) => s.group.node === 'keep-node'), 15000, 'first push');
    const { code } = await agent.stop('SIGINT');
    assert.equal(code, 0);
    assert.ok((await pushgatewaySeries(pg.url)).some((s) => s.group.node === 'keep-node'));
  });

  it('a down Pushgateway is logged once, counted, and the loop goes on until it is back', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const agent = startAgent(['run', '--pushgateway-url', url, '--interval', '1s', '--idle-interval', '1s', '--sources', 'self', '--node-name', 'outage-node'], DRIVER_ENV);
    let late: Server | undefined;
    try {
      await waitFor(async () => /push to Pushgateway failed/.test(agent.stderr()), 10000, 'first failure');
      await new Promise((r) => setTimeout(r, 3000)); // several more failed cycles
      late = await startPushgateway([], port);
      await waitFor(async () => /push to Pushgateway recovered/.test(agent.stderr()), 20000, 'recovery').catch((e: Error) => {
        throw new Error(`${e.message}\n${agent.stderr()}`);
      });
      await waitFor(async () => (await pushgatewaySeries(url)).some((s) => s.name === 'dbx_agent_push_total'), 20000, 'push counters');
      const failures = (await pushgatewaySeries(url)).find(
        (s) => s.name === 'dbx_agent_push_total' && s.labels.result === 'failure',
      )!;
      assert.ok(failures.value >= 2, `failures counted: ${failures.value}`);
      const errors = agent.stderr().split('\n').filter((l) => l.includes('"level":"error"'));
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.equal(agent.proc.exitCode, null, 'still running');
    } finally {
      await agent.stop();
      await late?.stop();
    }
  });

  it('never sends secrets to the log when a push fails', async () => {
    const lines: string[] = [];
    const restore = captureLogs((l) => lines.push(l));
    try {
      const port = await freePort();
      const config = buildConfig({ pushgatewayUrl: `http://127.0.0.1:${port}` }, { DBX_PROM_BEARER_TOKEN: 'sekret-token-xyz' });
      const sink = createPushgatewaySink({
        url: `http://127.0.0.1:${port}`,
        job: 'databricks',
        clusterId: 'c',
        node: 'n',
        http: createHttpClient(config, { timeoutMs: 2000 }),
        logger: log,
      });
      await assert.rejects(sink.send({ samples: [executorMemory({}, 1)], timestampMs: Date.now() }), /ECONNREFUSED/);
    } finally {
      restore();
    }
    assert.equal(lines.length, 1);
    assert.doesNotMatch(lines.join('\n'), /sekret-token-xyz/);
  });
});
