import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deserialize, serialize } from 'prometheus-remote-write';
import { decodeWriteRequest, encodeWriteRequest, type LabelCache, type WireSeries } from '../../../agent/sinks/remote-write/protobuf';

const specialValues = [NaN, Infinity, -Infinity, -0, 0, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 5e-324, 2 ** 53, 1e-300];

const valueArb = fc.oneof(fc.double(), fc.constantFrom(...specialValues));
const sampleArb = fc.record({
  value: valueArb,
  timestampMs: fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -(2 ** 53) + 1, max: 0 }), fc.constant(1_764_000_000_000)),
  stale: fc.boolean(),
});
const seriesArb = fc.record({
  labels: fc.uniqueArray(fc.tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 40 })), {
    selector: ([name]) => name,
    maxLength: 12,
  }),
  samples: fc.array(sampleArb, { maxLength: 4 }),
});

function sameValue(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

describe('remote-write/protobuf', () => {
  it('encodes a WriteRequest byte for byte as protobufjs does (prometheus-remote-write package)', async () => {
    const ours = encodeWriteRequest([
      { labels: [['__name__', 'up'], ['job', 'databricks'], ['node', 'é']], samples: [{ value: 1.5, timestampMs: 1_764_000_000_123 }] },
      { labels: [['__name__', 'x']], samples: [{ value: -0, timestampMs: 0 }] },
    ]);
    const theirs = await serialize({
      timeseries: [
        { labels: [{ name: '__name__', value: 'up' }, { name: 'job', value: 'databricks' }, { name: 'node', value: 'é' }], samples: [{ value: 1.5, timestamp: 1_764_000_000_123 }] },
        { labels: [{ name: '__name__', value: 'x' }], samples: [{ value: -0, timestamp: 0 }] },
      ],
    } as never);
    assert.equal(ours.toString('hex'), Buffer.from(theirs as unknown as Uint8Array).toString('hex'));
  });

  it('writes the staleness marker as NaN with bits 0x7ff0000000000002, and a plain NaN differently', () => {
    const buf = encodeWriteRequest([
      { labels: [['__name__', 'a']], samples: [{ value: NaN, timestampMs: 1, stale: true }, { value: NaN, timestampMs: 2 }] },
    ]);
    assert.ok(buf.includes(Buffer.from('0200000000 00f07f'.replace(/ /g, ''), 'hex')), buf.toString('hex'));
    const [ts] = decodeWriteRequest(buf);
    assert.deepEqual(ts!.samples.map((s) => s.stale), [true, false]);
    assert.ok(ts!.samples.every((s) => Number.isNaN(s.value)));
  });

  it('round-trips random label sets, values and timestamps (property)', () => {
    fc.assert(
      fc.property(fc.array(seriesArb, { maxLength: 6 }), (series: WireSeries[]) => {
        const decoded = decodeWriteRequest(encodeWriteRequest(series));
        assert.equal(decoded.length, series.length);
        series.forEach((ts, i) => {
          const d = decoded[i]!;
          assert.deepEqual(d.labels, ts.labels.map(([n, v]) => [n, v]));
          assert.equal(d.samples.length, ts.samples.length);
          ts.samples.forEach((s, j) => {
            const got = d.samples[j]!;
            assert.equal(got.timestampMs, s.timestampMs);
            assert.equal(got.stale, s.stale === true);
            if (s.stale) assert.ok(Number.isNaN(got.value));
            else assert.ok(sameValue(got.value, s.value), `${got.value} != ${s.value}`);
          });
        });
      }),
      { numRuns: 400 },
    );
  });

  it('is read the same by an independent decoder (protobufjs), for random input (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(seriesArb, { minLength: 1, maxLength: 4 }), async (series: WireSeries[]) => {
        const theirs = (await deserialize(encodeWriteRequest(series) as never)) as unknown as {
          timeseries: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: unknown }[] }[];
        };
        assert.equal(theirs.timeseries.length, series.length);
        series.forEach((ts, i) => {
          const t = theirs.timeseries[i]!;
          assert.deepEqual(t.labels.map((l) => [l.name, l.value]), ts.labels.map(([n, v]) => [n, v]));
          ts.samples.forEach((s, j) => {
            assert.equal(Number(String(t.samples[j]!.timestamp)), s.timestampMs);
            if (!s.stale) assert.ok(sameValue(t.samples[j]!.value, s.value));
          });
        });
      }),
      { numRuns: 150 },
    );
  });

  it('encodes the same bytes with and without a label cache, before and after it is filled (property)', () => {
    fc.assert(
      fc.property(fc.array(seriesArb, { maxLength: 5 }), (series: WireSeries[]) => {
        const plain = encodeWriteRequest(series);
        const cached = series.map((s) => ({ ...s, cache: {} as LabelCache }));
        assert.deepEqual(encodeWriteRequest(cached), plain);
        assert.ok(cached.every((s) => s.cache.labelBytes !== undefined || s.labels.length === 0));
        assert.deepEqual(encodeWriteRequest(cached), plain);
      }),
      { numRuns: 200 },
    );
  });

  it('concatenated requests decode as one request with all series (what the queue relies on)', () => {
    const a: WireSeries = { labels: [['__name__', 'a']], samples: [{ value: 1, timestampMs: 10 }] };
    const b: WireSeries = { labels: [['__name__', 'a']], samples: [{ value: 2, timestampMs: 20 }] };
    const joined = Buffer.concat([encodeWriteRequest([a]), encodeWriteRequest([b])]);
    assert.deepEqual(joined, encodeWriteRequest([a, b]));
    assert.deepEqual(decodeWriteRequest(joined).map((t) => t.samples[0]!.value), [1, 2]);
  });

  it('rejects a timestamp that is not a whole number of ms, and truncated input', () => {
    assert.throws(() => encodeWriteRequest([{ labels: [], samples: [{ value: 1, timestampMs: 1.5 }] }]), RangeError);
    const buf = encodeWriteRequest([{ labels: [['__name__', 'abc']], samples: [{ value: 1, timestampMs: 1 }] }]);
    assert.throws(() => decodeWriteRequest(buf.subarray(0, buf.length - 3)));
  });
});
