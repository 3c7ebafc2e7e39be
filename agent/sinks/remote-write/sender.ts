/**
 * Drains the disk queue to the receiver: one request in flight at a time, oldest records first,
 * so a series' samples always arrive in time order (Prometheus answers 400 "out of order
 * sample" otherwise). Several queued records go in one request, up to --max-samples-per-send:
 * their WriteRequest bytes are concatenated, which protobuf defines as merging the repeated
 * `timeseries` field. A series may then appear more than once in a request, in time order; this
 * is what Prometheus's own queue manager sends (one TimeSeries per sample).
 *
 * 5xx, 429 and network errors are retried with backoff until the queue's max-age drops the
 * data; other 4xx drop the batch. When a multi-record batch is rejected, its records are resent
 * one by one first, so one bad record (say, one resent after a crash and now out of order) does
 * not take its neighbours with it.
 */
import type { AxiosInstance } from 'axios';
import { describeHttpError } from '../../http/client';
import type { Logger } from '../../core/log';
import { OutageLog } from '../../core/outage';
import { USER_AGENT } from '../../core/version';
import type { DiskQueue, QueuedRecord } from './queue';
import { classifyStatus, parseRetryAfter, retryDelayMs, type Verdict } from './retry';
import { snappyCompress } from './snappy';

export const REMOTE_WRITE_HEADERS = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
  'User-Agent': USER_AGENT,
} as const;

export interface SenderEvents {
  sent(samples: number): void;
  retried(samples: number): void;
  rejected(samples: number): void;
  requestSeconds(seconds: number): void;
  /** After any change of the queue (sent, dropped). */
  progress(): void;
}

export interface SenderOptions {
  url: string;
  http: AxiosInstance;
  queue: DiskQueue;
  logger: Logger;
  maxSamplesPerSend: number;
  timeoutMs: number;
  events: SenderEvents;
  random?: () => number;
}

interface Attempt {
  verdict: Verdict;
  error?: string;
  retryAfterMs?: number;
}

/** Outcome of a wait for records: sent, or why not (yet). */
export type WaitResult = { ok: true } | { ok: false; error: string };

interface Waiter {
  records: readonly QueuedRecord[];
  done: (r: WaitResult) => void;
}

export class Sender {
  private loop?: Promise<void>;
  private stopped = false;
  private wake?: () => void;
  /** Whether the loop sleeps for lack of work (a kick ends that) rather than in a backoff (it does not). */
  private idle = false;
  private readonly abort = new AbortController();
  private readonly waiters = new Set<Waiter>();
  private readonly rejectedWhy = new WeakMap<QueuedRecord, string>();
  private readonly outage: OutageLog;
  private readonly rejections: OutageLog;
  private attempt = 0;
  /** Records still to send one per request after a multi-record batch was rejected. */
  private solo = 0;
  /** Result of the last finished request: undefined before the first. */
  lastOk?: boolean;
  lastError?: string;

