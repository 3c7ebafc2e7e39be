/**
 * The scheduler driven by a fake clock: ticks are called by hand once per fake second, so
 * minutes of schedule take milliseconds and nothing depends on the machine's speed.
 */
import assert from 'node:assert/strict';
import { IntervalPolicy, Scheduler } from '../agent/schedule';
import { ActivityDetector } from '../agent/activity';
import { parseExecutors } from '../agent/sources/spark/parse';
import type { Sample } from '../agent/core/sample';
import { databricksFixture } from './helpers/fake-spark';

interface Harness {
  scheduler: Scheduler;
  /** Fake times (ms from 0) at which cycles started. */
  starts: number[];
  intervals: number[];
  /** Advances the fake clock second by second, ticking and letting started cycles finish. */
  run(untilMs: number): Promise<void>;
  now(): number;
}

function harness(opts: { fastMs: number; idleMs: number; idleAfter: number; phaseMs?: number; busyAt: (n: number, t: number) => boolean }): Harness {
  let t = 0;
  const starts: number[] = [];
  const intervals: number[] = [];
  const policy = new IntervalPolicy(opts.fastMs, opts.idleMs, opts.idleAfter);
  const scheduler = new Scheduler({
    policy,
    phaseMs: opts.phaseMs ?? 0,
    clock: () => t,
    onInterval: (ms) => intervals.push(ms),
    cycle: async (now) => {
      starts.push(now.getTime());
      return opts.busyAt(starts.length - 1, now.getTime());
    },
  });
  return {
    scheduler,
    starts,
    intervals,
    now: () => t,
    async run(untilMs) {
      while (t < untilMs) {
        const p = scheduler.tick();
        if (p) await p;
        t += 1000;
      }
    },
  };
}

const gaps = (xs: number[]) => xs.slice(1).map((x, i) => (x - xs[i]!) / 1000);

