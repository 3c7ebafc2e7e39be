import assert from 'node:assert/strict';
import { FORWARDED_HELP, parsePrometheusText, relabelSparkSamples } from '../../../agent/sources/spark/prometheus';
import { encodeText } from '../../../agent/sinks/pushgateway/text';
import { DATABRICKS_APP_ID, databricksFixture } from '../../helpers/fake-spark';

describe('spark/prometheus', () => {
  it("parses Spark's executor text (labels with spaces after commas, HELP/TYPE ignored, junk skipped)", () => {
    const { samples, skipped } = parsePrometheusText(databricksFixture('executors-prometheus.txt'));
    assert.equal(skipped, 1);
    assert.equal(samples.length, 7);
    assert.deepEqual(samples[4], {
      name: 'metrics_executor_memoryUsed_bytes',
      labels: { application_id: DATABRICKS_APP_ID, application_name: 'Databricks Shell', executor_id: '0' },
      value: 536870912,
    });
    assert.equal(samples[6]!.value, 6442450944);
  });

  it('parses escapes, special values and timestamps', () => {
    const { samples, skipped } = parsePrometheusText(
      'a{x="q\\"uo\\\\te\\n"} +Inf\nb NaN 1700000000000\nc{} -Inf\nd{x="1",} 2.5e3\ne{x="unterminated} 1\nf 1 2 3\ng notanumber\n',
    );
    assert.deepEqual(samples.map((s) => [s.name, s.labels, s.value]), [
      ['a', { x: 'q"uo\\te\n' }, Infinity],
      ['b', {}, NaN],
      ['c', {}, -Infinity],
      ['d', { x: '1' }, 2500],
    ]);
    assert.equal(skipped, 3);
  });

  it('reads a plain value next to an escaped one, and a backslash in a later value', () => {
    const { samples } = parsePrometheusText('m{a="plain",b="x\\"y",c="p",d="\\\\"} 1\nn{a="1",b="2"} 2\n');
    assert.deepEqual(samples.map((s) => [s.name, s.labels]), [
      ['m', { a: 'plain', b: 'x"y', c: 'p', d: '\\' }],
      ['n', { a: '1', b: '2' }],
    ]);
  });

  it('relabels a series sent twice in one answer once, and maps names alike on every line', () => {
    const parsed = parsePrometheusText('x_total{application_id="a",job="j",executor_id="1"} 1\nx_total{application_id="a",job="j",executor_id="1"} 2\nx_total{application_id="a",job="j",executor_id="2"} 3\n').samples;
    const out = relabelSparkSamples(parsed, 'app-1');
    assert.deepEqual(out.map((s) => [s.name, s.labels, s.value]), [
      ['x_total', { exported_job: 'j', executor_id: '1', spark_app_id: 'app-1' }, 1],
      ['x_total', { exported_job: 'j', executor_id: '2', spark_app_id: 'app-1' }, 3],
    ]);
  });

  it('relabels: keeps names, cuts the app id out of PrometheusServlet names, adds spark_app_id, one fixed HELP', () => {
    const parsed = parsePrometheusText(databricksFixture('driver-prometheus.txt')).samples;
    const out = relabelSparkSamples(parsed, DATABRICKS_APP_ID);
    assert.equal(out.length, 9);
    const active = out.find((s) => s.name === 'metrics_driver_DAGScheduler_job_activeJobs_Number')!;
    assert.deepEqual(active.labels, { type: 'gauges', spark_app_id: DATABRICKS_APP_ID });
    assert.equal(active.value, 4);
    const q99 = out.find((s) => s.name === 'metrics_driver_CodeGenerator_compilationTime' && s.labels.quantile === '0.99')!;
    assert.equal(q99.value, 412);
    // A label the agent owns is kept apart, not allowed to overwrite the agent's.
    const clash = out.find((s) => s.name === 'metrics_driver_HiveExternalCatalog_fileCacheHits_Count')!;
    assert.deepEqual(clash.labels, { type: 'counters', exported_job: 'should-not-clash', spark_app_id: DATABRICKS_APP_ID });
    for (const s of out) {
      assert.equal(s.help, FORWARDED_HELP);
      assert.equal(s.type, 'gauge');
      assert.ok(!s.name.includes('20261124135501'));
    }
  });

  it('drops the free-form application_name, keeps executor_id', () => {
    const out = relabelSparkSamples(parsePrometheusText(databricksFixture('executors-prometheus.txt')).samples, DATABRICKS_APP_ID);
    assert.deepEqual(out[4]!.labels, { executor_id: '0', spark_app_id: DATABRICKS_APP_ID });
  });

  it('sanitises names and labels and never shadows the agent own families', () => {
    const out = relabelSparkSamples(
      [
        { name: 'spark_executors', labels: {}, value: 1 },
        { name: 'node_load1', labels: {}, value: 1 },
        { name: 'ok', labels: { 'bad-label': 'v', __private: 'p' }, value: 2 },
        { name: 'ok', labels: { 'bad-label': 'v', __private: 'p' }, value: 3 },
      ],
      'a',
    );
    assert.deepEqual(out.map((s) => [s.name, s.labels, s.value]), [['ok', { bad_label: 'v', _private: 'p', spark_app_id: 'a' }, 2]]);
  });

  it('serialises to valid text with stable HELP/TYPE', async () => {
    const out = relabelSparkSamples(parsePrometheusText(databricksFixture('driver-prometheus.txt')).samples, DATABRICKS_APP_ID);
    const text = encodeText(out);
    assert.match(text, /# TYPE metrics_driver_LiveListenerBus_numEventsPosted_Count gauge/);
    assert.match(text, /metrics_driver_LiveListenerBus_numEventsPosted_Count\{type="counters",spark_app_id="app-20261124135501-0000"\} 18231/);
  });
});
