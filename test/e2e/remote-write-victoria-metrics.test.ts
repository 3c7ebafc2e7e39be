/**
 * VictoriaMetrics as a second real remote-write receiver, with the built bundle: what `once`
 * sends arrives with its labels, timestamps and values; and the outage story of
 * remote-write-outage.test.ts (helpers/outage-story.ts: receiver down, kill -9, receiver back)
 * ends with every cycle of the killed daemon stored exactly once. VM runs without -dedup.minScrapeInterval, so it keeps
 * a sample sent twice twice (the first test checks that it does): "exactly once" is the agent's
 * doing, not the receiver's.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { decodeWriteRequest, encodeWriteRequest, type DecodedSeries } from '../../agent/sinks/remote-write/protobuf';
import { snappyCompress, snappyUncompress } from '../../agent/sinks/remote-write/snappy';
import { VERSION } from '../../agent/core/version';
import { runAgent, type Daemon } from '../helpers/agent';
import { outageStory } from '../helpers/outage-story';
import type { RestartableServer } from '../helpers/restartable';
import { tempDir, waitFor } from '../helpers/servers';
import { exportSamples, restartableVictoriaMetrics, type ExportedSeries } from '../helpers/victoria-metrics';

const byLabels = (a: ExportedSeries, b: ExportedSeries): number => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric));
const sortedObject = (labels: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * Whether VM stored `sent` as `got`. VM keeps a value as a decimal (int64 mantissa, exponent):
 * integers and ±Inf come back exactly, other values to 12 significant digits (its
 * conversionPrecision), and -0 as 0.
 */
function vmEqual(sent: number, got: number): boolean {
  if (Number.isInteger(sent) || !Number.isFinite(sent)) return sent === got;
  return Math.abs(got - sent) <= Math.abs(sent) * 1e-12;
}

