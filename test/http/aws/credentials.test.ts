/** When AWS keys are loaded: before expiry, once at a time, again after a refusal; fake clock. */
import assert from 'node:assert/strict';
import {
  CredentialCache, CredentialsError, MAX_RETRY_AFTER_FAILURE_MS, MIN_REFRESH_GAP_MS, REFRESH_BEFORE_MS, RETRY_AFTER_FAILURE_MS,
  refreshAt, retryAfterFailureMs, type AwsKeys,
} from '../../../agent/http/aws/credentials';
import { redact } from '../../../agent/core/log';

const HOUR = 3_600_000;

function keys(id: string, expiresAtMs?: number): AwsKeys {
  return { accessKeyId: id, secretAccessKey: `secret-of-${id}`, sessionToken: `token-of-${id}`, source: 'test', ...(expiresAtMs !== undefined ? { expiration: new Date(expiresAtMs) } : {}) };
}

/** A loader handing out K1, K2, ... each valid for `lifetimeMs` from the fake now. */
function rotating(clock: { now: number }, lifetimeMs = 6 * HOUR) {
  let n = 0;
  const calls: number[] = [];
  let fail: Error | undefined;
  let gate: Promise<void> | undefined;
  return {
    calls,
    failWith(e: Error | undefined) {
      fail = e;
    },
    hold(p: Promise<void> | undefined) {
      gate = p;
    },
    load: async (): Promise<AwsKeys> => {
      calls.push(clock.now);
      if (gate) await gate;
      if (fail) throw fail;
      n++;
      return keys(`K${n}`, clock.now + lifetimeMs);
    },
  };
}

