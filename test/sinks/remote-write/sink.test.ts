import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import fs, { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { captureLogs, log } from '../../../agent/core/log';
import { diskErrors, samplesTotal, pendingSamples, oldestPending, requestDuration } from '../../../agent/sinks/remote-write/metrics';
import { backoffMs } from '../../../agent/sinks/remote-write/retry';
import { decodeWriteRequest, type DecodedSeries } from '../../../agent/sinks/remote-write/protobuf';
import { snappyUncompress } from '../../../agent/sinks/remote-write/snappy';
import { gauge, type Sample } from '../../../agent/core/sample';
import { openRemoteWriteSink, queueSubdir, type RemoteWriteOptions } from '../../../agent/sinks/remote-write/sink';
import type { Sink } from '../../../agent/core/sink';
import { AgentStats } from '../../../agent/core/stats';
import { VERSION } from '../../../agent/core/version';
import { rawSamples } from '../../helpers/prometheus-restart';
import { runAgent } from '../../helpers/agent';
import { promQuery, startPrometheus, tempDir, waitFor, type Server } from '../../helpers/servers';

const value = gauge('test_rw_value', 'Test value.');

type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

interface Received {
  at: number;
  headers: http.IncomingHttpHeaders;
  series: DecodedSeries[];
}

/** A remote-write receiver written for the test: answers from a script, then 204; decodes every body. */
async function startReceiver(
  script: Reply[] | ((series: DecodedSeries[]) => Reply) = [],
  port = 0,
): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ at: Date.now(), headers: req.headers, series: decodeWriteRequest(snappyUncompress(Buffer.concat(chunks))) });
      const last = received[received.length - 1]!;
      const reply = typeof script === 'function' ? script(last.series) : (script.shift() ?? { status: 204 });
      if (reply === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  return {
    url,
    received,
    async close() {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Prometheus's JSON float text to a number (`+Inf`, `-Inf`, `NaN`). */
function promNumber(text: string): number {
  return text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
}

/** Recent batch timestamps (the queue drops what is older than its max-age). */
const T = Math.floor(Date.now() / 1000) * 1000 - 60_000;

function samplesOf(reqs: Received[]): { labels: Record<string, string>; value: number; t: number; stale: boolean }[] {
  return reqs.flatMap((r) =>
    r.series.flatMap((s) => s.samples.map((x) => ({ labels: Object.fromEntries(s.labels), value: x.value, t: x.timestampMs, stale: x.stale }))),
  );
}

describe('sinks/remote-write', function () {
  let dirs: string[] = [];
  let sinks: Sink[] = [];
  let stats: AgentStats;
  let logs: string[];
  let restore: () => void;

  const open = (url: string, extra: Partial<RemoteWriteOptions> = {}): Sink => {
    const dir = tempDir();
    dirs.push(dir);
    const sink = openRemoteWriteSink({
      url,
      http: axios.create(),
      logger: log,
      stats,
      job: 'databricks',
      instance: 'node-1',
      queueDir: dir,
      queueMaxBytes: 8 << 20,
      queueMaxAgeMs: 3_600_000,
      maxSamplesPerSend: 2000,
      timeoutMs: 2000,
      random: () => 0,
      ...extra,
    });
    sinks.push(sink);
    return sink;
  };
  const count = (labels: Record<string, string>): number => stats.get(samplesTotal, labels) ?? -1;

  beforeEach(() => {
    stats = new AgentStats();
    logs = [];
    restore = captureLogs((l) => logs.push(l));
  });
  afterEach(async () => {
    for (const s of sinks) await s.close({ nodeLeaving: false });
    restore();
    if (process.env.RW_DEBUG) console.log(logs.join('\n'));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
    sinks = [];
  });

  it('POSTs snappy protobuf with the remote-write 1.0 headers, sorted labels, job and instance', async () => {
    const rx = await startReceiver();
    try {
      const sink = open(rx.url);
      await sink.send({ samples: [value({ node: 'node-1', zone: 'a', empty: '' }, 42.5)], timestampMs: T });
      assert.equal(rx.received.length, 1);
      const h = rx.received[0]!.headers;
      assert.equal(h['content-encoding'], 'snappy');
      assert.equal(h['content-type'], 'application/x-protobuf');
      assert.equal(h['x-prometheus-remote-write-version'], '0.1.0');
      assert.equal(h['user-agent'], `dbx-prom-agent/${VERSION}`);
      assert.deepEqual(rx.received[0]!.series, [
        {
          labels: [['__name__', 'test_rw_value'], ['instance', 'node-1'], ['job', 'databricks'], ['node', 'node-1'], ['zone', 'a']],
          samples: [{ value: 42.5, timestampMs: T, stale: false }],
        },
      ]);
      assert.equal(count({ result: 'sent' }), 1);
      assert.equal(stats.get(pendingSamples), 0);
      assert.equal(stats.get(oldestPending), 0);
      assert.ok((stats.get(requestDuration) ?? -1) >= 0);
    } finally {
      await rx.close();
    }
  });

  it('drops a batch answered 400 (counted, logged once, not retried); later batches go through', async () => {
    const rx = await startReceiver([{ status: 400, body: 'out of order sample' }]);
    try {
      const sink = open(rx.url);
      await assert.rejects(sink.send({ samples: [value({ a: '1' }, 1), value({ a: '2' }, 2)], timestampMs: T + 1000 }), /HTTP 400: out of order sample/);
      assert.equal(count({ result: 'dropped', reason: 'rejected' }), 2);
      await sink.send({ samples: [value({ a: '1' }, 3), value({ a: '2' }, 4)], timestampMs: T + 2000 });
      assert.equal(rx.received.length, 2);
      assert.deepEqual(samplesOf(rx.received.slice(1)).map((s) => s.value), [3, 4]);
      assert.equal(count({ result: 'sent' }), 2);
      assert.equal(count({ result: 'retried' }), 0);
      assert.equal(logs.filter((l) => l.includes('rejected') && l.includes('"level":"warn"')).length, 1);
    } finally {
      await rx.close();
    }
  });

  it('retries 500 with backoff until accepted; send rejects meanwhile, nothing is lost or doubled', async () => {
    const rx = await startReceiver([{ status: 500 }, { status: 503 }, { status: 502 }]);
    try {
      const sink = open(rx.url);
      await assert.rejects(sink.send({ samples: [value({}, 7)], timestampMs: T + 1000 }), /HTTP 500/);
      await waitFor(async () => count({ result: 'sent' }) === 1, 10000, 'retried send');
      assert.equal(rx.received.length, 4);
      assert.equal(count({ result: 'retried' }), 3);
      assert.equal(stats.get(pendingSamples), 0);
      assert.deepEqual(samplesOf(rx.received).map((s) => s.value), [7, 7, 7, 7]);
    } finally {
      await rx.close();
    }
  });

  it('retries 429 and waits the Retry-After the receiver asks for', async () => {
    const rx = await startReceiver([{ status: 429, headers: { 'Retry-After': '1' } }]);
    try {
      const sink = open(rx.url);
      await assert.rejects(sink.send({ samples: [value({}, 1)], timestampMs: T + 1000 }), /HTTP 429/);
      await waitFor(async () => count({ result: 'sent' }) === 1, 10000, 'send after Retry-After');
      assert.equal(rx.received.length, 2);
      // A lower bound only: the sender must not come back before the receiver said it may.
      assert.ok(rx.received[1]!.at - rx.received[0]!.at >= 950, `${rx.received[1]!.at - rx.received[0]!.at} ms`);
    } finally {
      await rx.close();
    }
  });

  it('backs off on a 429 with Retry-After: 0 instead of retrying at once', async () => {
    const zero = { status: 429, headers: { 'Retry-After': '0' } };
    const rx = await startReceiver([zero, zero, zero, zero]);
    try {
      const sink = open(rx.url);
      await assert.rejects(sink.send({ samples: [value({}, 1)], timestampMs: T + 1000 }), /HTTP 429/);
      await waitFor(async () => count({ result: 'sent' }) === 1, 10000, 'send after the 429s');
      assert.equal(rx.received.length, 5);
      // Lower bounds only: each retry waits at least its backoff (random 0: half of 30, 60, 120, 240 ms).
      const gaps = rx.received.slice(1).map((r, i) => r.at - rx.received[i]!.at);
      gaps.forEach((g, i) => assert.ok(g >= backoffMs(i + 1, () => 0) - 1, `retry ${i + 1} after ${g} ms: ${gaps.join(', ')}`));
    } finally {
      await rx.close();
    }
  });

  it('a disk that refuses the queue: the cycle goes from memory, counted and said once; unsent ones are said lost at exit', async () => {
    const rx = await startReceiver(() => ({ status: 503 }));
    const sink = open(rx.url);
    const original = fs.writeSync;
    (fs as { writeSync: unknown }).writeSync = (fd: number, buf: Buffer, ...rest: unknown[]) => {
      // Segment headers (8 bytes) go through; every record is refused.
      if (Buffer.isBuffer(buf) && buf.length > 8) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return (original as (...a: unknown[]) => number)(fd, buf, ...rest);
    };
    try {
      await assert.rejects(sink.send({ samples: [value({}, 1)], timestampMs: T + 1000 }), /HTTP 503/);
      await assert.rejects(sink.send({ samples: [value({}, 2)], timestampMs: T + 2000 }), /HTTP 503/);
      assert.equal(stats.get(diskErrors), 2);
      assert.equal(count({ result: 'dropped', reason: 'disk_error' }), 0);
      const said = logs.filter((l) => l.includes('remote-write queue disk'));
      assert.equal(said.length, 1, said.join('\n'));
      assert.match(said[0]!, /"level":"warn".*ENOSPC/);
      await sink.close({ nodeLeaving: false, deadline: Date.now() + 500 });
      assert.ok(logs.some((l) => /unsent samples the disk refused are lost at exit.*"samples":2/.test(l)), logs.join('\n'));
    } finally {
      (fs as { writeSync: unknown }).writeSync = original;
      await rx.close();
    }
  });

  it('times out a hanging receiver, then delivers when it answers again', async () => {
    const rx = await startReceiver(['hang']);
    try {
      const sink = open(rx.url, { timeoutMs: 300 });
      await assert.rejects(sink.send({ samples: [value({}, 5)], timestampMs: T + 1000 }), /timeout|ETIMEDOUT|ECONNABORTED/i);
      await waitFor(async () => count({ result: 'sent' }) === 1, 10000, 'send after timeout');
      assert.ok(count({ result: 'retried' }) >= 1);
    } finally {
      await rx.close();
    }
  });

  it('after an outage, sends every series in time order, each sample once, batches within max-samples-per-send', async () => {
    const rx = await startReceiver(Array.from({ length: 6 }, () => ({ status: 503 })));
    try {
      const sink = open(rx.url, { maxSamplesPerSend: 7 });
      for (let cycle = 0; cycle < 6; cycle++) {
        const samples: Sample[] = [];
        for (let i = 0; i < 3; i++) samples.push(value({ s: String(i) }, cycle * 10 + i));
        // A series that comes and goes: gets staleness markers.
        if (cycle % 2 === 0) samples.push(value({ s: 'flaky' }, cycle));
        await sink.send({ samples, timestampMs: T + 1000 * (cycle + 1) }).catch(() => undefined);
      }
      await waitFor(async () => stats.get(pendingSamples) === 0, 20000, 'queue drained');
      const ok = rx.received.slice(6);
      for (const r of ok) assert.ok(r.series.reduce((n, s) => n + s.samples.length, 0) <= 7);
      const bySeries = new Map<string, number[]>();
      for (const s of samplesOf(ok)) {
        const k = s.labels.s!;
        bySeries.set(k, [...(bySeries.get(k) ?? []), s.t]);
      }
      for (const i of ['0', '1', '2']) assert.deepEqual(bySeries.get(i), [1000, 2000, 3000, 4000, 5000, 6000].map((d) => T + d));
      // Present at 1, 3, 5 s; a staleness marker at 2, 4, 6 s.
      assert.deepEqual(bySeries.get('flaky'), [1000, 2000, 3000, 4000, 5000, 6000].map((d) => T + d));
      assert.deepEqual(samplesOf(ok).filter((s) => s.labels.s === 'flaky').map((s) => s.stale), [false, true, false, true, false, true]);
      assert.equal(count({ result: 'sent' }), 24);
    } finally {
      await rx.close();
    }
  });

  it('close() with the receiver down returns, and the next start sends what was queued', async () => {
    const rx = await startReceiver();
    const port = Number(new URL(rx.url).port);
    await rx.close(); // nothing listens on that port now
    const dir = tempDir();
    dirs.push(dir);
    const first = open(rx.url, { queueDir: dir });
    await assert.rejects(first.send({ samples: [value({ a: 'x' }, 11)], timestampMs: T + 1000 }), /ECONNREFUSED/);
    await first.close({ nodeLeaving: false });
    assert.ok(logs.some((l) => l.includes('stay queued')));
    assert.equal(stats.get(pendingSamples), 1);

    const rx2 = await startReceiver([], port);
    try {
      const second = open(rx.url, { queueDir: dir });
      await second.send({ samples: [value({ a: 'x' }, 12)], timestampMs: T + 2000 });
      assert.deepEqual(samplesOf(rx2.received).map((s) => [s.t, s.value]), [[T + 1000, 11], [T + 2000, 12]]);
    } finally {
      await rx2.close();
    }
  });

  it('on exit (unless keep-on-exit) ends every live series with a staleness marker, like a vanished scrape target', async () => {
    const rx = await startReceiver();
    try {
      const sink = open(rx.url);
      await sink.send({ samples: [value({ a: '1' }, 1), value({ a: '2' }, 2)], timestampMs: T });
      await sink.close({ nodeLeaving: true });
      const markers = samplesOf(rx.received.slice(1));
      assert.deepEqual(markers.map((m) => [m.labels.a, m.stale]), [['1', true], ['2', true]]);
      assert.ok(markers.every((m) => m.t > T));
      const kept = open(rx.url);
      await kept.send({ samples: [value({ a: '3' }, 3)], timestampMs: T + 5000 });
      await kept.close({ nodeLeaving: false });
      assert.equal(rx.received.length, 3);
    } finally {
      await rx.close();
    }
  });

  it('when a merged backlog batch is rejected, resends its records one by one and drops only the bad one', async () => {
    let down = true;
    // 503 while "down"; then 400 for any request holding the value 666, else 204.
    const rx = await startReceiver((series) =>
      down ? { status: 503 } : series.some((s) => s.samples.some((x) => x.value === 666)) ? { status: 400, body: 'bad sample' } : { status: 204 },
    );
    try {
      const sink = open(rx.url);
      for (const [i, v] of [1, 666, 3].entries()) await sink.send({ samples: [value({}, v)], timestampMs: T + i * 1000 }).catch(() => undefined);
      down = false;
      await sink.send({ samples: [value({}, 4)], timestampMs: T + 3000 }).catch(() => undefined);
      await waitFor(async () => stats.get(pendingSamples) === 0, 20000, 'queue drained');
      const accepted = rx.received.filter((r) => !r.series.some((s) => s.samples.some((x) => x.value === 666)) && r !== rx.received[0]);
      assert.deepEqual(samplesOf(accepted).filter((x) => !x.stale).map((x) => x.value).sort(), [1, 3, 4]);
      assert.equal(count({ result: 'dropped', reason: 'rejected' }), 1);
      assert.equal(count({ result: 'sent' }), 3);
    } finally {
      await rx.close();
    }
  });

  it('counts samples dropped for age and invalid names, and the send fails', async () => {
    const rx = await startReceiver([{ status: 503 }]);
    try {
      const sink = open(rx.url, { queueMaxAgeMs: 60_000 });
      await assert.rejects(sink.send({ samples: [value({}, 1)], timestampMs: Date.now() - 3_600_000 }), /too_old/);
      assert.equal(count({ result: 'dropped', reason: 'too_old' }), 1);
      await sink.send({ samples: [value({ 'bad-label': 'x' }, 1), gauge('ok_metric', 'x')({}, 2)], timestampMs: Date.now() }).catch(() => undefined);
      assert.equal(count({ result: 'dropped', reason: 'invalid' }), 1);
      assert.ok(logs.some((l) => l.includes('"reason":"invalid"') && l.includes('bad-label')));
    } finally {
      await rx.close();
    }
  });

  it('keeps sending when the queue directory disappears under it (cursor not saved, logged once)', async () => {
    const rx = await startReceiver();
    try {
      const dir = tempDir();
      dirs.push(dir);
      const sink = open(rx.url, { queueDir: dir });
      await sink.send({ samples: [value({}, 1)], timestampMs: T });
      rmSync(path.join(dir, queueSubdir(rx.url)), { recursive: true, force: true });
      await sink.send({ samples: [value({}, 2)], timestampMs: T + 1000 });
      await sink.send({ samples: [value({}, 3)], timestampMs: T + 2000 });
      assert.deepEqual(samplesOf(rx.received).map((x) => x.value), [1, 2, 3]);
      assert.equal(logs.filter((l) => l.includes('cannot save the send position')).length, 1);
    } finally {
      await rx.close();
    }
  });

  it('leaves no queue files once everything is sent, and uses a private queue when another agent holds the lock', async () => {
    const rx = await startReceiver();
    try {
      const dir = tempDir();
      dirs.push(dir);
      const qdir = path.join(dir, queueSubdir(rx.url));
      mkdirSync(qdir, { recursive: true });
      writeFileSync(path.join(qdir, 'lock'), '1 '); // pid 1 is alive: "another agent"
      const sink = open(rx.url, { queueDir: dir });
      assert.ok(existsSync(`${qdir}.${process.pid}`));
      assert.ok(logs.some((l) => l.includes('in use by another agent')));
      await sink.send({ samples: [value({}, 1)], timestampMs: T });
      await sink.close({ nodeLeaving: false });
      assert.equal(existsSync(`${qdir}.${process.pid}`), false);
      assert.equal(rx.received.length, 1);
      // A private queue whose process is gone is removed when the main queue is next opened.
      rmSync(path.join(qdir, 'lock'));
      const dead = Number(spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());
      mkdirSync(`${qdir}.${dead}`);
      await open(rx.url, { queueDir: dir }).close({ nodeLeaving: false });
      assert.equal(existsSync(`${qdir}.${dead}`), false);
    } finally {
      await rx.close();
    }
  });

  describe('against a real Prometheus (--web.enable-remote-write-receiver)', () => {
    let prom: Server;
    before(async () => {
      prom = await startPrometheus('global: {}\n', ['--web.enable-remote-write-receiver']);
    });
    after(async () => {
      await prom?.stop();
    });

    it('stores exact values and labels, and ends a vanished series with a staleness marker', async () => {
      const sink = open(`${prom.url}/api/v1/write`);
      const t0 = Date.now() - 10_000;
      const values: [string, number][] = [['neg_zero', -0], ['huge', 1.7976931348623157e308], ['tiny', 5e-324], ['inf', Infinity], ['ninf', -Infinity], ['plain', 12345.678]];
      await sink.send({ samples: values.map(([k, v]) => value({ k, unicode: 'zürich ✓ 東京' }, v)), timestampMs: t0 });
      const got = await rawSamples(prom.url, 'test_rw_value', '1m');
      const byK = new Map(got.map((r) => [r.metric.k!, r]));
      assert.equal(got.length, values.length);
      for (const [k, v] of values) {
        const r = byK.get(k)!;
        assert.deepEqual(r.metric, { __name__: 'test_rw_value', instance: 'node-1', job: 'databricks', k, unicode: 'zürich ✓ 東京' });
        assert.equal(r.values.length, 1);
        assert.equal(r.values[0]![0], t0 / 1000);
        assert.ok(Object.is(promNumber(r.values[0]![1]), v), `${k}: ${r.values[0]![1]}`);
      }
      // Next cycle without "plain": Prometheus marks it stale, so an instant query no longer returns it.
      await sink.send({ samples: values.filter(([k]) => k !== 'plain').map(([k, v]) => value({ k, unicode: 'zürich ✓ 東京' }, v)), timestampMs: t0 + 1000 });
      const instant = await promQuery(prom.url, 'test_rw_value');
      assert.deepEqual(instant.map((r) => r.metric.k).sort(), ['huge', 'inf', 'neg_zero', 'ninf', 'tiny']);
    });

    it('`once` (the bundle) sends the agent series with exact labels and values', async () => {
      const queueDir = tempDir();
      dirs.push(queueDir);
      const res = await runAgent(['once', '--remote-write-url', `${prom.url}/api/v1/write`, '--sources', 'self', '--node-name', 'n-once', '--job', 'dbx-test', '--labels', 'team=data'], {
        DBX_PROM_QUEUE_DIR: queueDir,
        DB_CLUSTER_ID: '0101-120000-abcd',
        DB_IS_DRIVER: 'TRUE',
      });
      assert.equal(res.code, 0, res.stderr);
      const build = await promQuery(prom.url, 'dbx_agent_build_info{node="n-once"}');
      assert.equal(build.length, 1);
      assert.equal(build[0]!.value[1], '1');
      const m = build[0]!.metric;
      assert.equal(m.job, 'dbx-test');
      assert.equal(m.instance, 'n-once');
      assert.equal(m.cluster_id, '0101-120000-abcd');
      assert.equal(m.role, 'driver');
      assert.equal(m.team, 'data');
      assert.equal(m.version, VERSION);
      assert.equal(m.node_version, process.version);
      const up = await promQuery(prom.url, 'dbx_agent_source_up{node="n-once"}');
      assert.deepEqual(up.map((r) => [r.metric.source, r.value[1]]), [['self', '1']]);
    });
  });
});
