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
  if (value && value.length >= 4) secrets.add(value);
}

/** Removes registered secrets and URL user-info (`https://user:pass@host`) from text. */
export function redact(text: string): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@"]+(?::[^/\s@"]*)?@/gi, '$1[REDACTED]@');
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join('[REDACTED]');
  }
  return out;
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
let threshold: LogLevel = 'info';
let write: Write = (line) => process.stderr.write(line + '\n');

export function setLogLevel(level: LogLevel): void {
  threshold = level;
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
