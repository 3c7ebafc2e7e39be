import assert from 'node:assert/strict';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { counter, gauge, histogram, HistogramSet, type Labels, type MetricType, type Sample } from '../../../agent/core/sample';
import { applyLabels } from '../../../agent/labels';
import { toPrometheusText } from '../../helpers/prom-client-text';
import { ExpositionWriter, encodeText } from '../../../agent/sinks/pushgateway/text';

type Outcome = { text: string } | { threw: true };

async function reference(samples: readonly Sample[], base?: Labels): Promise<Outcome> {
  try {
    return { text: await toPrometheusText(base ? applyLabels(samples, base) : samples) };
  } catch {
    return { threw: true };
  }
}

function written(writer: ExpositionWriter, samples: readonly Sample[], base?: Labels): Outcome {
  try {
    return { text: writer.encode(samples, base) };
  } catch {
    return { threw: true };
  }
}

const s = (name: string, type: MetricType, labels: Labels, value: number, help = 'Help.'): Sample => ({ name, type, help, labels, value });

/** Asserts prom-client writes `expected` (so the example documents prom-client), then that the writer does. */
async function same(samples: readonly Sample[], expected: string, base?: Labels): Promise<void> {
  assert.equal(await toPrometheusText(base ? applyLabels(samples, base) : samples), expected, 'prom-client');
  assert.equal(new ExpositionWriter().encode(samples, base), expected, 'ExpositionWriter');
}

async function bothThrow(samples: readonly Sample[], base?: Labels): Promise<void> {
  await assert.rejects(toPrometheusText(base ? applyLabels(samples, base) : samples));
  assert.throws(() => new ExpositionWriter().encode(samples, base));
}

// Small pools so that names, label sets and HELP texts collide within and across cycles.
const rare = <T>(common: fc.Arbitrary<T>, odd: fc.Arbitrary<T>, weight = 60): fc.Arbitrary<T> =>
  fc.oneof({ weight, arbitrary: common }, { weight: 1, arbitrary: odd });
const labelName = rare(fc.constantFrom('a', 'b', 'job', 'node', 'le', 'executor_id', 'constructor', '__proto__'), fc.constantFrom('bad-label', '5', ''), 120);
const labelValue = fc.oneof(
  fc.constantFrom('', 'x', 'y', '1', '\\', '"', '\n', 'a\\"b\nc', 'é', '🙂', 'a,b', '1,b:2', 'b:2', 'function Object() { [native code] }'),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
);
// Object.fromEntries so that `__proto__` becomes an own label, as parsed JSON would make it.
const wideLabels = fc.array(fc.tuple(labelName, labelValue), { maxLength: 4 }).map((e): Labels => Object.fromEntries(e));
// Few enough label sets that a family often gets the same one twice, in either key order, or
// two that prom-client's label hash cannot tell apart (`{a:'x,b:x'}` and `{a:'x',b:'x'}`;
// a counter's missing `constructor` and `{constructor:'function Object() { [native code] }'}`).
const tinyLabels = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constantFrom('a', 'b'), fc.oneof({ weight: 8, arbitrary: fc.constantFrom('x', 'y', '') }, { weight: 1, arbitrary: fc.constant('x,b:x') })),
      fc.tuple(fc.constant('constructor'), fc.constantFrom('x', 'function Object() { [native code] }')),
    ),
    { maxLength: 3 },
  )
  .map((e): Labels => Object.fromEntries(e));
const labels = fc.oneof({ weight: 2, arbitrary: tinyLabels }, { weight: 1, arbitrary: wideLabels });
const value = fc.oneof(
  // Often enough that a counter family has every value skipped or clamped.
  fc.constantFrom(NaN, Infinity, -Infinity, -5),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1, 1e21, 1e-7, -3, 0.1 + 0.2, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2),
  fc.double(),
  fc.integer(),
);
const help = rare(fc.constantFrom('Help one.', 'Help two.', 'back\\slash', 'line\nbreak', 'quote "q"'), fc.constant(''), 30);
const scalarName = rare(fc.constantFrom('fa', 'fb', 'fc', 'fa_sum', 'fb_bucket'), fc.constantFrom('bad-name', 'constructor', '', '9x'), 150);
const histogramName = rare(fc.constantFrom('fa', 'fb', 'fh'), fc.constantFrom('7', '12', '01', 'bad-name', 'toString'), 15);

const scalar = fc.record({ name: scalarName, type: fc.constantFrom<MetricType>('gauge', 'counter'), help, labels, value });
const rawHistogram = fc
  .record({ family: histogramName, suffix: fc.constantFrom('_bucket', '_sum', '_count', ''), help, labels, value })
  .map(({ family, suffix, ...r }): Sample => ({ ...r, name: family + suffix, type: 'histogram' }));
