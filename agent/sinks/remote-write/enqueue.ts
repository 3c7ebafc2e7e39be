/**
 * The enqueue step of the remote-write sink: a cycle's series, encoded in chunks of at most
 * --max-samples-per-send, appended to the disk queue; and the queue's gauges.
 */
import type { Logger } from '../../core/log';
import { OutageLog } from '../../core/outage';
import type { AgentStats } from '../../core/stats';
import { diskErrors, oldestPending, pendingSamples, queueBytes } from './metrics';
import { encodeWriteRequest, type WireSeries } from './protobuf';
import type { DiskQueue, QueuedRecord } from './queue';
import { chunk } from './series';

/** Sets the queue's gauges (pending samples, age of the oldest, bytes) from its state now. */
export function setQueueGauges(stats: AgentStats, queue: DiskQueue): void {
  stats.set(pendingSamples, {}, queue.pendingSamples);
  const oldest = queue.oldestTimestampMs;
  stats.set(oldestPending, {}, oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
  stats.set(queueBytes, {}, queue.bytes);
}

export interface EnqueuerOptions {
  queue: DiskQueue;
  stats: AgentStats;
  logger: Logger;
  maxSamplesPerSend: number;
  /** Called after each enqueue (gauges, waking the sender). */
  queued(): void;
}

export class Enqueuer {
  // The disk refusing the queue is an outage of its own: said when it starts, when its cause
  // changes and every REMIND_EVERY_MS while it lasts; the cycle's samples go from memory meanwhile.
  private readonly diskOutage: OutageLog;

  constructor(private readonly o: EnqueuerOptions) {
    this.diskOutage = new OutageLog(o.logger, 'remote-write queue disk (samples are held in memory until sent)', 'warn');
    o.stats.inc(diskErrors, {}, 0);
  }

  /** Encodes and queues series in chunks; returns the records. */
  enqueue(series: WireSeries[], timestampMs: number): QueuedRecord[] {
    const { queue, stats } = this.o;
    const records: QueuedRecord[] = [];
    let refused: string | undefined;
    for (const part of chunk(series, this.o.maxSamplesPerSend)) {
      records.push(queue.append(timestampMs, part.length, encodeWriteRequest(part)));
      if (queue.diskError !== undefined) {
        refused = queue.diskError;
        stats.inc(diskErrors);
      }
    }
    // Recovered only when a whole cycle went to disk again.
    if (refused !== undefined) this.diskOutage.failure(refused, { dir: queue.dir, memory_samples: queue.memoryOnlySamples });
    else if (records.length > 0) this.diskOutage.success({ dir: queue.dir });
    this.o.queued();
    return records;
  }
}
