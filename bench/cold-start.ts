/**
 * Cold start to first push: from spawning `once` (host and self sources) to the first PUT
 * reaching the receiver, and to the process exit, for the bundle (`node dbx-prom-agent.cjs`)
 * and the SEA binary (skipped when absent or built for another architecture). The receiver is
 * a local server answering 200 like the Pushgateway, so its own speed is not measured.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { BUNDLE, cleanEnv } from '../test/helpers/agent';
import { median, ms, ratio, table } from './proc';

export const SEA = path.resolve(__dirname, `../bundle/dbx-prom-agent-linux-${process.arch}`);

export interface ColdStart {
  name: string;
  firstPush: number;
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

async function once(cmd: string, args: string[], rx: Receiver): Promise<{ firstPush: number; exit: number }> {
  const put = rx.nextPut();
  const t0 = performance.now();
  const p = spawn(cmd, [...args, 'once', '--pushgateway-url', rx.url, '--sources', 'host,self'], { env: cleanEnv(), stdio: 'ignore' });
  const exited = new Promise<number>((resolve, reject) =>
    p.on('exit', (code) => (code === 0 ? resolve(performance.now()) : reject(new Error(`${cmd} once exited ${code}`)))),
  );
  const [t1, t2] = await Promise.all([put, exited]);
  return { firstPush: (t1 - t0) / 1000, exit: (t2 - t0) / 1000 };
}

export async function benchColdStart(runs = 7): Promise<{ results: ColdStart[]; skipped: string[] }> {
  const rx = await startReceiver();
  const results: ColdStart[] = [];
  const skipped: string[] = [];
  try {
    const candidates: [string, string, string[]][] = [['bundle (node dbx-prom-agent.cjs)', process.execPath, [BUNDLE]]];
    if (existsSync(SEA)) candidates.push([`SEA binary (${path.basename(SEA)})`, SEA, []]);
    else skipped.push(`SEA binary: ${path.relative(process.cwd(), SEA)} not built (npm run build makes it where it can)`);
    for (const [name, cmd, args] of candidates) {
      await once(cmd, args, rx); // warm the page cache: a cluster start reads the file once too
      const firstPush: number[] = [];
      const exit: number[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await once(cmd, args, rx);
        firstPush.push(r.firstPush);
        exit.push(r.exit);
      }
      results.push({ name, firstPush: median(firstPush), exit: median(exit) });
    }
  } finally {
    await rx.close();
  }
  return { results, skipped };
}

export function formatColdStart(r: { results: ColdStart[]; skipped: string[] }, runs: number): string {
  const lines = [
    table(
      [`cold start, once (median of ${runs})`, 'spawn to first PUT', 'spawn to exit'],
      r.results.map((x) => [x.name, ms(x.firstPush), ms(x.exit)]),
    ),
  ];
  if (r.results.length === 2) lines.push(`SEA / bundle: first push ${ratio(r.results[1]!.firstPush, r.results[0]!.firstPush)}`);
  for (const s of r.skipped) lines.push(`skipped: ${s}`);
  return lines.join('\n');
}
