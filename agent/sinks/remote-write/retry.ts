/**
 * When to retry a remote-write request and how long to wait, as Prometheus's own sender does
 * (storage/remote/queue_manager.go, config defaults min_backoff 30ms, max_backoff 5s): 5xx and
 * 429 are retried with a doubling backoff; any other 4xx will fail the same way again, so the
 * batch is dropped. Network errors and timeouts are retried. `Retry-After` (RFC 9110 10.2.3:
 * seconds or an HTTP date) is honoured when the receiver sends it.
 */

export const MIN_BACKOFF_MS = 30;
export const MAX_BACKOFF_MS = 5000;
/**
 * The longest the agent waits between two attempts, whatever the receiver asks: a receiver that
 * says `Retry-After: 999999` (or a date in 2099) must not silence a node for good. The queue
 * keeps what is not sent meanwhile, up to --queue-max-age.
 */
export const MAX_RETRY_AFTER_MS = 60_000;

export type Verdict = 'ok' | 'retry' | 'drop';

export function classifyStatus(status: number): Verdict {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 429 || status >= 500) return 'retry';
  // 3xx (redirects are not followed for POSTs with a body) and other 4xx: the same bytes would fail again.
  return 'drop';
}

/**
 * Milliseconds to wait from a Retry-After header (0 for a date in the past), or undefined when
 * absent or unreadable. Not capped here: retryDelayMs decides the wait.
 */
export function parseRetryAfter(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const h = header.trim();
  if (h === '') return undefined;
  // RFC 9110: delay-seconds is 1*DIGIT; a negative or fractional number is not one.
  if (/^\d+$/.test(h)) return Number(h) * 1000;
  // An HTTP-date names its day and month ("Sun, 06 Nov 1994 08:49:37 GMT"); Date.parse would
  // also take "-5" as the year 5 BC.
  const at = /[a-z]{3}/i.test(h) ? Date.parse(h) : NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.max(at - nowMs, 0);
}

/**
 * Exponential backoff with jitter: attempt 1 waits about 30 ms, each next one twice as long,
 * capped at 5 s. The wait is drawn from [d/2, d] ("equal jitter"), so 500 nodes that lost the
 * same receiver do not all come back in the same millisecond, and no wait is ever near zero.
 */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const d = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.max(0, attempt - 1));
  return d / 2 + random() * (d / 2);
}

/**
 * The wait before the next attempt: the longer of the receiver's Retry-After and the agent's
 * own backoff (a `Retry-After: 0` must not turn retries into a hot loop against a receiver that
 * asked to slow down), never more than MAX_RETRY_AFTER_MS.
 */
export function retryDelayMs(attempt: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  return Math.min(Math.max(retryAfterMs ?? 0, backoffMs(attempt, random)), MAX_RETRY_AFTER_MS);
}
