/**
 * Is this node busy? The interval follows cluster activity: fast while Spark runs tasks or
 * the CPU works, slow when idle (an idle all-purpose cluster should cost nearly nothing).
 */
import type { Sample } from './core/sample';
import { cpuSeconds } from './sources/host/stat';
import { endpointUp, type Endpoint } from './sources/spark/endpoints';
import { activeTasks } from './sources/spark/parse';

/** Whose failure leaves Spark's activity unknown. */
const EXECUTORS_ENDPOINT: Endpoint = 'executors';

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
      // By the families the sources emit, not by spelled-out names: a rename is a compile error here.
      if (s.name === cpuSeconds.name) {
        total += s.value;
        if (s.labels.mode !== 'idle' && s.labels.mode !== 'iowait') busy += s.value;
      } else if (s.name === activeTasks.name) sparkActive += s.value;
      else if (s.name === endpointUp.name && s.labels.endpoint === EXECUTORS_ENDPOINT && s.value === 0) sparkUnknown = true;
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
