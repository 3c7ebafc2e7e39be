/**
 * Is this node busy? The interval follows cluster activity: fast while Spark runs tasks or
 * the CPU works, slow when idle (an idle all-purpose cluster should cost nearly nothing).
 */
import type { Sample } from './core/sample';

export class ActivityDetector {
  private lastCpu?: { busy: number; total: number };

  constructor(private readonly busyCpu: number) {}

  /**
   * Looks at one cycle's samples; true when Spark has active tasks, when the executors endpoint
   * failed (Spark's activity is unknown: a driver answering garbage may be the busiest node),
   * or when the CPU is above the threshold.
   */
  observe(samples: readonly Sample[]): boolean {
    let busy = 0;
    let total = 0;
    let sparkActive = 0;
    let sparkUnknown = false;
    for (const s of samples) {
      if (s.name === 'node_cpu_seconds_total') {
        total += s.value;
        if (s.labels.mode !== 'idle' && s.labels.mode !== 'iowait') busy += s.value;
      } else if (s.name === 'spark_active_tasks') sparkActive += s.value;
      else if (s.name === 'dbx_agent_spark_endpoint_up' && s.labels.endpoint === 'executors' && s.value === 0) sparkUnknown = true;
    }
    let cpuBusy = false;
    if (total > 0) {
      if (this.lastCpu && total > this.lastCpu.total)
        cpuBusy = (busy - this.lastCpu.busy) / (total - this.lastCpu.total) > this.busyCpu;
      this.lastCpu = { busy, total };
    }
    return sparkActive > 0 || sparkUnknown || cpuBusy;
  }
}