const builtHistogram = fc
  .record({
    family: histogramName,
    help,
    buckets: fc.uniqueArray(fc.oneof(fc.integer({ min: -5, max: 100 }), fc.double({ noNaN: true })), { maxLength: 4 }),
    labels,
    counts: fc.array(fc.nat(1000), { maxLength: 4 }),
    count: fc.nat(1000),
    sum: value,
  })
  .map((h) => histogram(h.family, h.help, h.buckets)(h.labels, { cumulative: h.counts, count: h.count, sum: h.sum }));
/**
 * A sample of the cycle again, elsewhere, with another value: the same labels, reordered, one
 * fewer, or folded into one label that prom-client's `k:v,` label hash does not tell apart.
 */
const again = fc.record({ pick: fc.nat(), at: fc.nat(), edit: fc.constantFrom('same', 'reverse', 'drop', 'fold', 'bare'), value });
function fold(entries: [string, string][]): [string, string][] {
  if (entries.length < 2) return entries;
  const [[k, v], ...rest] = [...entries].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return [[k!, [v!, ...rest.map(([rk, rv]) => `${rk}:${rv}`)].join(',')]];
}
const cycle = fc
  .tuple(fc.array(fc.oneof(scalar.map((x) => [x]), rawHistogram.map((x) => [x]), builtHistogram), { maxLength: 12 }), fc.array(again, { maxLength: 4 }))
  .map(([made, agains]) => {
    const xs = made.flat();
    for (const a of agains) {
      if (xs.length === 0) break;
      const o = xs[a.pick % xs.length]!;
      let entries = Object.entries(o.labels);
      if (a.edit === 'reverse') entries.reverse();
      if (a.edit === 'drop') entries.pop();
      if (a.edit === 'fold') entries = fold(entries);
      if (a.edit === 'bare') entries = [];
      xs.splice(a.at % (xs.length + 1), 0, { ...o, labels: Object.fromEntries(entries), value: a.value });
    }
    return xs;
  });
const base = fc.option(
  fc.oneof(
    labels,
    // The node's identity: mostly keys no sample has, sometimes one a sample sets too.
    fc.record({ cluster_id: labelValue, node: labelValue, role: fc.constantFrom('driver', 'executor') }),
  ),
  { nil: undefined, freq: 3 },
);
/**
 * A base label set; or one sample's labels, which that sample then overrides with the same
 * values (so it is one series with a bare sample); or them folded: alone, the base then
 * hashes as that sample does with it.
 */
type BaseChoice = { labels: Labels | undefined } | { copyOf: number } | { foldOf: number };
const baseChoice: fc.Arbitrary<BaseChoice> = fc.oneof(
  { weight: 4, arbitrary: base.map((labels) => ({ labels })) },
  { weight: 1, arbitrary: fc.record({ copyOf: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ foldOf: fc.nat() }) },
);
function resolveBase(choice: BaseChoice, samples: readonly Sample[]): Labels | undefined {
  if ('labels' in choice) return choice.labels;
  if ('copyOf' in choice) return samples.length ? { ...samples[choice.copyOf % samples.length]!.labels } : undefined;
  const foldable = samples.filter((s) => Object.keys(s.labels).length >= 2);
  const from = foldable[choice.foldOf % Math.max(1, foldable.length)];
  return from && Object.fromEntries(fold(Object.entries(from.labels)));
}

