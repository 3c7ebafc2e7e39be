/** The one table of sinks: a new sink is one file plus one entry here. */
import type { Config } from '../config';
import type { DatabricksContext } from '../databricks/context';
import type { Logger } from '../core/log';
import type { AgentStats } from '../core/stats';
import { createHttpClient } from '../http/client';
import { createPushgatewaySink } from './pushgateway/sink';
import { createRemoteWriteSink } from './remote-write/sink';
import { createStdoutSink } from './stdout';
import type { Sink } from '../core/sink';

export interface SinkEnv {
  config: Config;
  context: DatabricksContext;
  logger: Logger;
  stats: AgentStats;
}

export function createSinks(env: SinkEnv, opts: { dryRun: boolean }): Sink[] {
  if (opts.dryRun) return [createStdoutSink()];
  const { config, context } = env;
  const sinks: Sink[] = [];
  if (config.pushgatewayUrl !== undefined) {
    sinks.push(
      createPushgatewaySink({
        url: config.pushgatewayUrl,
        job: config.job,
        clusterId: context.clusterId,
        node: context.node,
        http: createHttpClient(config, { timeoutMs: config.pushTimeoutMs }),
        logger: env.logger.child({ sink: 'pushgateway' }),
      }),
    );
  }
  if (config.remoteWriteUrl !== undefined)
    sinks.push(createRemoteWriteSink({ ...env, logger: env.logger.child({ sink: 'remote_write' }) }, config.remoteWriteUrl));
  return sinks;
}
