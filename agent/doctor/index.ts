/**
 * `doctor`'s checks in order: config (done by the caller), TLS warning, Databricks context,
 * Spark API, then for each endpoint DNS, TCP and TLS, then auth, then a test push per sink.
 * Each check is independent: one failing never hides the others.
 */
import { redactUrl, type Config } from '../config';
import { readContext } from '../databricks/context';
import { authFor, createHttpClient, describeHttpError, tlsMaterialFor } from '../http/client';
import type { Logger } from '../core/log';
import { createSparkClient } from '../sources/spark/client';
import { SparkDiscovery } from '../sources/spark/discovery';
import { runningApplications } from '../sources/spark/parse';
import { fail, ok, skip, warn, type CheckResult } from './check';
import { checkDns, checkTcp, checkTls, proxyFor, type Endpoint } from './network';
import { checkPushgatewayPush, checkRemoteWritePush } from './push';

export interface DoctorOptions {
  logger: Logger;
  /** Ports probed for Spark when nothing names it (tests). */
  sparkProbePorts?: readonly number[];
}

export function describeConfig(c: Config): string {
  const sinks = [
    c.pushgatewayUrl !== undefined ? `pushgateway ${redactUrl(c.pushgatewayUrl)}` : '',
    c.remoteWriteUrl !== undefined ? `remote_write ${redactUrl(c.remoteWriteUrl)}` : '',
  ].filter(Boolean);
  const a = c.auth;
  const auth = a.oauth2
    ? `oauth2 (${a.oauth2.authMethod}${a.oauth2.clientSecretFile ? ', secret from file' : ', secret from env'})`
    : a.bearerTokenFile
      ? 'bearer token from file'
      : a.bearerToken !== undefined
        ? 'bearer token from env'
        : a.basicAuthUser !== undefined
          ? `basic auth as ${a.basicAuthUser}`
          : 'no auth';
  const tlsParts = [c.tls.caFile ? 'extra CA' : '', c.tls.certFile ? 'client certificate' : '', c.tls.serverName ? `server name ${c.tls.serverName}` : ''].filter(Boolean);
  return `${sinks.length ? sinks.join(', ') : 'no sink configured'}; ${auth}; TLS: system CAs${tlsParts.length ? ' + ' + tlsParts.join(', ') : ''}`;
}