describe('ExpositionWriter', () => {
  it('writes what prom-client writes, for any samples and base labels, one writer across cycles (property)', async () => {
    let compared = 0;
    let threw = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(cycle, baseChoice), { minLength: 1, maxLength: 4 }), async (cycles) => {
        const writer = new ExpositionWriter();
        for (const [samples, choice] of cycles) {
          const b = resolveBase(choice, samples);
          const expected = await reference(samples, b);
          assert.deepEqual(written(writer, samples, b), expected);
          compared++;
          if ('threw' in expected) threw++;
        }
      }),
      { numRuns: 400 },
    );
    // The rare invalid names must not drown the comparisons of text.
    assert.ok(threw < compared / 3, `${threw} of ${compared} cycles threw`);
  });

  it('writes values as prom-client does: Nan, +Inf, -Inf, -0 as 0, exponents', async () => {
    const values = [NaN, Infinity, -Infinity, -0, 1e21, 1e-7, 42, -1.5];
    await same(
      values.map((v, i) => s('g', 'gauge', { i: String(i) }, v)),
      '# HELP g Help.\n# TYPE g gauge\n' + ['Nan', '+Inf', '-Inf', '0', '1e+21', '1e-7', '42', '-1.5'].map((t, i) => `g{i="${i}"} ${t}\n`).join(''),
    );
  });

  it('keeps a repeated gauge label set once: the last value and label order, at the first one’s place', async () => {
    await same(
      [s('g', 'gauge', { a: '1', b: 'x' }, 1), s('g', 'gauge', { c: '1' }, 2), s('g', 'gauge', { b: 'x', a: '1' }, 3)],
      '# HELP g Help.\n# TYPE g gauge\ng{b="x",a="1"} 3\ng{c="1"} 2\n',
    );
  });

  it('adds a repeated counter label set, clamps negatives to 0 and skips non-finite values', async () => {
    await same(
      [s('c', 'counter', { a: '1' }, 1), s('c', 'counter', { a: '1' }, -5), s('c', 'counter', { a: '1' }, 2.5), s('c', 'counter', { a: '2' }, NaN), s('c', 'counter', { a: '3' }, -2)],
      '# HELP c Help.\n# TYPE c counter\nc{a="1"} 3.5\nc{a="3"} 0\n',
    );
  });

  it('writes a label-less counter whose values were all skipped as 0, a labelled one as HELP/TYPE only', async () => {
    await same([s('c', 'counter', {}, NaN), s('d', 'counter', { a: '1' }, Infinity), s('e', 'gauge', {}, 1)], '# HELP c Help.\n# TYPE c counter\nc 0\n\n# HELP d Help.\n# TYPE d counter\n\n# HELP e Help.\n# TYPE e gauge\ne 1\n');
  });

  it('merges label sets that prom-client’s `k:v,` hash cannot tell apart (a value holding ",")', async () => {
    await same([s('g', 'gauge', { a: '1,b:2' }, 1), s('g', 'gauge', { a: '1', b: '2' }, 2)], '# HELP g Help.\n# TYPE g gauge\ng{a="1",b="2"} 2\n');
    // Through the base too: `b:x,c:y,` is the hash of the base alone and of the second sample.
    await same([s('g', 'gauge', {}, 1), s('g', 'gauge', { b: 'x', c: 'y' }, 2)], '# HELP g Help.\n# TYPE g gauge\ng{b="x",c="y"} 2\n', { b: 'x,c:y' });
  });

  it('hashes a counter’s missing `constructor` label as Object.prototype.constructor’s text, as prom-client does', async () => {
    await same(
      [s('c', 'counter', { constructor: 'function Object() { [native code] }' }, 1), s('c', 'counter', {}, 2)],
      '# HELP c Help.\n# TYPE c counter\nc{constructor="function Object() { [native code] }"} 3\n',
    );
  });

  it('puts base labels first in base order; a sample’s own value for a base key keeps the base key’s place', async () => {
    const b = { cluster_id: 'c1', node: 'n1', role: 'driver' };
    await same(
      [s('g', 'gauge', { executor_id: '1' }, 1), s('g', 'gauge', { executor_id: '2', node: 'n2' }, 2), s('g', 'gauge', { node: 'n1', executor_id: '1' }, 3)],
      '# HELP g Help.\n# TYPE g gauge\ng{cluster_id="c1",node="n1",role="driver",executor_id="1"} 3\ng{cluster_id="c1",node="n2",role="driver",executor_id="2"} 2\n',
      b,
    );
  });

  it('writes series of one family with different label names as they are, empty values and no labels included', async () => {
    await same([s('g', 'gauge', { a: '' }, 1), s('g', 'gauge', { b: 'y' }, 2), s('g', 'gauge', {}, 3)], '# HELP g Help.\n# TYPE g gauge\ng{a=""} 1\ng{b="y"} 2\ng 3\n');
  });

  it('escapes \\ and newline in HELP (not ") and \\, newline and " in label values', async () => {
    await same([s('g', 'gauge', { a: '\\"\n' }, 1, 'a\\b\n"q"')], '# HELP g a\\\\b\\n"q"\n# TYPE g gauge\ng{a="\\\\\\"\\n"} 1\n');
  });

  it('groups histogram series under the family name; the first sample of a name fixes HELP and TYPE', async () => {
    const h = histogram('h', 'Hist.', [1, 0.5])({ le: 'own', a: '1' }, { cumulative: [1, 2], count: 3, sum: 4.5 });
    await same([...h, s('h_sum', 'histogram', {}, 1, 'Other.')], '# HELP h Hist.\n# TYPE h histogram\nh_bucket{le="0.5",a="1"} 1\nh_bucket{le="1",a="1"} 2\nh_bucket{le="+Inf",a="1"} 3\nh_sum{le="own",a="1"} 4.5\nh_count{le="own",a="1"} 3\nh_sum 1\n');
    // A gauge named like the family comes first: the histogram's series become gauge series of that name.
    await same([s('x', 'gauge', { a: '1' }, 1), s('x_sum', 'histogram', {}, 5)], '# HELP x Help.\n# TYPE x gauge\nx{a="1"} 1\nx 5\n');
    await same([s('x_sum', 'histogram', { a: '1' }, 1), s('x', 'gauge', {}, 5)], '# HELP x Help.\n# TYPE x histogram\nx_sum{a="1"} 1\nx 5\n');
  });

  it('writes histogram families named like array indices first, ascending (the Registry keeps families in an object)', async () => {
    await same([s('x', 'gauge', {}, 1), s('12_sum', 'histogram', {}, 1), s('7_count', 'histogram', {}, 1), s('01_sum', 'histogram', {}, 1)], '# HELP 7 Help.\n# TYPE 7 histogram\n7_count 1\n\n# HELP 12 Help.\n# TYPE 12 histogram\n12_sum 1\n\n# HELP x Help.\n# TYPE x gauge\nx 1\n\n# HELP 01 Help.\n# TYPE 01 histogram\n01_sum 1\n');
  });

  it('writes a histogram whatever its names and an empty HELP (prom-client does not validate it)', async () => {
    await same([s('bad-name_sum', 'histogram', { 'bad-label': 'x', '5': 'y' }, 1, '')], '# HELP bad-name \n# TYPE bad-name histogram\nbad-name_sum{5="y",bad-label="x"} 1\n');
    // With a base, an array-index label still goes first.
    await same([s('h_sum', 'histogram', { b: 'x', '5': 'y' }, 1)], '# HELP h Help.\n# TYPE h histogram\nh_sum{5="y",a="1",b="x"} 1\n', { a: '1' });
  });

  it('throws where prom-client throws: invalid metric or label name, empty HELP, a name Object.prototype answers', async () => {
    await bothThrow([s('bad-name', 'gauge', {}, 1)]);
    await bothThrow([s('9x', 'counter', {}, 1)]);
    await bothThrow([s('g', 'gauge', { 'bad-label': '1' }, 1)]);
    await bothThrow([s('g', 'counter', {}, 1)], { 'bad-label': '1' });
    await bothThrow([s('g', 'gauge', {}, 1, '')]);
    await bothThrow([s('constructor', 'gauge', {}, 1)]);
    await bothThrow([s('toString_sum', 'histogram', {}, 1)]);
    assert.throws(() => encodeText([s('bad-name', 'gauge', {}, 1)]), /Invalid metric name "bad-name"/);
    assert.throws(() => encodeText([s('g', 'gauge', { 'a-b': '1' }, 1)]), /Invalid label name "a-b" in metric g/);
    // A base label prom-client would refuse does not matter to a histogram-only push.
    await same([s('h_sum', 'histogram', {}, 1)], '# HELP h Help.\n# TYPE h histogram\nh_sum{bad-label="1"} 1\n', { 'bad-label': '1' });
  });

  it('writes an empty exposition as a lone newline', async () => {
    await same([], '\n');
  });

  it('follows a family’s HELP and TYPE when they change between encodes', async () => {
    const writer = new ExpositionWriter();
    assert.equal(writer.encode([s('g', 'gauge', {}, 1, 'One.')]), '# HELP g One.\n# TYPE g gauge\ng 1\n');
    assert.equal(writer.encode([s('g', 'gauge', {}, 1, 'Two.')]), '# HELP g Two.\n# TYPE g gauge\ng 1\n');
    assert.equal(writer.encode([s('g', 'counter', {}, 1, 'Two.')]), '# HELP g Two.\n# TYPE g counter\ng 1\n');
  });
});

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

