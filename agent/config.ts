/**
 * The agent's one typed configuration, built once at start from flags > env > settings file >
 * defaults and validated there. The spine's own options are declared here; every source, sink,
 * sign-in method and the TLS settings declare and parse theirs next to their code, and this
 * module only walks their tables. A bad value throws ConfigError naming the flag and its env
 * variable; the CLI turns that into exit status 2. Everything after this module trusts Config.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatDuration } from './core/duration';
import { parseEnvFile } from './core/env-file';
import { MAX_INTERVAL_MS, MAX_TIMEOUT_MS } from './core/limits';
import { LOG_LEVELS, type LogLevel } from './core/log';
import { ConfigError, createSettings, isLoopback, nonEmpty, option, settingName, type FlagValues, type OptionSpec, type Settings } from './core/options';
import { AUTH_OPTIONS, chosenAuth, parseAuth, type AuthConfigs } from './http/auth/index';
import { parseTls, TLS_OPTIONS, type TlsConfig } from './http/tls-options';
import { RESERVED_LABELS, isValidLabelName } from './labels';
import { SINK_OPTIONS, parseSinks, type SinkConfigs } from './sinks/index';
import { SOURCE_OPTIONS, parseSourceList, parseSources, type SourceConfigs } from './sources/index';

export { ConfigError, parseKeyValues, type FlagValues, type OptionSpec } from './core/options';

/** The spine's options: what the schedule, the labels, the log and every push share. */
const O = {
  job: option('--job <name>', 'job label and Pushgateway job', { defaultText: 'databricks', policyFlag: true }),
  interval: option('--interval <duration>', 'collection interval while busy', { defaultText: '15s', policyFlag: true }),
  idleInterval: option('--idle-interval <duration>', 'collection interval while idle', { defaultText: '60s', policyFlag: true }),
  idleAfter: option('--idle-after <cycles>', 'idle cycles before switching to --idle-interval', { defaultText: '4' }),
  busyCpu: option('--busy-cpu <fraction>', 'worker is busy above this CPU fraction (0-1)', { defaultText: '0.2' }),
  labels: option('--labels <k=v,...>', 'extra labels on every series', { policyFlag: true }),
  nodeName: option('--node-name <name>', 'node label (default: the host name)'),
  pushTimeout: option('--push-timeout <duration>', 'timeout of one push request', { defaultText: '10s' }),
  keepOnExit: option('--keep-on-exit', "do not end this node's series on exit (no Pushgateway DELETE, no staleness markers)"),
  logLevel: option('--log-level <level>', 'debug, info, warn or error', { defaultText: 'info' }),
  // Not `--env-file`: Node.js 20 takes that flag itself from anywhere on the command line, even
  // in the SEA binary, and applies the file's NODE_OPTIONS before the agent runs.
  settingsFile: option('--settings-file <path>', 'KEY=VALUE settings file (default: dbx-prom-agent.env beside the binary)'),
  allowInsecureHttp: option('--allow-insecure-http', 'allow credentials over plain http to a non-loopback host'),
} as const;

export const CORE_OPTIONS: readonly OptionSpec[] = Object.values(O);

/** Every option of run, once and doctor: the spine's, then each table's. Commands add their own (gc, policy). */
export const AGENT_OPTIONS: readonly OptionSpec[] = [...CORE_OPTIONS, ...SOURCE_OPTIONS, ...SINK_OPTIONS, ...AUTH_OPTIONS, ...TLS_OPTIONS];

