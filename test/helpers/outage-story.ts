/**
 * The remote-write outage story, for any restartable receiver: the receiver goes down, the
 * daemon keeps collecting into its disk queue, is killed with SIGKILL, and after both come back
 * (the receiver on the same port and data) every cycle of the killed daemon is stored, each
 * exactly once. remote-write-outage.test.ts tells it with Prometheus,
 * remote-write-victoria-metrics.test.ts with VictoriaMetrics; each adds its receiver's own query.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { queueSubdir } from '../../agent/sinks/remote-write/sink';
import { runAgent, startAgent, type Daemon } from './agent';
import { unsentTimestamps } from './queue-files';
import type { RestartableServer } from './restartable';
import { waitFor } from './servers';

/** A point as stored: [timestampMs, value]; a staleness marker is NaN. */
export type Point = readonly [number, number];

export interface OutageReceiver {
  /** For messages: `Prometheus`, `VictoriaMetrics`. */
  readonly name: string;
  readonly server: RestartableServer;
  /** The raw points of every series matching `selector`, one array a series, in time order. */
  points(selector: string): Promise<Point[][]>;
  /**
   * Whether `points` shows the staleness marker a cleanly stopped daemon ends its series with
   * (VM's /api/v1/export does; a Prometheus range vector hides it).
   */
  readonly showsStalenessMarkers: boolean;
}

export interface OutageStory {
  /** The selector of the daemons' remote-write failure counter, the series the story reads. */
  failures: string;
  /** Batch timestamps the killed daemon left queued, in order: one a cycle. */
  queued: number[];
  /** Every point of the `failures` series: the `once` cycle, the killed daemon's, the second daemon's. */
  points: Point[];
}

/**
 * Tells the story against `receiver` (running when called, running on return), with queues under
 * `queueBase`; each daemon started is pushed to `daemons` for the caller's cleanup. Asserts the
 * story's end and returns what a receiver-specific check needs.
 */
export async function outageStory(receiver: OutageReceiver, queueBase: string, daemons: Daemon[]): Promise<OutageStory> {
  const url = `${receiver.server.url}/api/v1/write`;
  const args = [
    '--remote-write-url', url, '--sources', 'self', '--node-name', 'n-outage',
    '--interval', '1s', '--idle-interval', '1s', '--push-timeout', '1s',
  ];
  const env = { DBX_PROM_QUEUE_DIR: queueBase };
  const queueDir = path.join(queueBase, queueSubdir(url));
  const failures = 'dbx_agent_push_total{node="n-outage",sink="remote_write",result="failure"}';

  // Up: one cycle goes straight through.
  const once = await runAgent(['once', ...args], env);
  assert.equal(once.code, 0, once.stderr);
  assert.equal(unsentTimestamps(queueDir).length, 0);

  // Down: the daemon queues each cycle (one record per cycle: few samples).
  await receiver.server.stop();
  const first = startAgent(['run', ...args], env);
  daemons.push(first);
  await waitFor(async () => unsentTimestamps(queueDir).length >= 5, 30_000, 'five queued cycles');
  const killed = await first.stop('SIGKILL');
  assert.equal(killed.code, null);
  const queued = unsentTimestamps(queueDir);
  assert.ok(queued.length >= 5);
  assert.deepEqual(queued, [...queued].sort((a, b) => a - b));

  // Back: same port, same data. The next daemon sends the backlog first, then its own cycles.
  await receiver.server.start();
  const second = startAgent(['run', ...args], env);
  daemons.push(second);
  await waitFor(async () => {
    const ts = new Set((await receiver.points(failures)).flat().map(([t]) => t));
    return queued.every((t) => ts.has(t)) && unsentTimestamps(queueDir).length === 0;
  }, 30_000, `backlog in ${receiver.name}`);
  const stopped = await second.stop('SIGTERM');
  assert.equal(stopped.code, 0, second.stderr());

  const [series, ...more] = await receiver.points(failures);
  assert.equal(more.length, 0);
  const points = series!;
  const firstQueued = queued[0]!;
  const lastQueued = queued[queued.length - 1]!;
  const during = points.filter(([t]) => t >= firstQueued && t <= lastQueued);
  // Every cycle of the killed daemon, in order, once: its failure counter went 0, 1, 2, ...
  // (each cycle saw the failures of the cycles before it), at the very timestamps it queued.
  assert.deepEqual(during.map(([t]) => t), queued);
  assert.deepEqual(during.map(([, v]) => v), queued.map((_, i) => i));
  // Before: the `once` cycle; after: the second daemon's own cycles, none failed, and then,
  // where the reader shows markers, the staleness marker its clean exit ends the series with
  // (the killed daemon, of course, left none).
  const all = JSON.stringify(points);
  assert.equal(points.filter(([t]) => t < firstQueued).length, 1, all);
  const after = points.filter(([t]) => t > lastQueued);
  const own = receiver.showsStalenessMarkers ? after.slice(0, -1) : after;
  assert.ok(own.length >= 1, all);
  assert.ok(own.every(([, v]) => v === 0), all);
  if (receiver.showsStalenessMarkers) assert.ok(Number.isNaN(after[after.length - 1]![1]), all);
  return { failures, queued, points };
}
