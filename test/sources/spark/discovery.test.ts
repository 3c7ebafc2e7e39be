import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { log } from '../../../agent/core/log';
import { parseUiPort, REDISCOVER_AFTER, SparkDiscovery } from '../../../agent/sources/spark/discovery';
import { createSparkClient } from '../../../agent/sources/spark/client';
import { freePort, tempDir } from '../../helpers/servers';
import { startFakeSpark, type FakeSpark } from '../../helpers/fake-spark';

describe('spark/discovery', () => {
  it('parses CONF_UI_PORT from the driver env file', () => {
    assert.equal(parseUiPort('CONF_DRIVER_PORT=6000\nCONF_UI_PORT=40001\n'), 40001);
    assert.equal(parseUiPort('export CONF_UI_PORT="4041"'), 4041);
    assert.equal(parseUiPort("  CONF_UI_PORT='40001' # set by the daemon"), 40001);
    assert.equal(parseUiPort('CONF_UI_PORT=\nCONF_UI_PORTS=1'), undefined);
    assert.equal(parseUiPort('CONF_UI_PORT=99999'), undefined);
    assert.equal(parseUiPort('#CONF_UI_PORT=40001'), undefined);
  });

  describe('against local servers', () => {
    let spark: FakeSpark;
    let dir: string;
    const client = createSparkClient({ timeoutMs: 2000, maxResponseBytes: 1 << 20 });
    const probe = async (u: string) => Array.isArray(await client.json(`${u}/api/v1/applications`));

    beforeEach(async () => {
      spark = await startFakeSpark();
      dir = tempDir();
    });
    afterEach(async () => {
      await spark.close();
      rmSync(dir, { recursive: true, force: true });
    });
    after(() => client.close());

    it('uses --spark-url as given, without probing', async () => {
      let probes = 0;
      const d = new SparkDiscovery({ configuredUrl: 'http://127.0.0.1:1', driverEnvFile: '/nonexistent', logger: log, probe: async () => (probes++, true) });
      assert.deepEqual(await d.resolve(), { url: 'http://127.0.0.1:1', how: 'flag' });
      assert.equal(probes, 0);
    });

    it('re-reads the driver env file until it appears, then uses its port on the driver IP', async () => {
      const envFile = path.join(dir, 'driver-env.sh');
      const closed = await freePort();
      const d = new SparkDiscovery({ driverEnvFile: envFile, driverIp: '127.0.0.1', probePorts: [closed], logger: log, probe });
      assert.equal(await d.resolve(), undefined);
      assert.match(d.describeAttempts(), new RegExp(`no CONF_UI_PORT in .*driver-env.sh and no Spark REST API on port ${closed} of 127.0.0.1`));
      writeFileSync(envFile, `CONF_UI_PORT=${spark.port}\n`);
      assert.deepEqual(await d.resolve(), { url: `http://127.0.0.1:${spark.port}`, how: 'driver-env' });
    });

    it('probes the ports in order and takes the first that answers like Spark', async () => {
      const closed = await freePort();
      const other = await startFakeSpark(new Map([['/api/v1/applications', { body: '<html>login</html>', contentType: 'text/html' }]]));
      try {
        const d = new SparkDiscovery({ driverEnvFile: path.join(dir, 'none'), probePorts: [closed, other.port, spark.port], logger: log, probe });
        assert.deepEqual(await d.resolve(), { url: `http://127.0.0.1:${spark.port}`, how: 'probe' });
        assert.ok(other.requests.includes('/api/v1/applications'), 'the HTML answer was probed and refused');
      } finally {
        await other.close();
      }
    });

    it('keeps the found URL, and looks again after repeated failures', async () => {
      const envFile = path.join(dir, 'driver-env.sh');
      writeFileSync(envFile, `CONF_UI_PORT=${spark.port}\n`);
      const d = new SparkDiscovery({ driverEnvFile: envFile, probePorts: [], logger: log, probe });
      assert.equal((await d.resolve())!.url, `http://127.0.0.1:${spark.port}`);
      writeFileSync(envFile, 'CONF_UI_PORT=4999\n');
      for (let i = 0; i < REDISCOVER_AFTER - 1; i++) d.failed();
      assert.equal((await d.resolve())!.url, `http://127.0.0.1:${spark.port}`, 'still cached');
      d.failed();
      assert.equal((await d.resolve())!.url, 'http://127.0.0.1:4999', 'looked up again');
      d.succeeded();
    });
  });
});
