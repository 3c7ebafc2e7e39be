import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jobRunOf, parseJobGroup } from '../../../agent/sources/spark/job-group';

describe('spark/job-group', () => {
  it('reads job and run ids from a Databricks job group', () => {
    assert.deepEqual(parseJobGroup('7590371530924440358_6340718213418581004_job-892813468364452-run-1015563-action-4539451284405985'), {
      jobId: '892813468364452',
      runId: '1015563',
    });
    assert.deepEqual(parseJobGroup('job-1-run-2-action-3'), { jobId: '1', runId: '2' });
  });

  it('ignores groups that are not job runs', () => {
    for (const g of ['1732030127393_4963318339446442066_0b1d6a2f4c9a4e2e8f7a1c3d5e7f9a1b', 'myjob-1-run-2-action-3', 'job-1-run-2', 'job-x-run-2-action-3', '', undefined, null])
      assert.equal(parseJobGroup(g), undefined, String(g));
  });

  it('falls back to job tags', () => {
    assert.deepEqual(jobRunOf({ jobTags: ['other', 'abc_job-9-run-10-action-11'] }), { jobId: '9', runId: '10' });
    assert.equal(jobRunOf({ jobGroup: 42, jobTags: 'job-9-run-10-action-11' }), undefined);
  });

  it('finds any ids embedded after a separator', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.stringMatching(/^[0-9_]{0,40}$/), (job, run, prefix) => {
        const g = `${prefix}${prefix ? '_' : ''}job-${job}-run-${run}-action-7`;
        assert.deepEqual(parseJobGroup(g), { jobId: String(job), runId: String(run) });
      }),
    );
  });
});
