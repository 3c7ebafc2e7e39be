/**
 * A tiny local HTTP endpoint for unit tests of the HTTP client: records each request's
 * method, path, headers and body, and answers with what `answer` returns.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Answer {
  status: number;
  body?: string;
  contentType?: string;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
}

export interface RecordingServer {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

export async function startRecordingServer(answer: (r: Recorded) => Answer): Promise<RecordingServer> {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const r: Recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      requests.push(r);
      const a = answer(r);
      setTimeout(() => {
        res.writeHead(a.status, { 'Content-Type': a.contentType ?? 'application/json' }).end(a.body ?? '');
      }, a.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
