/**
 * agent/sources/spark/streaming.ts on the driver's /metrics/json in dropwizard MetricsModule's
 * shape (test/fixtures/spark/streaming/metrics.json: two named queries, one of them with dots in
 * its name, one unnamed query by its UUID, and the driver's other gauges, counters, histograms and
 * timers, which are not streaming series).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Sample } from '../../../agent/core/sample';
import {
  DEFAULT_MAX_STREAMING_QUERIES,
  UNNAMED_QUERY,
  isUnnamedQuery,
  parseStreamingMetrics,
  splitStreamingGauge,
} from '../../../agent/sources/spark/streaming';

const FIXTURE = path.resolve(__dirname, '../../fixtures/spark/streaming/metrics.json');
const APP = 'app-20260114091203-0000';
const UUID = '3f1c2a9e-7b4d-4e61-9c2f-0a8d5e6b1c47';
const NOW = Date.parse('2026-01-14T09:35:12.000Z');
const LABELS = { spark_app_id: APP };
const OPTS = { maxQueries: DEFAULT_MAX_STREAMING_QUERIES };

const fixtureText = (): string => readFileSync(FIXTURE, 'utf8');
const fixture = (): Record<string, Record<string, unknown>> => JSON.parse(fixtureText()) as Record<string, Record<string, unknown>>;

/** The one value of `name` with exactly these extra labels; fails when there is not exactly one. */
function value(samples: readonly Sample[], name: string, query: string): number {
  const found = samples.filter((s) => s.name === name && s.labels.query === query);
  assert.equal(found.length, 1, `${name}{query="${query}"}: ${found.length} series`);
  return found[0]!.value;
}

function has(samples: readonly Sample[], name: string, query: string): boolean {
  return samples.some((s) => s.name === name && s.labels.query === query);
}

/** The six gauges of one query, as Spark registers them. */
function queryGauges(name: string, v: { watermark?: number; input?: unknown; latency?: number; rows?: number; bytes?: number } = {}): Record<string, { value: unknown }> {
  const p = `${APP}.driver.spark.streaming.${name}`;
  return {
    [`${p}.eventTime-watermark`]: { value: v.watermark ?? 0 },
    [`${p}.inputRate-total`]: { value: v.input ?? 10 },
    [`${p}.latency`]: { value: v.latency ?? 1000 },
    [`${p}.processingRate-total`]: { value: 20 },
    [`${p}.states-rowsTotal`]: { value: v.rows ?? 0 },
    [`${p}.states-usedBytes`]: { value: v.bytes ?? 0 },
  };
}

