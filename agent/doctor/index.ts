/**
 * `doctor`'s checks in order: config (done by the caller), TLS warning, Databricks context, each
 * source's own check, then for each endpoint DNS, TCP and TLS, then auth, then each sink's test
 * push. Each check is independent: one failing never hides the others. The sources, sinks and
 * sign-in methods say what to check through their table entries.
 */
import type { Config } from '../config';
import { componentEnv } from '../agent';
import { fail, ok, skip, warn, type CheckResult, type CheckedEndpoint } from '../core/check';
import { optionsOf, type ComponentEnv, type SourceEntry } from '../core/component';
import type { Logger } from '../core/log';
import { flagName, redactUrl } from '../core/options';
import { AgentStats } from '../core/stats';
import { readContext } from '../databricks/context';
import { chosenAuth, type Auth } from '../http/auth/index';
import { authFor, describeHttpError, tlsMaterialFor } from '../http/client';
import { configuredSinks, SINKS } from '../sinks/index';
import { SOURCES } from '../sources/index';
import { checkDns, checkTcp, checkTls, proxyFor } from './network';

export interface DoctorOptions {
  logger: Logger;
}

export function describeConfig(c: Config): string {
  const sinks = configuredSinks(c.sinks).map(({ entry, options }) => entry.describe(options));
  const auth = chosenAuth(c.auth);
  const tlsParts = [c.tls.caFile ? 'extra CA' : '', c.tls.certFile ? 'client certificate' : '', c.tls.serverName ? `server name ${c.tls.serverName}` : ''].filter(Boolean);
  return `${sinks.length ? sinks.join(', ') : 'no sink configured'}; ${auth ? auth.method.describe(auth.options) : 'no auth'}; TLS: system CAs${tlsParts.length ? ' + ' + tlsParts.join(', ') : ''}`;
}

async function checkSources(config: Config, env: ComponentEnv): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const entry of SOURCES as readonly SourceEntry[]) {
    if (!entry.check) continue;
    if (!config.sources.includes(entry.name)) results.push(skip(entry.name, `source ${entry.name} is not enabled (--sources)`));
    else results.push(...(await entry.check(optionsOf<unknown>(config.source, entry), env)));
  }
  return results;
}

async function checkAuth(config: Config): Promise<CheckResult> {
  const chosen = chosenAuth(config.auth);
  try {
    if (!chosen) return skip('auth', 'no credentials configured');
    const auth = authFor(config);
    const status = auth.status ? await auth.status() : await credentialReady(auth);
    return ok('auth', `${chosen.method.detail(chosen.options)}: ${status}`);
  } catch (e) {
    return fail('auth', describeHttpError(e), chosen?.method.hint ?? 'check the credentials');
  }
}

/** Gets the sign-in headers for a request to nowhere: a method that only sets a header needs no more. */
async function credentialReady(auth: Auth): Promise<string> {
  const h = await auth.headers({ method: 'GET', url: new URL('http://doctor.invalid/'), headers: {}, body: () => new Uint8Array(0) });
  return Object.keys(h).length > 0 ? 'credential ready' : 'none';
}

/** DNS, TCP and TLS of each endpoint; returns whether each label's endpoint is reachable. */
async function checkEndpoints(config: Config, endpoints: CheckedEndpoint[], results: CheckResult[]): Promise<Map<string, boolean>> {
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
  return reachable;
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
  const env = componentEnv(config, context, o.logger, new AgentStats());
  results.push(...(await checkSources(config, env)));

  const sinks = configuredSinks(config.sinks);
  const auth = chosenAuth(config.auth);
  const endpoints = [...sinks.flatMap(({ entry, options }) => entry.endpoints(options)), ...(auth?.method.endpoints?.(auth.options) ?? [])];
  if (sinks.length === 0) {
    const flags = SINKS.map((s) => flagName(s.primary)).join(' or ');
    results.push(fail('sinks', 'no sink configured', `set ${flags} (or ${SINKS.map((s) => s.primary.env).join(' / ')})`));
  }
  const reachable = await checkEndpoints(config, endpoints, results);
  results.push(await checkAuth(config));
  for (const { entry, options } of sinks) {
    const labels = entry.endpoints(options).map((e) => e.label);
    results.push(await entry.check(options, env, labels.every((l) => reachable.get(l) === true)));
  }
  return results;
}
