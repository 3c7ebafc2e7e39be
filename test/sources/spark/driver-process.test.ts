import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DriverProcessFinder, driverScore, parseStatusRss } from '../../../agent/sources/spark/driver-process';
import { tempDir } from '../../helpers/servers';

const cmd = (...args: string[]) => args.join('\0') + '\0';
// Shortened real command lines.
const DATABRICKS_DRIVER = cmd('/usr/lib/jvm/zulu8-ca-amd64/jre/bin/java', '-Xmx7g', '-Dspark.driver.port=6000', '-cp', '/databricks/jars/*', 'com.databricks.backend.daemon.driver.DriverDaemon');
const SPARK_SUBMIT = cmd('/usr/bin/java', '-cp', '/opt/spark/conf/:/opt/spark/jars/*', '-Xmx1g', 'org.apache.spark.deploy.SparkSubmit', '--master', 'local[*]', 'app.py');
const EXECUTOR = cmd('/usr/bin/java', '-Dspark.driver.port=6000', 'org.apache.spark.executor.CoarseGrainedExecutorBackend', '--driver-url', 'spark://CoarseGrainedScheduler@10.0.0.1:6000');

describe('spark/driver-process', () => {
  it('scores command lines', () => {
    assert.equal(driverScore(DATABRICKS_DRIVER), 2);
    assert.equal(driverScore(SPARK_SUBMIT), 2);
    assert.equal(driverScore(EXECUTOR), 0);
    assert.equal(driverScore(cmd('/usr/bin/java', '-Dspark.driver.memory=1g', 'Main')), 1);
    assert.equal(driverScore(cmd('python3', 'org.apache.spark.deploy.SparkSubmit')), 0);
    assert.equal(driverScore(''), 0);
  });

  it('reads VmRSS in bytes', () => {
    assert.equal(parseStatusRss('Name:\tjava\nVmHWM:\t  999 kB\nVmRSS:\t 1234 kB\n'), 1234 * 1024);
    assert.equal(parseStatusRss('Name:\tkthreadd\n'), undefined);
  });

  describe('in a fake /proc', () => {
    let root: string;
    const proc = (pid: number, cmdline: string, rssKb?: number) => {
      mkdirSync(path.join(root, 'proc', String(pid)), { recursive: true });
      writeFileSync(path.join(root, 'proc', String(pid), 'cmdline'), cmdline);
      writeFileSync(path.join(root, 'proc', String(pid), 'status'), rssKb === undefined ? 'Name:\tx\n' : `Name:\tjava\nVmRSS:\t${rssKb} kB\n`);
    };
    beforeEach(() => {
      root = tempDir();
      mkdirSync(path.join(root, 'proc', 'sys'), { recursive: true });
      proc(1, cmd('/sbin/init'), 100);
      proc(200, EXECUTOR, 9000);
      proc(300, cmd('/usr/bin/java', '-Dspark.driver.memory=1g', 'Main'), 5000);
      proc(400, DATABRICKS_DRIVER, 7340032);
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it('finds the driver JVM, not an executor or a weaker match', async () => {
      assert.deepEqual(await new DriverProcessFinder(root).read(), { pid: 400, rssBytes: 7340032 * 1024 });
    });

    it('follows the driver when it restarts under a new pid (and the old pid is reused)', async () => {
      const f = new DriverProcessFinder(root);
      assert.equal((await f.read())!.pid, 400);
      proc(400, cmd('/bin/bash'), 10);
      proc(500, DATABRICKS_DRIVER, 2048);
      assert.deepEqual(await f.read(), { pid: 500, rssBytes: 2048 * 1024 });
    });

    it('answers undefined when there is no driver or no /proc', async () => {
      rmSync(path.join(root, 'proc', '400'), { recursive: true });
      rmSync(path.join(root, 'proc', '300'), { recursive: true });
      assert.equal(await new DriverProcessFinder(root).read(), undefined);
      assert.equal(await new DriverProcessFinder(path.join(root, 'nowhere')).read(), undefined);
    });

    it('after a scan that found no driver, scans /proc again only every fourth cycle', async () => {
      rmSync(path.join(root, 'proc', '400'), { recursive: true });
      rmSync(path.join(root, 'proc', '300'), { recursive: true });
      const f = new DriverProcessFinder(root);
      assert.equal(await f.read(), undefined); // scanned: nothing
      proc(600, DATABRICKS_DRIVER, 4096); // the driver JVM starts
      for (let i = 0; i < 3; i++) assert.equal(await f.read(), undefined, `cycle ${i + 2} skips the scan`);
      assert.deepEqual(await f.read(), { pid: 600, rssBytes: 4096 * 1024 });
    });
  });
});
