/**
 * `dbx-prom-agent gc` against a real Pushgateway. The Pushgateway stamps push_time_seconds
 * itself, and gc takes "now" from its Date header: gc talks to it through a proxy that sets that
 * header (test/helpers/date-proxy.ts), so the groups pushed before a whole second of the clock
 * are made to look just over --max-age old and those pushed after it at most --max-age old,
 * however long the machine takes to push them and to start gc.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runAgent } from '../helpers/agent';
import { makePki, type Pki } from '../helpers/certs';
import { startSecurePushgateway, type SecureServer } from '../helpers/secure-servers';
import { startPushgateway, freePort, type Server } from '../helpers/servers';
import { startDateProxy, type DateProxy } from '../helpers/date-proxy';
import { groupingPath } from '../../agent/sinks/pushgateway/grouping-key';
import { lastActivitySeconds, parseGroups, type PushgatewayGroup } from '../../agent/sinks/pushgateway/groups';
import { formatDuration } from '../../agent/core/duration';
import { parseMaxAge, runGc, serverNowSeconds } from '../../agent/commands/gc';
import { buildConfig } from '../../agent/config';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../agent/config';

const GAUGE = '# HELP gc_test_value A test value.\n# TYPE gc_test_value gauge\ngc_test_value 1\n';
const CLASH = '# HELP gc_test_value A test value.\n# TYPE gc_test_value counter\ngc_test_value 1\n';
/** The --max-age of the tests whose clock the Date proxy sets (the default). */
const MAX_AGE = '10m';
const MAX_AGE_S = 600;

async function put(pg: Server, job: string, key: [string, string][], body = GAUGE): Promise<number> {
  const res = await fetch(pg.url + groupingPath(job, key), { method: 'PUT', body });
  await res.text();
  return res.status;
}

async function groups(pg: Server): Promise<PushgatewayGroup[]> {
  const res = await fetch(`${pg.url}/api/v1/metrics`);
  return parseGroups(await res.json());
}

const nameOf = (g: PushgatewayGroup): string => `${g.labels.job}/${g.labels.node ?? g.labels.instance}`;

const nodes = async (pg: Server): Promise<string[]> => (await groups(pg)).map(nameOf).sort();

/** Each group's last push (successful or not) by the Pushgateway's clock, as gc reads it. */
async function lastPushes(pg: Server): Promise<Map<string, number>> {
  return new Map((await groups(pg)).map((g) => [nameOf(g), lastActivitySeconds(g)]));
}

/** Waits until the clock (the Pushgateway's: same machine) is past the whole second after `t`; returns that second. */
async function nextWholeSecond(t: number): Promise<number> {
  const b = Math.floor(t) + 1;
  while (Date.now() < b * 1000) await new Promise((r) => setTimeout(r, b * 1000 - Date.now() + 1));
  return b;
}

/** gc's "deleted ... last_push=... ago" tail for a group last pushed at `t` when gc's now is `now`. */
const ago = (now: number, t: number): string => `last_push=${formatDuration(Math.round(now - t) * 1000)} ago`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gc: max-age and the Pushgateway clock', () => {
  it('parses --max-age as a duration of at least 1s, naming the setting otherwise', () => {
    assert.equal(parseMaxAge('10m'), 600_000);
    assert.equal(parseMaxAge('1h30m'), 5_400_000);
    for (const bad of ['10', '', 'soon', '500ms'])
      assert.throws(() => parseMaxAge(bad), (e: unknown) => e instanceof ConfigError && e.setting === '--max-age (DBX_PROM_MAX_AGE)');
  });

  it("takes now from the Pushgateway's Date header, the local clock without one", () => {
    // A cron host 7 minutes fast must not see 10-minute-old groups as 17 minutes old.
    const local = Date.parse('2026-11-26T06:17:00Z');
    assert.equal(serverNowSeconds('Thu, 26 Nov 2026 06:10:00 GMT', local), Date.parse('2026-11-26T06:10:00Z') / 1000);
    assert.equal(serverNowSeconds(undefined, local), local / 1000);
    assert.equal(serverNowSeconds('yesterday-ish', local), local / 1000);
  });
});

