/**
 * The agent's one typed configuration, built once at start from flags > env > env file >
 * defaults and validated there. A bad value throws ConfigError naming the flag and its env
 * variable; the CLI turns that into exit status 2. Everything after this module trusts Config.
 */
import { existsSync, readFileSync, accessSync, constants } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { formatDuration, parseDuration, parseBytes } from './core/duration';
import { LOG_LEVELS, LogLevel, registerSecret } from './core/log';
import { parseEnvFile } from './core/env-file';
import { RESERVED_LABELS, isValidLabelName } from './labels';

export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`invalid ${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface OptionSpec {
  /** Commander's camelCase key, derived from the flag. */
  readonly key: string;
  readonly flag: string;
  readonly env: string;
  readonly description: string;
  readonly defaultText?: string;
  readonly boolean?: boolean;
  /** Only from env (literal secrets: a flag would show in `ps`). */
  readonly envOnly?: boolean;
}

function spec(flag: string, description: string, extra: Partial<OptionSpec> = {}): OptionSpec {
  const long = /--([a-z0-9-]+)/.exec(flag)![1]!;
  const key = long.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const env = 'DBX_PROM_' + long.replace(/-/g, '_').toUpperCase();
  return { key, flag, env, description, boolean: !flag.includes('<'), ...extra };
}

/** Every option shared by run, once and doctor. Commands add their own (gc, policy). */
export const AGENT_OPTIONS: readonly OptionSpec[] = [
  spec('--pushgateway-url <url>', 'Pushgateway base URL (PUT a group per node)'),
  spec('--remote-write-url <url>', 'Prometheus remote-write receiver URL'),
  spec('--job <name>', 'job label and Pushgateway job', { defaultText: 'databricks' }),
  spec('--interval <duration>', 'collection interval while busy', { defaultText: '15s' }),
  spec('--idle-interval <duration>', 'collection interval while idle', { defaultText: '60s' }),
  spec('--idle-after <cycles>', 'idle cycles before switching to --idle-interval', { defaultText: '4' }),
  spec('--busy-cpu <fraction>', 'worker is busy above this CPU fraction (0-1)', { defaultText: '0.2' }),
  spec('--labels <k=v,...>', 'extra labels on every series'),
  spec('--node-name <name>', 'node label (default: the host name)'),
  spec('--sources <names>', 'sources to run (host,spark,self; spark runs on the driver only)', {
    defaultText: 'host,spark,self',
  }),
  spec('--push-timeout <duration>', 'timeout of one push request', { defaultText: '10s' }),
  spec('--keep-on-exit', 'do not delete the Pushgateway group on exit'),
  spec('--log-level <level>', 'debug, info, warn or error', { defaultText: 'info' }),
  // Not `--env-file`: Node.js 20 takes that flag itself from anywhere on the command line, even
  // in the SEA binary, and applies the file's NODE_OPTIONS before the agent runs.
  spec('--settings-file <path>', 'KEY=VALUE settings file (default: dbx-prom-agent.env beside the binary)'),
  // Spark
  spec('--spark-url <url>', 'Spark UI base URL (default: discovered)'),
  spec('--spark-timeout <duration>', 'timeout of one Spark REST request', { defaultText: '5s' }),
  spec('--driver-env-file <path>', 'Databricks driver env file holding CONF_UI_PORT', {
    defaultText: '/tmp/driver-env.sh',
  }),
  spec('--spark-prometheus', "also forward Spark's own /metrics/*/prometheus endpoints"),
  spec('--max-executor-series <n>', 'cap on per-executor series per cycle', { defaultText: '2000' }),
  spec('--spark-max-response-size <size>', 'largest Spark REST answer read (a larger one fails its endpoint)', { defaultText: '8MiB' }),
  // Remote write
  spec('--queue-dir <path>', 'remote-write disk queue directory', {
    defaultText: '/local_disk0/tmp/dbx-prom-agent, else the OS temp dir',
  }),
  spec('--queue-max-bytes <size>', 'remote-write disk queue cap', { defaultText: '256MiB' }),
  spec('--queue-max-age <duration>', 'drop queued samples older than this', { defaultText: '2h' }),
  spec('--max-samples-per-send <n>', 'samples per remote-write request', { defaultText: '2000' }),
  // Auth
  spec('--bearer-token-file <path>', 'file holding a bearer token (re-read on change)'),
  spec('--bearer-token <token>', 'bearer token (env only)', { envOnly: true }),
  spec('--basic-auth-user <user>', 'basic auth user name'),
  spec('--basic-auth-password-file <path>', 'file holding the basic auth password'),
  spec('--basic-auth-password <password>', 'basic auth password (env only)', { envOnly: true }),
  spec('--oauth2-token-url <url>', 'OAuth2 client-credentials token endpoint'),
  spec('--oauth2-client-id <id>', 'OAuth2 client id'),
  spec('--oauth2-client-secret-file <path>', 'file holding the OAuth2 client secret'),
  spec('--oauth2-client-secret <secret>', 'OAuth2 client secret (env only)', { envOnly: true }),
  spec('--oauth2-scopes <scopes>', 'OAuth2 scopes, comma or space separated'),
  spec('--oauth2-audience <aud>', 'OAuth2 audience parameter'),
  spec('--oauth2-params <k=v,...>', 'extra OAuth2 token request parameters'),
  spec('--oauth2-auth-method <method>', 'client_secret_basic or client_secret_post', {
    defaultText: 'client_secret_basic',
  }),
  // TLS
  spec('--ca-file <path>', 'extra CA certificates (PEM) trusted besides the system CAs'),
  spec('--cert-file <path>', 'client certificate (PEM) for mTLS'),
  spec('--key-file <path>', 'client key (PEM) for mTLS'),
  spec('--tls-server-name <name>', 'expected server name in the certificate'),
  spec('--insecure-skip-verify', 'do not verify server certificates (insecure!)'),
  spec('--allow-insecure-http', 'allow credentials over plain http to a non-loopback host'),
];

/**
 * Upper bounds of durations. Node's timers hold at most 2^31-1 ms (24.8 days) and fire at once
 * beyond it; well below that, a value this large is a typo (600h for 600s), not a wish.
 */
export const MAX_INTERVAL_MS = 24 * 3_600_000;
export const MAX_TIMEOUT_MS = 10 * 60_000;
/** Compared with timestamps only; a week of queue is more than any disk cap holds anyway. */
export const MAX_QUEUE_AGE_MS = 7 * 24 * 3_600_000;

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

export const DEFAULT_SOURCES = ['host', 'spark', 'self'] as const;
export type SourceName = (typeof DEFAULT_SOURCES)[number];

export interface OAuth2Config {
  tokenUrl: string;
  clientId: string;
  clientSecretFile?: string;
  clientSecret?: string;
  scopes: string[];
  audience?: string;
  params: Record<string, string>;
  authMethod: 'client_secret_basic' | 'client_secret_post';
}

export interface AuthConfig {
  bearerTokenFile?: string;
  bearerToken?: string;
  basicAuthUser?: string;
  basicAuthPasswordFile?: string;
  basicAuthPassword?: string;
  oauth2?: OAuth2Config;
}

export interface TlsConfig {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  insecureSkipVerify: boolean;
}

export interface Config {
  pushgatewayUrl?: string;
  remoteWriteUrl?: string;
  job: string;
  intervalMs: number;
  idleIntervalMs: number;
  idleAfter: number;
  busyCpu: number;
  labels: Record<string, string>;
  nodeName?: string;
  sources: SourceName[];
  pushTimeoutMs: number;
  keepOnExit: boolean;
  logLevel: LogLevel;
  settingsFile?: string;
  spark: {
    url?: string;
    timeoutMs: number;
    driverEnvFile: string;
    prometheus: boolean;
    maxExecutorSeries: number;
    maxResponseBytes: number;
  };
  remoteWrite: {
    queueDir: string;
    queueMaxBytes: number;
    queueMaxAgeMs: number;
    maxSamplesPerSend: number;
  };
  auth: AuthConfig;
  tls: TlsConfig;
  allowInsecureHttp: boolean;
  /** The environment the config was read from (process env over env file): for the context. */
  env: Record<string, string | undefined>;
}

export type FlagValues = Record<string, string | boolean | undefined>;

export function defaultQueueDir(): string {
  return existsSync('/local_disk0') ? '/local_disk0/tmp/dbx-prom-agent' : path.join(os.tmpdir(), 'dbx-prom-agent');
}

/** The env file beside the running binary (SEA) or bundle, if there is one. */
export function defaultEnvFile(): string | undefined {
  const candidates = [process.argv[1], process.execPath].filter((p): p is string => !!p);
  for (const c of candidates) {
    const f = path.join(path.dirname(c), 'dbx-prom-agent.env');
    if (existsSync(f)) return f;
  }
  return undefined;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/**
 * Builds Config from parsed flags and the environment. Pure apart from reading the env file
 * and checking that named files are readable.
 */
export function buildConfig(flags: FlagValues, processEnv: Record<string, string | undefined>): Config {
  const byKey = new Map(AGENT_OPTIONS.map((o) => [o.key, o]));
  const label = (key: string): string => {
    const o = byKey.get(key)!;
    return o.envOnly ? o.env : `${/--[a-z0-9-]+/.exec(o.flag)![0]} (${o.env})`;
  };

  // Settings file: named by flag or env (DBX_PROM_ENV_FILE, its name before 0.2, still read),
  // else the one beside the binary. Only settings come from it: the agent never applies its
  // NODE_OPTIONS or any other runtime option.
  const settingsFlag = flags.settingsFile as string | undefined;
  const settingsPath = settingsFlag ?? nonEmpty(processEnv.DBX_PROM_SETTINGS_FILE) ?? nonEmpty(processEnv.DBX_PROM_ENV_FILE) ?? defaultEnvFile();
  let fileEnv: Record<string, string> = {};
  if (settingsPath !== undefined) {
    let text: string;
    try {
      text = readFileSync(settingsPath, 'utf8');
    } catch (e) {
      throw new ConfigError(label('settingsFile'), `cannot read ${settingsPath}: ${(e as Error).message}`);
    }
    try {
      fileEnv = parseEnvFile(text);
    } catch (e) {
      throw new ConfigError(label('settingsFile'), `${settingsPath}: ${(e as Error).message}`);
    }
  }
  const env: Record<string, string | undefined> = { ...fileEnv, ...processEnv };

  const raw = (key: string): string | undefined => {
    const o = byKey.get(key)!;
    const f = o.envOnly ? undefined : flags[key];
    if (typeof f === 'string') return f;
    if (f === true) return 'true';
    const e = env[o.env];
    return e === undefined || e === '' ? undefined : e;
  };
  const str = (key: string, def?: string): string | undefined => raw(key) ?? def;
  const bool = (key: string): boolean => {
    const v = raw(key);
    if (v === undefined) return false;
    if (/^(true|1|yes|on)$/i.test(v)) return true;
    if (/^(false|0|no|off)$/i.test(v)) return false;
    throw new ConfigError(label(key), `"${v}" is not true or false`);
  };
  const duration = (key: string, def: string, minMs: number, maxMs: number): number => {
    const v = raw(key) ?? def;
    const ms = parseDuration(v);
    if (ms === undefined) throw new ConfigError(label(key), `"${v}" is not a duration like 15s, 1m or 500ms`);
    if (ms < minMs) throw new ConfigError(label(key), `"${v}" is below the minimum of ${formatDuration(minMs)}`);
    if (ms > maxMs) throw new ConfigError(label(key), `"${v}" is above the maximum of ${formatDuration(maxMs)}`);
    return ms;
  };
  const int = (key: string, def: number, min: number): number => {
    const v = raw(key);
    if (v === undefined) return def;
    if (!/^\d+$/.test(v.trim()) || Number(v) < min)
      throw new ConfigError(label(key), `"${v}" is not a whole number >= ${min}`);
    return Number(v);
  };
  /** `bare`: the URL is a base the agent appends paths to, so a query or fragment would break every request. */
  const httpUrl = (key: string, bare = false): string | undefined => {
    const v = raw(key);
    if (v === undefined) return undefined;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new ConfigError(label(key), `"${redactUrl(v)}" is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new ConfigError(label(key), `"${redactUrl(v)}" must start with http:// or https://`);
    // A fragment never reaches the server: whatever it was meant to say is lost.
    if (u.hash !== '' || v.includes('#')) throw new ConfigError(label(key), `"${redactUrl(v)}" has a #fragment, which is never sent`);
    if (bare && (u.search !== '' || v.includes('?')))
      throw new ConfigError(label(key), `"${redactUrl(v)}" has a ?query: give the base URL only (paths are appended to it)`);
    // user:pass@ in a URL is a credential too (axios sends it as basic auth): never print it.
    if (u.password !== '') {
      registerSecret(u.password);
      try {
        registerSecret(decodeURIComponent(u.password));
      } catch {
        /* a malformed %-escape: the raw form is registered */
      }
    }
    return v.replace(/\/+$/, '');
  };
  const readable = (key: string): string | undefined => {
    const v = raw(key);
    if (v === undefined) return undefined;
    try {
      accessSync(v, constants.R_OK);
    } catch {
      throw new ConfigError(label(key), `cannot read file ${v}`);
    }
    return v;
  };
  const secret = (key: string): string | undefined => {
    const v = raw(key);
    registerSecret(v);
    return v;
  };
  const keyValues = (key: string): Record<string, string> => {
    const v = raw(key);
    if (v === undefined) return {};
    try {
      return parseKeyValues(v);
    } catch (e) {
      throw new ConfigError(label(key), (e as Error).message);
    }
  };

  const logLevel = (str('logLevel', 'info') as string).toLowerCase();
  if (!(LOG_LEVELS as string[]).includes(logLevel))
    throw new ConfigError(label('logLevel'), `"${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);

  const job = str('job', 'databricks') as string;

  const labels: Record<string, string> = {};
  for (const [name, value] of Object.entries(keyValues('labels'))) {
    if (!isValidLabelName(name)) throw new ConfigError(label('labels'), `"${name}" is not a valid label name`);
    if (RESERVED_LABELS.has(name))
      throw new ConfigError(label('labels'), `"${name}" is set by the agent and cannot be overridden`);
    // `team=` (an unset template variable): Prometheus treats an empty label as absent, so it is left out.
    if (value !== '') labels[name] = value;
  }

  const sourcesText = str('sources', DEFAULT_SOURCES.join(',')) as string;
  const sources = sourcesText.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of sources)
    if (!(DEFAULT_SOURCES as readonly string[]).includes(s))
      throw new ConfigError(label('sources'), `unknown source "${s}" (known: ${DEFAULT_SOURCES.join(', ')})`);

  const intervalMs = duration('interval', '15s', 1000, MAX_INTERVAL_MS);
  const idleIntervalMs = duration('idleInterval', '60s', 1000, MAX_INTERVAL_MS);
  if (idleIntervalMs < intervalMs)
    throw new ConfigError(
      label('idleInterval'),
      raw('idleInterval') === undefined
        ? `is 60s by default, shorter than --interval ${formatDuration(intervalMs)}: set it too, at least as long`
        : 'must not be shorter than --interval',
    );

  const busyText = str('busyCpu', '0.2') as string;
  const busyCpu = Number(busyText);
  if (!Number.isFinite(busyCpu) || busyCpu < 0 || busyCpu > 1)
    throw new ConfigError(label('busyCpu'), `"${busyText}" is not a fraction between 0 and 1`);

  const size = (key: string, def: string, min: number, minText: string): number => {
    const v = str(key, def) as string;
    const n = parseBytes(v);
    if (n === undefined || n < min) throw new ConfigError(label(key), `"${v}" is not a size of at least ${minText}`);
    return n;
  };
  const queueMaxBytes = size('queueMaxBytes', '256MiB', 1024 * 1024, '1MiB');

  const auth: AuthConfig = {
    bearerTokenFile: readable('bearerTokenFile'),
    bearerToken: secret('bearerToken'),
    basicAuthUser: str('basicAuthUser'),
    basicAuthPasswordFile: readable('basicAuthPasswordFile'),
    basicAuthPassword: secret('basicAuthPassword'),
  };
  const oauth2TokenUrl = httpUrl('oauth2TokenUrl');
  if (oauth2TokenUrl !== undefined) {
    const clientId = str('oauth2ClientId');
    if (clientId === undefined) throw new ConfigError(label('oauth2ClientId'), 'is required with --oauth2-token-url');
    const method = str('oauth2AuthMethod', 'client_secret_basic') as string;
    if (method !== 'client_secret_basic' && method !== 'client_secret_post')
      throw new ConfigError(label('oauth2AuthMethod'), `"${method}" is not client_secret_basic or client_secret_post`);
    auth.oauth2 = {
      tokenUrl: oauth2TokenUrl,
      clientId,
      clientSecretFile: readable('oauth2ClientSecretFile'),
      clientSecret: secret('oauth2ClientSecret'),
      scopes: (str('oauth2Scopes') ?? '').split(/[\s,]+/).filter(Boolean),
      audience: str('oauth2Audience'),
      params: keyValues('oauth2Params'),
      authMethod: method,
    };
    if (auth.oauth2.clientSecret === undefined && auth.oauth2.clientSecretFile === undefined)
      throw new ConfigError(label('oauth2ClientSecretFile'), 'or DBX_PROM_OAUTH2_CLIENT_SECRET is required with --oauth2-token-url');
  }
  const chosen = [
    auth.bearerTokenFile !== undefined ? 'bearerTokenFile' : auth.bearerToken !== undefined ? 'bearerToken' : undefined,
    auth.basicAuthUser !== undefined ? 'basicAuthUser' : undefined,
    auth.oauth2 !== undefined ? 'oauth2TokenUrl' : undefined,
  ].filter((k): k is string => k !== undefined);
  const methods = chosen.length;
  if (methods > 1)
    throw new ConfigError(chosen.map(label).join(' and '), 'choose one of bearer token, basic auth or OAuth2');
  if (auth.basicAuthUser !== undefined && auth.basicAuthPassword === undefined && auth.basicAuthPasswordFile === undefined)
    throw new ConfigError(label('basicAuthPasswordFile'), 'or DBX_PROM_BASIC_AUTH_PASSWORD is required with --basic-auth-user');
  if (auth.basicAuthUser === undefined && (auth.basicAuthPassword !== undefined || auth.basicAuthPasswordFile !== undefined))
    throw new ConfigError(label('basicAuthUser'), 'is required with a basic auth password');
  // An OAuth2 setting without the token URL would be silently ignored: say so instead.
  if (oauth2TokenUrl === undefined)
    for (const key of ['oauth2ClientId', 'oauth2ClientSecretFile', 'oauth2ClientSecret', 'oauth2Scopes', 'oauth2Audience', 'oauth2Params', 'oauth2AuthMethod'])
      if (raw(key) !== undefined) throw new ConfigError(label(key), 'needs --oauth2-token-url (DBX_PROM_OAUTH2_TOKEN_URL)');

  const tls: TlsConfig = {
    caFile: readable('caFile'),
    certFile: readable('certFile'),
    keyFile: readable('keyFile'),
    serverName: str('tlsServerName'),
    insecureSkipVerify: bool('insecureSkipVerify'),
  };
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined))
    throw new ConfigError(label(tls.certFile ? 'keyFile' : 'certFile'), 'client certificate and key go together');

  const config: Config = {
    pushgatewayUrl: httpUrl('pushgatewayUrl', true),
    remoteWriteUrl: httpUrl('remoteWriteUrl'),
    job,
    intervalMs,
    idleIntervalMs,
    idleAfter: int('idleAfter', 4, 1),
    busyCpu,
    labels,
    nodeName: str('nodeName'),
    sources: sources as SourceName[],
    pushTimeoutMs: duration('pushTimeout', '10s', 100, MAX_TIMEOUT_MS),
    keepOnExit: bool('keepOnExit'),
    logLevel: logLevel as LogLevel,
    settingsFile: settingsPath,
    spark: {
      url: httpUrl('sparkUrl', true),
      timeoutMs: duration('sparkTimeout', '5s', 100, MAX_TIMEOUT_MS),
      driverEnvFile: str('driverEnvFile', '/tmp/driver-env.sh') as string,
      prometheus: bool('sparkPrometheus'),
      maxExecutorSeries: int('maxExecutorSeries', 2000, 1),
      maxResponseBytes: size('sparkMaxResponseSize', '8MiB', 64 * 1024, '64KiB'),
    },
    remoteWrite: {
      queueDir: str('queueDir') ?? defaultQueueDir(),
      queueMaxBytes,
      queueMaxAgeMs: duration('queueMaxAge', '2h', 1000, MAX_QUEUE_AGE_MS),
      maxSamplesPerSend: int('maxSamplesPerSend', 2000, 1),
    },
    auth,
    tls,
    allowInsecureHttp: bool('allowInsecureHttp'),
    env,
  };
  if (!job.trim()) throw new ConfigError(label('job'), 'must not be empty');

  const userInfo = [config.pushgatewayUrl, config.remoteWriteUrl].some((u) => u !== undefined && new URL(u).username !== '');
  const hasCredentials = methods > 0 || tls.certFile !== undefined || userInfo;
  if (hasCredentials && !config.allowInsecureHttp) {
    for (const key of ['pushgatewayUrl', 'remoteWriteUrl', 'oauth2TokenUrl'] as const) {
      const u = key === 'oauth2TokenUrl' ? oauth2TokenUrl : config[key];
      if (u === undefined) continue;
      const parsed = new URL(u);
      if (parsed.protocol === 'http:' && !isLoopback(parsed.hostname))
        throw new ConfigError(
          label(key),
          `credentials would be sent over plain http to ${parsed.host}; use https:// or --allow-insecure-http`,
        );
    }
  }
  return config;
}

/** Parses `k=v,k2=v2` (values may contain `=`; a comma inside a value is escaped as `\,`). */
export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const parts = text.split(/(?<!\\),/).map((p) => p.trim()).filter(Boolean);
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`"${part}" is not key=value`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim().replace(/\\,/g, ',');
  }
  return out;
}

/** Hides `user:pass@` in a URL so it can go into a log or an error. */
export function redactUrl(url: string): string {
  // Also `user:pass@host` typed without a scheme.
  return url.replace(/(\/\/)[^/@\s]+@/, '$1[REDACTED]@').replace(/^[^/\s:@]+:[^/\s@]+@/, '[REDACTED]@');
}
