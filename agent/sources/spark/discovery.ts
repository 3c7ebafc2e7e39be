/**
 * Where is the Spark UI? In order (issue 3, DESIGN "Databricks context"):
 *  1. --spark-url / DBX_PROM_SPARK_URL, used as given;
 *  2. CONF_UI_PORT in the driver env file (/tmp/driver-env.sh). Databricks writes it late in
 *     driver boot, after init scripts have ended, so it is re-read on every attempt until found;
 *  3. a probe of port 40001 (the Databricks driver UI port), then 4040 (Spark's default, off
 *     Databricks), on 127.0.0.1 and the driver IP.
 * A found URL is kept; after a few failed cycles in a row it is forgotten and looked up again
 * (the driver JVM restarted, possibly on another port).
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from '../../core/log';

/** Pure: the UI port from the driver env file (`CONF_UI_PORT=40001`, maybe exported/quoted). */
export function parseUiPort(text: string): number | undefined {
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?CONF_UI_PORT\s*=\s*["']?(\d{1,5})["']?\s*(?:#.*)?$/.exec(line);
    if (m) {
      const port = Number(m[1]);
      if (port > 0 && port < 65536) return port;
    }
  }
  return undefined;
}

export const PROBE_PORTS: readonly number[] = [40001, 4040];
/** Failed cycles in a row before a discovered URL is looked up again. */
export const REDISCOVER_AFTER = 3;

export interface Discovered {
  url: string;
  /** How it was found: flag, driver-env, probe. */
  how: 'flag' | 'driver-env' | 'probe';
}

export interface DiscoveryOptions {
  configuredUrl?: string;
  driverEnvFile: string;
  driverIp?: string;
  probePorts?: readonly number[];
  /** True when a Spark REST API answers at this base URL. */
  probe(baseUrl: string): Promise<boolean>;
  /** File contents, or undefined when it is missing or unreadable. */
  readFile?(path: string): Promise<string | undefined>;
  logger: Logger;
}

async function readIfThere(p: string): Promise<string | undefined> {
  try {
    return await readFile(p, 'utf8');
  } catch {
    return undefined;
  }
}

export class SparkDiscovery {
  private found?: Discovered;
  private failures = 0;

  constructor(private readonly o: DiscoveryOptions) {}

  /** What was tried, for the "not found" message. */
  describeAttempts(): string {
    const ports = (this.o.probePorts ?? PROBE_PORTS).join(', ');
    return `no CONF_UI_PORT in ${this.o.driverEnvFile} and no Spark REST API on port ${ports} of ${this.hosts().join(', ')}`;
  }

  private hosts(): string[] {
    const ip = this.o.driverIp?.trim();
    return ip && ip !== '127.0.0.1' ? ['127.0.0.1', ip] : ['127.0.0.1'];
  }

  /** The Spark UI base URL, or undefined when Spark is not (yet) found. */
  async resolve(): Promise<Discovered | undefined> {
    if (this.o.configuredUrl !== undefined) return { url: this.o.configuredUrl, how: 'flag' };
    if (this.found) return this.found;
    const text = await (this.o.readFile ?? readIfThere)(this.o.driverEnvFile);
    const port = text === undefined ? undefined : parseUiPort(text);
    let found: Discovered | undefined;
    if (port !== undefined) {
      const host = this.o.driverIp?.trim() || '127.0.0.1';
      found = { url: `http://${host}:${port}`, how: 'driver-env' };
    } else {
      // All candidates at once (a refused port answers at once), first in order wins.
      const candidates = (this.o.probePorts ?? PROBE_PORTS).flatMap((p) => this.hosts().map((h) => `http://${h}:${p}`));
      const answers = await Promise.all(candidates.map((u) => this.o.probe(u).catch(() => false)));
      const i = answers.indexOf(true);
      if (i >= 0) found = { url: candidates[i]!, how: 'probe' };
    }
    if (found) {
      this.found = found;
      this.failures = 0;
      this.o.logger.info('Spark UI found', { url: found.url, how: found.how });
    }
    return found;
  }

  /** A cycle could not reach the found URL; after REDISCOVER_AFTER in a row, look again. */
  failed(): void {
    if (!this.found) return;
    this.failures++;
    if (this.failures >= REDISCOVER_AFTER) {
      this.o.logger.info('Spark UI unreachable several times in a row; looking for it again', { url: this.found.url });
      this.found = undefined;
      this.failures = 0;
    }
  }

  succeeded(): void {
    this.failures = 0;
  }
}
