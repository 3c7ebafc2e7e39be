import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_BACKOFF_MS, MAX_RETRY_AFTER_MS, backoffMs, classifyStatus, parseRetryAfter, retryDelayMs } from '../../../agent/sinks/remote-write/retry';

describe('remote-write/retry', () => {
  it('retries 5xx and 429, drops other 4xx, accepts 2xx', () => {
    assert.equal(classifyStatus(200), 'ok');
    assert.equal(classifyStatus(204), 'ok');
    assert.equal(classifyStatus(500), 'retry');
    assert.equal(classifyStatus(503), 'retry');
    assert.equal(classifyStatus(429), 'retry');
    assert.equal(classifyStatus(400), 'drop');
    assert.equal(classifyStatus(401), 'drop');
    assert.equal(classifyStatus(404), 'drop');
    assert.equal(classifyStatus(413), 'drop');
  });

  it('doubles from 30 ms to a 5 s cap, with jitter in [d/2, d]', () => {
    assert.equal(backoffMs(1, () => 1), 30);
    assert.equal(backoffMs(1, () => 0), 15);
    assert.equal(backoffMs(2, () => 1), 60);
    assert.equal(backoffMs(3, () => 1), 120);
    assert.equal(backoffMs(20, () => 1), MAX_BACKOFF_MS);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const d = backoffMs(attempt, () => r);
        const cap = Math.min(MAX_BACKOFF_MS, 30 * 2 ** (attempt - 1));
        assert.ok(d >= cap / 2 && d <= cap);
      }),
    );
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('-5', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  it('waits the longer of Retry-After and its own backoff, capped at MAX_RETRY_AFTER_MS', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryDelayMs(1, 2000, () => 0), 2000);
    assert.equal(retryDelayMs(1, undefined, () => 1), 30);
    // Retry-After: 0 (or a past date, or an unreadable negative) is no reason to hurry.
    assert.equal(retryDelayMs(8, 0, () => 1), backoffMs(8, () => 1));
    assert.equal(retryDelayMs(8, parseRetryAfter('-1', now), () => 1), backoffMs(8, () => 1));
    // 999999 s or a date in 2099 would silence the node for good.
    assert.equal(retryDelayMs(1, parseRetryAfter('999999', now), () => 0), MAX_RETRY_AFTER_MS);
    assert.equal(retryDelayMs(1, parseRetryAfter('Thu, 01 Jan 2099 00:00:00 GMT', now), () => 0), MAX_RETRY_AFTER_MS);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.option(fc.integer({ min: 0, max: 2 ** 40 })), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, ra, r) => {
        const d = retryDelayMs(attempt, ra ?? undefined, () => r);
        assert.ok(d >= Math.min(backoffMs(attempt, () => r), MAX_RETRY_AFTER_MS) && d <= MAX_RETRY_AFTER_MS);
      }),
    );
  });
});