describe('text exposition as Prometheus reads it', () => {
  it('writes a histogram as one family: HELP/TYPE once, _bucket{le} with +Inf, _sum, _count; promtool accepts it', async () => {
    const h = new HistogramSet(histogram('test_duration_seconds', 'A test histogram.', [0.1, 1]));
    h.observe({ status: 'completed' }, 0.5);
    h.touch({ status: 'failed' });
    const text = encodeText([g({}, 1), ...h.samples()]);
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
    const text = encodeText([g({ a: '1' }, 2.5), g({ a: '2' }, -1), c({}, 7)]);
    assert.match(text, /# HELP test_value A test gauge\.\n# TYPE test_value gauge\n/);
    assert.match(text, /^test_value\{a="1"\} 2\.5$/m);
    assert.match(text, /^test_value\{a="2"\} -1$/m);
    assert.match(text, /# TYPE test_events_total counter\ntest_events_total 7\n/);
  });

  it('writes series of one name with different label sets', async () => {
    const text = encodeText([g({ a: 'x' }, 1), g({ b: 'y' }, 2)]);
    assert.match(text, /^test_value\{a="x"\} 1$/m);
    assert.match(text, /^test_value\{b="y"\} 2$/m);
  });

  it('escapes any label value so that it reads back unchanged (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1 }), fc.double({ noNaN: true }), async (v, value) => {
        const text = encodeText([g({ cluster_name: v }, value)]);
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
