/** Runs the built bundle (bundle/dbx-prom-agent.cjs) as a real process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const BUNDLE = path.resolve(__dirname, '../../bundle/dbx-prom-agent.cjs');

export function requireBundle(): void {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build first`);
}

/** The environment for the agent: the test's own, minus any DB_ or DBX_PROM_ variable leaking in. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('DB_') && !k.startsWith('DBX_PROM_') && k !== 'DATABRICKS_RUNTIME_VERSION') env[k] = v;
  return { ...env, ...extra };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its exit with a clean env. Resolves on 'exit', not 'close': a daemon child
 * that kept the pipes open must show as a finished command with a lingering child, not a hang.
 */
export function runProcess(bin: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${path.basename(bin)} ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      // Give the pipes a moment to drain what was written just before the exit.
      setTimeout(() => resolve({ code, stdout, stderr }), 50);
    });
  });
}

export function runAgent(args: string[], env: Record<string, string> = {}, timeoutMs = 30000): Promise<RunResult> {
  requireBundle();
  return runProcess(process.execPath, [BUNDLE, ...args], env, timeoutMs);
}

export interface Daemon {
  proc: ChildProcess;
  stderr(): string;
  /** Sends a signal and resolves with the exit code and how long the exit took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

export function startAgent(args: string[], env: Record<string, string> = {}): Daemon {
  requireBundle();
  const proc = spawn(process.execPath, [BUNDLE, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      const started = Date.now();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
      const code = await exited;
      clearTimeout(t);
      return { code, ms: Date.now() - started };
    },
  };
}