/** A pass-through in front of VM that keeps each write request's decoded series. */
async function startTee(target: string): Promise<{ url: string; sent: DecodedSeries[][]; close(): Promise<void> }> {
  const sent: DecodedSeries[][] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const h of ['content-type', 'content-encoding', 'x-prometheus-remote-write-version', 'user-agent'])
        if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
      fetch(target + (req.url ?? ''), { method: req.method, headers, body })
        .then(async (r) => {
          if (r.ok) sent.push(decodeWriteRequest(snappyUncompress(body)));
          res.writeHead(r.status).end(await r.text());
        })
        .catch((e: Error) => res.writeHead(502).end(e.message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('remote write to a real VictoriaMetrics (bundle)', function () {
  this.timeout(120_000);
  let vm: RestartableServer;
  let queueBase: string;
  const daemons: Daemon[] = [];

  before(async () => {
    vm = await restartableVictoriaMetrics();
    await vm.start();
    queueBase = tempDir();
  });
  after(async () => {
    for (const d of daemons) await d.stop('SIGKILL');
    await vm?.destroy();
    rmSync(queueBase, { recursive: true, force: true });
  });

  it('keeps a sample sent twice twice (no deduplication: a duplicate from the agent would show)', async () => {
    const t = Date.now() - 5000;
    const body = snappyCompress(encodeWriteRequest([{ labels: [['__name__', 'test_vm_dup'], ['k', 'v']], samples: [{ value: 7, timestampMs: t }] }]));
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${vm.url}/api/v1/write`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
        body,
      });
      assert.equal(res.status, 204, await res.text());
    }
    const got = await exportSamples(vm.url, 'test_vm_dup');
    assert.deepEqual(got, [{ metric: { __name__: 'test_vm_dup', k: 'v' }, values: [7, 7], timestampsMs: [t, t] }]);
  });

  it('`once` sends the agent series with exact labels and values', async () => {
    const queueDir = tempDir();
    try {
      const res = await runAgent(
        ['once', '--remote-write-url', `${vm.url}/api/v1/write`, '--sources', 'self', '--node-name', 'n-once', '--job', 'dbx-test', '--labels', 'team=data'],
        { DBX_PROM_QUEUE_DIR: queueDir, DB_CLUSTER_ID: '0101-120000-abcd', DB_IS_DRIVER: 'TRUE' },
      );
      assert.equal(res.code, 0, res.stderr);
    } finally {
      rmSync(queueDir, { recursive: true, force: true });
    }
    const all = await exportSamples(vm.url, '{node="n-once"}');
    // One cycle: one sample per series, all at the cycle's timestamp.
    assert.ok(all.length > 5, JSON.stringify(all));
    for (const s of all) assert.equal(s.timestampsMs.length, 1, JSON.stringify(s));
    const t = all[0]!.timestampsMs[0]!;
    assert.ok(all.every((s) => s.timestampsMs[0] === t));

    const build = all.filter((s) => s.metric.__name__ === 'dbx_agent_build_info');
    assert.equal(build.length, 1);
    const m = build[0]!.metric;
    assert.deepEqual(build[0]!.values, [1]);
    // The whole label set, nothing VM added or dropped.
    assert.deepEqual(Object.keys(m).sort(), ['__name__', 'cluster_id', 'instance', 'job', 'node', 'node_ip', 'node_version', 'role', 'team', 'version']);
    assert.equal(m.job, 'dbx-test');
    assert.equal(m.instance, 'n-once');
    assert.equal(m.cluster_id, '0101-120000-abcd');
    assert.equal(m.role, 'driver');
    assert.equal(m.team, 'data');
    assert.equal(m.version, VERSION);
    assert.equal(m.node_version, process.version);
    const up = all.filter((s) => s.metric.__name__ === 'dbx_agent_source_up');
    assert.deepEqual(up.map((s) => [s.metric.source, s.values]), [['self', [1]]]);
    // The first cycle of a fresh process has pushed nothing yet: counters at exactly 0.
    const pushes = all.filter((s) => s.metric.__name__ === 'dbx_agent_push_total').sort(byLabels);
    assert.deepEqual(pushes.map((s) => [s.metric.sink, s.metric.result, s.values]), [
      ['remote_write', 'failure', [0]],
      ['remote_write', 'success', [0]],
    ]);
  });

  it('every sample `once` sends is stored as sent: labels, timestamp and value', async () => {
    const tee = await startTee(vm.url);
    const queueDir = tempDir();
    try {
      const res = await runAgent(['once', '--remote-write-url', `${tee.url}/api/v1/write`, '--sources', 'self', '--node-name', 'n-tee'], {
        DBX_PROM_QUEUE_DIR: queueDir,
      });
      assert.equal(res.code, 0, res.stderr);
    } finally {
      await tee.close();
      rmSync(queueDir, { recursive: true, force: true });
    }
    const sent = tee.sent.flat().map((s) => ({
      metric: sortedObject(Object.fromEntries(s.labels)),
      samples: s.samples.map((x) => [x.timestampMs, x.stale ? NaN : x.value] as const),
    }));
    assert.ok(sent.length > 5);
    const stored = new Map((await exportSamples(vm.url, '{node="n-tee"}')).map((s) => [JSON.stringify(sortedObject(s.metric)), s]));
    assert.equal(stored.size, sent.length, `series sent: ${sent.length}, stored: ${stored.size}`);
    for (const s of sent) {
      const key = JSON.stringify(s.metric);
      const got = stored.get(key);
      assert.ok(got, `not stored: ${key}`);
      assert.deepEqual(got.timestampsMs, s.samples.map(([t]) => t), key);
      s.samples.forEach(([, v], i) => assert.ok(Number.isNaN(v) ? Number.isNaN(got.values[i]) : vmEqual(v, got.values[i]!), `${key}: sent ${v}, stored ${got.values[i]}`));
    }
  });

  it('sends every cycle of the killed daemon once the receiver is back, none missing, none twice', async () => {
    // /api/v1/export shows staleness markers as samples (a Prometheus range vector hides them):
    // the story also checks the marker the second daemon's clean exit ends the series with.
    const { failures, queued, points } = await outageStory(
      {
        name: 'VictoriaMetrics',
        server: vm,
        points: async (selector) => (await exportSamples(vm.url, selector)).map((s) => s.timestampsMs.map((t, i) => [t, s.values[i]!] as const)),
        showsStalenessMarkers: true,
      },
      queueBase,
      daemons,
    );
    // The same story in MetricsQL terms: one window over the whole outage counts each cycle once.
    // `time` in the middle of the last cycle's millisecond: VM turns the query time into float
    // seconds and truncates to whole ms, so …986.002 (or its RFC 3339 form) can evaluate at
    // …986001 and leave the last cycle out of the window. And VM 1.79's queries do not see the
    // last second before now whatever -search.latencyOffset says (it is clamped to >= 1s), so
    // first wait until the query layer sees the last queued cycle.
    const last = queued[queued.length - 1]!;
    const spanMs = last - queued[0]! + 1;
    const instant = async (query: string): Promise<[number, string][]> => {
      const q = new URLSearchParams({ query, time: String((last + 0.5) / 1000) });
      const body = (await (await fetch(`${vm.url}/api/v1/query?${q}`)).json()) as { data: { result: { value: [number, string] }[] } };
      return body.data.result.map((r) => r.value);
    };
    await waitFor(async () => Math.round(Number((await instant(`timestamp(${failures}[${spanMs}ms])`))[0]?.[1]) * 1000) === last, 10_000, 'the last queued cycle visible to queries');
    const counted = await instant(`count_over_time(${failures}[${spanMs}ms])`);
    assert.equal(counted.length, 1);
    assert.equal(Math.round(counted[0]![0] * 1000), last);
    assert.equal(Number(counted[0]![1]), queued.length, JSON.stringify({ queued, points, counted }));
  });
});