describe('schedule', () => {
  it('IntervalPolicy: fast until idleAfter idle cycles, idle after, fast again on the first busy one', () => {
    const p = new IntervalPolicy(15000, 60000, 3);
    const seen: number[] = [];
    for (const busy of [true, false, false, false, false, true, false]) {
      p.observe(busy);
      seen.push(p.currentMs / 1000);
    }
    assert.deepEqual(seen, [15, 15, 15, 60, 60, 15, 15]);
  });

  it('switches the interval with activity (15 s busy, 60 s after 4 idle cycles, back on the first busy cycle)', async () => {
    // Busy for the first 2 cycles, idle until 5 minutes, busy again from then on.
    const h = harness({ fastMs: 15000, idleMs: 60000, idleAfter: 4, busyAt: (n, t) => n < 2 || t >= 300000 });
    await h.run(420000);
    // Cycles 0,1 busy; 2..5 idle (4 idle cycles) keep 15 s; then 60 s; the first busy cycle
    // (at 300 s or later) brings 15 s back.
    assert.deepEqual(h.starts.slice(0, 7).map((x) => x / 1000), [0, 15, 30, 45, 60, 75, 135]);
    assert.deepEqual(gaps(h.starts.slice(0, 7)), [15, 15, 15, 15, 15, 60]);
    const firstBusyAgain = h.starts.find((x) => x >= 300000)!;
    assert.equal(firstBusyAgain, 315000);
    const after = h.starts.filter((x) => x >= firstBusyAgain);
    assert.deepEqual(gaps(after), after.slice(1).map(() => 15));
    // Each change was announced once (dbx_agent_interval_seconds follows these).
    assert.deepEqual(h.intervals, [15000, 60000, 15000]);
  });

  it('starts after the phase and keeps it', async () => {
    const h = harness({ fastMs: 10000, idleMs: 10000, idleAfter: 1, phaseMs: 7000, busyAt: () => true });
    await h.run(40000);
    assert.deepEqual(h.starts, [7000, 17000, 27000, 37000]);
  });

  it('never overlaps a slow cycle and skips the slots it overran', async () => {
    let t = 0;
    let release: () => void = () => undefined;
    const starts: number[] = [];
    const s = new Scheduler({
      policy: new IntervalPolicy(10000, 10000, 1),
      phaseMs: 0,
      clock: () => t,
      cycle: (now) => {
        starts.push(now.getTime());
        return new Promise<boolean>((r) => (release = () => r(true)));
      },
    });
    const first = s.tick();
    assert.ok(first);
    // The cycle runs for 25 fake seconds: every tick meanwhile starts nothing.
    for (t = 1000; t <= 25000; t += 1000) assert.equal(s.tick(), undefined);
    release();
    await first;
    // Slots 10 s and 20 s were overrun: skipped, not run back to back; the phase is kept.
    assert.equal(s.due, 30000);
    t = 29000;
    assert.equal(s.tick(), undefined);
    t = 30000;
    const second = s.tick();
    assert.ok(second);
    release();
    await second;
    assert.deepEqual(starts, [0, 30000]);
  });

  it('a cycle that rejects counts as idle and the schedule goes on', async () => {
    let t = 0;
    const starts: number[] = [];
    const s = new Scheduler({
      policy: new IntervalPolicy(5000, 20000, 1),
      phaseMs: 0,
      clock: () => t,
      cycle: async (now) => {
        starts.push(now.getTime());
        throw new Error('boom');
      },
    });
    for (; t <= 50000; t += 1000) await s.tick();
    assert.deepEqual(starts, [0, 20000, 40000]);
  });

  /** A 15s/60s scheduler on a clock the test sets: `tickAt(t)` moves the clock and ticks once. */
  function clockScheduler(startMs: number): { starts: number[]; tickAt(t: number): Promise<void> } {
    let t = startMs;
    const starts: number[] = [];
    const s = new Scheduler({ policy: new IntervalPolicy(15000, 60000, 4), phaseMs: 0, clock: () => t, cycle: async (now) => (starts.push(now.getTime()), true) });
    return {
      starts,
      async tickAt(at: number) {
        t = at;
        await s.tick();
      },
    };
  }

  it('a wall clock stepped back (NTP at boot) does not silence the node for the size of the step', async () => {
    const c = clockScheduler(3_600_000);
    await c.tickAt(3_600_000);
    // One hour back, a second after the first cycle.
    await c.tickAt(1000);
    for (let t = 2000; t <= 31000; t += 1000) await c.tickAt(t);
    assert.deepEqual(c.starts, [3_600_000, 1000, 16000, 31000]);
  });

  it('a tick a few ms early still runs its slot: 15s stays 15s, never 16s', async () => {
    const c = clockScheduler(0);
    // The cron clock drifts: each tick lands 3 ms earlier than a whole second.
    for (let i = 0; i <= 60; i++) await c.tickAt(i * 1000 - (i % 2 === 0 ? 0 : 3) - (i >= 15 ? 3 : 0));
    assert.deepEqual(c.starts.map((x) => Math.round(x / 1000)), [0, 15, 30, 45, 60]);
  });

  it('a clock stepping forward runs at once and keeps the rhythm', async () => {
    const c = clockScheduler(0);
    await c.tickAt(0);
    await c.tickAt(100_000);
    for (let t = 101_000; t <= 130_000; t += 1000) await c.tickAt(t);
    assert.deepEqual(c.starts, [0, 100_000, 115_000, 130_000]);
  });

  it('a cycle that throws synchronously is a failed cycle, not a crash', async () => {
    let t = 0;
    let calls = 0;
    const s = new Scheduler({
      policy: new IntervalPolicy(5000, 5000, 1),
      phaseMs: 0,
      clock: () => t,
      cycle: (() => {
        calls++;
        throw new Error('sync boom');
      }) as unknown as (now: Date) => Promise<boolean>,
    });
    for (; t <= 10000; t += 1000) await s.tick();
    assert.equal(calls, 3);
  });

  it('does nothing after stop', async () => {
    const h = harness({ fastMs: 5000, idleMs: 5000, idleAfter: 1, busyAt: () => true });
    await h.run(6000);
    await h.scheduler.stop();
    await h.run(30000);
    assert.deepEqual(h.starts, [0, 5000]);
  });

  it('follows Spark activity end to end: executors payloads through the activity detector', async () => {
    // What the spark source would return: 7 active tasks while a job runs, 0 when it ended.
    const busy = parseExecutors(JSON.parse(databricksFixture('allexecutors.json')), 'app');
    const idle = parseExecutors(JSON.parse(databricksFixture('allexecutors.json')).map((e: { activeTasks: number }) => ({ ...e, activeTasks: 0 })), 'app');
    const detector = new ActivityDetector(0.2);
    let t = 0;
    const starts: number[] = [];
    const intervals: number[] = [];
    const jobRunsUntil = 60000;
    const scheduler = new Scheduler({
      policy: new IntervalPolicy(15000, 60000, 2),
      phaseMs: 0,
      clock: () => t,
      onInterval: (ms) => intervals.push(ms / 1000),
      cycle: async (now) => {
        starts.push(now.getTime() / 1000);
        const samples: Sample[] = now.getTime() < jobRunsUntil ? busy : idle;
        return detector.observe(samples);
      },
    });
    for (; t <= 300000; t += 1000) await scheduler.tick();
    // Busy at 0..45; idle at 60 and 75 (2 idle cycles), then every 60 s.
    assert.deepEqual(starts, [0, 15, 30, 45, 60, 75, 135, 195, 255]);
    assert.deepEqual(intervals, [15, 60]);
  });

  it('stop() aborts the signal of the cycle in flight and waits for it', async () => {
    let signal: AbortSignal | undefined;
    const s = new Scheduler({
      policy: new IntervalPolicy(1000, 1000, 1),
      phaseMs: 0,
      clock: () => 0,
      cycle: (_now, stop) => {
        signal = stop;
        return new Promise<boolean>((resolve) => stop.addEventListener('abort', () => resolve(false)));
      },
    });
    const running = s.tick();
    assert.ok(running && signal && !signal.aborted);
    await s.stop();
    assert.equal(signal.aborted, true);
    assert.equal(s.busy, false);
    assert.equal(s.tick(), undefined, 'no cycle after stop');
  });

  /** Fake timers on the fake clock: `advance()` jumps to the earliest timer and fires it. */
  function fakeTimers(clock: { t: number }) {
    const pending = new Map<number, { at: number; fn: () => void }>();
    let id = 0;
    const armed: number[] = [];
    return {
      armed,
      pending,
      timers: {
        setTimeout: (fn: () => void, ms: number) => {
          armed.push(ms);
          pending.set(++id, { at: clock.t + ms, fn });
          return id;
        },
        clearTimeout: (h: unknown) => void pending.delete(h as number),
      },
      /** Fires the next timer; resolves once what it started has settled. */
      async advance(): Promise<boolean> {
        const next = [...pending.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (!next) return false;
        pending.delete(next[0]);
        clock.t = Math.max(clock.t, next[1].at);
        next[1].fn();
        for (let i = 0; i < 10; i++) await Promise.resolve();
        return true;
      },
    };
  }

  it('start(): one timer per cycle, armed for its slot; nothing wakes between cycles', async () => {
    const clock = { t: 0 };
    const fake = fakeTimers(clock);
    const starts: number[] = [];
    const s = new Scheduler({
      policy: new IntervalPolicy(15000, 60000, 3),
      phaseMs: 7000,
      clock: () => clock.t,
      timers: fake.timers,
      cycle: async (now) => {
        starts.push(now.getTime());
        clock.t += 200; // the cycle's own time
        return false;
      },
    });
    s.start();
    let wakeUps = 0;
    while (clock.t < 300000 && (await fake.advance())) wakeUps++;
    // Idle from the start: 15 s until 3 idle cycles, then 60 s; the phase is kept.
    assert.deepEqual(starts.slice(0, 6), [7000, 22000, 37000, 97000, 157000, 217000]);
    // Every wake-up ran a cycle: no polling in between.
    assert.equal(wakeUps, starts.length);
    assert.deepEqual(fake.armed.slice(0, 5), [7000, 14800, 14800, 59800, 59800]);
    assert.equal(fake.pending.size, 1, 'one timer armed at a time');
    await s.stop();
    assert.equal(fake.pending.size, 0, 'stop() disarms it');
  });

  it('start(): a wall clock stepped while the timer slept re-arms for the slot, or runs at once', async () => {
    const clock = { t: 0 };
    const fake = fakeTimers(clock);
    const starts: number[] = [];
    const s = new Scheduler({ policy: new IntervalPolicy(15000, 15000, 1), phaseMs: 0, clock: () => clock.t, timers: fake.timers, cycle: async (now) => (starts.push(now.getTime()), true) });
    s.start();
    await fake.advance(); // the cycle at 0; the timer is armed for 15 s
    // The timer fires on the monotonic clock; the wall clock was stepped 5 s back meanwhile.
    const [id, entry] = [...fake.pending.entries()][0]!;
    fake.pending.set(id, { ...entry, at: entry.at - 5000 });
    await fake.advance();
    assert.deepEqual(starts, [0], 'not due yet by the wall clock: no cycle');
    assert.deepEqual(fake.armed.slice(-1), [5000], 're-armed for what is left of the slot');
    await fake.advance();
    assert.deepEqual(starts, [0, 15000]);
    await s.stop();
  });
});
