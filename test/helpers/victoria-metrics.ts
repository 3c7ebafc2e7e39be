/**
 * A VictoriaMetrics (Debian's single-node `victoria-metrics`) as a remote-write receiver that can
 * be stopped and started again on the same port and data directory, a RestartableServer like
 * restartablePrometheus so a test can drive either; and a reader of its raw samples.
 *
 * Flags, and why:
 * - `-retentionPeriod=100y`: VM drops samples outside the retention window; the tests send
 *   recent samples, but no test should depend on the default (one month) or on the clock.
 * - `-search.latencyOffset=0s`: by default /api/v1/query and query_range leave out the last
 *   30 s ("points may be incomplete"). VM 1.79 clamps the offset to at least 1 s, so a query
 *   still cannot see the last second before now: wait for it (or read /api/v1/export, which
 *   has no offset).
 * - `-search.disableCache`: no rollup-result cache, so a query after a backfill (the backlog of
 *   an outage arrives late) sees the backfilled samples.
 * - No `-dedup.minScrapeInterval`: without it VM keeps every sample it is sent, duplicates with
 *   the same timestamp too, so a cycle sent twice shows twice.
 * - No `-selfScrapeInterval`: nothing else is written into the store.
 * Rows VM has just accepted sit in an in-memory buffer for up to a second or two before a search
 * sees them; `exportSamples` calls `/internal/force_flush` first, so a read after a 2xx answer to
 * a write sees that write.
 */
import path from 'node:path';
import { restartableServer, type RestartableServer } from './restartable';

export const VM_FLAGS = ['-retentionPeriod=100y', '-search.latencyOffset=0s', '-search.disableCache'];

export function restartableVictoriaMetrics(extraArgs: string[] = []): Promise<RestartableServer> {
  // SIGTERM (the stop) makes VM flush its buffers to disk and release the data dir's lock. The
  // storage is opened before the HTTP server listens, so /health answering is ready.
  return restartableServer(
    'victoria-metrics',
    (port, dir) => [`-storageDataPath=${path.join(dir, 'data')}`, `-httpListenAddr=127.0.0.1:${port}`, ...VM_FLAGS, ...extraArgs],
    '/health',
    'dbx-prom-vm-',
  );
}

/** One series as VM stores it: values as numbers (a staleness marker is NaN: VM keeps no other NaN), timestamps in ms. */
export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestampsMs: number[];
}

/**
 * VM's export JSON is not quite JSON: it writes `+Inf`, `-Inf` and `NaN` bare, and a staleness
 * marker as `null`. Quotes the bare tokens outside strings, so label values (`le="+Inf"`) stay.
 */
function parseExportLine(line: string): ExportedSeries {
  let fixed = '';
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inString) {
      fixed += c;
      if (c === '\\') fixed += line[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    const token = ['+Inf', '-Inf', 'Inf', 'NaN'].find((t) => line.startsWith(t, i));
    if (token) {
      fixed += JSON.stringify(token);
      i += token.length - 1;
    } else fixed += c;
  }
  const raw = JSON.parse(fixed) as { metric: Record<string, string>; values: (number | string | null)[]; timestamps: number[] };
  const num = (v: number | string | null): number =>
    v === null || v === 'NaN' ? NaN : v === '+Inf' || v === 'Inf' ? Infinity : v === '-Inf' ? -Infinity : (v as number);
  return { metric: raw.metric, values: raw.values.map(num), timestampsMs: raw.timestamps };
}

/**
 * Every raw sample of every series matching `selector` between `startMs` and `endMs` (default:
 * all time), via `/api/v1/export`: exact timestamps, and values as VM stored them, no lookback
 * and no deduplication by the query. Flushes VM's in-memory buffer first.
 */
export async function exportSamples(url: string, selector: string, startMs = 0, endMs = Date.now() + 86_400_000): Promise<ExportedSeries[]> {
  const flush = await fetch(`${url}/internal/force_flush`);
  if (!flush.ok) throw new Error(`force_flush: ${flush.status} ${await flush.text()}`);
  const q = new URLSearchParams({ 'match[]': selector, start: String(startMs / 1000), end: String(endMs / 1000) });
  const res = await fetch(`${url}/api/v1/export?${q}`);
  const text = await res.text();
  if (!res.ok) throw new Error(`export ${selector}: ${res.status} ${text}`);
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(parseExportLine);
}
