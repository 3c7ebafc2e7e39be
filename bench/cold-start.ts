/**
 * Target 4: cold start to first push against `node -e 0`. From spawning `once` (host and self
 * sources) to the first PUT reaching the receiver, and to the process exit, for the bundle
 * (`node dbx-prom-agent.cjs`, or BENCH_BUNDLE) and the SEA binary (or BENCH_SEA; skipped when
 * absent), against spawn to exit of `node -e 0`: the same number of runs, interleaved (bundle,
 * SEA, node -e 0, bundle, ...) so load from elsewhere on the host falls on all alike. One
 * run of each first warms the page cache (a cluster start reads the file once too). The
 * receiver is a local server answering 200 like the Pushgateway, so its speed is not measured.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { cleanEnv } from '../test/helpers/agent';
import { BUNDLE, SEA, requireBundle } from './binaries';
import { median, ms, table } from './proc';
import { ratioTarget } from './summary';

export interface ColdStart {
  name: string;
  /** Median spawn to first PUT (undefined for `node -e 0`). */
  firstPush?: number;
  exit: number;
}

interface Receiver {
  url: string;
  nextPut(): Promise<number>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  let waiter: ((t: number) => void) | undefined;
  const server = http.createServer((req, res) => {
    const t = performance.now();
    req.resume();
    req.on('end', () => {
      res.writeHead(200).end();
      if (req.method === 'PUT' && waiter) {
        waiter(t);
        waiter = undefined;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    nextPut: () => new Promise((r) => (waiter = r)),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function spawnToExit(cmd: string, args: string[]): { t0: number; exited: Promise<number> } {
  const t0 = performance.now();
  const p = spawn(cmd, args, { env: cleanEnv(), stdio: 'ignore' });
  const exited = new Promise<number>((resolve, reject) =>
    p.on('exit', (code) => (code === 0 ? resolve(performance.now()) : reject(new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${code}`)))),
  );
  return { t0, exited };
}

async function agentOnce(cmd: string, args: string[], rx: Receiver): Promise<{ firstPush: number; exit: number }> {
  const put = rx.nextPut();
  const { t0, exited } = spawnToExit(cmd, [...args, 'once', '--pushgateway-url', rx.url, '--sources', 'host,self']);
  const [t1, t2] = await Promise.all([put, exited]);
  return { firstPush: (t1 - t0) / 1000, exit: (t2 - t0) / 1000 };
}

async function nodeE0(): Promise<number> {
  const { t0, exited } = spawnToExit(process.execPath, ['-e', '0']);
  return ((await exited) - t0) / 1000;
}

export interface ColdStartResult {
  results: ColdStart[];
  skipped: string[];
  runs: number;
}

export async function benchColdStart(runs: number): Promise<ColdStartResult> {
  requireBundle();
  const rx = await startReceiver();
  const skipped: string[] = [];
  try {
    const agents: [string, string, string[]][] = [[`bundle (node ${path.basename(BUNDLE)})`, process.execPath, [BUNDLE]]];
    if (existsSync(SEA)) agents.push([`SEA binary (${path.basename(SEA)})`, SEA, []]);
    else skipped.push(`SEA binary: ${path.relative(process.cwd(), SEA)} not built (npm run build makes it where it can; or set BENCH_SEA)`);
    const firstPush = agents.map(() => [] as number[]);
    const exit = agents.map(() => [] as number[]);
    const node: number[] = [];
    for (let i = -1; i < runs; i++) {
      for (const [k, [, cmd, args]] of agents.entries()) {
        const r = await agentOnce(cmd, args, rx);
        if (i < 0) continue; // the warm-up round
        firstPush[k]!.push(r.firstPush);
        exit[k]!.push(r.exit);
      }
      const n = await nodeE0();
      if (i >= 0) node.push(n);
    }
    const results: ColdStart[] = agents.map(([name], k) => ({ name, firstPush: median(firstPush[k]!), exit: median(exit[k]!) }));
    results.push({ name: 'node -e 0', exit: median(node) });
    return { results, skipped, runs };
  } finally {
    await rx.close();
  }
}

export function formatColdStart(r: ColdStartResult): string {
  const node = r.results.find((x) => x.firstPush === undefined)!;
  const lines = [
    table(
      [`cold start, once --sources host,self (median of ${r.runs}, interleaved)`, 'spawn to first PUT', 'spawn to exit', 'first PUT / node -e 0'],
      r.results.map((x) => [x.name, x.firstPush === undefined ? '-' : ms(x.firstPush), ms(x.exit), x.firstPush === undefined ? '-' : `${(x.firstPush / node.exit).toFixed(2)}x`]),
    ),
  ];
  for (const s of r.skipped) lines.push(`skipped: ${s}`);
  return lines.join('\n');
}

export function addColdTargets(r: ColdStartResult): void {
  const node = r.results.find((x) => x.firstPush === undefined)!;
  for (const x of r.results)
    if (x.firstPush !== undefined) ratioTarget(`4. cold start to first PUT, ${x.name.split(' ')[0]} / node -e 0 exit`, x.firstPush, node.exit, 1.5, ms);
}
