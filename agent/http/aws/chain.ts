/**
 * Where the agent's AWS keys come from: the SDK's standard chain (environment, web identity,
 * shared config files, container and EC2 instance profile through IMDSv2, in the SDK's order),
 * optionally with a role assumed on top through STS. The SDK is loaded on first use, so a node
 * that does not sign never pays for it at start.
 */
import os from 'node:os';
import { messageOf } from '../../core/isolate';
import { log } from '../../core/log';
import { CredentialCache, CredentialsError, LOAD_TIMEOUT_MS, type AwsKeys } from './credentials';
import { awsSdk } from './lazy';

export interface KeySourceOptions {
  readonly region: string;
  readonly roleArn?: string;
}

/** The SDK marks what gave the keys (`$source` feature ids); doctor says it in words. */
const SOURCES: [RegExp, string][] = [
  [/WEB_ID/, 'web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)'],
  [/^CREDENTIALS_ENV_VARS$/, 'environment (AWS_ACCESS_KEY_ID)'],
  [/SSO/, 'SSO session of the shared config'],
  [/PROCESS/, 'credential_process of the shared config'],
  [/^CREDENTIALS_PROFILE/, 'shared config files (AWS_PROFILE)'],
  [/^CREDENTIALS_(HTTP|FULL_URI|RELATIVE_URI)$/, 'container credentials endpoint'],
  [/^CREDENTIALS_IMDS$/, 'EC2 instance profile (IMDS)'],
];

/**
 * Words for the SDK's `$source` marks. The chain's last link (container endpoint or IMDS) sets
 * none; it is the container endpoint when its variables are set, as the chain itself decides. Pure.
 */
export function sourceOf(marks: Record<string, unknown> | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const ids = Object.keys(marks ?? {});
  for (const [re, words] of SOURCES) if (ids.some((id) => re.test(id))) return words;
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) return 'container credentials endpoint';
  return 'EC2 instance profile (IMDS)';
}

interface SdkKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
  $source?: Record<string, unknown>;
}

/**
 * The SDK's STS client waits for ever by default: a hanging STS would hold every push. IMDS has
 * its own 1 s timeout. A `logger` keeps the SDK's own warnings (IMDS static stability) out of
 * stderr, where the agent's log is JSON lines: its outages are said by the agent.
 */
const SDK_LOGGER = {
  debug: (): void => undefined,
  info: (): void => undefined,
  warn: (...a: unknown[]): void => log.debug('AWS SDK warning', { message: a.map(String).join(' ').slice(0, 300) }),
  error: (...a: unknown[]): void => log.debug('AWS SDK error', { message: a.map(String).join(' ').slice(0, 300) }),
};

// Without throwOnRequestTimeout the SDK's handler only warns (on the console) and waits on.
const STS_TIMEOUTS = { connectionTimeout: 2_000, requestTimeout: 3_000, throwOnRequestTimeout: true, logger: SDK_LOGGER };

/** A role session name CloudTrail can tell the node by: [\w+=,.@-], 2 to 64 characters. */
export function sessionName(host = os.hostname()): string {
  return `dbx-prom-agent-${host.replace(/[^\w+=,.@-]/g, '-')}`.slice(0, 64);
}

function keysOf(k: SdkKeys, source: string): AwsKeys {
  return { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey, sessionToken: k.sessionToken, expiration: k.expiration, source };
}

/** The base keys, and the assumed role's on top when a role is set: each cached on its own. */
export function createKeySource(o: KeySourceOptions): CredentialCache {
  const base = new CredentialCache(async () => {
    const { fromNodeProviderChain } = awsSdk();
    // A fresh chain per load: the chain's own memo would answer a forced reload with the same keys.
    const k = (await fromNodeProviderChain({ clientConfig: { region: o.region, requestHandler: STS_TIMEOUTS }, logger: SDK_LOGGER })().catch((e: unknown) => {
      throw new CredentialsError(
        `AWS credentials unavailable: ${messageOf(e)} (tried AWS_* env, web identity, shared config files, container and EC2 instance profile; on Databricks, attach an instance profile to the cluster)`,
      );
    })) as SdkKeys;
    return keysOf(k, sourceOf(k.$source));
  });
  if (o.roleArn === undefined) return base;
  const roleArn = o.roleArn;
  let assume: (() => Promise<SdkKeys>) | undefined;
  return new CredentialCache(async () => {
    const { fromTemporaryCredentials } = awsSdk();
    assume ??= fromTemporaryCredentials({
      params: { RoleArn: roleArn, RoleSessionName: sessionName(), DurationSeconds: 3600 },
      masterCredentials: () => base.get(),
      // Two attempts of at most 3 s each fit the cache's 8 s: the SDK's own error is the one said.
      clientConfig: { region: o.region, requestHandler: STS_TIMEOUTS, maxAttempts: 2, logger: SDK_LOGGER },
    }) as () => Promise<SdkKeys>;
    const from = (await base.get()).source;
    const k = await assume().catch((e: unknown) => {
      throw new CredentialsError(`AssumeRole of ${roleArn} with keys from ${from} failed: ${messageOf(e)}`);
    });
    return keysOf(k, `role ${roleArn} assumed with keys from ${from}`);
  }, Date.now, LOAD_TIMEOUT_MS, `AssumeRole of ${roleArn}`);
}
