import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toPrometheusText } from '../../../agent/sinks/pushgateway/exposition';
import { counter, gauge, histogram, HistogramSet } from '../../../agent/core/sample';
import { execFileSync } from 'node:child_process';

/** A reference reader of the text format's label values (Prometheus exposition format spec). */
function parseLine(line: string): { name: string; labels: Record<string, string>; value: string } {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/s.exec(line);
  if (!m) throw new Error(`bad line ${JSON.stringify(line)}`);
  const labels: Record<string, string> = {};
  const body = m[3] ?? '';
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
  for (let l = re.exec(body); l; l = re.exec(body))
    labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return { name: m[1]!, labels, value: m[4]! };
}

const g = gauge('test_value', 'A test gauge.');
const c = counter('test_events_total', 'A test counter.');

describe('exposition', () => {
  it('writes a histogram as one family: HELP/TYPE once, _bucket{le} with +Inf, _sum, _count; promtool accepts it', async () => {
    const h = new HistogramSet(histogram('test_duration_seconds', 'A test histogram.', [0.1, 1]));
    h.observe({ status: 'completed' }, 0.5);
    h.touch({ status: 'failed' });
    const text = await toPrometheusText([g({}, 1), ...h.samples()]);
    assert.equal(text.match(/# TYPE test_duration_seconds histogram/g)?.length, 1);
    assert.equal(text.match(/# HELP test_duration_seconds /g)?.length, 1);
    assert.match(text, /^test_duration_seconds_bucket\{status="completed",le="1"\} 1$/m);
    assert.match(text, /^test_duration_seconds_bucket\{status="completed",le="\+Inf"\} 1$/m);
    assert.match(text, /^test_duration_seconds_sum\{status="completed"\} 0\.5$/m);
    assert.match(text, /^test_duration_seconds_count\{status="failed"\} 0$/m);
    // promtool's linter exits non-zero on a malformed exposition (and prints nothing when clean).
    assert.equal(execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' }), '');
  });

  it('writes HELP, TYPE and one line per series', async () => {
    const text = await toPrometheusText([g({ a: '1' }, 2.5), g({ a: '2' }, -1), c({}, 7)]);
    assert.match(text, /# HELP test_value A test gauge\.\n# TYPE test_value gauge\n/);
    assert.match(text, /^test_value\{a="1"\} 2\.5$/m);
    assert.match(text, /^test_value\{a="2"\} -1$/m);
    assert.match(text, /# TYPE test_events_total counter\ntest_events_total 7\n/);
  });

  it('writes series of one name with different label sets', async () => {
    const text = await toPrometheusText([g({ a: 'x' }, 1), g({ b: 'y' }, 2)]);
    assert.match(text, /^test_value\{a="x"\} 1$/m);
    assert.match(text, /^test_value\{b="y"\} 2$/m);
  });

  it('escapes any label value so that it reads back unchanged (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1 }), fc.double({ noNaN: true }), async (v, value) => {
        const text = await toPrometheusText([g({ cluster_name: v }, value)]);
        const line = text.split('\n').find((l) => l.startsWith('test_value{'))!;
        const parsed = parseLine(line);
        assert.equal(parsed.labels.cluster_name, v);
        const back = Number(parsed.value.replace(/^\+?Inf$/, 'Infinity').replace(/^-Inf$/, '-Infinity'));
        assert.ok(Object.is(back, value) || (value === 0 && back === 0), `${value} → ${parsed.value}`);
      }),
      { numRuns: 300 },
    );
  });
});
