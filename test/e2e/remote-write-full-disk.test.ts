/**
 * A full queue disk end to end, with the built bundle, a real Prometheus and the queue on a
 * 512 KiB tmpfs. First the queue fills its disk by itself (one segment, never rotated out on so
 * small a disk) while the receiver is healthy: sent space is reclaimed and every cycle goes on
 * arriving. Then the receiver goes down, the queue fills the disk with unsent cycles and can
 * reclaim nothing: the next cycles are held in memory, said and counted, and arrive, in order,
 * when the receiver is back.
 */
import assert from 'node:assert/strict';
import { startAgent, type Daemon } from '../helpers/agent';
import { rawSamples, restartablePrometheus, type RestartablePrometheus } from '../helpers/prometheus-restart';
import { promQuery, waitFor } from '../helpers/servers';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs';

describe('remote write on a full queue disk (bundle + real Prometheus + tmpfs)', function () {
  this.timeout(180_000);
  let prom: RestartablePrometheus;
  let disk: Tmpfs;
  let agent: Daemon | undefined;

  before(async () => {
    disk = mountTmpfs(512);
    prom = await restartablePrometheus();
    await prom.start();
  });
  after(async () => {
    await agent?.stop('SIGKILL');
    await prom?.destroy();
    disk?.unmount();
  });

  /** Batch times (ms) of the agent's cycles stored in Prometheus (one build_info sample each). */
  const stored = async (): Promise<number[]> =>
    (await rawSamples(prom.url, 'dbx_agent_build_info{node="n-full"}', '10m')).flatMap((r) => r.values.map(([t]) => Math.round(t * 1000)));
  const count = (text: string, what: RegExp): number => text.split('\n').filter((l) => what.test(l)).length;

  it('delivers every cycle: sent space is reclaimed, and what the disk refuses goes from memory', async () => {
    agent = startAgent(
      [
        'run', '--remote-write-url', `${prom.url}/api/v1/write`, '--sources', 'host,self', '--node-name', 'n-full',
        '--interval', '1s', '--idle-interval', '1s', '--log-level', 'debug',
      ],
      { DBX_PROM_QUEUE_DIR: disk.dir },
    );
    // A cycle of host and self series is ~40 KB queued: 512 KiB are full after ~12 cycles,
    // where the queue used to stop for good.
    await waitFor(async () => (await stored()).length >= 30, 90_000, '30 cycles in Prometheus');

    // The receiver goes down: unsent cycles fill the disk, then the disk refuses the next ones.
    await prom.stop();
    const refused = /remote-write queue disk \(samples are held in memory until sent\) (failed|still failing)/;
    await waitFor(async () => count(agent!.stderr(), refused) >= 3, 60_000, 'three cycles the disk refused');
    const log = agent.stderr();
    const firstRefusal = JSON.parse(log.split('\n').find((l) => refused.test(l))!) as { ts: string; level: string };
    assert.equal(firstRefusal.level, 'warn');
    const refusedSince = Date.parse(firstRefusal.ts);

    // Back: the cycles held in memory arrive, after the ones that waited on disk.
    await prom.start();
    await waitFor(async () => (await stored()).filter((t) => t >= refusedSince - 1000).length >= 3, 60_000, 'the cycles held in memory');
    await waitFor(async () => (await promQuery(prom.url, 'dbx_agent_remote_write_queue_disk_errors_total{node="n-full"} > 0')).length === 1, 30_000, 'disk errors counted');
    // Nothing lost on the way: not for the disk, not for the queue's cap, and no cycle
    // refused by Prometheus as out of order (the memory ones were sent after the disk ones).
    const dropped = await promQuery(prom.url, 'sum(dbx_agent_remote_write_samples_total{node="n-full",result="dropped"})');
    assert.equal(dropped[0]?.value[1], '0');
    // Said once when it began (then at debug).
    const all = agent.stderr();
    assert.equal(count(all, /"level":"warn".*remote-write queue disk/), 1, all.slice(-3000));
  });
});
