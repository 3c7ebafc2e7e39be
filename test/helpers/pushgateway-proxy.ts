/**
 * A recording proxy in front of a real Pushgateway: the order in which requests arrive is what
 * decides whether a DELETE really removed a node's group (the Pushgateway applies requests in
 * arrival order), and a proxy can make the Pushgateway look slow or hung on demand.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyEvent {
  method: string;
  what: 'received' | 'answered';
  at: number;
}

export interface PushgatewayProxy {
  url: string;
  events: ProxyEvent[];
  /** Methods whose requests are held forever (never forwarded, never answered). */
  hang: Set<string>;
  /** Methods of the requests received so far, in order of arrival. */
  arrivals(): string[];
  close(): Promise<void>;
}

export async function startPushgatewayProxy(target: string): Promise<PushgatewayProxy> {
  const events: ProxyEvent[] = [];
  const hang = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = req.method ?? '';
      events.push({ method, what: 'received', at: Date.now() });
      if (hang.has(method)) return;
      const headers = { ...req.headers };
      delete headers.host;
      const up = http.request(`${target}${req.url ?? '/'}`, { method, headers }, (r) => {
        const body: Buffer[] = [];
        r.on('data', (c: Buffer) => body.push(c));
        r.on('end', () => {
          events.push({ method, what: 'answered', at: Date.now() });
          res.writeHead(r.statusCode ?? 502, r.headers).end(Buffer.concat(body));
        });
      });
      up.on('error', () => res.writeHead(502).end());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    events,
    hang,
    arrivals: () => events.filter((e) => e.what === 'received').map((e) => e.method),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
