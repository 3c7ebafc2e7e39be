/**
 * A Prometheus remote-write receiver that can be stopped and started again on the same port and
 * data directory (an outage of the receiver, not a new one), for the remote-write outage test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, httpOk, tempDir, waitFor } from './servers';

export interface RestartablePrometheus {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it if running and removes its directory. */
  destroy(): Promise<void>;
  output(): string;
}

export async function restartablePrometheus(extraArgs: string[] = ['--web.enable-remote-write-receiver']): Promise<RestartablePrometheus> {
  const port = await freePort();
  const dir = tempDir('dbx-prom-rw-');
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(path.join(dir, 'prometheus.yml'), 'global: {}\n');
  mkdirSync(path.join(dir, 'data'));
  let proc: ChildProcess | undefined;
  let out = '';

  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGTERM');
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
      const p = spawn(
        'prometheus',
        [
          `--config.file=${path.join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${path.join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          ...extraArgs,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      proc = p;
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      try {
        await waitFor(async () => {
          if (p.exitCode !== null) throw new Error(`prometheus exited: ${out}`);
          return httpOk(url + '/-/ready');
        }, 30000, `prometheus on ${url}`);
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

/** Raw samples of every series matching `selector` over the last `range` (e.g. `10m`), via a range-vector query. */
export async function rawSamples(
  url: string,
  selector: string,
  range = '30m',
): Promise<{ metric: Record<string, string>; values: [number, string][] }[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(`${selector}[${range}]`)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  if (body.status !== 'success') throw new Error(`query ${selector}: ${body.error}`);
  return body.data.result;
}
