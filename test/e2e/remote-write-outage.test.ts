/**
 * The outage story end to end, with the built bundle and a real Prometheus: the receiver goes
 * down, the daemon keeps collecting into its disk queue, is killed with SIGKILL, and after both
 * come back every cycle of the killed daemon is in Prometheus, each exactly once.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { scanSegment } from '../../agent/sinks/remote-write/queue';
import { queueSubdir } from '../../agent/sinks/remote-write/sink';
import { runAgent, startAgent, type Daemon } from '../helpers/agent';
import { restartablePrometheus, rawSamples, type RestartablePrometheus } from '../helpers/prometheus-restart';
import { tempDir, waitFor } from '../helpers/servers';

/** Batch timestamps of the records not yet sent, read from the queue files as the next start will. */
function unsentTimestamps(dir: string): number[] {
  if (!existsSync(dir)) return []; // a queue left empty is removed on exit
  let cursor = { segment: 0, offset: 0 };
  try {
    cursor = JSON.parse(readFileSync(path.join(dir, 'cursor'), 'utf8')) as typeof cursor;
  } catch {
    /* none yet */
  }
  const out: number[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.seg')).sort()) {
    const seq = Number(f.slice(0, 16));
    for (const r of scanSegment(readFileSync(path.join(dir, f))).records)
      if (seq > cursor.segment || (seq === cursor.segment && r.offset >= cursor.offset)) out.push(r.timestampMs);
  }
  return out;
}

describe('remote write survives an outage and kill -9 (bundle + real Prometheus)', function () {
  this.timeout(120_000);
  let prom: RestartablePrometheus;
  let queueBase: string;
  const daemons: Daemon[] = [];

  before(async () => {
    prom = await restartablePrometheus();
    await prom.start();
    queueBase = tempDir();
  });
  after(async () => {
    for (const d of daemons) await d.stop('SIGKILL');
    await prom?.destroy();
    rmSync(queueBase, { recursive: true, force: true });
  });

  it('sends every cycle of the killed daemon once the receiver is back, none missing, none twice', async () => {
    const url = `${prom.url}/api/v1/write`;
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
    await prom.stop();
    const first = startAgent(['run', ...args], env);
    daemons.push(first);
    await waitFor(async () => unsentTimestamps(queueDir).length >= 5, 30_000, 'five queued cycles');
    const killed = await first.stop('SIGKILL');
    assert.equal(killed.code, null);
    const queued = unsentTimestamps(queueDir);
    assert.ok(queued.length >= 5);
    assert.deepEqual(queued, [...queued].sort((a, b) => a - b));

    // Back: same port, same data. The next daemon sends the backlog first, then its own cycles.
    await prom.start();
    const second = startAgent(['run', ...args], env);
    daemons.push(second);
    await waitFor(async () => {
      const got = await rawSamples(prom.url, failures, '10m');
      const ts = new Set(got.flatMap((r) => r.values.map(([t]) => Math.round(t * 1000))));
      return queued.every((t) => ts.has(t)) && unsentTimestamps(queueDir).length === 0;
    }, 30_000, 'backlog in Prometheus');
    const stopped = await second.stop('SIGTERM');
    assert.equal(stopped.code, 0, second.stderr());

    const [series, ...more] = await rawSamples(prom.url, failures, '10m');
    assert.equal(more.length, 0);
    const points = series!.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as const);
    const during = points.filter(([t]) => t >= queued[0]! && t <= queued[queued.length - 1]!);
    // Every cycle of the killed daemon, in order, once: its failure counter went 0, 1, 2, ...
    // (each cycle saw the failures of the cycles before it), at the very timestamps it queued.
    assert.deepEqual(during.map(([t]) => t), queued);
    assert.deepEqual(during.map(([, v]) => v), queued.map((_, i) => i));
    // Before: the `once` cycle; after: the second daemon's own cycles, none failed.
    assert.ok(points.filter(([t]) => t < queued[0]!).length === 1);
    const after = points.filter(([t]) => t > queued[queued.length - 1]!);
    assert.ok(after.length >= 1 && after.every(([, v]) => v === 0));
    // The same story in query_range terms: one step over the whole outage counts each cycle once.
    const end = queued[queued.length - 1]! / 1000;
    const spanMs = queued[queued.length - 1]! - queued[0]! + 1;
    const res = await fetch(
      `${prom.url}/api/v1/query_range?query=${encodeURIComponent(`count_over_time(${failures}[${spanMs}ms])`)}&start=${end}&end=${end}&step=1`,
    );
    const body = (await res.json()) as { data: { result: { values: [number, string][] }[] } };
    assert.equal(Number(body.data.result[0]!.values[0]![1]), queued.length);
  });

  it('the daemon exits by itself with status 0 on SIGTERM while the receiver hangs, keeping its samples queued', async () => {
    const sockets = new Set<net.Socket>();
    const hang = net.createServer((sock) => {
      sockets.add(sock); // accept, read, never answer
      sock.resume();
    });
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hang.address() as net.AddressInfo).port}/api/v1/write`;
    try {
      const daemon = startAgent(['run', '--remote-write-url', url, '--sources', 'self', '--interval', '1s', '--idle-interval', '1s', '--push-timeout', '10s'], {
        DBX_PROM_QUEUE_DIR: queueBase,
      });
      daemons.push(daemon);
      await waitFor(async () => sockets.size > 0, 20_000, 'a request to the hanging receiver');
      const { code } = await daemon.stop('SIGTERM');
      // 0, not null: it exited on its own (the helper would SIGKILL it after 10 s), and by a
      // clean close, not by the run command's last-resort deadline.
      assert.equal(code, 0, daemon.stderr());
      assert.doesNotMatch(daemon.stderr(), /exit deadline reached/);
      assert.match(daemon.stderr(), /unsent samples stay queued/);
      assert.ok(unsentTimestamps(path.join(queueBase, queueSubdir(url))).length >= 1);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => hang.close(() => resolve()));
    }
  });
});
