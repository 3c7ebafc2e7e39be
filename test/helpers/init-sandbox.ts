/**
 * Runs init-scripts/dbx-prom-agent-init.sh as root in a sandbox: DBX_PROM_ROOT is a temporary
 * prefix for every local path the script writes, the artifacts folder is a temp dir holding the
 * built binaries, and DB_* variables play a Databricks node. Cleanup kills every process the
 * sandbox started (found by its unique root path in /proc/<pid>/cmdline, then killed by pid).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runProcess, type RunResult } from './agent';
import { tempDir, waitFor } from './servers';

export const INIT_SCRIPT = path.resolve(__dirname, '../../init-scripts/dbx-prom-agent-init.sh');
export const SEA_X64 = path.resolve(__dirname, '../../bundle/dbx-prom-agent-linux-x64');
export const SEA_ARM64 = path.resolve(__dirname, '../../bundle/dbx-prom-agent-linux-arm64');

export function requireSea(): void {
  if (!existsSync(SEA_X64) || !existsSync(SEA_ARM64))
    throw new Error(`${SEA_X64} is missing: run npm run build first`);
}

export type InitResult = RunResult;

export interface Sandbox {
  /** DBX_PROM_ROOT */
  root: string;
  /** DBX_PROM_ARTIFACTS */
  artifacts: string;
  /** Where install puts everything (no /local_disk0 in the sandbox). */
  installDir: string;
  /** The env every run gets: root, artifacts, plus the node's DB_* context. */
  env: Record<string, string>;
  run(args?: string[], extra?: Record<string, string>): Promise<InitResult>;
  /** Pids of the processes running from this sandbox (supervisor, agent). */
  processes(): { pid: number; cmdline: string }[];
  supervisorPid(): number | undefined;
  agentPid(): number | undefined;
  read(rel: string): string;
  cleanup(): Promise<void>;
}

function cmdlineOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function runInit(args: string[], env: Record<string, string>, timeoutMs = 60000): Promise<InitResult> {
  return runProcess('/bin/bash', [INIT_SCRIPT, ...args], env, timeoutMs);
}

/** A node: `binaries` maps arch suffix (x64, arm64) to the file placed in the artifacts folder. */
export function createSandbox(
  node: Record<string, string>,
  opts: { binaries?: Record<string, string>; envFile?: string } = {},
): Sandbox {
  const base = tempDir('dbx-prom-init-');
  const root = path.join(base, 'root');
  const artifacts = path.join(base, 'artifacts');
  mkdirSync(root);
  mkdirSync(artifacts);
  const binaries = opts.binaries ?? { x64: SEA_X64, arm64: SEA_ARM64 };
  for (const [arch, file] of Object.entries(binaries)) symlinkSync(file, path.join(artifacts, `dbx-prom-agent-linux-${arch}`));
  if (opts.envFile !== undefined) writeFileSync(path.join(artifacts, 'dbx-prom-agent.env'), opts.envFile);
  const installDir = path.join(root, 'opt/dbx-prom-agent');
  const env = { DBX_PROM_ROOT: root, DBX_PROM_ARTIFACTS: artifacts, ...node };
  const processes = (): { pid: number; cmdline: string }[] =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
      .map((d) => ({ pid: Number(d), cmdline: cmdlineOf(d) }))
      .filter((p) => p.cmdline.includes(root));
  const sandbox: Sandbox = {
    root,
    artifacts,
    installDir,
    env,
    run: (args = [], extra = {}) => runInit(args, { ...env, ...extra }),
    processes,
    supervisorPid: () => readPid(path.join(installDir, 'run/supervisor.pid')),
    agentPid: () => readPid(path.join(installDir, 'run/agent.pid')),
    read: (rel) => readFileSync(path.join(installDir, rel), 'utf8'),
    async cleanup() {
      if (processes().length > 0) await sandbox.run(['uninstall']).catch(() => undefined);
      for (const p of processes()) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await waitFor(async () => processes().length === 0, 10000, 'sandbox processes to end').catch(() => undefined);
      rmSync(base, { recursive: true, force: true });
    },
  };
  return sandbox;
}

/** Local ports a process listens on (TCP and UDP, v4 and v6), from its fds and /proc/net. */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      // TCP state 0A is LISTEN; a bound UDP socket (state 07) receives without listening.
      const bound = table.startsWith('tcp') ? f[3] === '0A' : f[3] === '07';
      if (bound && inodes.has(f[9]!)) ports.push(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}
