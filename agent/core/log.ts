/**
 * Structured JSON logs, one object per line, on stderr (stdout is for `--dry-run` output).
 * Every line passes through `redact`, so a secret registered once never reaches a log,
 * whichever module logs it.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
export const LOG_LEVELS = Object.keys(ORDER) as LogLevel[];

const secrets = new Set<string>();

/** Registers a value that must never be printed (tokens, passwords, client secrets). */
export function registerSecret(value: string | undefined): void {
  // Very short values would redact innocent text everywhere; they are not real secrets.
  if (!value || value.length < 4) return;
  // Also as it appears escaped: in a JSON log line (`"` and `\`), and URL- or form-encoded in
  // an answer that echoes the request back (`%2F`, `+` for a space).
  for (const form of secretForms(value)) secrets.add(form);
}

function secretForms(value: string): Set<string> {
  const url = encodeURIComponent(value);
  return new Set([value, jsonEscaped(value), url, url.replace(/%20/g, '+')]);
}

const jsonEscaped = (v: string): string => JSON.stringify(v).slice(1, -1);

/** Swaps a rotated secret (an expired OAuth2 token) for its successor, keeping the set small. */
export function replaceSecret(old: string | undefined, value: string | undefined): void {
  if (old !== undefined && old !== value) for (const form of secretForms(old)) secrets.delete(form);
  registerSecret(value);
}

const R = '[REDACTED]';

/**
 * "invalid DBX_PROM_OAUTH2_CLIENT_SECRET: needs --oauth2-token-url" names one of our settings
 * in prose (the name, a colon and a space): it carries no value. The same name with `=` or in
 * JSON (`DBX_PROM_BASIC_AUTH_PASSWORD=…`, `{"DBX_PROM_…_SECRET":"…"}`) still does.
 */
function fieldReplacer(match: string, prefix: string, offset: number, whole: string): string {
  const before = whole.slice(Math.max(0, offset - 64), offset);
  if (/DBX_PROM_[A-Z0-9_]*$/i.test(before) && /^[a-z0-9_]+:\s/i.test(prefix)) return match;
  return `${prefix}${R}`;
}

/**
 * Patterns redacted even when the value was never registered: URL user-info
 * (`https://user:pass@host`), Authorization header values, and JSON/form/query fields whose
 * name says secret (RFC 6749 `access_token`, `client_secret`, `password`...).
 */
const PATTERNS: [RegExp, string][] = [
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@"'<>]+(?::[^/\s@"'<>]*)?@/gi, `$1${R}@`],
  // A credential has a digit or symbol in it: "Basic auth" in prose stays readable.
  [/\b(Bearer|Basic)(\s+)(?=[A-Za-z]*[0-9\-._~+/=])[A-Za-z0-9\-._~+/]{4,}=*/g, `$1$2${R}`],
];
const CREDENTIAL_FIELD =
  /((?:authorization|access_token|refresh_token|id_token|client_secret|password|api_key)\\?["']?\s*[:=]\s*\\?["']?)(?!\[REDACTED\])(?:(?:Bearer|Basic)\s+)?[^"'\\\s,;&}]{4,}/gi;

/** Removes registered secrets, URL user-info and credential-looking fields from text. */
export function redact(text: string): string {
  let out = text;
  // Registered values first: longest first, so a secret containing another is removed whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join(R);
  }
  for (const [re, to] of PATTERNS) out = out.replace(re, to);
  return out.replace(CREDENTIAL_FIELD, fieldReplacer);
}

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

type Write = (line: string) => void;
const DEFAULT_LEVEL: LogLevel = 'info';
const toStderr: Write = (line) => process.stderr.write(line + '\n');
let threshold: LogLevel = DEFAULT_LEVEL;
let write: Write = toStderr;

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/**
 * For tests: forgets every registered secret and puts the level (info) and the output (stderr)
 * back as a fresh process has them, so one test's secrets and level do not leak into the next
 * (test/helpers/setup.ts calls it before each test). The agent itself never calls it.
 */
export function resetLogState(): void {
  secrets.clear();
  threshold = DEFAULT_LEVEL;
  write = toStderr;
}

/** For tests: capture log lines. Returns a function that restores stderr output. */
export function captureLogs(sink: Write): () => void {
  const previous = write;
  write = sink;
  return () => {
    write = previous;
  };
}

function errorFields(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return code ? `${value.message} (${code})` : value.message;
  }
  return value;
}

function makeLogger(base: Fields): Logger {
  const emit = (level: LogLevel, msg: string, fields?: Fields): void => {
    if (ORDER[level] < ORDER[threshold]) return;
    const record: Fields = { ts: new Date().toISOString(), level, msg, ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) record[k] = errorFields(v);
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ ts: record.ts, level, msg });
    }
    write(redact(line));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => makeLogger({ ...base, ...f }),
  };
}

export const log: Logger = makeLogger({});
