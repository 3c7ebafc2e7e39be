/** The Spark source (driver only): placeholder until the Spark REST collector lands. */
import type { Source } from './source';
import type { SourceEnv } from './index';

export function createSparkSource(_env: SourceEnv): Source {
  return { name: 'spark', collect: async () => [] };
}
