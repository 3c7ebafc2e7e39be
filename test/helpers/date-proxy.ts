/**
 * A proxy in front of a real Pushgateway that sets the clock the Pushgateway shows: every answer's
 * Date header says `now` (Unix seconds) when it is set. `gc` takes "now" from that header, so a
 * test can make the groups it pushed a second ago look ten minutes old, without waiting ten
 * minutes and without racing the machine's speed. Everything else passes through unchanged.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DateProxy {
  url: string;
  /** What the Date header of every answer says, Unix seconds; undefined: the Pushgateway's own. */
  now: number | undefined;
  /** `METHOD path` of every request, in order of arrival. */
  requests: string[];
  close(): Promise<void>;
}

export async function startDateProxy(target: string): Promise<DateProxy> {
  const requests: string[] = [];
  const proxy: DateProxy = { url: '', now: undefined, requests, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      const headers = { ...req.headers };
      delete headers.host;
      const up = http.request(`${target}${req.url ?? '/'}`, { method: req.method, headers }, (r) => {
        const body: Buffer[] = [];
        r.on('data', (c: Buffer) => body.push(c));
        r.on('end', () => {
          const out = { ...r.headers };
          if (proxy.now !== undefined) out.date = new Date(proxy.now * 1000).toUTCString();
          res.writeHead(r.statusCode ?? 502, out).end(Buffer.concat(body));
        });
      });
      up.on('error', () => res.writeHead(502).end());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
