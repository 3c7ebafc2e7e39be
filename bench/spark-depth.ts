/**
 * The Spark depth endpoints' steady cost on a driver whose UI retains 1,000 SQL executions and
 * 1,000 completed stages: Spark requests and bytes read per cycle by the agent, against what a
 * full re-read of both lists each cycle would read, and the heap over a long run. In-process,
 * against the test Spark stand-in (Spark cannot run here).
 */
import { setLogLevel } from '../agent/core/log';
import { createSettings } from '../agent/core/options';
import { spark as sparkEntry } from '../agent/sources/spark/index';
import { createSparkSource } from '../agent/sources/spark/source';
import { DATABRICKS_APP_ID, databricksRoutes, sqlRoute, startFakeSpark, type Route } from '../test/helpers/fake-spark';
import { testComponentEnv } from '../test/helpers/component-env';

const APP = `/api/v1/applications/${DATABRICKS_APP_ID}`;
const sparkDate = (ms: number): string => new Date(ms).toISOString().replace('Z', 'GMT');

export interface SparkDepthResult {
  steadyRequests: number;
  steadyBytes: number;
  fullRereadBytes: number;
  heapStartMiB: number;
  heapEndMiB: number;
  cycles: number;
}

export async function benchSparkDepth(cycles = 600): Promise<SparkDepthResult> {
  setLogLevel('error');
  const start = Date.now();
  const executions: unknown[] = Array.from({ length: 1000 }, (_, i) => ({
    id: i, status: 'COMPLETED', description: `select ${i}`, planDescription: '', submissionTime: sparkDate(start - 3_600_000 + i * 1000),
    duration: 1500, runningJobIds: [], successJobIds: [i], failedJobIds: [], nodes: [], edges: [],
  }));
  const stage = (id: number, status: string) => ({
    status, stageId: id, attemptId: 0, numTasks: 200, numActiveTasks: 0, numCompleteTasks: 200, numFailedTasks: 0, numKilledTasks: 0,
    executorRunTime: 120_000, executorCpuTime: 9e10, submissionTime: sparkDate(start - 3_600_000), completionTime: sparkDate(start - 3_500_000),
    inputBytes: 1 << 30, outputBytes: 0, shuffleReadBytes: 1 << 28, shuffleWriteBytes: 1 << 28, memoryBytesSpilled: 0, diskBytesSpilled: 0, name: `stage ${id}`,
  });
  const completedStages = Array.from({ length: 1000 }, (_, i) => stage(i, 'COMPLETE'));
  let bytes = 0;
  let requests = 0;
  const counted = (r: Route): Route => ({
    handler: (url) => {
      const inner = 'handler' in r ? r.handler(url) : r;
      requests++;
      if ('body' in inner) bytes += Buffer.byteLength(inner.body);
      return inner;
    },
  });
  const routes = databricksRoutes();
  routes.set(`${APP}/sql`, sqlRoute(() => executions));
  routes.set(`${APP}/stages`, { body: '[]' });
  for (const [p, r] of routes) routes.set(p, counted(r));
  const spark = await startFakeSpark(routes);
  const env = testComponentEnv({}, 'driver');
  const src = createSparkSource({ ...sparkEntry.parse(createSettings({}, {})), url: spark.url }, env, { probePorts: [], rootDir: '/nonexistent' });
  try {
    // Catch up with the retained list first (a few bounded cycles), then the steady state.
    for (let i = 0; i < 10; i++) await src.collect(new Date());
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const heapStart = process.memoryUsage().heapUsed;
    const before = { bytes, requests };
    for (let i = 0; i < cycles; i++) {
      // One new query a cycle, evicting the oldest as Spark does past retainedExecutions.
      executions.push({ ...(executions.at(-1) as object), id: 1000 + i, submissionTime: sparkDate(Date.now()) });
      executions.shift();
      await src.collect(new Date());
    }
    gc?.();
    const heapEnd = process.memoryUsage().heapUsed;
    const fullReread = Buffer.byteLength(JSON.stringify(executions)) + Buffer.byteLength(JSON.stringify(completedStages));
    return {
      steadyRequests: (requests - before.requests) / cycles,
      steadyBytes: (bytes - before.bytes) / cycles,
      fullRereadBytes: fullReread,
      heapStartMiB: heapStart / 1048576,
      heapEndMiB: heapEnd / 1048576,
      cycles,
    };
  } finally {
    await src.close?.();
    await spark.close();
  }
}

export function formatSparkDepth(r: SparkDepthResult): string {
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
  return [
    `  steady cycle, all Spark endpoints: ${r.steadyRequests.toFixed(1)} requests, ${kb(r.steadyBytes)} read`,
    `  a full re-read of /sql (1,000 executions) and of 1,000 completed stages alone: ${kb(r.fullRereadBytes)} (${(r.fullRereadBytes / r.steadyBytes).toFixed(1)}x the steady cycle)`,
    `  heap over ${r.cycles} cycles (one new query each): ${r.heapStartMiB.toFixed(1)} -> ${r.heapEndMiB.toFixed(1)} MiB${(globalThis as { gc?: unknown }).gc ? '' : ' (without --expose-gc: includes garbage)'}`,
  ].join('\n');
}
