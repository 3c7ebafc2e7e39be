/**
 * Debian's Pushgateway and Prometheus behind their own `--web.config.file` (exporter-toolkit):
 * TLS, basic auth with bcrypt hashes, client-certificate verification. Readiness is the
 * server's own "TLS is enabled." / "Listening on" log line, since a plain-http probe cannot
 * pass their auth.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { freePort, spawnUntilReady, tempDir, type Server } from './servers';

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

/** A server on https://127.0.0.1:<port>. */
export type SecureServer = Server;

async function startWithWebConfig(
  bin: string,
  web: WebConfig,
  args: (port: number, dir: string, webFile: string) => string[],
): Promise<SecureServer> {
  const port = await freePort();
  const dir = tempDir('dbx-prom-secure-');
  const webFile = path.join(dir, 'web.yml');
  writeFileSync(webFile, webConfigYaml(web));
  const ready = bin === 'prometheus' ? /Server is ready to receive web requests/ : /TLS is enabled/;
  const s = await spawnUntilReady(bin, args(port, dir, webFile), dir, async (x) => ready.test(x.output()), `${bin} with TLS on ${port}`);
  return { ...s, url: `https://127.0.0.1:${port}`, port };
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
