/**
 * What the process-level parts run: the bundle (`BENCH_BUNDLE=/path/to/other.cjs` measures
 * another one, e.g. an older build for a before/after comparison) and the SEA binary
 * (`BENCH_SEA=/path/to/binary`). Both default to the ones `npm run build` makes in bundle/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { BUNDLE as BUILT_BUNDLE, cleanEnv, runProcess, type RunResult } from '../test/helpers/agent';

export const BUNDLE = path.resolve(process.env.BENCH_BUNDLE || BUILT_BUNDLE);
export const SEA = path.resolve(process.env.BENCH_SEA || path.join(__dirname, `../bundle/dbx-prom-agent-linux-${process.arch}`));

export function requireBundle(): void {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build (or node esbuild.config.mjs) first, or set BENCH_BUNDLE`);
}

/** `path (size, mtime, sha256 prefix)`: which build a figure belongs to. */
export function describeFile(file: string): string {
  if (!existsSync(file)) return `${file} (missing)`;
  const st = statSync(file);
  const size = st.size >= 1e6 ? `${(st.size / 1e6).toFixed(1)} MB` : `${(st.size / 1e3).toFixed(0)} kB`;
  const sha = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);
  const rel = path.relative(process.cwd(), file);
  return `${rel.startsWith('..') ? file : rel} (${size}, ${st.mtime.toISOString().replace(/\.\d+Z$/, 'Z')}, sha256 ${sha})`;
}

/** `once`/`doctor` style: the bundle to its exit. */
export function runBundle(args: string[], env: Record<string, string> = {}, timeoutMs = 30000): Promise<RunResult> {
  requireBundle();
  return runProcess(process.execPath, [BUNDLE, ...args], env, timeoutMs);
}

export interface Daemon {
  proc: ChildProcess;
  pid: number;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A long-running process with a clean env (no DB_/DBX_PROM_ leaking in), stdout discarded. */
export function startDaemon(bin: string, args: string[], env: Record<string, string> = {}): Daemon {
  const proc = spawn(bin, args, { env: cleanEnv(env), stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    // Keep the tail only: a daemon logging for minutes must not grow the bench's heap.
    err = (err + d.toString()).slice(-20000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    pid: proc.pid!,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(t);
    },
  };
}

export function startBundle(args: string[], env: Record<string, string> = {}): Daemon {
  requireBundle();
  return startDaemon(process.execPath, [BUNDLE, ...args], env);
}