  constructor(private readonly o: SenderOptions) {
    this.outage = new OutageLog(o.logger, 'remote write');
    this.rejections = new OutageLog(o.logger, 'remote write: receiver rejected batches (dropped, not retried)', 'warn');
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** New records were queued: wake the loop if it waits for work, never cut a backoff short. */
  kick(): void {
    if (this.idle) this.wake?.();
  }

  /**
   * Resolves when `records` were sent, or as soon as they cannot be now: the receiver is
   * failing (the sender keeps retrying in the background, on its backoff), a rejection, or
   * `deadlineMs` (then ok if the receiver is taking data and the queue is just long).
   */
  waitFor(records: readonly QueuedRecord[], deadlineMs: number): Promise<WaitResult> {
    if (records.every((r) => r.done)) return Promise.resolve(this.outcome(records));
    // During an outage a cycle does not wait for the next retry: its samples are queued.
    if (this.failing) return Promise.resolve({ ok: false, error: this.lastError ?? 'failing' });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(this.lastOk === false ? { ok: false, error: this.lastError ?? 'failing' } : { ok: true });
      }, deadlineMs);
      const waiter: Waiter = {
        records,
        done: (r) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(r);
        },
      };
      this.waiters.add(waiter);
    });
  }

  private outcome(records: readonly QueuedRecord[]): WaitResult {
    for (const r of records) {
      if (r.dropped === undefined) continue;
      const why = this.rejectedWhy.get(r);
      return { ok: false, error: why !== undefined ? `receiver rejected the batch: ${why}` : `samples dropped (${r.dropped})` };
    }
    return { ok: true };
  }

  private notify(failure?: string): void {
    for (const w of [...this.waiters]) {
      if (w.records.every((r) => r.done)) w.done(this.outcome(w.records));
      else if (failure !== undefined) w.done({ ok: false, error: failure });
    }
  }

  get failing(): boolean {
    return this.lastOk === false;
  }

  /** Waits up to `ms` for the queue to empty (unless the receiver is failing). */
  async flush(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.o.queue.pendingRecords > 0 && !this.failing && Date.now() < deadline && !this.stopped)
      await this.waitFor(this.o.queue.peek(Infinity).slice(-1), deadline - Date.now());
  }

  /** Stops: aborts a request in flight and waits for the loop to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.loop;
    for (const w of [...this.waiters]) w.done({ ok: false, error: 'remote write stopped' });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      // The sender never keeps the process alive by itself: `run` has its scheduler, `once` its wait.
      t.unref();
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** The loop never ends on an error (a rejected promise here would end the process). */
  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.step();
      } catch (e) {
        this.o.logger.error('remote write: unexpected error in the sender; retrying in 1 s', { error: e instanceof Error ? e.message : String(e) });
        if (!this.stopped) await this.sleep(1000);
      }
    }
  }

  /** One pass: send the next batch (or wait for work, or back off). */
  private async step(): Promise<void> {
    const q = this.o.queue;
    q.dropExpired();
    const batch = q.peek(this.o.maxSamplesPerSend, this.solo > 0 ? 1 : Infinity);
    if (batch.length === 0) {
      this.notify();
      this.o.events.progress();
      this.idle = true;
      await this.sleep(60_000);
      this.idle = false;
      return;
    }
    const parts: Buffer[] = [];
    const unreadable: QueuedRecord[] = [];
    for (const r of batch) {
      const data = q.read(r);
      if (data) parts.push(data);
      else unreadable.push(r);
    }
    if (unreadable.length > 0) {
      this.o.logger.warn('remote-write queue: a record could not be read back (CRC check, or its file is gone) and was dropped', { records: unreadable.length });
      q.discard(unreadable, 'corrupt');
      this.o.events.progress();
      return;
    }
    const samples = batch.reduce((n, r) => n + r.samples, 0);
    for (const r of batch) r.sending = true;
    let result: Attempt;
    try {
      result = await this.post(Buffer.concat(parts));
    } finally {
      for (const r of batch) r.sending = false;
    }
    if (this.stopped && result.verdict !== 'ok') return;
    // A retry resends the same record: only a settled one uses up a record-by-record slot.
    if (this.solo > 0 && result.verdict !== 'retry') this.solo--;
    if (result.verdict === 'ok') {
      this.attempt = 0;
      this.lastOk = true;
      this.outage.success();
      this.o.events.sent(q.ack(batch));
      if (this.solo === 0) this.rejections.success();
      this.notify();
    } else if (result.verdict === 'drop') {
      this.attempt = 0;
      this.lastOk = true;
      if (batch.length > 1) {
        // Find the bad record(s) instead of dropping the good ones with them.
        this.solo = batch.length;
        return;
      }
      this.rejections.failure(result.error, { samples });
      for (const r of batch) this.rejectedWhy.set(r, result.error ?? 'rejected');
      this.o.events.rejected(q.discard(batch, 'rejected'));
      this.notify();
    } else {
      this.attempt++;
      this.lastOk = false;
      this.lastError = result.error;
      this.outage.failure(result.error, { pending_samples: q.pendingSamples });
      this.o.events.retried(samples);
      this.notify(result.error ?? 'failed');
      this.o.events.progress();
      if (this.stopped) return;
      await this.sleep(retryDelayMs(this.attempt, result.retryAfterMs, this.o.random));
      return;
    }
    this.o.events.progress();
  }

  private async post(protobuf: Buffer): Promise<Attempt> {
    const body = snappyCompress(protobuf);
    const started = performance.now();
    try {
      const res = await this.o.http.post(this.o.url, body, {
        headers: REMOTE_WRITE_HEADERS,
        timeout: this.o.timeoutMs,
        signal: this.abort.signal,
        maxBodyLength: Infinity,
        responseType: 'text',
        transformResponse: [(d: unknown) => d],
        // Every status is an answer to classify here, not an exception.
        validateStatus: () => true,
      });
      const verdict = classifyStatus(res.status);
      if (verdict === 'ok') return { verdict };
      const text = typeof res.data === 'string' ? res.data.trim().slice(0, 200) : '';
      const header = res.headers['retry-after'] as unknown;
      return {
        verdict,
        error: `HTTP ${res.status}${text ? `: ${text}` : ''}`,
        retryAfterMs: typeof header === 'string' ? parseRetryAfter(header, Date.now()) : undefined,
      };
    } catch (e) {
      return { verdict: 'retry', error: describeHttpError(e) };
    } finally {
      this.o.events.requestSeconds((performance.now() - started) / 1000);
    }
  }
}
