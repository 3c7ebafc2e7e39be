/**
 * A full queue disk end to end, with the built bundle, a real Prometheus and the queue on a
 * 512 KiB tmpfs: the queue fills its disk by itself (one segment, never rotated out on so small
 * a disk), then a filler takes every free byte (shuffle filling /local_disk0). Remote write
 * must go on delivering through both, and say what happened.
 */
import assert from 'node:assert/strict';
import { startAgent, type Daemon } from '../helpers/agent';
import { promQuery, startPrometheus, waitFor, type Server } from '../helpers/servers';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs';

describe('remote write on a full queue disk (bundle + real Prometheus + tmpfs)', function () {
  this.timeout(150_000);
  let prom: Server;
  let disk: Tmpfs;
  let agent: Daemon | undefined;

  before(async () => {
    disk = mountTmpfs(512);
    prom = await startPrometheus('global: {}\n', ['--web.enable-remote-write-receiver']);
  });
  after(async () => {
    await agent?.stop('SIGKILL');
    await prom?.stop();
    disk?.unmount();
  });

  /** Cycles of the agent stored in Prometheus (one build_info sample per cycle). */
  const stored = async (): Promise<number> => {
    const r = await promQuery(prom.url, 'count_over_time(dbx_agent_build_info{node="n-full"}[10m])');
    return Number(r[0]?.value[1] ?? 0);
  };

  it('keeps delivering every cycle after the disk is full, and says so', async () => {
    agent = startAgent(
      ['run', '--remote-write-url', `${prom.url}/api/v1/write`, '--sources', 'host,self', '--node-name', 'n-full', '--interval', '1s', '--idle-interval', '1s'],
      { DBX_PROM_QUEUE_DIR: disk.dir },
    );
    // A cycle of host and self series is ~40 KB queued: 512 KiB are full after ~12 cycles,
    // where the queue used to stop for good.
    await waitFor(async () => (await stored()) >= 30, 90_000, '30 cycles in Prometheus');

    const before = await stored();
    assert.ok(disk.fill() > 0);
    await waitFor(async () => (await stored()) >= before + 5, 30_000, '5 more cycles with the disk full');
    disk.unfill();

    const log = agent.stderr();
    assert.doesNotMatch(log, /"level":"error"/, log);
    // Whatever the disk refused went from memory, and was counted; nothing was dropped for it.
    const dropped = await promQuery(prom.url, 'dbx_agent_remote_write_samples_total{node="n-full",result="dropped",reason="disk_error"}');
    assert.equal(dropped[0]?.value[1], '0');
    const refused = await promQuery(prom.url, 'dbx_agent_remote_write_queue_disk_errors_total{node="n-full"}');
    if (Number(refused[0]?.value[1] ?? 0) > 0) assert.match(log, /remote-write queue disk .*failed/, log);
  });
});