export interface Config {
  job: string;
  intervalMs: number;
  idleIntervalMs: number;
  idleAfter: number;
  busyCpu: number;
  labels: Record<string, string>;
  nodeName?: string;
  /** The sources listed in --sources (each runs where it applies). */
  sources: string[];
  /** Each source's own options, by source name. */
  source: SourceConfigs;
  /** The configured sinks' options, by sink name. */
  sinks: SinkConfigs;
  pushTimeoutMs: number;
  keepOnExit: boolean;
  logLevel: LogLevel;
  settingsFile?: string;
  auth: AuthConfigs;
  tls: TlsConfig;
  allowInsecureHttp: boolean;
  /** The environment the config was read from (process env over env file): for the context. */
  env: Record<string, string | undefined>;
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

/**
 * The settings file, named by flag or env (DBX_PROM_ENV_FILE, its name before 0.2, still read),
 * else the one beside the binary. Only settings come from it: the agent never applies its
 * NODE_OPTIONS or any other runtime option.
 */
function readSettingsFile(flags: FlagValues, processEnv: Record<string, string | undefined>): { path?: string; env: Record<string, string> } {
  const file = (flags[O.settingsFile.key] as string | undefined) ?? nonEmpty(processEnv[O.settingsFile.env]) ?? nonEmpty(processEnv.DBX_PROM_ENV_FILE) ?? defaultEnvFile();
  if (file === undefined) return { env: {} };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(settingName(O.settingsFile), `cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return { path: file, env: parseEnvFile(text) };
  } catch (e) {
    throw new ConfigError(settingName(O.settingsFile), `${file}: ${(e as Error).message}`);
  }
}

function parseLabels(s: Settings): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [name, value] of Object.entries(s.keyValues(O.labels))) {
    if (!isValidLabelName(name)) throw s.error(O.labels, `"${name}" is not a valid label name`);
    if (RESERVED_LABELS.has(name)) throw s.error(O.labels, `"${name}" is set by the agent and cannot be overridden`);
    // `team=` (an unset template variable): Prometheus treats an empty label as absent, so it is left out.
    if (value !== '') labels[name] = value;
  }
  return labels;
}

function parseIntervals(s: Settings): { intervalMs: number; idleIntervalMs: number } {
  const intervalMs = s.duration(O.interval, '15s', 1000, MAX_INTERVAL_MS);
  const idleIntervalMs = s.duration(O.idleInterval, '60s', 1000, MAX_INTERVAL_MS);
  if (idleIntervalMs < intervalMs)
    throw s.error(
      O.idleInterval,
      s.given(O.idleInterval)
        ? 'must not be shorter than --interval'
        : `is 60s by default, shorter than --interval ${formatDuration(intervalMs)}: set it too, at least as long`,
    );
  return { intervalMs, idleIntervalMs };
}

function parseCore(s: Settings): Omit<Config, 'sources' | 'source' | 'sinks' | 'auth' | 'tls' | 'env' | 'settingsFile'> {
  const logLevel = s.str(O.logLevel, 'info').toLowerCase();
  if (!(LOG_LEVELS as string[]).includes(logLevel)) throw s.error(O.logLevel, `"${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  const busyText = s.str(O.busyCpu, '0.2');
  const busyCpu = Number(busyText);
  if (!Number.isFinite(busyCpu) || busyCpu < 0 || busyCpu > 1) throw s.error(O.busyCpu, `"${busyText}" is not a fraction between 0 and 1`);
  const job = s.str(O.job, 'databricks');
  if (!job.trim()) throw s.error(O.job, 'must not be empty');
  return {
    job,
    ...parseIntervals(s),
    idleAfter: s.int(O.idleAfter, 4, 1),
    busyCpu,
    labels: parseLabels(s),
    nodeName: s.str(O.nodeName),
    pushTimeoutMs: s.duration(O.pushTimeout, '10s', 100, MAX_TIMEOUT_MS),
    keepOnExit: s.bool(O.keepOnExit),
    logLevel: logLevel as LogLevel,
    allowInsecureHttp: s.bool(O.allowInsecureHttp),
  };
}

/**
 * Credentials go over plain http only to loopback (or with --allow-insecure-http): every URL
 * option that says it carries credentials is checked, whichever component owns it.
 */
function checkPlainHttp(s: Settings, hasCredentials: boolean): void {
  const urls = AGENT_OPTIONS.filter((o) => o.carriesCredentials && s.given(o));
  const userInfo = urls.some((o) => URL.canParse(s.str(o)!) && new URL(s.str(o)!).username !== '');
  if (!(hasCredentials || userInfo) || s.bool(O.allowInsecureHttp)) return;
  for (const o of urls) {
    const u = new URL(s.str(o)!);
    if (u.protocol === 'http:' && !isLoopback(u.hostname))
      throw s.error(o, `credentials would be sent over plain http to ${u.host}; use https:// or --allow-insecure-http`);
  }
}

/** A sign-in method's own word on the URLs its credentials go to (config.ts has the URLs). */
function checkAuthUrls(s: Settings, auth: AuthConfigs): void {
  const chosen = chosenAuth(auth);
  if (!chosen?.method.refusesUrl) return;
  for (const o of AGENT_OPTIONS.filter((x) => x.carriesCredentials && s.given(x))) {
    const why = URL.canParse(s.str(o)!) ? chosen.method.refusesUrl(chosen.options, new URL(s.str(o)!)) : undefined;
    if (why !== undefined) throw s.error(o, why);
  }
}

/**
 * Builds Config from parsed flags and the environment. Pure apart from reading the settings
 * file and checking that named files are readable.
 */
export function buildConfig(flags: FlagValues, processEnv: Record<string, string | undefined>): Config {
  const file = readSettingsFile(flags, processEnv);
  const env: Record<string, string | undefined> = { ...file.env, ...processEnv };
  const s = createSettings(flags, env);
  const core = parseCore(s);
  const config: Config = {
    ...core,
    sources: parseSourceList(s),
    source: parseSources(s),
    sinks: parseSinks(s),
    auth: parseAuth(s),
    tls: parseTls(s),
    settingsFile: file.path,
    env,
  };
  checkPlainHttp(s, chosenAuth(config.auth) !== undefined || config.tls.certFile !== undefined);
  checkAuthUrls(s, config.auth);
  return config;
}
