/** Assembles the pipeline for one node: context, sources, labels, sinks, self metrics. */
import type { Config } from './config';
import { readContext, type DatabricksContext } from './databricks/context';
import { nodeLabels } from './labels';
import type { Logger } from './log';
import { Pipeline, type CycleResult } from './pipeline';
import { AgentStats } from './stats';
import { createSinks } from './sinks/index';
import { createSources } from './sources/index';
import { ActivityDetector } from './activity';

export interface Agent {
  readonly context: DatabricksContext;
  readonly stats: AgentStats;
  readonly pipeline: Pipeline;
  /** One cycle; also tells whether the node was busy (for the interval). */
  cycle(now?: Date): Promise<CycleResult & { busy: boolean }>;
  close(opts: { deleteGroup: boolean }): Promise<void>;
}

export function createAgent(config: Config, logger: Logger, opts: { dryRun: boolean }): Agent {
  const context = readContext(config.env, config.nodeName);
  if (!context.onDatabricks)
    logger.info('no Databricks context (DB_CLUSTER_ID unset): labelling as a plain host', {
      node: context.node,
      role: context.role,
    });
  else logger.info('Databricks context', { cluster_id: context.clusterId, node: context.node, role: context.role });
  const stats = new AgentStats();
  const env = { config, context, logger, stats };
  const sources = createSources(env);
  const sinks = createSinks(env, opts);
  const pipeline = new Pipeline({
    sources,
    sinks,
    baseLabels: nodeLabels(context, config.labels),
    stats,
    logger,
    // A hung source must not stall the cycle past the next one.
    sourceTimeoutMs: Math.max(config.intervalMs, config.spark.timeoutMs * 2),
  });
  const activity = new ActivityDetector(config.busyCpu);
  return {
    context,
    stats,
    pipeline,
    async cycle(now = new Date()) {
      const result = await pipeline.cycle(now);
      return { ...result, busy: activity.observe(result.samples) };
    },
    close: (o) => pipeline.close(o),
  };
}
