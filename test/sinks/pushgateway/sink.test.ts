import assert from 'node:assert/strict';
import { createPushgatewaySink } from '../../../agent/sinks/pushgateway/sink';
import { createHttpClient } from '../../../agent/http/client';
import { buildConfig } from '../../../agent/config';
import { captureLogs, log } from '../../../agent/core/log';
import { gauge } from '../../../agent/core/sample';
import { freePort, pushgatewaySeries, startPushgateway, waitFor, type Server } from '../../helpers/servers';
import { runAgent, startAgent } from '../../helpers/agent';
import { startGateProxy } from '../../helpers/gate-proxy';

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

  it('run: a PUT still in flight at exit is waited for, then given up, and only then the DELETE goes out', async () => {
    // A PUT held at a gate, never answered: stopping may not DELETE while it is on its way (it
    // would land after the DELETE and bring the group back as a ghost), so the agent must give it
    // up first. Nothing here depends on time: the order of events is the test.
    const gate = await startGateProxy(pg.url);
    const agent = startAgent(['run', '--pushgateway-url', gate.url, '--interval', '1s', '--idle-interval', '1s', '--sources', 'self', '--node-name', 'slow-put'], DRIVER_ENV);
    try {
      await gate.when((e) => e.method === 'PUT' && e.what === 'answered');
      const put = gate.hold('PUT');
      await put.arrived;
      const held = gate.events.length - 1;
      const { code } = await agent.stop('SIGTERM');
      const log = agent.stderr();
      assert.equal(code, 0, log);
      const after = gate.events.slice(held).map((e) => `${e.method} ${e.what}`);
      assert.deepEqual(after.slice(0, 4), ['PUT received', 'PUT aborted', 'DELETE received', 'DELETE answered'], gate.describe());
      assert.deepEqual(after.slice(4), [], `nothing after the DELETE: ${gate.describe()}`);
      assert.deepEqual((await pushgatewaySeries(pg.url)).filter((s) => s.group.node === 'slow-put'), []);
      assert.match(log, /a push to the Pushgateway still hangs at exit: aborted/);
      assert.match(log, /deleted Pushgateway group/);
      assert.doesNotMatch(log, /exit deadline reached/);
    } finally {
      await agent.stop('SIGKILL');
      await gate.close();
    }
  });

  it('close waits for a slow PUT in flight and DELETEs only once it is answered', async () => {
    const gate = await startGateProxy(pg.url);
    const http = createHttpClient(buildConfig({ pushgatewayUrl: gate.url }, {}), { timeoutMs: 20000 });
    // What the gate had seen when the sink asked for the DELETE.
    const seenAtDelete: string[] = [];
    const del = http.delete.bind(http);
    http.delete = ((...args: Parameters<typeof http.delete>) => {
      seenAtDelete.push(gate.describe());
      return del(...args);
    }) as typeof http.delete;
    const lines: string[] = [];
    const restore = captureLogs((l) => lines.push(l));
    try {
      const sink = createPushgatewaySink({ url: gate.url, job: 'databricks', clusterId: 'c', node: 'slow-put-2', http, logger: log });
      await sink.send({ samples: [executorMemory({ executor_id: '1' }, 1)], timestampMs: Date.now() });
      const put = gate.hold('PUT');
      const second = sink.send({ samples: [executorMemory({ executor_id: '1' }, 2)], timestampMs: Date.now() });
      await put.arrived;
      const closed = sink.close({ nodeLeaving: true, deadline: Date.now() + 15000 });
      // The PUT is answered only after close() began: a close that does not wait has asked for
      // its DELETE by the time the Pushgateway's answer comes back.
      put.release();
      await second;
      await closed;
      assert.deepEqual(seenAtDelete, ['PUT received, PUT answered, PUT received, PUT answered']);
      assert.deepEqual(
        gate.events.map((e) => `${e.method} ${e.what}`),
        ['PUT received', 'PUT answered', 'PUT received', 'PUT answered', 'DELETE received', 'DELETE answered'],
      );
      assert.deepEqual((await pushgatewaySeries(pg.url)).filter((s) => s.group.node === 'slow-put-2'), []);
    } finally {
      restore();
      await gate.close();
    }
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['deleted Pushgateway group']);
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
    // At debug, every failed cycle says so (the first at error, then "still failing" at debug):
    // the test counts cycles in the log instead of sleeping through a few.
    const agent = startAgent(['run', '--pushgateway-url', url, '--interval', '1s', '--idle-interval', '1s', '--sources', 'self', '--node-name', 'outage-node', '--log-level', 'debug'], DRIVER_ENV);
    let late: Server | undefined;
    try {
      await waitFor(async () => /push to Pushgateway failed/.test(agent.stderr()), 10000, 'first failure');
      const failedCycles = () => agent.stderr().match(/"msg":"push to Pushgateway [^"]*fail/g)?.length ?? 0;
      await waitFor(async () => failedCycles() >= 3, 20000, 'three failed cycles');
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
