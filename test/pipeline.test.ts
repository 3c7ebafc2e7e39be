import assert from 'node:assert/strict';
import { Pipeline } from '../agent/pipeline';
import { AgentStats } from '../agent/core/stats';
import { captureLogs, log } from '../agent/core/log';
import { ExpectedOutage } from '../agent/core/outage';
import { gauge, type Sample } from '../agent/core/sample';
import type { Batch, Sink } from '../agent/core/sink';
import type { Source } from '../agent/core/source';
import { createSelfSource } from '../agent/sources/self';

const g = gauge('test_value', 'A test value.');

function source(name: string, collect: () => Promise<Sample[]>): Source {
  return { name, collect };
}

function recordingSink(name = 'mem', fail = false): Sink & { batches: Batch[] } {
  const batches: Batch[] = [];
  return {
    name,
    batches,
    async send(b) {
      if (fail) throw new Error('down');
      batches.push(b);
    },
    async close() {},
  };
}

const find = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe('pipeline', () => {
  let restore: () => void;
  const lines: string[] = [];
  beforeEach(() => {
    lines.length = 0;
    restore = captureLogs((l) => lines.push(l));
  });
  afterEach(() => restore());

  it('keeps the other sources when one rejects, throws synchronously or hangs', async () => {
    const sink = recordingSink();
    const p = new Pipeline({
      sources: [
        source('good', async () => [g({ k: 'v' }, 42)]),
        source('rejects', async () => {
          throw new Error('boom');
        }),
        { name: 'throws', collect: () => { throw new Error('sync boom'); } },
        source('hangs', () => new Promise<never>(() => undefined)),
      ],
      sinks: [sink],
      baseLabels: { node: 'n1', role: 'worker' },
      stats: new AgentStats(),
      logger: log,
      sourceTimeoutMs: 100,
    });
    const r = await p.cycle();
    assert.equal(find(r.samples, 'test_value')?.value, 42);
    // The node's labels go with the batch, not onto each sample.
    assert.equal(find(r.samples, 'test_value')?.labels.node, undefined);
    assert.deepEqual(sink.batches[0]!.labels, { node: 'n1', role: 'worker' });
    for (const [name, up] of [['good', 1], ['rejects', 0], ['throws', 0], ['hangs', 0]] as const)
      assert.equal(find(r.samples, 'dbx_agent_source_up', { source: name })?.value, up, name);
    assert.ok(find(r.samples, 'dbx_agent_source_duration_seconds', { source: 'hangs' })!.value >= 0.09);
    assert.equal(sink.batches.length, 1);
    assert.match(r.results.find((x) => x.source === 'hangs')!.error!, /collection deadline of 100 ms/);
  });

  it('a stop cuts the collection at once and sends nothing; the self source still reports', async () => {
    const sink = recordingSink();
    const stats = new AgentStats();
    let signalled: AbortSignal | undefined;
    const p = new Pipeline({
      sources: [
        { name: 'slow', collect: (_now, signal) => ((signalled = signal), new Promise<never>(() => undefined)) },
        createSelfSource(stats),
      ],
      sinks: [sink],
      baseLabels: {},
      stats,
      logger: log,
      sourceTimeoutMs: 60_000,
    });
    const stop = new AbortController();
    const cycle = p.cycle(new Date(), { stop: stop.signal });
    await new Promise((r) => setImmediate(r));
    stop.abort();
    const r = await cycle;
    assert.equal(signalled?.aborted, true, 'the source saw its signal abort');
    assert.equal(sink.batches.length, 0);
    assert.deepEqual([...r.sinks], []);
    assert.match(r.results.find((x) => x.source === 'slow')!.error!, /the agent is stopping/);
    // Stopping is not a failure of the source: nothing logged for it.
    assert.ok(!lines.some((l) => l.includes('slow')), lines.join('\n'));
    assert.equal(find(r.samples, 'dbx_agent_source_up', { source: 'self' })?.value, 1);
    assert.equal(p.lastPushAt, undefined);
  });

  it('collectMs shortens the deadline of one cycle (the final push at exit), which still sends', async () => {
    const sink = recordingSink();
    const p = new Pipeline({
      sources: [source('good', async () => [g({}, 1)]), source('hangs', () => new Promise<never>(() => undefined))],
      sinks: [sink],
      baseLabels: {},
      stats: new AgentStats(),
      logger: log,
      sourceTimeoutMs: 60_000,
    });
    const r = await p.cycle(new Date(), { collectMs: 20 });
    assert.match(r.results.find((x) => x.source === 'hangs')!.error!, /deadline of 20 ms/);
    assert.equal(sink.batches.length, 1);
    assert.ok(p.lastPushAt !== undefined);
  });

  it('logs a failing source once per outage, not every cycle', async () => {
    let fail = true;
    const p = new Pipeline({
      sources: [source('flaky', async () => {
        if (fail) throw new Error('no route');
        return [];
      })],
      sinks: [],
      baseLabels: {},
      stats: new AgentStats(),
      logger: log,
      sourceTimeoutMs: 1000,
    });
    for (let i = 0; i < 5; i++) await p.cycle();
    fail = false;
    await p.cycle();
    const mine = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.msg.includes('flaky'));
    assert.deepEqual(mine.map((l) => l.level), ['warn', 'info']);
    assert.match(mine[1]!.msg, /recovered/);
  });

  it('counts pushes per sink and result, and a failing sink does not stop the others', async () => {
    const stats = new AgentStats();
    const good = recordingSink('good');
    const bad = recordingSink('bad', true);
    const p = new Pipeline({
      sources: [createSelfSource(stats)],
      sinks: [good, bad],
      baseLabels: {},
      stats,
      logger: log,
      sourceTimeoutMs: 1000,
    });
    const first = await p.cycle();
    assert.deepEqual([...first.sinks], [['good', true], ['bad', false]]);
    // The first cycle already shows zero-valued push counters.
    assert.equal(find(first.samples, 'dbx_agent_push_total', { sink: 'bad', result: 'failure' })?.value, 0);
    const second = await p.cycle();
    assert.equal(find(second.samples, 'dbx_agent_push_total', { sink: 'bad', result: 'failure' })?.value, 1);
    assert.equal(find(second.samples, 'dbx_agent_push_total', { sink: 'good', result: 'success' })?.value, 1);
    assert.ok(find(second.samples, 'dbx_agent_last_push_timestamp_seconds', { sink: 'good' }));
    assert.equal(find(second.samples, 'dbx_agent_last_push_timestamp_seconds', { sink: 'bad' }), undefined);
    assert.equal(good.batches.length, 2);
  });

  it('collects a `last` source after the others, so self metrics include this cycle', async () => {
    const stats = new AgentStats();
    const dropped = gauge('test_dropped', 'Recorded by a source during the cycle.');
    const p = new Pipeline({
      sources: [
        createSelfSource(stats),
        source('records', async () => {
          await new Promise((r) => setTimeout(r, 20));
          stats.set(dropped, {}, 7);
          return [];
        }),
      ],
      sinks: [],
      baseLabels: {},
      stats,
      logger: log,
      sourceTimeoutMs: 1000,
    });
    const r = await p.cycle();
    assert.equal(find(r.samples, 'test_dropped')?.value, 7);
  });

  it('logs at the level a failure asks for (Spark not up yet is info)', async () => {
    const notUp = new ExpectedOutage('Spark is not up yet');
    const p = new Pipeline({
      sources: [source('spark', async () => { throw notUp; })],
      sinks: [],
      baseLabels: {},
      stats: new AgentStats(),
      logger: log,
      sourceTimeoutMs: 1000,
    });
    await p.cycle();
    await p.cycle();
    const mine = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.msg.includes('spark'));
    assert.deepEqual(mine.map((l) => l.level), ['info']);
  });
});
