/**
 * The --max-executor-series cap: per-executor series beyond it are left out, whole executors
 * at a time (parse.ts), counted in dbx_agent_series_dropped_total{reason="executor_cap"} and
 * said once per stretch of cycles that cut.
 */
import type { Logger } from '../../core/log';
import { OutageLog } from '../../core/outage';
import type { Sample } from '../../core/sample';
import type { AgentStats } from '../../core/stats';
import { capExecutorSeries } from './parse';
import { seriesDropped } from './series-dropped';

export class ExecutorSeriesCap {
  private readonly log: OutageLog;

  constructor(
    private readonly max: number,
    logger: Logger,
    private readonly stats: AgentStats,
  ) {
    this.log = new OutageLog(logger, 'per-executor series cap', 'warn');
    // From the start, so an alert on increase() sees the first cut.
    stats.inc(seriesDropped, { reason: 'executor_cap' }, 0);
  }

  /** The samples kept under the cap. */
  apply(samples: Sample[]): Sample[] {
    const { kept, dropped } = capExecutorSeries(samples, this.max);
    if (dropped > 0) {
      this.stats.inc(seriesDropped, { reason: 'executor_cap' }, dropped);
      this.log.failure(new Error(`${dropped} per-executor series over --max-executor-series ${this.max} left out`));
    } else this.log.success();
    return kept;
  }
}
