/**
 * Remote-write sink (Prometheus Remote-Write 1.0): each cycle becomes series (series.ts), is
 * encoded (protobuf.ts) in chunks of at most --max-samples-per-send, appended to the disk queue
 * (queue.ts; enqueue.ts), and the sender (sender.ts) drains the queue in order; drops.ts counts
 * what is dropped. `send` waits a bounded time
 * for its own samples and rejects while the receiver fails, so the pipeline counts a failed
 * push, but the samples stay queued and are sent when the receiver is back, even after a
 * restart of the agent.
 */
import { createHash } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AxiosInstance } from 'axios';
import type { ComponentEnv } from '../../core/component';
import type { Logger } from '../../core/log';
import type { AgentStats } from '../../core/stats';
import type { Batch, Sink } from '../../core/sink';
import { DropAccounting } from './drops';
import { Enqueuer, setQueueGauges } from './enqueue';
import { requestDuration, samplesTotal, type DropReasonLabel } from './metrics';
import type { RemoteWriteConfig } from './options';
import { DiskQueue, QueueLockedError, pidAlive } from './queue';
import { Sender } from './sender';
import { SeriesTracker } from './series';

export class RemoteWriteError extends Error {}

export interface RemoteWriteOptions {
  url: string;
  http: AxiosInstance;
  logger: Logger;
  stats: AgentStats;
  job: string;
  /** The `instance` label (the node name). */
  instance?: string;
  /** Parent directory; the queue lives in a subdirectory named after the URL. */
  queueDir: string;
  queueMaxBytes: number;
  queueMaxAgeMs: number;
  maxSamplesPerSend: number;
  timeoutMs: number;
  /**
   * How long `send` waits for its samples before answering (default: timeout + 1 s). While a
   * backlog drains, a longer wait would hold the whole cycle (and the other sinks' pushes).
   */
  sendWaitMs?: number;
  random?: () => number;
}

/** One queue per receiver: the URL without credentials, hashed (it may hold a tenant or a path). */
export function queueSubdir(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return 'remote-write-' + createHash('sha256').update(u.toString()).digest('hex').slice(0, 12);
}

/**
 * Deletes private queues (`<sub>.<pid>`) of `once` runs that died while a daemon held the main
 * queue: their samples are older than what the daemon has sent since, so Prometheus would
 * refuse them as out of order anyway.
 */
function removeOrphans(parent: string, sub: string, logger: Logger): void {
  try {
    for (const name of readdirSync(parent)) {
      if (!name.startsWith(`${sub}.`)) continue;
      const pid = Number(name.slice(sub.length + 1));
      if (!Number.isInteger(pid) || pid === process.pid || pidAlive(pid)) continue;
      rmSync(path.join(parent, name), { recursive: true, force: true });
      logger.info('removed the private remote-write queue of a process that is gone', { dir: path.join(parent, name) });
    }
  } catch {
    /* best effort */
  }
}

function openQueue(o: RemoteWriteOptions, onDrop: (reason: DropReasonLabel, n: number) => void): DiskQueue {
  const sub = queueSubdir(o.url);
  const base = { maxBytes: o.queueMaxBytes, maxAgeMs: o.queueMaxAgeMs, logger: o.logger, onDrop };
  const dir = path.join(o.queueDir, sub);
  try {
    const queue = DiskQueue.open({ ...base, dir });
    removeOrphans(o.queueDir, sub, o.logger);
    return queue;
  } catch (e) {
    if (e instanceof QueueLockedError) {
      // Another agent (a daemon while `once` runs) drains this queue: use a private one (removed when empty on close).
      const own = `${dir}.${process.pid}`;
      o.logger.warn('remote-write queue is in use by another agent process; using a private queue', { error: e.message, dir: own });
      return DiskQueue.open({ ...base, dir: own });
    }
    const fallback = path.join(os.tmpdir(), `dbx-prom-agent-${process.getuid?.() ?? 'user'}`, sub);
    o.logger.error('cannot open the remote-write queue directory; using the OS temp dir', {
      dir,
      fallback,
      error: e instanceof Error ? e.message : String(e),
    });
    return DiskQueue.open({ ...base, dir: fallback });
  }
}

