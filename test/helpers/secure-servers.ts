/**
 * Debian's Pushgateway and Prometheus behind their own `--web.config.file` (exporter-toolkit):
 * TLS, basic auth with bcrypt hashes, client-certificate verification. Readiness is the
 * server's own "TLS is enabled." / "Listening on" log line, since a plain-http probe cannot
 * pass their auth.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { freePort, tempDir, waitFor } from './servers';

export interface WebConfig {
  certFile: string;
  keyFile: string;
  /** CA file to verify client certificates with; with it, a client certificate is required. */
  clientCaFile?: string;
  /** user -> plain password; stored as bcrypt hashes. */
  basicAuth?: Record<string, string>;
}

export function webConfigYaml(c: WebConfig): string {
  const lines = ['tls_server_config:', `  cert_file: ${c.certFile}`, `  key_file: ${c.keyFile}`];
  if (c.clientCaFile) lines.push('  client_auth_type: RequireAndVerifyClientCert', `  client_ca_file: ${c.clientCaFile}`);
  if (c.basicAuth) {
    lines.push('basic_auth_users:');
    // Cost 4 (the minimum) keeps each request cheap for the server on a 2-core machine.
    for (const [u, p] of Object.entries(c.basicAuth)) lines.push(`  ${u}: '${bcrypt.hashSync(p, 4)}'`);
  }
  return lines.join('\n') + '\n';
}

export interface SecureServer {
  /** https://127.0.0.1:<port> */
  url: string;
  port: number;
  dir: string;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

async function startWithWebConfig(
  bin: string,
  web: WebConfig,
  args: (port: number, dir: string, webFile: string) => string[],
): Promise<SecureServer> {
  const port = await freePort();
  const dir = tempDir('dbx-prom-secure-');
  const webFile = path.join(dir, 'web.yml');
  writeFileSync(webFile, webConfigYaml(web));
  const proc = spawn(bin, args(port, dir, webFile), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const server: SecureServer = {
    url: `https://127.0.0.1:${port}`,
    port,
    dir,
    proc,
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
  const ready = bin === 'prometheus' ? /Server is ready to receive web requests/ : /TLS is enabled/;
  try {
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`${bin} exited: ${out}`);
      return ready.test(out);
    }, 20000, `${bin} with TLS on ${port}`);
  } catch (e) {
    await server.stop();
    throw new Error(`${(e as Error).message}\n${out}`);
  }
  return server;
}

export function startSecurePushgateway(web: WebConfig): Promise<SecureServer> {
  return startWithWebConfig('prometheus-pushgateway', web, (port, _dir, webFile) => [
    `--web.listen-address=127.0.0.1:${port}`,
    `--web.config.file=${webFile}`,
    // PUT /api/v1/admin/wipe lets a test clear every group between cases.
    '--web.enable-admin-api',
    // Debian's build defaults to /var/lib/prometheus/pushgateway.data, shared by every
    // Pushgateway on the machine: groups of another test would appear here at start.
    '--persistence.file=',
  ]);
}

export function startSecurePrometheus(web: WebConfig): Promise<SecureServer> {
  return startWithWebConfig('prometheus', web, (port, dir, webFile) => {
    writeFileSync(path.join(dir, 'prometheus.yml'), 'global: {}\n');
    return [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.config.file=${webFile}`,
      '--web.enable-remote-write-receiver',
    ];
  });
}
