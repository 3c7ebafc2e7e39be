/**
 * AWS credentials held between requests: refreshed before they expire, one load in flight, a
 * forced reload after the receiver says the keys expired. Temporary keys (instance profile,
 * AssumeRole, web identity) rotate every few hours; a long run must never sign with expired
 * ones, and 500 nodes must not ask IMDS or STS on every push. The loader is the SDK's chain;
 * this class only decides when to call it.
 */
import { messageOf, within } from '../../core/isolate';
import { replaceSecret } from '../../core/log';
import type { SigningKeys } from './sign';

export interface AwsKeys extends SigningKeys {
  /** Undefined for long-term keys (no rotation). */
  readonly expiration?: Date;
  /** Where they came from, for doctor ("EC2 instance profile (IMDSv2)", "environment"). */
  readonly source: string;
}

/**
 * New keys are fetched this long before the old expire: EC2 makes an instance profile's next
 * keys available at least five minutes before the current ones expire, and the SDK's own clients
 * refresh five minutes early too.
 */
export const REFRESH_BEFORE_MS = 5 * 60_000;
/**
 * Keys due for refresh that came back unchanged are asked for again after this long, not at once:
 * IMDS is per instance (no fleet-wide stampede), STS hands out an hour at a time.
 */
export const MIN_REFRESH_GAP_MS = 10_000;
/**
 * After a failed load the source is left alone this long, doubling with each failure in a row
 * up to a minute: the error is answered meanwhile. A role that cannot be assumed must not have
 * 500 nodes ask STS every few seconds.
 */
export const RETRY_AFTER_FAILURE_MS = 5_000;
export const MAX_RETRY_AFTER_FAILURE_MS = 60_000;
/** A load that has not settled by then failed: a hanging IMDS or STS must not hold every push. */
export const LOAD_TIMEOUT_MS = 8_000;

/** How long to leave the source alone after `failures` failed loads in a row. Pure. */
export function retryAfterFailureMs(failures: number): number {
  return Math.min(MAX_RETRY_AFTER_FAILURE_MS, RETRY_AFTER_FAILURE_MS * 2 ** Math.max(0, failures - 1));
}

export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

interface Held {
  keys: AwsKeys;
  refreshAt: number;
  expiresAt: number;
}

/** When keys fetched at `fetchedAt` are due for a refresh. Pure. */
export function refreshAt(keys: AwsKeys, fetchedAt: number): number {
  if (keys.expiration === undefined) return Infinity;
  const expiresAt = keys.expiration.getTime();
  return Math.max(expiresAt - REFRESH_BEFORE_MS, Math.min(fetchedAt + MIN_REFRESH_GAP_MS, expiresAt));
}

export class CredentialCache {
  private held?: Held;
  private inFlight?: Promise<AwsKeys>;
  private failure?: { at: number; error: Error; count: number };

  constructor(
    private readonly load: () => Promise<AwsKeys>,
    private readonly now: () => number = Date.now,
    private readonly loadTimeoutMs = LOAD_TIMEOUT_MS,
    /** What the load asks, for the timeout's message ("AssumeRole of arn:..."). */
    private readonly what = 'the AWS credential chain',
  ) {}

  /**
   * Keys to sign with now. While the held ones are still valid a due refresh runs in the
   * background and the held ones are answered, so a slow IMDS never delays a push.
   */
  async get(): Promise<AwsKeys> {
    const h = this.held;
    const now = this.now();
    if (h && now < h.refreshAt) return h.keys;
    const valid = h && now < h.expiresAt ? h.keys : undefined;
    if (this.failure && now - this.failure.at < retryAfterFailureMs(this.failure.count)) {
      if (valid) return valid;
      throw this.failure.error;
    }
    const loading = this.start();
    return valid ?? loading;
  }

  /**
   * After the receiver refused keys `rejectedKeyId` as expired or unknown (`why`): resolves when
   * other keys are (or now were loaded) in hand, so a retry has a chance. When none can be had
   * (the load fails, or brings the refused keys back) it throws: the request then fails as a
   * credentials outage, its batch kept as with no keys at all, not dropped as a refused payload.
   */
  async forceRefresh(rejectedKeyId: string | undefined, why: string): Promise<void> {
    const h = this.held;
    if (h && h.keys.accessKeyId !== rejectedKeyId) return;
    if (h) this.held = { ...h, refreshAt: 0, expiresAt: 0 }; // never sign with refused keys again
    const keys = await (this.inFlight ?? this.start());
    if (keys.accessKeyId === rejectedKeyId)
      throw new CredentialsError(`AWS credentials unavailable: the keys from ${keys.source} were refused (${why}) and no newer ones are available`);
  }

  private async timed(): Promise<AwsKeys> {
    const r = await within(this.load(), this.loadTimeoutMs);
    if (r.status === 'done') return r.value;
    if (r.status === 'failed') throw r.error;
    throw new CredentialsError(`AWS credentials unavailable: ${this.what} did not answer in ${this.loadTimeoutMs / 1000} s`);
  }

  private start(): Promise<AwsKeys> {
    if (this.inFlight) return this.inFlight;
    const fetchedAt = this.now();
    const p = this.timed().then(
      (keys) => {
        replaceSecret(this.held?.keys.secretAccessKey, keys.secretAccessKey);
        replaceSecret(this.held?.keys.sessionToken, keys.sessionToken);
        const expiresAt = keys.expiration?.getTime() ?? Infinity;
        this.held = { keys, refreshAt: refreshAt(keys, fetchedAt), expiresAt };
        this.failure = undefined;
        return keys;
      },
      (e: unknown) => {
        const error = e instanceof CredentialsError ? e : new CredentialsError(`AWS credentials unavailable: ${messageOf(e)}`);
        this.failure = { at: this.now(), error, count: (this.failure?.count ?? 0) + 1 };
        throw error;
      },
    );
    this.inFlight = p.finally(() => {
      this.inFlight = undefined;
    });
    // A background refresh nobody awaits must not become an unhandled rejection.
    this.inFlight.catch(() => undefined);
    return this.inFlight;
  }
}
