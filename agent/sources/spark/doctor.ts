/** Doctor's Spark check: is the Spark UI found, and does it list running applications? */
import { fail, ok, skip, type CheckResult } from '../../core/check';
import type { ComponentEnv } from '../../core/component';
import { createSparkClient } from './client';
import { SparkDiscovery } from './discovery';
import type { SparkOptions } from './options';
import { runningApplications } from './parse';

export async function checkSpark(o: SparkOptions, env: ComponentEnv): Promise<CheckResult> {
  if (env.context.role !== 'driver' && o.url === undefined) return skip('spark', 'worker node: the Spark API is read on the driver only');
  const client = createSparkClient({ timeoutMs: o.timeoutMs, maxResponseBytes: o.maxResponseBytes });
  try {
    const discovery = new SparkDiscovery({
      configuredUrl: o.url,
      driverEnvFile: o.driverEnvFile,
      driverIp: env.context.driverIp,
      logger: env.logger,
      probe: async (base) => Array.isArray(await client.json(`${base}/api/v1/applications`)),
    });
    const found = await discovery.resolve();
    if (!found)
      return fail('spark', discovery.describeAttempts(), 'Spark may still be starting; otherwise set --spark-url to the Spark UI (port 40001 on Databricks)');
    const apps = runningApplications(await client.json(`${found.url}/api/v1/applications`));
    return ok('spark', `${found.url} (${found.how}): ${apps.length} running application(s)`);
  } catch (e) {
    return fail('spark', (e as Error).message, 'check --spark-url; the Spark UI must answer /api/v1/applications with JSON');
  } finally {
    client.close();
  }
}
