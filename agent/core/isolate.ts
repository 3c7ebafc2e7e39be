/**
 * Running one component so that it cannot take the others down: its error is caught, its time
 * measured, its outage logged once (OutageLog), and it is given up on when its time is over or
 * its signal aborts. The pipeline runs each source this way, the host source each collector and
 * the Spark source each endpoint: node_exporter's "a failing collector is a metric".
 */
import type { Fields } from './log';
import type { OutageLog } from './outage';

/** How a promise ended within its time: its value, its error, or not yet when time ran out. */
export type Settled<T> = { status: 'done'; value: T } | { status: 'failed'; error: unknown } | { status: 'late'; reason?: unknown };

/**
 * The one timeout helper: waits for `p` at most `ms` (Infinity: no limit) and until `signal`
 * aborts, whichever comes first. Never rejects; `p` itself is not cancelled (pass the signal
 * to whatever it runs for that).
 */
export function within<T>(p: Promise<T>, ms: number, signal?: AbortSignal): Promise<Settled<T>> {
  if (signal?.aborted) return Promise.resolve({ status: 'late', reason: signal.reason });
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (s: Settled<T>): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(s);
    };
    const onAbort = (): void => finish({ status: 'late', reason: signal!.reason });
    if (Number.isFinite(ms)) timer = setTimeout(() => finish({ status: 'late' }), Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (value) => finish({ status: 'done', value }),
      (error: unknown) => finish({ status: 'failed', error }),
    );
  });
}

export interface IsolateOptions {
  /** Gives up (the run counts as failed) when this aborts; the reason is the error. */
  signal?: AbortSignal;
  /** Said when the failure starts and when it recovers; repeats at debug. */
  outage?: OutageLog;
  /** Fields of the outage's log lines. */
  fields?: Fields;
  /**
   * What the outage log is told about a failure; undefined: nothing (the failure is not the
   * component's fault, e.g. the agent is stopping). Default: the error itself.
   */
  describe?: (error: unknown) => unknown;
}

export interface Isolated<T> {
  ok: boolean;
  /** The run's value when ok. */
  value?: T;
  /** Why it failed (an Error, or the abort reason). */
  error?: unknown;
  seconds: number;
}

export async function isolate<T>(run: () => Promise<T> | T, o: IsolateOptions = {}): Promise<Isolated<T>> {
  const started = performance.now();
  // `run` itself may throw synchronously: that is a failure like any other.
  const settled = await within(Promise.resolve().then(run), Infinity, o.signal);
  const seconds = (performance.now() - started) / 1000;
  if (settled.status === 'done') {
    o.outage?.success(o.fields);
    return { ok: true, value: settled.value, seconds };
  }
  const error = settled.status === 'failed' ? settled.error : settled.reason;
  const told = o.describe ? o.describe(error) : error;
  if (told !== undefined) o.outage?.failure(told, o.fields);
  return { ok: false, error, seconds };
}

/** An error's message, whatever was thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