/** The sender draining `queue`, started, its events counted. */
function startSender(o: RemoteWriteOptions, queue: DiskQueue, gauges: () => void): Sender {
  const sender = new Sender({
    url: o.url,
    http: o.http,
    queue,
    logger: o.logger,
    maxSamplesPerSend: o.maxSamplesPerSend,
    timeoutMs: o.timeoutMs,
    random: o.random,
    events: {
      sent: (n) => o.stats.inc(samplesTotal, { result: 'sent' }, n),
      retried: (n) => o.stats.inc(samplesTotal, { result: 'retried' }, n),
      rejected: (n) => o.stats.inc(samplesTotal, { result: 'dropped', reason: 'rejected' }, n),
      requestSeconds: (s) => o.stats.set(requestDuration, {}, s),
      progress: gauges,
    },
  });
  sender.start();
  return sender;
}

export function openRemoteWriteSink(o: RemoteWriteOptions): Sink {
  const drops = new DropAccounting(o.stats, o.logger);
  const queue = openQueue(o, (reason, n) => drops.drop(reason, n));
  const gauges = (): void => setQueueGauges(o.stats, queue);
  gauges();
  const sender = startSender(o, queue, gauges);

  const tracker = new SeriesTracker({ job: o.job, instance: o.instance });
  let closed = false;
  let lastTimestampMs = 0;
  const enqueuer = new Enqueuer({
    queue,
    stats: o.stats,
    logger: o.logger,
    maxSamplesPerSend: o.maxSamplesPerSend,
    queued: () => {
      gauges();
      sender.kick();
    },
  });

  return {
    name: 'remote_write',
    async send(batch: Batch): Promise<void> {
      if (closed) throw new RemoteWriteError('remote write is closed');
      const cycle = tracker.cycle(batch.samples, batch.timestampMs, batch.labels);
      lastTimestampMs = Math.max(lastTimestampMs, batch.timestampMs);
      drops.drop('invalid', cycle.invalid, { first: cycle.firstInvalid });
      const records = enqueuer.enqueue(cycle.series, batch.timestampMs);
      const result = await sender.waitFor(records, o.sendWaitMs ?? o.timeoutMs + 1000);
      gauges();
      if (!result.ok) throw new RemoteWriteError(`remote write failed: ${result.error}`);
    },
    async close({ nodeLeaving, deadline = Date.now() + 5000 }): Promise<void> {
      if (closed) return;
      closed = true;
      // Like a scrape whose target went away: end this node's series now rather than after
      // Prometheus's 5-minute lookback. Not with --keep-on-exit, nor after `once`.
      if (nodeLeaving) {
        const at = Math.max(Date.now(), lastTimestampMs + 1);
        enqueuer.enqueue(tracker.endAll(at), at);
      }
      // What is not sent by then stays queued for the next start.
      await sender.flush(Math.min(800, Math.max(0, deadline - Date.now() - 200)));
      await sender.stop();
      gauges();
      const inMemory = queue.memoryOnlySamples;
      if (queue.pendingSamples > inMemory)
        o.logger.info('remote write: unsent samples stay queued for the next start', { samples: queue.pendingSamples - inMemory, dir: queue.dir });
      // The disk refused these: they were only in memory, and go with the process.
      if (inMemory > 0) o.logger.warn('remote write: unsent samples the disk refused are lost at exit', { samples: inMemory, dir: queue.dir });
      // Nothing left: leave no files behind (the next start creates the queue again).
      queue.close({ removeIfEmpty: true });
    },
  };
}

/** The sink as the agent creates it: `env.logger` is already the sink's own (sink="remote_write"). */
export function createRemoteWriteSink(cfg: RemoteWriteConfig, env: ComponentEnv): Sink {
  return openRemoteWriteSink({
    url: cfg.url,
    http: env.http({ timeoutMs: env.pushTimeoutMs }),
    logger: env.logger,
    stats: env.stats,
    job: env.job,
    instance: env.context.node,
    queueDir: cfg.queueDir,
    queueMaxBytes: cfg.queueMaxBytes,
    queueMaxAgeMs: cfg.queueMaxAgeMs,
    maxSamplesPerSend: cfg.maxSamplesPerSend,
    timeoutMs: env.pushTimeoutMs,
    // Behind a backlog, answer within a quarter interval: the samples stay queued in order.
    sendWaitMs: Math.min(env.pushTimeoutMs + 1000, Math.max(1000, env.intervalMs / 4)),
  });
}