async function checkSpark(config: Config, o: DoctorOptions): Promise<CheckResult> {
  const context = readContext(config.env, config.nodeName);
  if (!config.sources.includes('spark')) return skip('spark', 'source spark is not enabled (--sources)');
  if (context.role !== 'driver' && config.spark.url === undefined)
    return skip('spark', 'worker node: the Spark API is read on the driver only');
  const client = createSparkClient({ timeoutMs: config.spark.timeoutMs, maxResponseBytes: config.spark.maxResponseBytes });
  try {
    const discovery = new SparkDiscovery({
      configuredUrl: config.spark.url,
      driverEnvFile: config.spark.driverEnvFile,
      driverIp: context.driverIp,
      probePorts: o.sparkProbePorts,
      logger: o.logger,
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

async function checkAuth(config: Config): Promise<CheckResult> {
  let auth;
  try {
    auth = authFor(config);
    const header = await auth.authorization();
    if (auth.kind === 'none') return skip('auth', 'no credentials configured');
    const a = config.auth;
    const where =
      auth.kind === 'oauth2'
        ? `OAuth2 token from ${redactUrl(a.oauth2!.tokenUrl)} (client ${a.oauth2!.clientId}, ${a.oauth2!.authMethod}${a.oauth2!.scopes.length ? `, scopes ${a.oauth2!.scopes.join(' ')}` : ''})`
        : auth.kind === 'bearer'
          ? `bearer token ${a.bearerTokenFile ? `from ${a.bearerTokenFile}` : 'from DBX_PROM_BEARER_TOKEN'}`
          : `basic auth as ${a.basicAuthUser} (password ${a.basicAuthPasswordFile ? `from ${a.basicAuthPasswordFile}` : 'from DBX_PROM_BASIC_AUTH_PASSWORD'})`;
    return ok('auth', `${where}: ${header ? 'credential ready' : 'none'}`);
  } catch (e) {
    const hint =
      auth?.kind === 'oauth2' || config.auth.oauth2
        ? 'check --oauth2-token-url, --oauth2-client-id and the client secret; the IdP error code above says which'
        : 'check that the secret file exists, is readable by the agent and not empty';
    return fail('auth', describeHttpError(e), hint);
  }
}

export async function runDoctor(config: Config, o: DoctorOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  if (config.tls.insecureSkipVerify)
    results.push(warn('tls-verify', 'certificate verification is OFF (--insecure-skip-verify): anyone on the path can read and forge pushes', 'use --ca-file with the CA of the server instead'));

  const context = readContext(config.env, config.nodeName);
  results.push(
    context.onDatabricks
      ? ok('databricks', `cluster ${context.clusterId} "${context.clusterName}", node ${context.node} (${context.nodeIp}), ${context.role}${context.runtimeVersion ? `, runtime ${context.runtimeVersion}` : ''}${context.jobId ? `, job ${context.jobId} run ${context.runId}` : ''}`)
      : warn('databricks', `not on Databricks (DB_CLUSTER_ID unset): node ${context.node}, role ${context.role}`, 'on a cluster, the init script writes the DB_* variables into the env file'),
  );
  results.push(await checkSpark(config, o));

  const endpoints: Endpoint[] = [];
  if (config.pushgatewayUrl !== undefined) endpoints.push({ label: 'pushgateway', url: config.pushgatewayUrl });
  if (config.remoteWriteUrl !== undefined) endpoints.push({ label: 'remote_write', url: config.remoteWriteUrl });
  if (config.auth.oauth2) endpoints.push({ label: 'oauth2', url: config.auth.oauth2.tokenUrl });
  if (endpoints.length === 0 || (config.pushgatewayUrl === undefined && config.remoteWriteUrl === undefined))
    results.push(fail('sinks', 'no sink configured', 'set --pushgateway-url or --remote-write-url (or DBX_PROM_PUSHGATEWAY_URL / DBX_PROM_REMOTE_WRITE_URL)'));

  const timeoutMs = Math.min(config.pushTimeoutMs, 5000);
  const material = tlsMaterialFor(config);
  const reachable = new Map<string, boolean>();
  for (const e of endpoints) {
    const proxy = proxyFor(e.url);
    if (proxy !== undefined) {
      results.push(skip(`net ${e.label}`, `through the proxy ${redactUrl(proxy)} (HTTP(S)_PROXY): DNS, TCP and TLS are checked by the push below`));
      reachable.set(e.label, true);
      continue;
    }
    const steps = [await checkDns(e)];
    if (steps[0]!.status !== 'fail') steps.push(await checkTcp(e, timeoutMs));
    if (steps.at(-1)!.status !== 'fail') steps.push(await checkTls(e, material, timeoutMs));
    results.push(...steps);
    reachable.set(e.label, steps.every((s) => s.status !== 'fail'));
  }

  const authResult = await checkAuth(config);
  results.push(authResult);

  const http = createHttpClient(config, { timeoutMs: config.pushTimeoutMs });
  if (config.pushgatewayUrl !== undefined) {
    if (!reachable.get('pushgateway')) results.push(skip('push pushgateway', 'endpoint not reachable (see above)'));
    else results.push(await checkPushgatewayPush(http, config.pushgatewayUrl, config.job, [['cluster_id', context.clusterId], ['node', context.node]]));
  }
  if (config.remoteWriteUrl !== undefined) {
    if (!reachable.get('remote_write')) results.push(skip('push remote_write', 'endpoint not reachable (see above)'));
    else results.push(await checkRemoteWritePush(http, config.remoteWriteUrl));
  }
  return results;
}
