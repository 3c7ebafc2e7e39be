/**
 * The one table of sources: a reader learns every source the agent has from here. A new
 * source is one file plus one line below.
 */
import type { Config, SourceName } from '../config';
import type { DatabricksContext } from '../databricks/context';
import type { Logger } from '../core/log';
import type { AgentStats } from '../core/stats';
import type { Source } from '../core/source';
import { createHostSource } from './host/source';
import { createSelfSource } from './self';
import { createSparkSource } from './spark/source';

export interface SourceEnv {
  config: Config;
  context: DatabricksContext;
  logger: Logger;
  stats: AgentStats;
}

interface SourceEntry {
  name: SourceName;
  /** Whether it runs on this node (beyond being listed in --sources). */
  applies(env: SourceEnv): boolean;
  create(env: SourceEnv): Source;
}

export const SOURCES: readonly SourceEntry[] = [
  { name: 'host', applies: () => true, create: (env) => createHostSource({ logger: env.logger.child({ source: 'host' }) }) },
  {
    name: 'spark',
    // Spark's UI runs on the driver only; an explicit --spark-url runs it anywhere (off Databricks).
    applies: (env) => env.context.role === 'driver' || env.config.spark.url !== undefined,
    create: (env) => createSparkSource({ ...env, logger: env.logger.child({ source: 'spark' }) }),
  },
  { name: 'self', applies: () => true, create: (env) => createSelfSource(env.stats) },
];

export function createSources(env: SourceEnv): Source[] {
  return SOURCES.filter((s) => env.config.sources.includes(s.name) && s.applies(env)).map((s) => s.create(env));
}
