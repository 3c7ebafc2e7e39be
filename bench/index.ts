/**
 * `npm run bench` (after `npm run build`): the agent's own cost, measured in one run on this
 * host after a warm-up, each figure next to the peer it is compared with, ending with the
 * issue's targets (issue 14): figure | agent | peer | ratio (agent / peer) | target | met?
 *   host          targets 1-3: CPU per 1 s cycle and per default 15 s period vs node_exporter
 *                 per scrape, RSS vs node_exporter and an idle node, in one 60 s window
 *   cold          target 4: cold start to first PUT (bundle, SEA) vs `node -e 0`, interleaved
 *   push          target 5: 1k / 10k / 100k series to a real Pushgateway vs prom-client's push
 *   remote-write  remote-write encode + snappy vs the prometheus-remote-write package
 *   spark         Spark depth endpoints: requests and bytes per steady cycle, heap over a long run
 *   spark500      part 6: a 500-executor driver with --spark-prometheus (~100k series), in-process:
 *                 CPU and wall per cycle, heap over a long run
 *   spark500-bundle  the same Spark with the bundle as a real process: its RSS under the heap flag
 * About 5 minutes on 2 cores. BENCH_ONLY=host,cold,... runs a subset. BENCH_BUNDLE=/path.cjs and
 * BENCH_SEA=/path measure another build in the process-level parts (host, cold, spark500-bundle).
 * spark500's long run goes to BENCH_SPARK500_CYCLES cycles (default 60) or stops at the first heap
 * sample (every 10 cycles) past BENCH_SPARK500_SECONDS of cycles (default 60): a cycle of 100k
 * series costs seconds, so on 2 cores the default run reaches ~cycle 20-30.
 */
import os from 'node:os';
import path from 'node:path';
import { benchHostCost, formatHostCost, addHostTargets } from './host-cost';
import { benchColdStart, formatColdStart, addColdTargets } from './cold-start';
import { benchPush, formatPush, addPushTargets } from './push';
import { benchRemoteWrite } from './remote-write';
import { benchSparkDepth, formatSparkDepth } from './spark-depth';
import { addSpark500BundleTargets, addSpark500Targets, benchSpark500, benchSpark500Bundle, formatSpark500, formatSpark500Bundle } from './spark-500';
import { BUNDLE, SEA, describeFile } from './binaries';
import { formatSummary } from './summary';
import { VERSION } from '../agent/core/version';

const PARTS = ['host', 'cold', 'push', 'remote-write', 'spark', 'spark500', 'spark500-bundle'];
const COLD_RUNS = 11;
const HOST_WARM_SECONDS = 12;
const HOST_PERIODS = 4;

async function main(): Promise<void> {
  const only = new Set((process.env.BENCH_ONLY || PARTS.join(',')).split(',').map((s) => s.trim()));
  for (const p of only) if (!PARTS.includes(p)) throw new Error(`BENCH_ONLY: unknown part "${p}" (parts: ${PARTS.join(',')})`);
  const cpus = os.cpus();
  const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const envShown = ['BENCH_ONLY', 'BENCH_BUNDLE', 'BENCH_SEA', 'BENCH_SPARK500_CYCLES', 'BENCH_SPARK500_SECONDS'].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]} `);
  console.log(`command: ${envShown.join('')}node ${process.execArgv.join(' ')} ${process.argv.slice(1).map((a) => path.relative(process.cwd(), a)).join(' ')}`);
  console.log(`dbx-prom-agent ${VERSION} bench: node ${process.version} ${process.arch}, ${cpus.length} x ${cpus[0]?.model.trim() ?? 'CPU'}, ${os.release()}, load average ${load()}`);
  const bundleAtStart = describeFile(BUNDLE);
  console.log(`bundle: ${bundleAtStart}`);
  if (only.has('cold')) console.log(`SEA:    ${describeFile(SEA)}`);
  const started = Date.now();
  const part = async (name: string, title: string, run: () => Promise<void>): Promise<void> => {
    if (!only.has(name)) return;
    const t = Date.now();
    console.log(`\n${title}`);
    await run();
    console.log(`(${name}: ${((Date.now() - t) / 1000).toFixed(0)} s, load average ${load()})`);
  };
  await part('host', `1-3. host metrics: agent at 1 s and at 15 s vs node_exporter and an idle node (${HOST_PERIODS} x 15 s window after warm-up)`, async () => {
    const r = await benchHostCost({ warmSeconds: HOST_WARM_SECONDS, periods: HOST_PERIODS });
    console.log(formatHostCost(r));
    addHostTargets(r);
  });
  await part('cold', '4. cold start to first push vs node -e 0', async () => {
    const r = await benchColdStart(COLD_RUNS);
    console.log(formatColdStart(r));
    addColdTargets(r);
  });
  await part('push', '5. push to a real Pushgateway vs prom-client', async () => {
    const r = await benchPush();
    console.log(formatPush(r));
    addPushTargets(r);
  });
  await part('remote-write', 'remote write encoding', () => benchRemoteWrite());
  await part('spark', 'Spark depth on a driver retaining 1,000 SQL executions and 1,000 completed stages', async () => {
    console.log(formatSparkDepth(await benchSparkDepth()));
  });
  await part('spark500', '6. a 500-executor driver with --spark-prometheus, in-process', async () => {
    const r = await benchSpark500({
      warm: 5,
      measured: 10,
      maxCycles: Number(process.env.BENCH_SPARK500_CYCLES || 60),
      budgetSeconds: Number(process.env.BENCH_SPARK500_SECONDS || 60),
    });
    console.log(formatSpark500(r));
    addSpark500Targets(r);
  });
  await part('spark500-bundle', '6. the same 500-executor driver, the bundle as a real process', async () => {
    const r = await benchSpark500Bundle(2);
    console.log(formatSpark500Bundle(r));
    addSpark500BundleTargets(r);
  });
  const bundleAtEnd = describeFile(BUNDLE);
  const sha = (d: string): string | undefined => /sha256 (\w+)/.exec(d)?.[1];
  if (sha(bundleAtEnd) !== sha(bundleAtStart)) console.log(`\nWARNING: the bundle changed during the run (figures may mix two builds): now ${bundleAtEnd}`);
  else if (bundleAtEnd !== bundleAtStart) console.log(`\n(the bundle was rewritten during the run with the same content: ${bundleAtEnd})`);
  console.log(`\ntargets (issue 14): ratio = agent / peer, measured in this run`);
  console.log(formatSummary());
  console.log(`\nbench done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
});
