import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  describeGroup,
  groupDeletePath,
  lastActivitySeconds,
  parseGroups,
  PushgatewayApiError,
  staleGroups,
} from '../../../agent/sinks/pushgateway/groups';

/**
 * Captured from prometheus-pushgateway 1.5.1 (Debian) after: two agent groups pushed
 * (node "ip-10/0" through @base64), worker-2 pushed, a first push of job "other-team" that
 * failed (type clash: the group exists with push_time 0), then a rejected push to driver-1.
 */
const FIXTURE = JSON.parse(readFileSync(path.join(__dirname, 'api-v1-metrics.json'), 'utf8')) as unknown;

describe('pushgateway/groups', () => {
  const groups = parseGroups(FIXTURE);
  const byNode = (node: string) => groups.find((g) => g.labels.node === node)!;

  it('reads every group with its grouping key and push times', () => {
    assert.equal(groups.length, 4);
    assert.deepEqual(byNode('ip-10/0').labels, { cluster_id: '0101-abc', job: 'databricks', node: 'ip-10/0' });
    assert.equal(byNode('ip-10/0').pushTimeSeconds, 1.795671964093447e9);
    assert.equal(byNode('ip-10/0').pushFailureTimeSeconds, 0);
    assert.equal(byNode('driver-1').pushTimeSeconds, 1.7956719641295986e9);
    assert.equal(byNode('driver-1').pushFailureTimeSeconds, 1.795671967366771e9);
    const other = groups.find((g) => g.labels.job === 'other-team')!;
    assert.deepEqual(other.labels, { instance: 'x', job: 'other-team' });
    assert.equal(other.pushTimeSeconds, 0);
  });

  it('rejects bodies that are not the API answer', () => {
    assert.throws(() => parseGroups('<html>login</html>'), PushgatewayApiError);
    assert.throws(() => parseGroups({ status: 'error', data: [] }), PushgatewayApiError);
    assert.throws(() => parseGroups({ status: 'success', data: [{ foo: 1 }] }), PushgatewayApiError);
    assert.deepEqual(parseGroups({ status: 'success', data: [] }), []);
  });

  it('dates a group by its last push, failed or not', () => {
    assert.equal(lastActivitySeconds(byNode('driver-1')), 1.795671967366771e9);
    assert.equal(lastActivitySeconds(byNode('worker-2')), 1.7956719641051362e9);
    assert.ok(Number.isNaN(lastActivitySeconds({ labels: { job: 'x' }, pushTimeSeconds: 0, pushFailureTimeSeconds: NaN })));
  });

  describe('staleGroups', () => {
    const t0 = 1.795671964e9; // just before the first push of the fixture

    it('chooses nothing while every group is younger than max-age', () => {
      assert.deepEqual(staleGroups(groups, { nowSeconds: t0 + 5, maxAgeSeconds: 600 }), []);
    });

    it('chooses the groups older than max-age, only of the given job', () => {
      const chosen = staleGroups(groups, { nowSeconds: t0 + 3.2, maxAgeSeconds: 3, job: 'databricks' });
      // driver-1 had a (failed) push at t0+3.37: it is alive and kept.
      assert.deepEqual(chosen.map((s) => s.group.labels.node).sort(), ['ip-10/0', 'worker-2']);
      for (const s of chosen) assert.ok(s.ageSeconds > 3 && s.ageSeconds < 3.2);
    });

    it('takes every job when no job is given', () => {
      const chosen = staleGroups(groups, { nowSeconds: t0 + 100, maxAgeSeconds: 10 });
      assert.equal(chosen.length, 4);
    });

    it('keeps a group at exactly max-age, and groups without a time or a job', () => {
      const g = { labels: { job: 'j' }, pushTimeSeconds: 100, pushFailureTimeSeconds: 0 };
      assert.equal(staleGroups([g], { nowSeconds: 110, maxAgeSeconds: 10 }).length, 0);
      assert.equal(staleGroups([g], { nowSeconds: 110.5, maxAgeSeconds: 10 }).length, 1);
      const undated = { labels: { job: 'j' }, pushTimeSeconds: NaN, pushFailureTimeSeconds: NaN };
      const jobless = { labels: { node: 'n' }, pushTimeSeconds: 1, pushFailureTimeSeconds: 0 };
      assert.deepEqual(staleGroups([undated, jobless], { nowSeconds: 1e10, maxAgeSeconds: 1 }), []);
    });
  });

  it('builds the DELETE path from every grouping label, base64 where needed', () => {
    assert.equal(
      groupDeletePath({ node: 'ip-10/0', job: 'databricks', cluster_id: '0101-abc' }),
      '/metrics/job/databricks/cluster_id/0101-abc/node@base64/aXAtMTAvMA',
    );
    assert.equal(groupDeletePath({ job: 'a/b', e: '' }), '/metrics/job@base64/YS9i/e@base64/=');
    assert.equal(groupDeletePath({ job: 'other-team', instance: 'x' }), '/metrics/job/other-team/instance/x');
  });

  it('describes a group on one line, job first', () => {
    assert.equal(describeGroup({ node: 'a/b', job: 'databricks', cluster_id: 'c' }), 'job="databricks" cluster_id="c" node="a/b"');
  });
});
