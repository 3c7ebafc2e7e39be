import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_BACKOFF_MS, MAX_RETRY_AFTER_MS, backoffMs, classifyStatus, parseRetryAfter, retryDelayMs } from '../../agent/remote-write/retry';

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

  it('reads Retry-After as seconds or an HTTP date, capped', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('999999', now), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(retryDelayMs(1, 2000, () => 0), 2000);
    assert.equal(retryDelayMs(1, undefined, () => 1), 30);
  });
});
