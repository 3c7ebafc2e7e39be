/**
 * An option is declared once, next to the component that owns it (Alloy's `Arguments`): its
 * flag, env name, help and default, and the component's own `parse` reads it through Settings,
 * which applies flag > env > settings file > default and throws ConfigError naming the setting.
 * The CLI, `policy`, `doctor` and the README test read the same declarations.
 */
import { accessSync, constants } from 'node:fs';
import { formatDuration, parseBytes, parseDuration } from './duration';
import { registerSecret } from './log';

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`invalid ${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface OptionSpec {
  /** Commander's attribute name, derived from the flag (`--spark-url` → sparkUrl). */
  readonly key: string;
  readonly flag: string;
  readonly env: string;
  readonly description: string;
  readonly defaultText?: string;
  readonly boolean?: boolean;
  /** Also `--no-<flag>` (node_exporter's collector switches); unset when neither is given. */
  readonly negatable?: boolean;
  /** Only from env (literal secrets: a flag would show in `ps`). */
  readonly envOnly?: boolean;
  /** A URL credentials are sent to: never over plain http to another host (see config.ts). */
  readonly carriesCredentials?: boolean;
  /** `policy` takes it as a flag of its own (the common settings); the rest go by --env. */
  readonly policyFlag?: boolean;
}

export function option(flag: string, description: string, extra: Partial<OptionSpec> = {}): OptionSpec {
  const long = /--([a-z0-9.-]+)/.exec(flag)![1]!;
  const key = long.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const env = 'DBX_PROM_' + long.replace(/[-.]/g, '_').toUpperCase();
  return { key, flag, env, description, boolean: !flag.includes('<'), ...extra };
}

/** The flag without its argument: `--spark-url <url>` → `--spark-url`. */
export function flagName(o: OptionSpec): string {
  return /--[a-z0-9.-]+/.exec(o.flag)![0];
}

/** `--spark-url (DBX_PROM_SPARK_URL)`, or the env name alone for env-only settings. */
export function settingName(o: OptionSpec): string {
  return o.envOnly ? o.env : `${flagName(o)} (${o.env})`;
}

export type FlagValues = Record<string, string | boolean | undefined>;

/** What a component's parse reads its options with. Every failure names the option. */
export interface Settings {
  /** The environment the settings were read from (process env over the settings file). */
  readonly env: Readonly<Record<string, string | undefined>>;
  given(o: OptionSpec): boolean;
  str(o: OptionSpec): string | undefined;
  str(o: OptionSpec, def: string): string;
  bool(o: OptionSpec): boolean;
  /** true, false, or undefined when neither flag nor env says. */
  switch(o: OptionSpec): boolean | undefined;
  duration(o: OptionSpec, def: string, minMs: number, maxMs: number): number;
  int(o: OptionSpec, def: number, min: number): number;
  size(o: OptionSpec, def: string, min: number, minText: string): number;
  /** `bare`: a base the agent appends paths to, so a ?query would break every request. */
  httpUrl(o: OptionSpec, bare?: boolean): string | undefined;
  /** A path that must be readable now. */
  readable(o: OptionSpec): string | undefined;
  /** A literal secret: registered with the log redactor before anything can print it. */
  secret(o: OptionSpec): string | undefined;
  keyValues(o: OptionSpec): Record<string, string>;
  /** A ConfigError naming the option. */
  error(o: OptionSpec, message: string): ConfigError;
}

/** An unset or empty env value is no value. */
export const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

export function createSettings(flags: FlagValues, env: Readonly<Record<string, string | undefined>>): Settings {
  const raw = (o: OptionSpec): string | undefined => {
    const f = o.envOnly ? undefined : flags[o.key];
    if (typeof f === 'string') return f;
    if (f === true) return 'true';
    if (f === false) return 'false';
    return nonEmpty(env[o.env]);
  };
  const error = (o: OptionSpec, message: string): ConfigError => new ConfigError(settingName(o), message);
  const switchOf = (o: OptionSpec): boolean | undefined => {
    const v = raw(o);
    if (v === undefined) return undefined;
    if (/^(true|1|yes|on)$/i.test(v)) return true;
    if (/^(false|0|no|off)$/i.test(v)) return false;
    throw error(o, `"${v}" is not true or false`);
  };
  function str(o: OptionSpec): string | undefined;
  function str(o: OptionSpec, def: string): string;
  function str(o: OptionSpec, def?: string): string | undefined {
    return raw(o) ?? def;
  }
  return {
    env,
    given: (o) => raw(o) !== undefined,
    str,
    bool: (o) => switchOf(o) ?? false,
    switch: switchOf,
    duration(o, def, minMs, maxMs) {
      const v = raw(o) ?? def;
      const ms = parseDuration(v);
      if (ms === undefined) throw error(o, `"${v}" is not a duration like 15s, 1m or 500ms`);
      if (ms < minMs) throw error(o, `"${v}" is below the minimum of ${formatDuration(minMs)}`);
      if (ms > maxMs) throw error(o, `"${v}" is above the maximum of ${formatDuration(maxMs)}`);
      return ms;
    },
    int(o, def, min) {
      const v = raw(o);
      if (v === undefined) return def;
      if (!/^\d+$/.test(v.trim()) || Number(v) < min) throw error(o, `"${v}" is not a whole number >= ${min}`);
      return Number(v);
    },
    size(o, def, min, minText) {
      const v = raw(o) ?? def;
      const n = parseBytes(v);
      if (n === undefined || n < min) throw error(o, `"${v}" is not a size of at least ${minText}`);
      return n;
    },
    httpUrl: (o, bare = false) => checkHttpUrl(raw(o), bare, (m) => error(o, m)),
    readable(o) {
      const v = raw(o);
      if (v !== undefined && !isReadable(v)) throw error(o, `cannot read file ${v}`);
      return v;
    },
    secret(o) {
      const v = raw(o);
      registerSecret(v);
      return v;
    },
    keyValues(o) {
      const v = raw(o);
      if (v === undefined) return {};
      try {
        return parseKeyValues(v);
      } catch (e) {
        throw error(o, (e as Error).message);
      }
    },
    error,
  };
}

function isReadable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function checkHttpUrl(v: string | undefined, bare: boolean, error: (m: string) => ConfigError): string | undefined {
  if (v === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw error(`"${redactUrl(v)}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw error(`"${redactUrl(v)}" must start with http:// or https://`);
  // A fragment never reaches the server: whatever it was meant to say is lost.
  if (u.hash !== '' || v.includes('#')) throw error(`"${redactUrl(v)}" has a #fragment, which is never sent`);
  if (bare && (u.search !== '' || v.includes('?')))
    throw error(`"${redactUrl(v)}" has a ?query: give the base URL only (paths are appended to it)`);
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

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}
