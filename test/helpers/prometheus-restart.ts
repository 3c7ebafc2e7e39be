/**
 * A Prometheus remote-write receiver that can be stopped and started again on the same port and
 * data directory (an outage of the receiver, not a new one), for the remote-write outage test.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { restartableServer, type RestartableServer } from './restartable';

export type RestartablePrometheus = RestartableServer;

export async function restartablePrometheus(extraArgs: string[] = ['--web.enable-remote-write-receiver']): Promise<RestartablePrometheus> {
  const prom = await restartableServer(
    'prometheus',
    (port, dir) => [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...extraArgs,
    ],
    '/-/ready',
    'dbx-prom-rw-',
  );
  writeFileSync(path.join(prom.dir, 'prometheus.yml'), 'global: {}\n');
  return prom;
}

/** Raw samples of every series matching `selector` over the last `range` (e.g. `10m`), via a range-vector query. */
export async function rawSamples(
  url: string,
  selector: string,
  range = '30m',
): Promise<{ metric: Record<string, string>; values: [number, string][] }[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(`${selector}[${range}]`)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  if (body.status !== 'success') throw new Error(`query ${selector}: ${body.error}`);
  return body.data.result;
}
