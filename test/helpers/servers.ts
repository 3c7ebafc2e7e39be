/**
 * Real servers for integration tests: Debian's prometheus, prometheus-pushgateway and
 * prometheus-node-exporter, started on 127.0.0.1 on free ports and stopped after the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = 'dbx-prom-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 15000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url);
  return res.ok;
}

export interface Spawned {
  proc: ChildProcess;
  dir: string;
  output(): string;
  /** SIGTERM (SIGKILL after 5 s), then removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * Spawns a server owning the temp dir `dir` and waits until `ready` says so (it may throw to
 * fail fast). On failure the server is stopped and the error carries its output.
 */
export async function spawnUntilReady(
  bin: string,
  args: string[],
  dir: string,
  ready: (s: Spawned) => Promise<boolean>,
  what: string,
  timeoutMs = 20000,
): Promise<Spawned> {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const spawned: Spawned = {
    proc,
    dir,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(async () => {
      if (await ready(spawned)) return true;
      if (proc.exitCode !== null) throw new Error(`${bin} exited: ${out}`);
      return false;
    }, timeoutMs, what);
  } catch (e) {
    await spawned.stop();
    throw new Error(`${(e as Error).message}\n${out}`);
  }
  return spawned;
}

export interface Server extends Spawned {
  url: string;
  port: number;
}

export async function startServer(
  bin: string,
  args: (port: number, dir: string) => string[],
  readyPath: string,
  fixedPort?: number,
): Promise<Server> {
  const port = fixedPort ?? (await freePort());
  const dir = tempDir();
  const url = `http://127.0.0.1:${port}`;
  const s = await spawnUntilReady(bin, args(port, dir), dir, () => httpOk(url + readyPath).catch(() => false), `${bin} on ${url}`);
  return { ...s, url, port };
}

export function startPushgateway(extraArgs: string[] = [], port?: number): Promise<Server> {
  return startServer(
    'prometheus-pushgateway',
    // Debian's build persists to one shared file by default; tests must not share state.
    (p) => [
      `--web.listen-address=127.0.0.1:${p}`,
      ...(extraArgs.some((a) => a.startsWith('--persistence.file')) ? [] : ['--persistence.file=']),
      ...extraArgs,
    ],
    '/-/ready',
    port,
  );
}

export function startNodeExporter(extraArgs: string[] = []): Promise<Server> {
  return startServer(
    'prometheus-node-exporter',
    (port) => [`--web.listen-address=127.0.0.1:${port}`, ...extraArgs],
    '/metrics',
  );
}

/** Prometheus with a config file written into its temp dir; `config` may use `{{dir}}`. */
export function startPrometheus(config = 'global: {}\n', extraArgs: string[] = []): Promise<Server> {
  return startServer(
    'prometheus',
    (port, dir) => {
      writeFileSync(path.join(dir, 'prometheus.yml'), config.replace(/\{\{dir\}\}/g, dir));
      return [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        ...extraArgs,
      ];
    },
    '/-/ready',
  );
}

/** Series from the Pushgateway's JSON API, flattened: one entry per (group, metric, sample). */
export interface PgSeries {
  group: Record<string, string>;
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface PgMetricFamily {
  metrics: { labels: Record<string, string>; value?: string }[];
}

export async function pushgatewaySeries(url: string): Promise<PgSeries[]> {
  const res = await fetch(`${url}/api/v1/metrics`);
  const body = (await res.json()) as { data: (Record<string, unknown> & { labels: Record<string, string> })[] };
  const out: PgSeries[] = [];
  for (const group of body.data) {
    for (const [name, fam] of Object.entries(group)) {
      if (name === 'labels' || typeof fam !== 'object' || fam === null || !('metrics' in fam)) continue;
      for (const m of (fam as PgMetricFamily).metrics)
        if (m.value !== undefined) out.push({ group: group.labels, name, labels: m.labels, value: Number(m.value) });
    }
  }
  return out;
}

/** Instant query against Prometheus. */
export async function promQuery(url: string, query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`query ${query}: ${body.error}`);
  return body.data.result;
}
