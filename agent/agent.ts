/** Assembles the pipeline for one node: context, sources, labels, sinks, self metrics. */
import type { Config } from './config';
import type { ComponentEnv } from './core/component';
import { createHttpClient } from './http/client';
import { readContext, type DatabricksContext } from './databricks/context';
import { SERIES_LABELS, nodeLabels } from './labels';
import type { Logger } from './core/log';
import type { CloseOptions } from './core/sink';
import { Pipeline, type CycleOptions, type CycleResult } from './pipeline';
import { AgentStats } from './core/stats';
import { createSinks } from './sinks/index';
import { createSources } from './sources/index';
import { ActivityDetector } from './activity';

/**
 * How long the sources of a cycle may take: half the interval. A slow or trickling Spark then
 * delays the host series of a cycle by at most half an interval and never overlaps the next
 * cycle; at the default 15 s that is 7.5 s, beyond --spark-timeout (5 s), so only a Spark
 * slower than its own timeout is cut.
 */
export function collectionDeadlineMs(intervalMs: number): number {
  return Math.max(500, Math.floor(intervalMs / 2));
}

/** What every component is handed: the node, the log, the counters and HTTP clients with the configured TLS and auth. */
export function componentEnv(config: Config, context: DatabricksContext, logger: Logger, stats: AgentStats): ComponentEnv {
  return {
    context,
    logger,
    stats,
    job: config.job,
    intervalMs: config.intervalMs,
    pushTimeoutMs: config.pushTimeoutMs,
    env: config.env,
    http: (o) => createHttpClient(config, o),
  };
}

export interface Agent {
  readonly context: DatabricksContext;
  readonly stats: AgentStats;
  readonly pipeline: Pipeline;
  /** One cycle (see Pipeline.cycle); also tells whether the node was busy (for the interval). */
  cycle(now?: Date, opts?: CycleOptions): Promise<CycleResult & { busy: boolean }>;
  close(opts: CloseOptions): Promise<void>;
}

export function createAgent(config: Config, logger: Logger, opts: { dryRun: boolean }): Agent {
  const context = readContext(config.env, config.nodeName);
  if (!context.onDatabricks)
    logger.info('no Databricks context (DB_CLUSTER_ID unset): labelling as a plain host', {
      node: context.node,
      role: context.role,
    });
  else logger.info('Databricks context', { cluster_id: context.clusterId, node: context.node, role: context.role });
  // Not refused (an upgrade must not stop a fleet's agents over a label that mostly worked),
  // but never silent: on the series that carry the label, their own value wins.
  for (const name of Object.keys(config.labels))
    if (SERIES_LABELS.has(name))
      logger.warn(`--labels ${name}=… is also a label of the agent's own series (${SERIES_LABELS.get(name)}): there their own value wins; choose another name to have it everywhere`);
  const stats = new AgentStats();
  const env = componentEnv(config, context, logger, stats);
  const sources = createSources(config.sources, config.source, env);
  const sinks = createSinks(config.sinks, env, opts);
  const pipeline = new Pipeline({
    sources,
    sinks,
    baseLabels: nodeLabels(context, config.labels),
    stats,
    logger,
    sourceTimeoutMs: collectionDeadlineMs(config.intervalMs),
  });
  const activity = new ActivityDetector(config.busyCpu);
  return {
    context,
    stats,
    pipeline,
    async cycle(now = new Date(), opts: CycleOptions = {}) {
      const result = await pipeline.cycle(now, opts);
      return { ...result, busy: activity.observe(result.samples) };
    },
    close: (o) => pipeline.close(o),
  };
}
