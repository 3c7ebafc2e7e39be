/**
 * The discovery step of each cycle: where the Spark UI is, and which of its applications run.
 * Spark not found or running nothing (the first minutes of a cluster) rejects with
 * SparkNotUpError, logged at info; an applications list that fails rejects with the reason.
 */
import type { Logger } from '../../core/log';
import { ExpectedOutage, OutageLog } from '../../core/outage';
import { SparkRequestError, type SparkClient } from './client';
import type { SparkDiscovery } from './discovery';
import { runningApplications } from './parse';

/** Spark is not up yet or runs no application: expected at cluster start, logged at info. */
export class SparkNotUpError extends ExpectedOutage {
  constructor(message: string) {
    super(message);
    this.name = 'SparkNotUpError';
  }
}

/** Applications read per cycle: a bound on spark_app_id values and on requests. */
export const MAX_APPLICATIONS = 4;

export interface RunningApplications {
  /** The Spark UI base URL. */
  url: string;
  /** The applications to read, at most MAX_APPLICATIONS, in Spark's order; never empty. */
  apps: string[];
}

export class SparkApplications {
  private readonly appsLog: OutageLog;

  constructor(
    private readonly discovery: SparkDiscovery,
    private readonly client: SparkClient,
    logger: Logger,
  ) {
    this.appsLog = new OutageLog(logger, 'application count', 'warn');
  }

  async find(signal?: AbortSignal): Promise<RunningApplications> {
    const { discovery } = this;
    const found = await discovery.resolve();
    if (!found)
      throw new SparkNotUpError(`Spark UI not found yet (normal in the first minutes of a cluster): ${discovery.describeAttempts()}`);
    let appsJson: unknown;
    try {
      appsJson = await this.client.json(`${found.url}/api/v1/applications`, signal);
    } catch (e) {
      discovery.failed();
      // Nothing listening: Spark is starting (or restarting). Anything else is a real fault.
      if (e instanceof SparkRequestError && e.kind === 'refused')
        throw new SparkNotUpError(`Spark UI not up yet at ${found.url} (${found.how}): ${e.message}`);
      throw e;
    }
    let running: string[];
    try {
      running = runningApplications(appsJson);
    } catch (e) {
      discovery.failed();
      throw new Error(`GET ${found.url}/api/v1/applications: ${(e as Error).message}`);
    }
    if (running.length === 0) throw new SparkNotUpError(`no running Spark application at ${found.url}`);
    discovery.succeeded();
    // A driver's UI lists its one application; a history server pointed at by mistake may
    // list hundreds of unfinished ones: read the first few, in Spark's order.
    if (running.length > MAX_APPLICATIONS)
      this.appsLog.failure(new Error(`${running.length} running applications at ${found.url}; reading the first ${MAX_APPLICATIONS}`));
    else this.appsLog.success();
    return { url: found.url, apps: running.slice(0, MAX_APPLICATIONS) };
  }
}
