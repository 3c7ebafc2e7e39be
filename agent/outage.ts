/**
 * Logs a failing dependency once per outage instead of once per cycle: the first failure at
 * `level`, repeats at debug, and one line when it recovers. 500 nodes logging every 15 s
 * about the same down Pushgateway would bury the one line that matters.
 */
import type { Fields, Logger } from './log';

export class OutageLog {
  private failures = 0;
  private since = 0;

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
    private readonly level: 'error' | 'warn' | 'info' = 'error',
  ) {}

  failure(err: unknown, fields: Fields = {}): void {
    const message = err instanceof Error ? err.message : String(err);
    // An error may say how loud it is: "Spark is not up yet" is expected in a cluster's first
    // minutes and is logged at info, while a Spark answering garbage is a warning.
    const asked = (err as { outageLevel?: unknown } | null)?.outageLevel;
    const level = asked === 'info' || asked === 'warn' || asked === 'error' ? asked : this.level;
    if (this.failures === 0) {
      this.since = Date.now();
      this.logger[level](`${this.what} failed; further failures are logged at debug until it recovers`, {
        ...fields,
        error: message,
      });
    } else {
      this.logger.debug(`${this.what} still failing`, { ...fields, error: message, failures: this.failures + 1 });
    }
    this.failures++;
  }

  success(fields: Fields = {}): void {
    if (this.failures > 0) {
      this.logger.info(`${this.what} recovered`, {
        ...fields,
        failures: this.failures,
        outage_seconds: Math.round((Date.now() - this.since) / 1000),
      });
    }
    this.failures = 0;
  }
}
