import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeGroupingValue, groupingPath } from '../../../agent/sinks/pushgateway/grouping-key';

/** Decodes one `<label>[@base64]/<value>` pair the way the Pushgateway does. */
function decode(segments: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < segments.length; i += 2) {
    const [label, enc] = segments[i]!.split('@');
    const raw = segments[i + 1]!;
    out[label!] = enc === 'base64' ? Buffer.from(raw.replace(/=+$/, ''), 'base64url').toString('utf8') : decodeURIComponent(raw);
  }
  return out;
}

/** Any string, with `.` and `..` (which URL parsing would drop) often. */
const dotty = () => fc.oneof(fc.string({ unit: 'grapheme' }), fc.constantFrom('.', '..', '%2e', 'a/..'));

describe('sinks/grouping-key', () => {
  it('builds job/<job>/cluster_id/<id>/node/<node>', () => {
    assert.equal(
      groupingPath('databricks', [['cluster_id', '0101-120000-abc'], ['node', 'ip-10-0-0-1']]),
      '/metrics/job/databricks/cluster_id/0101-120000-abc/node/ip-10-0-0-1',
    );
  });

  it('uses @base64 for a value with a slash and for an empty value (Pushgateway README)', () => {
    assert.equal(encodeGroupingValue('node', 'a/b'), 'node@base64/YS9i');
    assert.equal(encodeGroupingValue('cluster_id', ''), 'cluster_id@base64/=');
    assert.equal(encodeGroupingValue('node', 'with space'), 'node/with%20space');
    assert.equal(encodeGroupingValue('job', '.'), 'job@base64/Lg');
    assert.equal(encodeGroupingValue('node', '..'), 'node@base64/Li4');
  });

  it('round-trips any job and grouping values (property)', () => {
    fc.assert(
      fc.property(dotty(), dotty(), dotty(), (job, id, node) => {
        // Through a URL parser, as axios sends it: dot segments must survive.
        const p = new URL('http://pushgateway:9091' + groupingPath(job, [['cluster_id', id], ['node', node]])).pathname;
        const segments = p.replace(/^\/metrics\//, '').split('/');
        assert.equal(segments.length, 6);
        assert.deepEqual(decode(segments), { job, cluster_id: id, node });
      }),
      { numRuns: 500 },
    );
  });
});
