/** agent/core/isolate.ts: the one way a part runs isolated, and the one timeout helper. */
import assert from 'node:assert/strict';
import { isolate, within } from '../../agent/core/isolate';
import { captureLogs, log } from '../../agent/core/log';
import { OutageLog } from '../../agent/core/outage';

const never = new Promise<never>(() => undefined);

describe('core/isolate', () => {
  describe('within', () => {
    it('settles with the value, the error, or late', async () => {
      assert.deepEqual(await within(Promise.resolve(3), 1000), { status: 'done', value: 3 });
      const boom = new Error('boom');
      assert.deepEqual(await within(Promise.reject(boom), 1000), { status: 'failed', error: boom });
      assert.deepEqual(await within(never, 0), { status: 'late' });
    });

    it('an aborted signal ends the wait with its reason, at once or later', async () => {
      const reason = new Error('stopping');
      assert.deepEqual(await within(never, Infinity, AbortSignal.abort(reason)), { status: 'late', reason });
      const c = new AbortController();
      const w = within(never, Infinity, c.signal);
      c.abort(reason);
      assert.deepEqual(await w, { status: 'late', reason });
    });
  });

  describe('isolate', () => {
    it('a throwing part, sync or async, is a failed run with its error; an outage is logged once', async () => {
      const lines: string[] = [];
      const restore = captureLogs((l) => lines.push(l));
      try {
        const outage = new OutageLog(log, 'part x', 'warn');
        const sync = await isolate(() => {
          throw new Error('boom');
        }, { outage });
        assert.equal(sync.ok, false);
        assert.match((sync.error as Error).message, /boom/);
        const async = await isolate(async () => Promise.reject(new Error('boom')), { outage });
        assert.equal(async.ok, false);
        assert.equal(lines.filter((l) => /"level":"warn"/.test(l)).length, 1);
        const ok = await isolate(() => 7, { outage });
        assert.deepEqual([ok.ok, ok.value], [true, 7]);
        assert.ok(ok.seconds >= 0);
        assert.ok(lines.some((l) => /part x recovered/.test(l)), lines.join('\n'));
      } finally {
        restore();
      }
    });

    it('gives up when the signal aborts, and describe() may keep the failure out of the log', async () => {
      const lines: string[] = [];
      const restore = captureLogs((l) => lines.push(l));
      try {
        const c = new AbortController();
        const run = isolate(() => never, { signal: c.signal, outage: new OutageLog(log, 'part y', 'warn'), describe: () => undefined });
        c.abort(new Error('cut'));
        const r = await run;
        assert.equal(r.ok, false);
        assert.equal((r.error as Error).message, 'cut');
        assert.deepEqual(lines.filter((l) => /part y/.test(l)), []);
      } finally {
        restore();
      }
    });
  });
});
