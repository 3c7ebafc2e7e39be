/** agent/core/sample.ts: families, and the histogram kind (cumulative buckets, +Inf, _sum, _count). */
import assert from 'node:assert/strict';
import { histogram, histogramFamilyOf, HistogramSet } from '../../agent/core/sample';

describe('core/sample', () => {
  it('a histogram observes into cumulative buckets with +Inf as the count', () => {
    const h = new HistogramSet(histogram('q_seconds', 'h', [10, 1, 0.5]));
    h.observe({ status: 'completed' }, 0.7);
    h.observe({ status: 'completed' }, 1);
    h.observe({ status: 'completed' }, 99);
    h.observe({ status: 'completed' }, Number.NaN);
    const s = h.samples();
    const bucket = (le: string) => s.find((x) => x.name === 'q_seconds_bucket' && x.labels.le === le)?.value;
    assert.deepEqual(['0.5', '1', '10', '+Inf'].map(bucket), [0, 2, 2, 3]);
    assert.equal(s.find((x) => x.name === 'q_seconds_sum')?.value, 100.7);
    assert.equal(s.find((x) => x.name === 'q_seconds_count')?.value, 3);
    assert.ok(s.every((x) => x.type === 'histogram' && x.help === 'h'));
    assert.deepEqual(s.map((x) => x.labels.status), s.map(() => 'completed'));
  });

  it('a touched label set starts at zero; the same labels in another order are one set', () => {
    const h = new HistogramSet(histogram('j_seconds', 'h', [1]));
    h.touch({ status: 'failed', a: 'x' });
    h.observe({ a: 'x', status: 'failed' }, 2);
    assert.equal(h.samples().filter((x) => x.name === 'j_seconds_count').length, 1);
    assert.equal(h.samples().find((x) => x.name === 'j_seconds_count')?.value, 1);
  });

  it('a series name maps back to its histogram family', () => {
    assert.deepEqual(['a_bucket', 'a_sum', 'a_count', 'a'].map(histogramFamilyOf), ['a', 'a', 'a', 'a']);
  });
});
