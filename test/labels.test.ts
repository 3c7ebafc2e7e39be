import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RESERVED_LABELS, SERIES_LABELS, applyLabels, isValidLabelName, nodeLabels, sanitizeLabelName } from '../agent/labels';
import { parsePrometheusText } from '../agent/sources/spark/prometheus';
import { runAgent } from './helpers/agent';
import { databricksRoutes, startFakeSpark } from './helpers/fake-spark';
import { parseContext } from '../agent/databricks/context';
import { gauge } from '../agent/core/sample';

const up = gauge('test_up', 'test');

describe('labels', () => {
  const ctx = parseContext(
    {
      DB_CLUSTER_ID: '0101-120000-abcd123',
      DB_CLUSTER_NAME: 'job-42-run-7-etl',
      DB_IS_DRIVER: 'TRUE',
      DB_CONTAINER_IP: '10.0.0.4',
      DB_INSTANCE_TYPE: 'm5d.xlarge',
    },
    { hostname: 'node-a', ip: '10.0.0.4' },
  );

  it('gives every series the DESIGN identity labels, job_id and run_id on job clusters', () => {
    assert.deepEqual(nodeLabels(ctx, { team: 'data' }), {
      team: 'data',
      cluster_id: '0101-120000-abcd123',
      cluster_name: 'job-42-run-7-etl',
      node: 'node-a',
      node_ip: '10.0.0.4',
      role: 'driver',
      instance_type: 'm5d.xlarge',
      job_id: '42',
      run_id: '7',
    });
  });

  it('leaves out empty values (off Databricks there is no cluster)', () => {
    const plain = parseContext({}, { hostname: 'h', ip: '1.2.3.4' });
    assert.deepEqual(nodeLabels(plain), { node: 'h', node_ip: '1.2.3.4', role: 'worker' });
  });

  it("keeps a source's own label over the node's", () => {
    const [s] = applyLabels([up({ job_id: '99', mode: 'x' }, 1)], nodeLabels(ctx));
    assert.equal(s!.labels.job_id, '99');
    assert.equal(s!.labels.node, 'node-a');
    assert.equal(s!.labels.mode, 'x');
  });

  it('sanitises any string into a valid label name', () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), (name) => isValidLabelName(sanitizeLabelName(name))));
    assert.equal(sanitizeLabelName('spark.app-id'), 'spark_app_id');
    assert.equal(sanitizeLabelName('0abc'), '_0abc');
  });

  it("knows every label name the agent's series carry, so --labels can refuse a collision", async function () {
    this.timeout(30000);
    const spark = await startFakeSpark(databricksRoutes());
    try {
      const r = await runAgent(['once', '--dry-run', '--spark-url', spark.url, '--spark-prometheus'], { DB_IS_DRIVER: 'TRUE', DB_CLUSTER_ID: 'c-1' });
      assert.equal(r.code, 0, r.stderr);
      const names = new Set(parsePrometheusText(r.stdout).samples.flatMap((s) => Object.keys(s.labels)));
      assert.ok(names.has('mountpoint') && names.has('executor_id'), [...names].join(','));
      // `exported_*`: a forwarded Spark label renamed because the agent owns its name.
      const unknown = [...names].filter((n) => !RESERVED_LABELS.has(n) && !SERIES_LABELS.has(n) && !n.startsWith('exported_'));
      assert.deepEqual(unknown, []);
    } finally {
      await spark.close();
    }
  });
});
