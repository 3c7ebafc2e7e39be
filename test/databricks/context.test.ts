import assert from 'node:assert/strict';
import { parseContext, parseJobClusterName, primaryIp } from '../../agent/databricks/context';

const host = { hostname: '0101-120000-abcd123-10-0-1-5', ip: '10.0.1.5' };

describe('databricks/context', () => {
  it('reads a driver of an all-purpose cluster with spaces and quotes in its name', () => {
    const ctx = parseContext(
      {
        DB_CLUSTER_ID: '0101-120000-abcd123',
        DB_CLUSTER_NAME: `Data Eng's "shared" cluster`,
        DB_IS_DRIVER: 'TRUE',
        DB_DRIVER_IP: '10.0.1.4',
        DB_CONTAINER_IP: '10.0.1.4',
        DB_INSTANCE_TYPE: 'i3.xlarge',
        DB_IS_JOB_CLUSTER: 'FALSE',
        DATABRICKS_RUNTIME_VERSION: '15.4',
      },
      host,
    );
    assert.equal(ctx.onDatabricks, true);
    assert.equal(ctx.role, 'driver');
    assert.equal(ctx.clusterName, `Data Eng's "shared" cluster`);
    assert.equal(ctx.nodeIp, '10.0.1.4');
    assert.equal(ctx.instanceType, 'i3.xlarge');
    assert.equal(ctx.runtimeVersion, '15.4');
    assert.equal(ctx.isJobCluster, false);
    assert.equal(ctx.jobId, undefined);
  });

  it('treats anything but TRUE as a worker', () => {
    for (const v of ['FALSE', 'true ', 'yes', '', undefined]) {
      const ctx = parseContext({ DB_CLUSTER_ID: 'c', DB_IS_DRIVER: v }, host);
      assert.equal(ctx.role, v?.trim().toUpperCase() === 'TRUE' ? 'driver' : 'worker', String(v));
    }
  });

  it('parses job_id and run_id from a job cluster name', () => {
    const ctx = parseContext({ DB_CLUSTER_ID: '0101-1-x', DB_CLUSTER_NAME: 'job-123456789-run-987654-my_task' }, host);
    assert.equal(ctx.jobId, '123456789');
    assert.equal(ctx.runId, '987654');
    assert.equal(ctx.isJobCluster, true);
    assert.deepEqual(parseJobClusterName('job-1-run-2'), { jobId: '1', runId: '2' });
    assert.equal(parseJobClusterName('job-1-runner-2'), undefined);
    assert.equal(parseJobClusterName('my job-1-run-2'), undefined);
  });

  it('falls back to the host name, its IP and role worker off Databricks', () => {
    const ctx = parseContext({}, host);
    assert.equal(ctx.onDatabricks, false);
    assert.equal(ctx.node, host.hostname);
    assert.equal(ctx.nodeIp, '10.0.1.5');
    assert.equal(ctx.role, 'worker');
    assert.equal(ctx.clusterId, '');
  });

  it('picks the first external IPv4 address', () => {
    const lo = { address: '127.0.0.1', family: 'IPv4', internal: true } as const;
    const v6 = { address: 'fe80::1', family: 'IPv6', internal: false } as const;
    const v4 = { address: '10.0.0.9', family: 'IPv4', internal: false } as const;
    const base = { netmask: '', mac: '', cidr: null, scopeid: 0 };
    assert.equal(primaryIp({ lo: [{ ...base, ...lo }], eth0: [{ ...base, ...v6 }, { ...base, ...v4 }] }), '10.0.0.9');
    assert.equal(primaryIp({ lo: [{ ...base, ...lo }] }), '127.0.0.1');
  });
});
