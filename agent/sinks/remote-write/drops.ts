/**
 * The remote-write sink's sample accounting: dbx_agent_remote_write_samples_total by result
 * (and, for dropped ones, by reason), and a log line per drop reason that does not repeat
 * every cycle.
 */
import type { Logger } from '../../core/log';
import { RepeatLog } from '../../core/outage';
import type { AgentStats } from '../../core/stats';
import { DROP_REASONS, samplesTotal, type DropReasonLabel } from './metrics';

export class DropAccounting {
  private readonly logs = new Map<DropReasonLabel, RepeatLog>();

  constructor(
    private readonly stats: AgentStats,
    private readonly logger: Logger,
  ) {
    // Every series from the start, so an alert on increase() sees the first one.
    for (const result of ['sent', 'retried']) stats.inc(samplesTotal, { result }, 0);
    for (const reason of DROP_REASONS) stats.inc(samplesTotal, { result: 'dropped', reason }, 0);
  }

  /**
   * Counts `n` dropped samples. Said once per reason at warn, then at most every
   * REMIND_EVERY_MS with the total since; the counter tells the rest.
   */
  drop(reason: DropReasonLabel, n: number, fields: Record<string, unknown> = {}): void {
    if (n <= 0) return;
    this.stats.inc(samplesTotal, { result: 'dropped', reason }, n);
    let l = this.logs.get(reason);
    if (!l) this.logs.set(reason, (l = new RepeatLog(this.logger, 'remote write dropped samples', 'warn')));
    l.note({ reason, samples: n, ...fields }, n);
  }
}
