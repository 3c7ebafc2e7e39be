/**
 * `npm run bench` (after `npm run build`): the agent's own cost, measured in one run on this
 * host, each figure next to what it is compared with.
 *   1. host metrics: agent CPU per cycle and peak RSS vs prometheus-node-exporter per scrape
 *   2. cold start to first push: bundle and SEA binary
 *   3. push of 1k / 10k / 100k series to a real Pushgateway vs prom-client's Pushgateway
 *   4. remote write: encode + snappy vs the prometheus-remote-write package
 *   5. Spark depth: requests and bytes per steady cycle vs a full re-read, heap over a long run
 * About 2-3 minutes on 2 cores. BENCH_ONLY=host,cold,push,remote-write,spark runs a subset.
 */
import os from 'node:os';
import { benchHostCost, formatHostCost } from './host-cost';
import { benchColdStart, formatColdStart } from './cold-start';
import { benchPush, formatPush } from './push';
import { benchRemoteWrite } from './remote-write';
import { benchSparkDepth, formatSparkDepth } from './spark-depth';
import { VERSION } from '../agent/core/version';

const COLD_RUNS = 7;

async function main(): Promise<void> {
  const only = new Set((process.env.BENCH_ONLY ?? 'host,cold,push,remote-write,spark').split(',').map((s) => s.trim()));
  const cpus = os.cpus();
  console.log(`dbx-prom-agent ${VERSION} bench: node ${process.version} ${process.arch}, ${cpus.length} x ${cpus[0]?.model.trim() ?? 'CPU'}, ${os.release()}`);
  const started = Date.now();
  if (only.has('host')) {
    console.log('\n1. host metrics, agent vs node_exporter (20 s window, one cycle/scrape per second)');
    console.log(formatHostCost(await benchHostCost(20)));
  }
  if (only.has('cold')) {
    console.log('\n2. cold start to first push');
    console.log(formatColdStart(await benchColdStart(COLD_RUNS), COLD_RUNS));
  }
  if (only.has('push')) {
    console.log('\n3. push to a real Pushgateway');
    console.log(formatPush(await benchPush()));
  }
  if (only.has('remote-write')) {
    console.log('\n4. remote write encoding');
    await benchRemoteWrite();
  }
  if (only.has('spark')) {
    console.log('\n5. Spark depth on a driver retaining 1,000 SQL executions and 1,000 completed stages');
    console.log(formatSparkDepth(await benchSparkDepth()));
  }
  console.log(`\nbench done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
});
