import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { heapFromCounters, parsePerfData, readJvmHeap } from '../../../agent/sources/spark/hsperfdata';
import { DriverProcessFinder, driverScore } from '../../../agent/sources/spark/driver-process';
import { tempDir, waitFor } from '../../helpers/servers';
import { G1_LIKE, G1_REAL, perfData } from './perfdata-writer';


describe('spark/hsperfdata', () => {
  for (const le of [true, false])
    it(`reads long and string counters of a ${le ? 'little' : 'big'}-endian JVM`, () => {
      const c = parsePerfData(perfData(G1_LIKE, le));
      assert.equal(c.get('sun.gc.generation.1.space.0.used'), 1073741824);
      assert.equal(c.get('sun.rt.javaCommand'), 'com.databricks.backend.daemon.driver.DriverDaemon');
      assert.deepEqual(heapFromCounters(c), { usedBytes: 104857600 + 8388608 + 1073741824, maxBytes: 2684354560 + 5368709120 });
    });

  it("G1: the heap is each generation's maximum, not their sum (padding rounded away)", () => {
    assert.deepEqual(heapFromCounters(parsePerfData(perfData(G1_REAL, true))), { usedBytes: 13631488 + 10407936, maxBytes: 512 * 1024 * 1024 });
  });

  it('refuses what is not perf data and tolerates a truncated file', () => {
    assert.throws(() => parsePerfData(Buffer.from('hello world, this is not a perf data file')), /not a HotSpot perf data file/);
    const full = perfData(G1_LIKE, true);
    const c = parsePerfData(full.subarray(0, full.length - 30));
    // The last entry (metaspace) is cut off; the ones before it are read.
    assert.equal(c.size, 7);
    assert.equal(c.has('sun.gc.metaspace.used'), false);
    assert.equal(heapFromCounters(new Map([['sun.gc.metaspace.used', 1]])), undefined);
  });

  it('finds the file of a pid under tmp/hsperfdata_<user>', async () => {
    const root = tempDir();
    try {
      mkdirSync(path.join(root, 'tmp', 'hsperfdata_root'), { recursive: true });
      writeFileSync(path.join(root, 'tmp', 'hsperfdata_root', '4242'), perfData(G1_LIKE, true));
      assert.deepEqual(await readJvmHeap(4242, root), { usedBytes: 1186988032, maxBytes: 8053063680 });
      assert.equal(await readJvmHeap(4243, root), undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  describe('a real JVM, compared with jstat', function () {
    const hasJava = spawnSync('jstat', ['-help']).status === 0;
    let jvm: ChildProcess | undefined;
    let dir: string;
    before(function () {
      // CI without a JDK: the synthetic buffers above still run.
      if (!hasJava) this.skip();
      dir = tempDir();
      writeFileSync(
        path.join(dir, 'Driver.java'),
        'public class Driver { public static void main(String[] a) throws Exception { byte[] keep = new byte[8 << 20]; System.out.println("ready " + keep.length); Thread.sleep(120000); } }',
      );
    });
    after(() => {
      jvm?.kill('SIGKILL');
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    for (const gc of ['-XX:+UseSerialGC', '-XX:+UseParallelGC', '-XX:+UseG1GC'])
      it(`reads the same heap as jstat -gc (${gc}) of a JVM found as the Spark driver`, async () => {
        // The class name rides along as an argument, the way spark-submit's main class does.
        jvm = spawn('java', ['-Xmx256m', gc, path.join(dir, 'Driver.java'), 'org.apache.spark.deploy.SparkSubmit'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        jvm.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        try {
          await waitFor(async () => out.includes('ready'), 25000, 'the JVM to start');
          const pid = jvm.pid!;
          // Its real command line reads as a Spark driver; and /proc has one (other tests on
          // this machine may run their own, so not necessarily this one).
          assert.equal(driverScore(readFileSync(`/proc/${pid}/cmdline`, 'utf8')), 2);
          const found = await new DriverProcessFinder('/').read();
          assert.ok(found && found.rssBytes > 8 << 20, 'a driver JVM found in /proc');
          // jstat -gc: S0U S1U EU OU in KB. The JVM sleeps after "ready", but the source launcher
          // may still be settling (a GC, JIT threads): compare only a snapshot our two reads
          // around jstat agree on.
          const jstatUsedKb = (): number => {
            const [head, row] = execFileSync('jstat', ['-gc', String(pid)], { encoding: 'utf8' }).trim().split('\n');
            const col = (n: string) => Number(row!.trim().split(/\s+/)[head!.trim().split(/\s+/).indexOf(n)]);
            return col('S0U') + col('S1U') + col('EU') + col('OU');
          };
          let heap: Awaited<ReturnType<typeof readJvmHeap>>;
          let theirs = NaN;
          for (let attempt = 0; attempt < 10; attempt++) {
            heap = await readJvmHeap(pid);
            assert.ok(heap);
            theirs = jstatUsedKb();
            const again = await readJvmHeap(pid);
            if (again?.usedBytes === heap.usedBytes) break;
            await new Promise((r) => setTimeout(r, 300));
          }
          assert.ok(heap);
          assert.ok(Math.abs(heap.usedBytes / 1024 - theirs) < 1, `${heap.usedBytes / 1024} KB vs jstat ${theirs} KB`);
          // -Xmx256m, whatever the collector (jstat's NGCMX + OGCMX would say 512m for G1).
          assert.equal(heap.maxBytes, 256 * 1024 * 1024);
        } finally {
          // SIGTERM, not SIGKILL: the JVM removes its own hsperfdata file on a clean exit.
          const exited = new Promise((r) => jvm!.once('exit', r));
          jvm.kill('SIGTERM');
          await exited;
          jvm = undefined;
        }
      });
  });
});
