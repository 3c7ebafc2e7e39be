/**
 * The scheduler: node-cron ticks once a second; each tick asks whether a cycle is due. This
 * keeps what cron cannot express (any interval, a per-node phase, an interval that changes
 * with activity) in plain code that tests drive with their own clock.
 *  - jitter: each node starts at a random phase, so 500 workers do not push in one second;
 *  - no overlap: a tick while a cycle runs does nothing, and missed slots are skipped;
 *  - adaptive: `--interval` while busy, `--idle-interval` after `--idle-after` idle cycles.
 */
import cron from 'node-cron';

const TICK_SLACK_MS = 500;

export class IntervalPolicy {
  private idleCycles = 0;

  constructor(
    readonly fastMs: number,
    readonly idleMs: number,
    readonly idleAfter: number,
  ) {}

  get currentMs(): number {
    return this.idleCycles >= this.idleAfter ? this.idleMs : this.fastMs;
  }

  observe(busy: boolean): void {
    this.idleCycles = busy ? 0 : this.idleCycles + 1;
  }
}

export interface SchedulerOptions {
  policy: IntervalPolicy;
  /** Runs one cycle; resolves to whether the node was busy. `stop` aborts when the scheduler stops. */
  cycle: (now: Date, stop: AbortSignal) => Promise<boolean>;
  /** Delay before the first cycle, in ms (the node's phase). */
  phaseMs: number;
  clock?: () => number;
  onInterval?: (ms: number) => void;
}

export class Scheduler {
  private readonly clock: () => number;
  private nextDue: number;
  /** How far ahead of the clock nextDue was set: more than that means the clock went back. */
  private aheadMs: number;
  private running?: Promise<void>;
  /** Aborts the cycle in flight when the scheduler stops. */
  private current?: AbortController;
  private task?: { stop(): unknown; destroy?(): unknown };
  private stopped = false;

  constructor(private readonly o: SchedulerOptions) {
    this.clock = o.clock ?? Date.now;
    this.nextDue = this.clock() + o.phaseMs;
    this.aheadMs = o.phaseMs;
    o.onInterval?.(o.policy.currentMs);
  }

  /** When the next cycle is due (ms since epoch). */
  get due(): number {
    return this.nextDue;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Called by the cron clock; returns the cycle's promise when it started one. */
  tick(): Promise<void> | undefined {
    if (this.stopped || this.running) return undefined;
    const now = this.clock();
    // The wall clock stepped back (NTP fixing a fresh VM's clock at boot, when the init script
    // starts the agent): without this, the node would stay silent for as long as the step.
    if (this.nextDue - now > this.aheadMs) this.nextDue = now;
    // The cron clock ticks about once a second, a few ms early or late: a slot due within half
    // a tick runs now, or a 15s interval would now and then stretch to 16s (and 1s to 2s).
    if (now + TICK_SLACK_MS < this.nextDue) return undefined;
    // Keep the node's phase while ticks come on time; after a pause or a forward clock step,
    // start the rhythm again from now.
    const slot = now - this.nextDue <= 1000 ? this.nextDue : now;
    // A cycle that throws synchronously is a failed cycle, not a crash of the cron callback.
    let cycle: Promise<boolean>;
    const current = new AbortController();
    this.current = current;
    try {
      cycle = this.o.cycle(new Date(now), current.signal);
    } catch (e) {
      cycle = Promise.reject(e);
    }
    this.running = cycle
      .catch(() => false)
      .then((busy) => {
        const before = this.o.policy.currentMs;
        this.o.policy.observe(busy);
        const interval = this.o.policy.currentMs;
        if (interval !== before) this.o.onInterval?.(interval);
        // Keep the phase; skip slots a slow cycle overran instead of running them back to back.
        let next = slot + interval;
        const end = this.clock();
        while (next <= end) next += interval;
        this.nextDue = next;
        this.aheadMs = next - end;
      })
      .finally(() => {
        this.running = undefined;
        if (this.current === current) this.current = undefined;
      });
    return this.running;
  }

  start(): void {
    // node-cron prints a coloured console line per missed second (a GC pause, CPU quota, a
    // clock step); the scheduler already handles those, and our logs are JSON lines.
    this.task = cron.schedule(
      '* * * * * *',
      () => {
        this.tick();
      },
      { suppressMissedWarning: true },
    );
  }

  /**
   * Stops ticking, aborts a cycle in flight (its collection stops at once and it pushes
   * nothing; a push already on its way is the sinks' to finish or abort) and waits for it.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.task?.stop();
    this.task?.destroy?.();
    this.current?.abort();
    await this.running;
  }
}
