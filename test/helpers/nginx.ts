/**
 * Debian's nginx (nginx-light) as a bearer-checking reverse proxy in front of a real server:
 * non-daemon, its own prefix, config, pid and logs in a temp dir. `accept(tokens)` rewrites
 * the accepted tokens and reloads (SIGHUP), as an auth proxy does when a token is rotated.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, spawnUntilReady, tempDir, waitFor } from './servers';

export interface BearerProxy {
  url: string;
  port: number;
  dir: string;
  /** Replace the accepted bearer tokens and reload nginx; resolves once the reload is done. */
  accept(tokens: string[]): Promise<void>;
  /** Access log lines: `<status> <auth_ok> <method> <uri>` (never the token itself). */
  accessLog(): string[];
  stop(): Promise<void>;
}

function config(dir: string, port: number, upstream: string, tokens: string[], generation: number): string {
  const maps = tokens.map((t) => `    "Bearer ${t}" 1;`).join('\n');
  // When nginx's master runs as root, workers switch to `nobody`, which cannot write into a
  // root-owned temp dir: keep them root in tests.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log notice;
events { worker_connections 64; }
http {
  # generation ${generation}
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 64m;
  map $http_authorization $auth_ok {
    default 0;
${maps}
  }
  log_format plain '$status $auth_ok $request_method $uri';
  access_log ${dir}/access.log plain;
  server {
    listen 127.0.0.1:${port};
    location / {
      if ($auth_ok = 0) { return 401; }
      proxy_pass ${upstream};
    }
  }
}
`;
}

export async function startBearerProxy(upstream: string, tokens: string[]): Promise<BearerProxy> {
  const port = await freePort();
  const dir = tempDir('dbx-prom-nginx-');
  mkdirSync(path.join(dir, 'logs'));
  const conf = path.join(dir, 'nginx.conf');
  let generation = 0;
  writeFileSync(conf, config(dir, port, upstream, tokens, generation));
  const errorLog = (): string => (existsSync(`${dir}/error.log`) ? readFileSync(`${dir}/error.log`, 'utf8') : '');
  const tcpOpen = (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
  const { proc, stop } = await spawnUntilReady(
    'nginx',
    ['-p', dir, '-c', conf, '-e', `${dir}/error.log`, '-g', 'daemon off;'],
    dir,
    async (x) => {
      // nginx writes why it stopped to its error log, not to stderr.
      if (x.proc.exitCode !== null) throw new Error(`nginx exited: ${errorLog()}`);
      return tcpOpen();
    },
    'nginx',
    15000,
  );
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    async accept(next) {
      generation++;
      writeFileSync(conf, config(dir, port, upstream, next, generation));
      const before = (errorLog().match(/gracefully shutting down/g) ?? []).length;
      proc.kill('SIGHUP');
      // The old worker shuts down gracefully once the new one took over.
      await waitFor(async () => (errorLog().match(/gracefully shutting down/g) ?? []).length > before, 15000, 'nginx reload');
    },
    accessLog: () =>
      existsSync(`${dir}/access.log`) ? readFileSync(`${dir}/access.log`, 'utf8').split('\n').filter(Boolean) : [],
    stop,
  };
}