describe('gc (Pushgateway janitor)', function () {
  this.timeout(60000);
  let pg: Server;
  /** What gc talks to: the Pushgateway, with the clock of its Date header set by the test. */
  let clock: DateProxy;

  beforeEach(async () => {
    // Debian's build defaults --persistence.file to /var/lib/prometheus/pushgateway.data,
    // shared by every Pushgateway on the host: keep this one's groups in memory only.
    pg = await startPushgateway(['--persistence.file=']);
    clock = await startDateProxy(pg.url);
  });
  afterEach(async () => {
    await clock.close();
    await pg.stop();
  });

  const OLD = ['databricks/ip-10/0', 'databricks/spot-lost', 'databricks/failing', 'other-team/x'];
  const FRESH = ['databricks/fresh', 'databricks/failing'];

  /**
   * Old groups: two agent nodes (one with `/`), one failing node, one other team's group.
   * Returns the latest of their pushes by the Pushgateway's clock.
   */
  async function pushOldGroups(): Promise<number> {
    assert.equal(await put(pg, 'databricks', [['cluster_id', '0101-abc'], ['node', 'ip-10/0']]), 200);
    assert.equal(await put(pg, 'databricks', [['cluster_id', '0101-abc'], ['node', 'spot-lost']]), 200);
    assert.equal(await put(pg, 'databricks', [['cluster_id', '0101-abc'], ['node', 'failing']]), 200);
    assert.equal(await put(pg, 'other-team', [['instance', 'x']]), 200);
    const at = await lastPushes(pg);
    return Math.max(...OLD.map((n) => at.get(n)!));
  }

  /** Fresh groups: one healthy, and a rejected push to "failing". Returns the earliest of them. */
  async function pushFreshGroups(): Promise<number> {
    assert.equal(await put(pg, 'databricks', [['cluster_id', '0101-abc'], ['node', 'fresh']]), 200);
    assert.equal(await put(pg, 'databricks', [['cluster_id', '0101-abc'], ['node', 'failing']], CLASH), 400);
    const at = await lastPushes(pg);
    return Math.min(...FRESH.map((n) => at.get(n)!));
  }

  /**
   * Old groups, then fresh ones after the next whole second `b` of the clock; gc's clock is set
   * to b + max-age: the old groups are just over max-age old, the fresh ones at most max-age.
   * Returns gc's now and the push times.
   */
  async function oldAndFresh(): Promise<{ now: number; at: Map<string, number> }> {
    const old = await pushOldGroups();
    const b = await nextWholeSecond(old);
    const fresh = await pushFreshGroups();
    assert.ok(old < b && fresh >= b, `old pushes before ${b}, fresh ones after it: ${old}, ${fresh}`);
    clock.now = b + MAX_AGE_S;
    return { now: clock.now, at: await lastPushes(pg) };
  }

  it('deletes only the groups of --job older than --max-age, printing one line each', async () => {
    const { now, at } = await oldAndFresh();
    const r = await runAgent(['gc', '--pushgateway-url', clock.url, '--max-age', MAX_AGE]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').sort();
    assert.deepEqual(lines, [
      `deleted job="databricks" cluster_id="0101-abc" node="ip-10/0" ${ago(now, at.get('databricks/ip-10/0')!)}`,
      `deleted job="databricks" cluster_id="0101-abc" node="spot-lost" ${ago(now, at.get('databricks/spot-lost')!)}`,
    ]);
    // The fresh group, the node whose pushes fail right now, and the other job stay.
    assert.deepEqual(await nodes(pg), ['databricks/failing', 'databricks/fresh', 'other-team/x']);
  });

  it('--dry-run prints the same groups and deletes nothing', async () => {
    const { now, at } = await oldAndFresh();
    const before = await nodes(pg);
    const r = await runAgent(['gc', '--pushgateway-url', clock.url, '--max-age', MAX_AGE, '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), [
      `would delete job="databricks" cluster_id="0101-abc" node="ip-10/0" ${ago(now, at.get('databricks/ip-10/0')!)}`,
      `would delete job="databricks" cluster_id="0101-abc" node="spot-lost" ${ago(now, at.get('databricks/spot-lost')!)}`,
    ]);
    assert.deepEqual(await nodes(pg), before);
    assert.ok(!clock.requests.some((q) => q.startsWith('DELETE')), clock.requests.join('\n'));
  });

  it('never deletes a fresh group, whatever its key', async () => {
    await pushFreshGroups();
    assert.equal(await put(pg, 'databricks', [['cluster_id', ''], ['node', 'a/b']]), 200);
    const before = await nodes(pg);
    // gc's clock one minute after the oldest of them, to the whole second: each is at most 1m old.
    clock.now = Math.floor(Math.min(...(await lastPushes(pg)).values())) + 60;
    const r = await runAgent(['gc', '--pushgateway-url', clock.url, '--max-age', '1m']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(await nodes(pg), before);
  });

  it('--job picks the job, and removes a group the agent itself pushed (node with /)', async () => {
    const once = await runAgent(
      ['once', '--pushgateway-url', pg.url, '--job', 'etl', '--node-name', 'pool/node-7', '--sources', 'self'],
      { DB_CLUSTER_ID: '0101-abc' },
    );
    assert.equal(once.code, 0, once.stderr);
    assert.equal(await put(pg, 'databricks', [['cluster_id', '0101-abc'], ['node', 'other']]), 200);
    // Both groups are over max-age old by gc's clock: only the job tells them apart.
    clock.now = Math.floor(Math.max(...(await lastPushes(pg)).values())) + 1 + MAX_AGE_S;
    const r = await runAgent(['gc', '--pushgateway-url', clock.url, '--max-age', MAX_AGE], { DBX_PROM_JOB: 'etl' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^deleted job="etl" cluster_id="0101-abc" node="pool\/node-7" /);
    assert.equal(r.stdout.trim().split('\n').length, 1, r.stdout);
    assert.deepEqual(await nodes(pg), ['databricks/other']);
  });

  it('takes --max-age from DBX_PROM_MAX_AGE', async () => {
    const old = await pushOldGroups();
    // Over 5m old, under the default 10m: only a max-age read from the env finds them.
    clock.now = Math.floor(old) + 1 + 300;
    const r = await runAgent(['gc', '--dry-run'], { DBX_PROM_PUSHGATEWAY_URL: clock.url, DBX_PROM_MAX_AGE: '5m' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 3, r.stdout); // ip-10/0, spot-lost, failing (no fresh push here)
  });

  it('exits 2 naming the setting on a bad --max-age or a missing URL', async () => {
    const bad = await runAgent(['gc', '--pushgateway-url', pg.url, '--max-age', '10']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-age \(DBX_PROM_MAX_AGE\)/);
    const tiny = await runAgent(['gc', '--pushgateway-url', pg.url, '--max-age', '500ms']);
    assert.equal(tiny.code, 2);
    const none = await runAgent(['gc', '--max-age', '10m']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--pushgateway-url/);
  });

  it('exits 1 when the Pushgateway cannot be read', async () => {
    const port = await freePort();
    const r = await runAgent(['gc', '--pushgateway-url', `http://127.0.0.1:${port}`, '--max-age', '10m']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read Pushgateway groups/);
    assert.equal(r.stdout, '');
  });
});

describe('gc behind TLS and basic auth (the agent flags)', function () {
  this.timeout(60000);
  const USER = 'janitor';
  const PASSWORD = 'gc-secret-password-1';
  let pki: Pki;
  let pg: SecureServer;
  let pwFile: string;

  before(async () => {
    pki = makePki();
    pwFile = path.join(pki.dir, 'pw');
    writeFileSync(pwFile, PASSWORD);
    pg = await startSecurePushgateway({ certFile: pki.server.cert, keyFile: pki.server.key, basicAuth: { [USER]: PASSWORD } });
  });
  after(async () => {
    await pg?.stop();
    pki?.cleanup();
  });

  it('reads and deletes with --ca-file and --basic-auth-*, and fails (exit 1) without them', async () => {
    // The Pushgateway's own TLS, no proxy: real time, and only old groups (waiting longer
    // than this only makes them older, so a slow machine cannot make it fail).
    const MAX_AGE_S = 2;
    // A job of its own: gc of this test only ever looks at this test's groups.
    const job = `gc-tls-${process.pid}`;
    const auth = ['--ca-file', pki.ca.cert, '--basic-auth-user', USER, '--basic-auth-password-file', pwFile, '--job', job];
    const pushed = await runAgent(['once', '--pushgateway-url', pg.url, ...auth, '--sources', 'self', '--node-name', 'gone'], {
      DB_CLUSTER_ID: '0101-abc',
    });
    assert.equal(pushed.code, 0, pushed.stderr);
    await sleep(MAX_AGE_S * 1000 + 1500);

    const anonymous = await runAgent(['gc', '--pushgateway-url', pg.url, '--ca-file', pki.ca.cert, '--job', job, '--max-age', `${MAX_AGE_S}s`]);
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /HTTP 401/);

    const r = await runAgent(['gc', '--pushgateway-url', pg.url, ...auth, '--max-age', `${MAX_AGE_S}s`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').filter(Boolean).length, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`^deleted job="${job}" cluster_id="0101-abc" node="gone" `));
    assert.ok(!`${r.stdout}${r.stderr}${anonymous.stderr}`.includes(PASSWORD), 'password printed');

    const again = await runAgent(['gc', '--pushgateway-url', pg.url, ...auth, '--max-age', `${MAX_AGE_S}s`, '--dry-run']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, '');
  });
});

describe('gc while agents push again', () => {
  it('re-reads an old snapshot before each DELETE: a group refreshed meanwhile survives', async () => {
    // A Pushgateway stand-in: three groups an hour old; while gc deletes the first, n3 pushes.
    const pushTime = new Map([['n1', Date.now() / 1000 - 3600], ['n2', Date.now() / 1000 - 3600], ['n3', Date.now() / 1000 - 3600]]);
    const deleted: string[] = [];
    const group = (node: string, t: number) => ({
      labels: { job: 'databricks', cluster_id: 'c', node },
      last_push_successful: true,
      push_time_seconds: { type: 'GAUGE', help: '', metrics: [{ labels: { job: 'databricks', cluster_id: 'c', node }, value: String(t) }] },
      push_failure_time_seconds: { type: 'GAUGE', help: '', metrics: [{ labels: { job: 'databricks', cluster_id: 'c', node }, value: '0' }] },
    });
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'GET') {
          res.writeHead(200, { 'Content-Type': 'application/json', Date: new Date().toUTCString() });
          res.end(JSON.stringify({ status: 'success', data: [...pushTime].map(([n, t]) => group(n, t)) }));
          return;
        }
        const node = /\/node\/([^/]+)$/.exec(req.url ?? '')![1]!;
        if (node === 'n1') pushTime.set('n3', Date.now() / 1000); // n3's agent is back
        setTimeout(() => {
          deleted.push(node);
          pushTime.delete(node);
          res.writeHead(202).end();
        }, 300);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const lines: string[] = [];
      const code = await runGc(buildConfig({ pushgatewayUrl: url }, {}), { maxAgeMs: 600_000, dryRun: false, recheckAfterMs: 100 }, (l) => lines.push(l));
      assert.equal(code, 0);
      assert.deepEqual(deleted.sort(), ['n1', 'n2']);
      assert.equal(lines.length, 2);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
