/**
 * The scheduler: one timer, armed for the next cycle's time when the previous cycle ends, so
 * the agent does nothing between cycles. (A cron clock ticking every second to ask "is a cycle
 * due?" cost more at the default 15 s interval than the cycle itself: 14 idle wake-ups of
 * ~1.7 ms each. A cron expression cannot say "every 45 s from this node's phase" either.)
 * `tick()` holds the decisions, in plain code that tests drive with their own clock:
 *  - jitter: each node starts at a random phase, so 500 workers do not push in one second;
 *  - no overlap: a tick while a cycle runs does nothing, and missed slots are skipped;
 *  - adaptive: `--interval` while busy, `--idle-interval` after `--idle-after` idle cycles.
 */

/** A tick this early (a timer fired a few ms before its wall-clock time) still runs its slot. */
const TICK_SLACK_MS = 500;
/** The longest a timer is armed for (setTimeout's limit is 2^31-1 ms). */
const MAX_SLEEP_MS = 2 ** 31 - 1;

/** The timer functions the scheduler arms (tests hand in fake ones). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_TIMERS: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

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
  timers?: Timers;
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
  private readonly timers: Timers;
  private timer?: unknown;
  private stopped = false;

  constructor(private readonly o: SchedulerOptions) {
    this.clock = o.clock ?? Date.now;
    this.timers = o.timers ?? REAL_TIMERS;
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

  /** Runs a cycle if one is due; returns the cycle's promise when it started one. */
  tick(): Promise<void> | undefined {
    if (this.stopped || this.running) return undefined;
    const now = this.clock();
    // The wall clock stepped back (NTP fixing a fresh VM's clock at boot, when the init script
    // starts the agent): without this, the node would stay silent for as long as the step.
    if (this.nextDue - now > this.aheadMs) this.nextDue = now;
    // Timers run on the monotonic clock and slots on the wall clock, which NTP slews: a slot due
    // within half a second runs now, or a 15s interval would now and then stretch to 16s.
    if (now + TICK_SLACK_MS < this.nextDue) return undefined;
    // Keep the node's phase while ticks come on time; after a pause or a forward clock step,
    // start the rhythm again from now.
    const slot = now - this.nextDue <= 1000 ? this.nextDue : now;
    // A cycle that throws synchronously is a failed cycle, not a crash of the timer callback.
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

  /** Arms the timer for the first cycle; after each cycle, for the next. */
  start(): void {
    this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    const wait = Math.min(MAX_SLEEP_MS, Math.max(0, this.nextDue - this.clock()));
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      // Not due (the wall clock stepped while the timer slept): tick() has moved the slot.
      const cycle = this.tick();
      if (cycle) void cycle.then(() => this.arm());
      else this.arm();
    }, wait);
  }

  /**
   * Stops ticking, aborts a cycle in flight (its collection stops at once and it pushes
   * nothing; a push already on its way is the sinks' to finish or abort) and waits for it.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.current?.abort();
    await this.running;
  }
}
