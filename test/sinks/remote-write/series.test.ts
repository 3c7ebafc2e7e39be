import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SeriesTracker, chunk, type BuildResult, type TargetLabels } from '../../../agent/sinks/remote-write/series';
import { gauge, histogram, HistogramSet, type Sample } from '../../../agent/core/sample';
import { applyLabels } from '../../../agent/labels';

/** One sample through the tracker, as the sink sends it: its label set, or why it is refused. */
function seriesLabels(s: Sample, target: TargetLabels): BuildResult {
  const c = new SeriesTracker(target).cycle([s], 1000);
  if (c.invalid > 0) return { invalid: c.firstInvalid ?? 'invalid' };
  return { labels: [...c.series[0]!.labels] };
}

const up = gauge('test_up', 'Test gauge.');

describe('remote-write/series', () => {
  it('sorts labels by name with __name__, job and instance, and drops empty values', () => {
    const r = seriesLabels(up({ zone: 'b', cluster_id: 'c1', empty: '', node: 'n' }, 1), { job: 'databricks', instance: 'n' });
    assert.ok('labels' in r);
    assert.deepEqual(r.labels, [
      ['__name__', 'test_up'],
      ['cluster_id', 'c1'],
      ['instance', 'n'],
      ['job', 'databricks'],
      ['node', 'n'],
      ['zone', 'b'],
    ]);
  });

  it('sends a histogram as one series per bucket (le label, sorted), _sum and _count', () => {
    const h = new HistogramSet(histogram('test_seconds', 'Test histogram.', [1, 10]));
    h.observe({ status: 'completed' }, 5);
    const c = new SeriesTracker({ job: 'j' }).cycle(h.samples(), 1000);
    assert.equal(c.invalid, 0);
    const series = c.series.map((x) => Object.fromEntries(x.labels));
    assert.deepEqual(series.map((l) => [l.__name__, l.le]), [
      ['test_seconds_bucket', '1'], ['test_seconds_bucket', '10'], ['test_seconds_bucket', '+Inf'], ['test_seconds_sum', undefined], ['test_seconds_count', undefined],
    ]);
    const names = c.series[0]!.labels.map(([n]) => n);
    assert.deepEqual(names, [...names].sort(), 'label names sorted');
  });

  it("keeps a sample's own job and instance as exported_job / exported_instance", () => {
    const r = seriesLabels(up({ job: 'spark', instance: 'x:1' }, 1), { job: 'databricks', instance: 'n' });
    assert.ok('labels' in r);
    assert.deepEqual(Object.fromEntries(r.labels), { __name__: 'test_up', exported_instance: 'x:1', exported_job: 'spark', instance: 'n', job: 'databricks' });
  });

  it('refuses invalid metric and label names and reserved __ labels', () => {
    assert.ok('invalid' in seriesLabels(gauge('bad-name', 'x')({}, 1), { job: 'j' }));
    assert.ok('invalid' in seriesLabels(up({ 'a-b': '1' }, 1), { job: 'j' }));
    assert.ok('invalid' in seriesLabels(up({ __name__: 'other' }, 1), { job: 'j' }));
    assert.ok('invalid' in seriesLabels(up({ job: 'a', exported_job: 'b' }, 1), { job: 'j' }));
  });

  it('labels are always sorted, unique and non-empty (property)', () => {
    const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,10}$/).filter((n) => !n.startsWith('__'));
    fc.assert(
      fc.property(fc.dictionary(name, fc.string({ unit: 'grapheme', maxLength: 8 })), fc.string({ minLength: 1 }), (labels, job) => {
        const r = seriesLabels(up(labels, 1), { job });
        if ('invalid' in r) return; // only the job + exported_job clash
        const names = r.labels.map(([n]) => n);
        assert.deepEqual(names, [...names].sort());
        assert.equal(new Set(names).size, names.length);
        assert.ok(r.labels.every(([n, v]) => n !== '' && v !== ''));
        assert.ok(names.includes('__name__') && names.includes('job'));
      }),
      { numRuns: 300 },
    );
  });

  it('the node labels of a batch: the same series as if merged onto every sample, its own value winning (property)', () => {
    const labelSet = fc.dictionary(fc.constantFrom('a', 'node', 'role', 'job', 'bad-name'), fc.constantFrom('', 'x', 'y'), { maxKeys: 3 });
    const node = fc.dictionary(fc.constantFrom('node', 'role', 'cluster_id', 'a'), fc.constantFrom('', 'n1', 'driver'), { maxKeys: 3 });
    const view = (c: ReturnType<SeriesTracker['cycle']>) => ({ ...c, series: c.series.map((x) => ({ labels: x.labels, samples: x.samples })) });
    fc.assert(
      fc.property(node, fc.array(labelSet, { maxLength: 12 }), fc.array(labelSet, { maxLength: 12 }), (base, first, second) => {
        const merged = new SeriesTracker({ job: 'j', instance: 'i' });
        const separate = new SeriesTracker({ job: 'j', instance: 'i' });
        for (const [t, cycle] of [first, second].entries()) {
          const samples = cycle.map((l, i) => up(l, i));
          assert.deepEqual(view(separate.cycle(samples, t, base)), view(merged.cycle(applyLabels(samples, base), t)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('tells every distinct label set apart, and marks exactly the vanished ones stale (property)', () => {
    const labelSet = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'job'), fc.constantFrom('', 'x', 'y', 'x:y', '1:x', 'é'), { maxKeys: 4 });
    fc.assert(
      fc.property(fc.array(labelSet, { maxLength: 30 }), fc.array(labelSet, { maxLength: 30 }), (first, second) => {
        const canon = (l: Record<string, string>): string => {
          const r = seriesLabels(up(l, 0), { job: 'j' });
          return 'labels' in r ? JSON.stringify(r.labels) : 'invalid';
        };
        const t = new SeriesTracker({ job: 'j' });
        const c1 = t.cycle(first.map((l) => up(l, 1)), 1000);
        const set1 = new Set(first.map(canon));
        assert.equal(c1.series.length, set1.size);
        const c2 = t.cycle(second.map((l) => up(l, 2)), 2000);
        const set2 = new Set(second.map(canon));
        const stale = c2.series.filter((s) => s.samples[0]!.stale).map((s) => JSON.stringify(s.labels));
        assert.deepEqual(stale.sort(), [...set1].filter((k) => !set2.has(k)).sort());
        assert.equal(c2.series.length - stale.length, set2.size);
      }),
      { numRuns: 300 },
    );
  });

  it('emits one staleness marker at the new timestamp for a series that disappeared', () => {
    const t = new SeriesTracker({ job: 'j' });
    const first = t.cycle([up({ executor_id: '1' }, 1), up({ executor_id: '2' }, 2)], 1000);
    assert.equal(first.stale, 0);
    assert.equal(first.series.length, 2);
    const second = t.cycle([up({ executor_id: '1' }, 3)], 2000);
    assert.equal(second.stale, 1);
    const marker = second.series.find((s) => s.samples[0]!.stale)!;
    assert.deepEqual(Object.fromEntries(marker.labels).executor_id, '2');
    assert.equal(marker.samples[0]!.timestampMs, 2000);
    // Only once: the next cycle has nothing stale left to mark.
    assert.equal(t.cycle([up({ executor_id: '1' }, 4)], 3000).stale, 0);
  });

  it('one series whatever the label order, and an empty value is the same as no label', () => {
    const t = new SeriesTracker({ job: 'j' });
    t.cycle([up({ a: '1', b: '2' }, 1), up({ x: '1', y: '' }, 1)], 1000);
    const c = t.cycle([up({ b: '2', a: '1' }, 2), up({ x: '1' }, 2)], 2000);
    assert.equal(c.stale, 0);
    assert.equal(c.series.length, 2);
    assert.deepEqual(t.cycle([up({ b: '2', a: '1', z: '' }, 3)], 3000).stale, 1);
  });

  it('drops invalid samples and duplicate series within a cycle, counting the invalid ones', () => {
    const t = new SeriesTracker({ job: 'j' });
    const c = t.cycle([up({ a: '1' }, 1), up({ a: '1' }, 2), gauge('9bad', 'x')({}, 1)], 1);
    assert.equal(c.series.length, 1);
    assert.equal(c.series[0]!.samples[0]!.value, 1);
    assert.equal(c.invalid, 1);
    assert.match(c.firstInvalid!, /9bad/);
  });

  it('chunks into at most max samples, keeping order', () => {
    const t = new SeriesTracker({ job: 'j' });
    const c = t.cycle(Array.from({ length: 7 }, (_, i) => up({ i: String(i) }, i)), 1);
    const parts = chunk(c.series, 3);
    assert.deepEqual(parts.map((p) => p.length), [3, 3, 1]);
    assert.deepEqual(parts.flat().map((s) => s.samples[0]!.value), [0, 1, 2, 3, 4, 5, 6]);
  });
});