describe('http/aws/credentials', () => {
  it('refreshes five minutes before expiry, never sooner than 10 s after a load, never after expiry', () => {
    assert.equal(refreshAt(keys('A', 10 * HOUR), 0), 10 * HOUR - REFRESH_BEFORE_MS);
    assert.equal(refreshAt(keys('A', 4 * 60_000), 0), MIN_REFRESH_GAP_MS);
    assert.equal(refreshAt(keys('A', 10_000), 0), 10_000);
    assert.equal(refreshAt(keys('A'), 0), Infinity);
  });

  it('loads once, then answers the held keys until they are due', async () => {
    const clock = { now: 0 };
    const src = rotating(clock);
    const cache = new CredentialCache(src.load, () => clock.now);
    assert.equal((await cache.get()).accessKeyId, 'K1');
    clock.now = 6 * HOUR - REFRESH_BEFORE_MS - 1;
    assert.equal((await cache.get()).accessKeyId, 'K1');
    assert.equal(src.calls.length, 1);
  });

  it('rotates to new keys before the old expire, signing with the old ones meanwhile', async () => {
    const clock = { now: 0 };
    const src = rotating(clock);
    const cache = new CredentialCache(src.load, () => clock.now);
    await cache.get();
    let release!: () => void;
    src.hold(new Promise<void>((r) => (release = r)));
    clock.now = 6 * HOUR - REFRESH_BEFORE_MS;
    // Due: the load starts, the still-valid K1 is answered without waiting for it.
    assert.equal((await cache.get()).accessKeyId, 'K1');
    assert.equal((await cache.get()).accessKeyId, 'K1');
    assert.equal(src.calls.length, 2, 'one load in flight');
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal((await cache.get()).accessKeyId, 'K2');
    assert.ok(clock.now < 6 * HOUR, 'before K1 expired');
  });

  it('waits for the load when the held keys have expired', async () => {
    const clock = { now: 0 };
    const src = rotating(clock, 60_000);
    const cache = new CredentialCache(src.load, () => clock.now);
    await cache.get();
    clock.now = 61_000;
    assert.equal((await cache.get()).accessKeyId, 'K2');
  });

  it('answers a failed load with the held keys while they last, then with the error, and leaves the source alone meanwhile', async () => {
    const clock = { now: 0 };
    const src = rotating(clock, 10 * 60_000);
    const cache = new CredentialCache(src.load, () => clock.now);
    await cache.get();
    src.failWith(new Error('connect ECONNREFUSED 169.254.169.254:80'));
    clock.now = 6 * 60_000; // due, K1 valid for 4 more minutes
    assert.equal((await cache.get()).accessKeyId, 'K1');
    await new Promise((r) => setImmediate(r));
    clock.now = 11 * 60_000; // K1 expired
    await assert.rejects(cache.get(), (e: unknown) => e instanceof CredentialsError && /AWS credentials unavailable: connect ECONNREFUSED/.test(e.message));
    const calls = src.calls.length;
    // The second failure in a row: the source is left alone 10 s.
    clock.now += retryAfterFailureMs(2) - 1;
    await assert.rejects(cache.get(), CredentialsError);
    assert.equal(src.calls.length, calls, 'no load within 10 s of a second failure');
    src.failWith(undefined);
    clock.now += 1;
    assert.equal((await cache.get()).accessKeyId, 'K2');
  });

  it('leaves a failing source alone longer with each failure in a row, up to a minute', async () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(retryAfterFailureMs), [5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000]);
    const clock = { now: 0 };
    const src = rotating(clock);
    src.failWith(new Error('AccessDenied'));
    const cache = new CredentialCache(src.load, () => clock.now);
    for (const gap of [0, RETRY_AFTER_FAILURE_MS, 2 * RETRY_AFTER_FAILURE_MS]) {
      clock.now += gap;
      await assert.rejects(cache.get(), /AccessDenied/);
    }
    assert.equal(src.calls.length, 3);
    clock.now += 4 * RETRY_AFTER_FAILURE_MS - 1; // the fourth wait is 20 s
    await assert.rejects(cache.get(), /AccessDenied/);
    assert.equal(src.calls.length, 3);
    clock.now += 1;
    src.failWith(undefined);
    assert.equal((await cache.get()).accessKeyId, 'K1');
    assert.ok(MAX_RETRY_AFTER_FAILURE_MS <= 60_000);
  });

  it('gives up on a load that never settles (a hanging STS), so pushes are not held for ever', async () => {
    const clock = { now: 0 };
    const cache = new CredentialCache(() => new Promise<AwsKeys>(() => undefined), () => clock.now, 5);
    await assert.rejects(cache.get(), (e: unknown) => e instanceof CredentialsError && /the AWS credential chain did not answer in 0.005 s/.test(e.message));
    // The next load is not stuck behind the hung one either.
    clock.now += RETRY_AFTER_FAILURE_MS;
    await assert.rejects(cache.get(), /did not answer/);
  });

  it('after a refusal loads new keys once, even for many refused requests at once', async () => {
    const clock = { now: 0 };
    const src = rotating(clock);
    const cache = new CredentialCache(src.load, () => clock.now);
    await cache.get();
    await Promise.all([cache.forceRefresh('K1', 'expired'), cache.forceRefresh('K1', 'expired'), cache.forceRefresh('K1', 'expired')]);
    assert.equal(src.calls.length, 2);
    assert.equal((await cache.get()).accessKeyId, 'K2');
    // A request refused with K1 after K2 came: K2 is already the answer, no load.
    await cache.forceRefresh('K1', 'expired');
    assert.equal(src.calls.length, 2);
  });

  it('fails as a credentials outage when the reload brings the refused keys back or none load, never signing with refused keys', async () => {
    const clock = { now: 0 };
    const same = keys('STATIC');
    let loads = 0;
    const cache = new CredentialCache(async () => {
      loads++;
      return same;
    }, () => clock.now);
    await cache.get();
    await assert.rejects(cache.forceRefresh('STATIC', 'HTTP 403 ExpiredTokenException'), (e: unknown) =>
      e instanceof CredentialsError && /keys from test were refused \(HTTP 403 ExpiredTokenException\) and no newer ones are available/.test(e.message));
    assert.equal(loads, 2);
    const failing = new CredentialCache(async () => {
      if (loads++ > 2) throw new Error('IMDS down');
      return keys('OLD', 6 * HOUR);
    }, () => clock.now);
    await failing.get();
    await assert.rejects(failing.forceRefresh('OLD', 'expired'), (e: unknown) => e instanceof CredentialsError && /IMDS down/.test(e.message));
    await assert.rejects(failing.get(), /IMDS down/);
  });

  it('registers each secret key and session token with the log redactor, and forgets rotated ones', async () => {
    const clock = { now: 0 };
    const src = rotating(clock, 60_000);
    const cache = new CredentialCache(src.load, () => clock.now);
    await cache.get();
    assert.equal(redact('x secret-of-K1 token-of-K1'), 'x [REDACTED] [REDACTED]');
    clock.now = 61_000;
    await cache.get();
    assert.equal(redact('secret-of-K2 token-of-K2'), '[REDACTED] [REDACTED]');
    assert.equal(redact('secret-of-K1'), 'secret-of-K1');
  });
});
