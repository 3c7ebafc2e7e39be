/**
 * Logs a failing dependency once per outage instead of once per cycle: the first failure at
 * `level`, repeats at debug, and one line when it recovers. 500 nodes logging every 15 s
 * about the same down Pushgateway would bury the one line that matters. Two things are said
 * again at `level` although the outage goes on: a new cause (a 400 that became a 500 is a
 * different problem), and a reminder every REMIND_EVERY_MS, so a log read an hour later still
 * shows the outage is not over.
 */
import type { Fields, Logger } from './log';

export const REMIND_EVERY_MS = 15 * 60_000;

/**
 * A failure that is expected for a while (a dependency still starting): its outage is logged at
 * info instead of the log's own level.
 */
export class ExpectedOutage extends Error {}

/**
 * What kind of failure a message describes, so that a changed cause is told apart from the
 * same cause with other details: an HTTP status, else an error code, else the text with its
 * numbers (durations, byte counts) left out.
 */
export function causeOf(message: string): string {
  const status = /\bHTTP (\d{3})\b/.exec(message);
  if (status) return `HTTP ${status[1]}`;
  const code = /\b(E[A-Z]{3,}|ERR_[A-Z_]+)\b/.exec(message);
  if (code) return code[1]!;
  return message.replace(/\d+/g, '#').slice(0, 160);
}

export interface OutageLogOptions {
  remindEveryMs?: number;
  now?: () => number;
}

/** When a line was last said at its level, and whether a reminder is due. */
class Pace {
  readonly now: () => number;
  private readonly everyMs: number;
  lastSaid?: number;

  constructor(o: OutageLogOptions) {
    this.now = o.now ?? Date.now;
    this.everyMs = o.remindEveryMs ?? REMIND_EVERY_MS;
  }

  due(now: number): boolean {
    return this.lastSaid === undefined || now - this.lastSaid >= this.everyMs;
  }
}

export class OutageLog {
  private failures = 0;
  private since = 0;
  private cause = '';
  private readonly pace: Pace;

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
    private readonly level: 'error' | 'warn' | 'info' = 'error',
    o: OutageLogOptions = {},
  ) {
    this.pace = new Pace(o);
  }

  failure(err: unknown, fields: Fields = {}): void {
    const message = err instanceof Error ? err.message : String(err);
    // "Spark is not up yet" is expected in a cluster's first minutes and is logged at info,
    // while a Spark answering garbage is a warning.
    const level = err instanceof ExpectedOutage ? 'info' : this.level;
    const now = this.pace.now();
    const cause = causeOf(message);
    if (this.failures === 0) {
      this.since = now;
      this.logger[level](`${this.what} failed; further failures are logged at debug until it recovers`, { ...fields, error: message });
      this.pace.lastSaid = now;
    } else if (cause !== this.cause || this.pace.due(now)) {
      const msg = cause !== this.cause ? `${this.what} still failing, now for another reason` : `${this.what} still failing`;
      this.logger[level](msg, { ...fields, error: message, failures: this.failures + 1, outage_seconds: Math.round((now - this.since) / 1000) });
      this.pace.lastSaid = now;
    } else {
      this.logger.debug(`${this.what} still failing`, { ...fields, error: message, failures: this.failures + 1 });
    }
    this.cause = cause;
    this.failures++;
  }

  success(fields: Fields = {}): void {
    if (this.failures > 0) {
      this.logger.info(`${this.what} recovered`, {
        ...fields,
        failures: this.failures,
        outage_seconds: Math.round((this.pace.now() - this.since) / 1000),
      });
    }
    this.failures = 0;
    this.cause = '';
  }
}

/**
 * Something that keeps happening with no "recovered" to wait for (samples dropped, a cursor the
 * disk will not take): said at `level` the first time, then at most once per REMIND_EVERY_MS
 * with how often it happened meanwhile, at debug in between. Whatever a full disk does cycle
 * by cycle, the log gets a line per quarter hour, and the counters say the rest.
 */
export class RepeatLog {
  private since = 0;
  private readonly pace: Pace;

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
    private readonly level: 'error' | 'warn' | 'info' = 'warn',
    o: OutageLogOptions = {},
  ) {
    this.pace = new Pace(o);
  }

  /** One occurrence; `amount` adds up into the next line's `total_since_last_line` (e.g. samples). */
  note(fields: Fields = {}, amount = 1): void {
    const now = this.pace.now();
    this.since += amount;
    if (!this.pace.due(now)) {
      this.logger.debug(this.what, fields);
      return;
    }
    const last = this.pace.lastSaid;
    this.logger[this.level](last === undefined ? this.what : `${this.what} (still happening)`, {
      ...fields,
      ...(last === undefined ? {} : { total_since_last_line: this.since, minutes_since_last_line: Math.round((now - last) / 60_000) }),
    });
    this.pace.lastSaid = now;
    this.since = 0;
  }
}