describe('spark/streaming', () => {
  describe('splitStreamingGauge', () => {
    it('cuts the query name from the known suffix, so names with dots stay whole', () => {
      assert.deepEqual(splitStreamingGauge(`${APP}.driver.spark.streaming.orders.enriched.v2.latency`), { query: 'orders.enriched.v2', metric: 'latency' });
      assert.deepEqual(splitStreamingGauge(`${APP}.driver.spark.streaming.a.latency.inputRate-total`), { query: 'a.latency', metric: 'inputRate-total' });
      // spark.metrics.namespace set (it may hold dots, even ".driver"), or neither it nor spark.app.id (Spark's default name).
      assert.deepEqual(splitStreamingGauge('prod.etl.driver.driver.spark.streaming.q.states-usedBytes'), { query: 'q', metric: 'states-usedBytes' });
      assert.deepEqual(splitStreamingGauge('spark.streaming.q.eventTime-watermark'), { query: 'q', metric: 'eventTime-watermark' });
    });

    it('ignores other gauges and metrics Spark may add later', () => {
      for (const name of [
        `${APP}.driver.BlockManager.memory.memUsed_MB`,
        `${APP}.driver.DAGScheduler.job.activeJobs`,
        `${APP}.driver.spark.streaming.q.someFutureMetric`,
        `${APP}.driver.spark.streaming.latency`,
        `${APP}.1.spark.streaming.q.latency`,
      ])
        assert.equal(splitStreamingGauge(name), undefined, name);
    });

    it('knows an unnamed query by its UUID', () => {
      assert.equal(isUnnamedQuery(UUID), true);
      assert.equal(isUnnamedQuery(UUID.toUpperCase()), true);
      assert.equal(isUnnamedQuery(UNNAMED_QUERY), true);
      assert.equal(isUnnamedQuery('orders'), false);
      assert.equal(isUnnamedQuery(`${UUID}-retry`), false);
    });
  });

  describe('parseStreamingMetrics (fixture)', () => {
    it('reports each named query in base units, labelled with query and the given labels', () => {
      const r = parseStreamingMetrics(fixture(), LABELS, NOW, OPTS);
      assert.equal(r.queries, 3);
      assert.equal(r.dropped, 0);
      assert.equal(r.leftOut, 0);
      const q = 'clickstream_sessions';
      assert.equal(value(r.samples, 'spark_streaming_input_rows_per_second', q), 1520.4);
      assert.equal(value(r.samples, 'spark_streaming_processed_rows_per_second', q), 1875.2);
      assert.equal(value(r.samples, 'spark_streaming_batch_duration_seconds', q), 8.12); // 8120 ms
      assert.equal(value(r.samples, 'spark_streaming_state_rows', q), 48213);
      assert.equal(value(r.samples, 'spark_streaming_state_memory_bytes', q), 20971520);
      // Watermark 09:30:00.000, now 09:35:12.000.
      assert.equal(value(r.samples, 'spark_streaming_watermark_lag_seconds', q), 312);
      for (const s of r.samples) {
        assert.equal(s.type, 'gauge');
        assert.equal(s.labels.spark_app_id, APP);
      }
    });

    it('keeps a name with dots whole', () => {
      const r = parseStreamingMetrics(fixture(), LABELS, NOW, OPTS);
      assert.equal(value(r.samples, 'spark_streaming_batch_duration_seconds', 'orders.enriched.v2'), 0.64);
      assert.equal(value(r.samples, 'spark_streaming_processed_rows_per_second', 'orders.enriched.v2'), 130.25);
      assert.equal(r.samples.some((s) => s.labels.query === 'orders' || s.labels.query === 'orders.enriched'), false);
    });

    it('sends no watermark lag while the watermark is 0 (the query has none)', () => {
      const r = parseStreamingMetrics(fixture(), LABELS, NOW, OPTS);
      assert.equal(has(r.samples, 'spark_streaming_watermark_lag_seconds', 'orders.enriched.v2'), false);
      assert.equal(has(r.samples, 'spark_streaming_state_rows', 'orders.enriched.v2'), true); // the rest is there
    });

    it('reports the unnamed query as query="unnamed", never by its UUID', () => {
      const r = parseStreamingMetrics(fixture(), LABELS, NOW, OPTS);
      assert.equal(r.samples.some((s) => Object.values(s.labels).includes(UUID)), false);
      assert.equal(value(r.samples, 'spark_streaming_input_rows_per_second', UNNAMED_QUERY), 250);
      assert.equal(value(r.samples, 'spark_streaming_batch_duration_seconds', UNNAMED_QUERY), 2.31);
      assert.equal(value(r.samples, 'spark_streaming_watermark_lag_seconds', UNNAMED_QUERY), 42);
      const kinds = r.samples.filter((s) => s.name === 'spark_streaming_queries').map((s) => [s.labels.kind, s.value]);
      assert.deepEqual(kinds, [['named', 2], ['unnamed', 1]]);
    });

    it('sends nothing of the driver\'s other metrics', () => {
      const r = parseStreamingMetrics(fixture(), LABELS, NOW, OPTS);
      assert.ok(r.samples.every((s) => s.name.startsWith('spark_streaming_')));
      const queries = new Set(r.samples.map((s) => s.labels.query).filter((q) => q !== undefined));
      assert.deepEqual([...queries].sort(), ['clickstream_sessions', 'orders.enriched.v2', UNNAMED_QUERY]);
      // 2 queries-by-kind, 6 + 6 for the unnamed one and clickstream_sessions, 5 for orders (no lag).
      assert.equal(r.samples.length, 2 + 6 + 6 + 5);
    });
  });

  describe('unnamed queries stay bounded', () => {
    it('a restart with a new UUID changes no series', () => {
      const before = parseStreamingMetrics(fixture(), LABELS, NOW, OPTS);
      const restarted = JSON.parse(fixtureText().replaceAll(UUID, 'b7e0d4c1-2a35-4f8e-8d6b-91c3e5a7f002')) as unknown;
      const after = parseStreamingMetrics(restarted, LABELS, NOW, OPTS);
      const key = (s: Sample): string => `${s.name}${JSON.stringify(s.labels)}`;
      assert.deepEqual(after.samples.map(key).sort(), before.samples.map(key).sort());
    });

    it('several unnamed queries are one series set: rates and state summed, the worst duration and lag', () => {
      const json = {
        version: '4.0.0',
        gauges: {
          ...queryGauges('11111111-1111-4111-8111-111111111111', { watermark: NOW - 60_000, input: 100, latency: 3000, rows: 10, bytes: 1000 }),
          ...queryGauges('22222222-2222-4222-8222-222222222222', { watermark: NOW - 600_000, input: 50, latency: 500, rows: 5, bytes: 24 }),
          ...queryGauges('33333333-3333-4333-8333-333333333333', { watermark: 0, input: 1, latency: 9000 }),
        },
        counters: {},
      };
      const r = parseStreamingMetrics(json, LABELS, NOW, OPTS);
      assert.equal(r.queries, 3);
      assert.equal(value(r.samples, 'spark_streaming_input_rows_per_second', UNNAMED_QUERY), 151);
      assert.equal(value(r.samples, 'spark_streaming_processed_rows_per_second', UNNAMED_QUERY), 60);
      assert.equal(value(r.samples, 'spark_streaming_batch_duration_seconds', UNNAMED_QUERY), 9);
      assert.equal(value(r.samples, 'spark_streaming_state_rows', UNNAMED_QUERY), 15);
      assert.equal(value(r.samples, 'spark_streaming_state_memory_bytes', UNNAMED_QUERY), 1024);
      assert.equal(value(r.samples, 'spark_streaming_watermark_lag_seconds', UNNAMED_QUERY), 600); // the one without a watermark does not count
      assert.equal(r.samples.filter((s) => s.name === 'spark_streaming_input_rows_per_second').length, 1);
    });

    it('no unnamed queries: no query="unnamed" series', () => {
      const r = parseStreamingMetrics({ gauges: queryGauges('orders') }, LABELS, NOW, OPTS);
      assert.equal(r.samples.some((s) => s.labels.query === UNNAMED_QUERY), false);
      assert.equal(value(r.samples, 'spark_streaming_input_rows_per_second', 'orders'), 10);
    });

    it('a query named "unnamed" is folded into the total instead of colliding with it', () => {
      const json = { gauges: { ...queryGauges(UNNAMED_QUERY, { input: 5 }), ...queryGauges(UUID, { input: 7 }) } };
      const r = parseStreamingMetrics(json, LABELS, NOW, OPTS);
      assert.equal(value(r.samples, 'spark_streaming_input_rows_per_second', UNNAMED_QUERY), 12);
    });
  });

  describe('cap', () => {
    const many = (): unknown => ({
      gauges: {
        ...queryGauges('zeta'),
        ...queryGauges('alpha'),
        ...queryGauges('mu'),
        ...queryGauges('Beta'),
        ...queryGauges(UUID),
        ...queryGauges('delta.v1'),
      },
    });

    it('keeps the first maxQueries named queries by name, the unnamed total besides, and counts the rest', () => {
      const r = parseStreamingMetrics(many(), LABELS, NOW, { maxQueries: 3 });
      assert.equal(r.queries, 6);
      assert.equal(r.dropped, 2);
      const kept = new Set(r.samples.map((s) => s.labels.query).filter((q) => q !== undefined));
      // Code-unit order: upper case first.
      assert.deepEqual([...kept].sort(), ['Beta', 'alpha', 'delta.v1', UNNAMED_QUERY].sort());
      // The counts include the queries beyond the cap.
      assert.equal(r.samples.find((s) => s.name === 'spark_streaming_queries' && s.labels.kind === 'named')!.value, 5);
    });

    it('keeps the same queries whatever order Spark lists them in', () => {
      const json = many() as { gauges: Record<string, unknown> };
      const reversed = { gauges: Object.fromEntries(Object.entries(json.gauges).reverse()) };
      const queries = (j: unknown): string[] =>
        [...new Set(parseStreamingMetrics(j, LABELS, NOW, { maxQueries: 2 }).samples.map((s) => s.labels.query).filter((q) => q !== undefined))].sort();
      assert.deepEqual(queries(reversed), queries(json));
    });

    it('maxQueries 0 leaves only the unnamed total; a bad maxQueries is refused', () => {
      const r = parseStreamingMetrics(many(), LABELS, NOW, { maxQueries: 0 });
      assert.equal(r.dropped, 5);
      assert.ok(r.samples.every((s) => s.labels.query === undefined || s.labels.query === UNNAMED_QUERY));
      assert.throws(() => parseStreamingMetrics(many(), LABELS, NOW, { maxQueries: -1 }), RangeError);
      assert.throws(() => parseStreamingMetrics(many(), LABELS, NOW, { maxQueries: 1.5 }), RangeError);
    });
  });

  describe('malformed payloads', () => {
    it('throws when the payload is not the servlet\'s object or has no gauges object', () => {
      for (const json of [null, [], 'text', 42, {}, { gauges: null }, { gauges: [] }, { gauges: 'x' }, { version: '4.0.0', counters: {} }])
        assert.throws(() => parseStreamingMetrics(json, LABELS, NOW, OPTS), /metrics\/json/, JSON.stringify(json));
    });

    it('leaves out a gauge whose value is not a finite number, and counts it', () => {
      const gauges: Record<string, unknown> = {
        ...queryGauges('orders'),
        // Jackson writes a Double NaN as a string; a gauge whose getter threw is {"error": ...}.
        [`${APP}.driver.spark.streaming.orders.inputRate-total`]: { value: 'NaN' },
        [`${APP}.driver.spark.streaming.orders.processingRate-total`]: { error: 'java.lang.NullPointerException' },
        [`${APP}.driver.spark.streaming.orders.latency`]: { value: '640' },
        [`${APP}.driver.spark.streaming.orders.states-rowsTotal`]: null,
        [`${APP}.driver.spark.streaming.orders.states-usedBytes`]: { value: true },
        [`${APP}.driver.spark.streaming.orders.eventTime-watermark`]: { value: null },
        // Not streaming: ignored whatever its value.
        [`${APP}.driver.DAGScheduler.job.activeJobs`]: { value: 'NaN' },
      };
      const r = parseStreamingMetrics({ gauges }, LABELS, NOW, OPTS);
      assert.equal(r.leftOut, 6);
      assert.equal(r.queries, 1);
      assert.equal(r.samples.some((s) => s.labels.query === 'orders'), false);
      assert.equal(r.samples.find((s) => s.labels.kind === 'named')!.value, 1);
    });

    it('reads an empty registry (metricsEnabled off, or no stream running) as no queries', () => {
      const r = parseStreamingMetrics({ version: '4.0.0', gauges: {}, counters: {}, histograms: {}, meters: {}, timers: {} }, LABELS, NOW, OPTS);
      assert.equal(r.queries, 0);
      assert.deepEqual(
        r.samples.map((s) => [s.name, s.labels.kind, s.value]),
        [['spark_streaming_queries', 'named', 0], ['spark_streaming_queries', 'unnamed', 0]],
      );
    });
  });
});
