/**
 * agent/agent.ts: the cycle's collection deadline. A slow Spark (a driver too busy to answer)
 * must not hold the host series of a cycle beyond half the interval.
 */
import assert from 'node:assert/strict';
import { collectionDeadlineMs } from '../agent/agent';
import { parsePrometheusText } from '../agent/sources/spark/prometheus';
import { runAgent } from './helpers/agent';
import { databricksFixture, databricksRoutes, startFakeSpark } from './helpers/fake-spark';

describe('agent', () => {
  it('gives the sources of a cycle half the interval, at least 500 ms', () => {
    assert.equal(collectionDeadlineMs(1000), 500);
    assert.equal(collectionDeadlineMs(15_000), 7500);
    assert.equal(collectionDeadlineMs(600), 500);
  });

  it('a trickling Spark is cut at half the interval, not at --spark-timeout; the host series go out', async function () {
    this.timeout(30000);
    const spark = await startFakeSpark(databricksRoutes());
    try {
      spark.route('/api/v1/applications', { trickle: databricksFixture('applications.json'), trickleMs: 1000 });
      const r = await runAgent(['once', '--dry-run', '--interval', '1s', '--spark-timeout', '10s', '--spark-url', spark.url, '--sources', 'host,spark,self'], {
        DB_IS_DRIVER: 'TRUE',
        DB_CLUSTER_ID: 'c-1',
      });
      assert.equal(r.code, 0, r.stderr);
      const s = parsePrometheusText(r.stdout).samples;
      const up = (source: string) => s.find((x) => x.name === 'dbx_agent_source_up' && x.labels.source === source)?.value;
      assert.equal(up('spark'), 0);
      assert.equal(up('host'), 1);
      assert.ok(s.some((x) => x.name === 'node_load1'));
      assert.match(r.stderr, /source spark: cut at the cycle's collection deadline of 500 ms/);
    } finally {
      await spark.close();
    }
  });

  it('says at start when a --labels key is also a label of its own series, and which wins', async function () {
    this.timeout(30000);
    const r = await runAgent(['once', '--dry-run', '--sources', 'host,self', '--labels', 'device=rack-7,team=data'], {});
    assert.equal(r.code, 0, r.stderr);
    const warn = r.stderr.split('\n').filter((l) => l.includes('"level":"warn"'));
    assert.equal(warn.length, 1, r.stderr);
    assert.match(warn[0]!, /--labels device=… is also a label of the agent's own series \(node_disk_\*.*\): there their own value wins/);
    const s = parsePrometheusText(r.stdout).samples;
    assert.equal(s.find((x) => x.name === 'node_load1')?.labels.device, 'rack-7');
    assert.ok(s.filter((x) => x.name === 'node_disk_read_bytes_total').every((x) => x.labels.device !== 'rack-7'));
    assert.ok(s.every((x) => x.labels.team === 'data'));
  });
});
