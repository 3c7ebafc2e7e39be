/**
 * A server process that can be stopped and started again on the same port and data directory (an
 * outage of the receiver, not a new one): the plumbing under restartablePrometheus and
 * restartableVictoriaMetrics. Unlike servers.ts's spawnUntilReady, stopping it keeps its directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { freePort, httpOk, tempDir, waitFor } from './servers';

export interface RestartableServer {
  readonly url: string;
  readonly port: number;
  /** Its own temp dir, kept across restarts; holds an empty `data` subdirectory to start with. */
  readonly dir: string;
  readonly running: boolean;
  /** Spawns it (no-op if running) and waits until `readyPath` answers 2xx; on failure stops it and throws with its output. */
  start(): Promise<void>;
  /** SIGTERM, SIGKILL after 10 s; waits for the exit. */
  stop(): Promise<void>;
  /** Stops it if running and removes its directory. */
  destroy(): Promise<void>;
  /** stdout and stderr of every run so far. */
  output(): string;
}

/**
 * A restartable `bin` on a free port of 127.0.0.1, run as `bin ...argsFor(port, dir)`, ready when
 * `http://127.0.0.1:<port><readyPath>` answers 2xx.
 */
export async function restartableServer(
  bin: string,
  argsFor: (port: number, dir: string) => string[],
  readyPath: string,
  dirPrefix = `dbx-prom-${bin}-`,
): Promise<RestartableServer> {
  const port = await freePort();
  const dir = tempDir(dirPrefix);
  const url = `http://127.0.0.1:${port}`;
  mkdirSync(path.join(dir, 'data'));
  let proc: ChildProcess | undefined;
  let out = '';

  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGTERM'); // a clean stop: the server flushes to disk and releases the data dir's lock
    const t = setTimeout(() => p.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(t);
  };

  return {
    url,
    port,
    dir,
    get running() {
      return proc !== undefined;
    },
    output: () => out,
    async start() {
      if (proc) return;
      const p = spawn(bin, argsFor(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
      proc = p;
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      try {
        await waitFor(async () => {
          if (p.exitCode !== null) throw new Error(`${bin} exited: ${out}`);
          return httpOk(url + readyPath);
        }, 30000, `${bin} on ${url}`);
      } catch (e) {
        await stop();
        throw new Error(`${(e as Error).message}\n${out.slice(-2000)}`);
      }
    },
    stop,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
