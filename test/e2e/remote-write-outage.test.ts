/**
 * The outage story end to end, with the built bundle and a real Prometheus: the receiver goes
 * down, the daemon keeps collecting into its disk queue, is killed with SIGKILL, and after both
 * come back every cycle of the killed daemon is in Prometheus, each exactly once. The story
 * itself is helpers/outage-story.ts, shared with remote-write-victoria-metrics.test.ts.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { queueSubdir } from '../../agent/sinks/remote-write/sink';
import { startAgent, type Daemon } from '../helpers/agent';
import { outageStory } from '../helpers/outage-story';
import { restartablePrometheus, rawSamples, type RestartablePrometheus } from '../helpers/prometheus-restart';
import { unsentTimestamps } from '../helpers/queue-files';
import { startHangingServer } from '../helpers/hanging-server';
import { tempDir, waitFor } from '../helpers/servers';

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
    const { failures, queued } = await outageStory(
      {
        name: 'Prometheus',
        server: prom,
        points: async (selector) =>
          (await rawSamples(prom.url, selector, '10m')).map((r) => r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as const)),
        showsStalenessMarkers: false,
      },
      queueBase,
      daemons,
    );
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
    const hang = await startHangingServer();
    const url = `${hang.url}/api/v1/write`;
    try {
      const daemon = startAgent(['run', '--remote-write-url', url, '--sources', 'self', '--interval', '1s', '--idle-interval', '1s', '--push-timeout', '10s'], {
        DBX_PROM_QUEUE_DIR: queueBase,
      });
      daemons.push(daemon);
      await waitFor(async () => hang.connections > 0, 20_000, 'a request to the hanging receiver');
      const { code } = await daemon.stop('SIGTERM');
      // 0, not null: it exited on its own (the helper would SIGKILL it after 10 s), and by a
      // clean close, not by the run command's last-resort deadline.
      assert.equal(code, 0, daemon.stderr());
      assert.doesNotMatch(daemon.stderr(), /exit deadline reached/);
      assert.match(daemon.stderr(), /unsent samples stay queued/);
      assert.ok(unsentTimestamps(path.join(queueBase, queueSubdir(url))).length >= 1);
    } finally {
      await hang.close();
    }
  });
});
