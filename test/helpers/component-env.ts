/** The environment the agent hands a component, for tests and benches that build one directly. */
import type { ComponentEnv } from '../../agent/core/component';
import { log } from '../../agent/core/log';
import { AgentStats } from '../../agent/core/stats';
import { readContext } from '../../agent/databricks/context';

/** A driver of cluster `c` (or the context `env` describes), the agent's defaults, no HTTP client. */
export function testComponentEnv(env: Record<string, string> = {}, node = 'driver-host', stats = new AgentStats()): ComponentEnv {
  return {
    context: readContext({ DB_IS_DRIVER: 'TRUE', DB_CLUSTER_ID: 'c', ...env }, node),
    logger: log,
    stats,
    job: 'databricks',
    intervalMs: 15_000,
    pushTimeoutMs: 10_000,
    env: {},
    http: () => {
      throw new Error('not used');
    },
  };
}
