/**
 * A stand-in for the Spark UI REST API (Spark cannot run here): serves the verbatim Apache
 * Spark payloads from ../shared/fixtures/spark at Spark's own paths. Tests override any path
 * with a body, a status, a hang, a dropped connection or HTML (the Databricks login page).
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

export const SHARED_SPARK_FIXTURES = path.resolve(__dirname, '../../../shared/fixtures/spark');

export function sharedFixture(name: string): string {
  return readFileSync(path.join(SHARED_SPARK_FIXTURES, name), 'utf8');
}

export type Route =
  | { body: string; status?: number; contentType?: string }
  | { hang: true }
  | { destroy: true }
  /** Answers 200 and then the body one byte every `trickleMs` (a driver too busy to answer). */
  | { trickle: string; trickleMs: number }
  /** Answers by the request's URL, query included (Spark's `offset`/`length` paging, a state that changes). */
  | { handler: (url: URL) => Route };

export interface FakeSpark {
  url: string;
  port: number;
  /** Paths requested so far (path only, no query). */
  requests: string[];
  /** Request URLs so far, with their query strings. */
  urls: string[];
  /** Replaces or adds the answer for one path (exact match, without query string). */
  route(p: string, r: Route): void;
  close(): Promise<void>;
}

/**
 * Spark's `/sql` list as SqlResource pages it: sorted by execution id, `offset`/`length` (a
 * negative length: all, as Spark 4). `list()` is read at each request, so a test can change it.
 */
export function sqlRoute(list: () => unknown[]): Route {
  return {
    handler: (url) => {
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const length = Number(url.searchParams.get('length') ?? 20);
      const all = list();
      return { body: JSON.stringify(length < 0 ? all.slice(offset) : all.slice(offset, offset + length)) };
    },
  };
}

const SQL_EXECUTIONS = path.resolve(__dirname, '../fixtures/spark/sql/executions.json');

/** Default routes for one running application, from the shared fixtures. */
export function defaultRoutes(): Map<string, Route> {
  const apps = sharedFixture('running_app_list_json_expectation.json');
  const appId = (JSON.parse(apps) as { id: string }[])[0]!.id;
  const executors = sharedFixture('executor_memory_usage_expectation.json');
  const base = `/api/v1/applications/${appId}`;
  return new Map<string, Route>([
    ['/api/v1/applications', { body: apps }],
    [`${base}/executors`, { body: executors }],
    [`${base}/allexecutors`, { body: executors }],
    [`${base}/jobs`, { body: sharedFixture('job_list_json_expectation.json') }],
    [`${base}/stages`, { body: '[]' }],
    [`${base}/sql`, sqlRoute(() => JSON.parse(readFileSync(SQL_EXECUTIONS, 'utf8')) as unknown[])],
    // The driver's Dropwizard servlet with no streaming query running.
    ['/metrics/json', { body: readFileSync(path.resolve(__dirname, '../fixtures/spark/metrics-no-streaming.json'), 'utf8') }],
  ]);
}

/** The project's own Databricks-shaped Spark payloads (test/fixtures/spark/databricks). */
export const DATABRICKS_SPARK_FIXTURES = path.resolve(__dirname, '../fixtures/spark/databricks');
export const DATABRICKS_APP_ID = 'app-20261124135501-0000';

export function databricksFixture(name: string): string {
  return readFileSync(path.join(DATABRICKS_SPARK_FIXTURES, name), 'utf8');
}

/** Routes for a Databricks driver: "Databricks Shell" with running job runs, stages, Prometheus text. */
export function databricksRoutes(appId = DATABRICKS_APP_ID): Map<string, Route> {
  const base = `/api/v1/applications/${appId}`;
  return new Map<string, Route>([
    ['/api/v1/applications', { body: databricksFixture('applications.json') }],
    [`${base}/executors`, { body: databricksFixture('executors.json') }],
    [`${base}/allexecutors`, { body: databricksFixture('allexecutors.json') }],
    [`${base}/jobs`, { body: databricksFixture('jobs.json') }],
    [`${base}/stages`, { body: databricksFixture('stages.json') }],
    [`${base}/sql`, sqlRoute(() => JSON.parse(readFileSync(SQL_EXECUTIONS, 'utf8')) as unknown[])],
    ['/metrics/executors/prometheus', { body: databricksFixture('executors-prometheus.txt'), contentType: 'text/plain; version=0.0.4' }],
    ['/metrics/prometheus', { body: databricksFixture('driver-prometheus.txt'), contentType: 'text/plain; version=0.0.4' }],
    // Structured Streaming queries running with spark.sql.streaming.metricsEnabled=true.
    ['/metrics/json', { body: databricksFixture('metrics.json') }],
  ]);
}

export async function startFakeSpark(routes: Map<string, Route> = defaultRoutes()): Promise<FakeSpark> {
  const requests: string[] = [];
  const urls: string[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0]!;
    requests.push(p);
    urls.push(req.url ?? '/');
    const found = routes.get(p);
    const r = found && 'handler' in found ? found.handler(new URL(req.url ?? '/', 'http://spark')) : found;
    if (!r || 'handler' in r) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    if ('hang' in r) return; // never answers
    if ('destroy' in r) {
      req.socket.destroy();
      return;
    }
    if ('trickle' in r) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      let i = 0;
      const t = setInterval(() => {
        if (i >= r.trickle.length || res.destroyed) {
          clearInterval(t);
          res.end();
          return;
        }
        res.write(r.trickle[i++]!);
      }, r.trickleMs);
      res.on('close', () => clearInterval(t));
      return;
    }
    res.writeHead(r.status ?? 200, { 'Content-Type': r.contentType ?? 'application/json' }).end(r.body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    urls,
    route: (p, r) => void routes.set(p, r),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
