/**
 * Pure parts of the Pushgateway janitor (`gc`): read the groups out of the Pushgateway's
 * `/api/v1/metrics` answer, pick the stale ones, and build each one's DELETE path.
 *
 * Facts from the Pushgateway (README "API" and its api/v1 handler, checked against 1.5.1):
 * - `/api/v1/metrics` answers `{status, data: [group…]}`; each group has `labels` (exactly
 *   its grouping key, `job` included, `instance` only if it was part of the key) and one entry
 *   per metric family, among them `push_time_seconds` and `push_failure_time_seconds`, whose
 *   `metrics[0].value` is a string holding Unix seconds ("1.79e+09"), 0 when it never happened.
 * - A failed first push still creates a group: push_time 0, push_failure_time set.
 * - The Pushgateway never expires a group (its issue #19), hence this command.
 */
import { groupingPath } from './grouping-key';

export interface PushgatewayGroup {
  /** The grouping key, `job` included. */
  labels: Record<string, string>;
  /** Last successful change of the group, Unix seconds; 0 if never. */
  pushTimeSeconds: number;
  /** Last failed change of the group, Unix seconds; 0 if never. */
  pushFailureTimeSeconds: number;
}

export class PushgatewayApiError extends Error {}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value of a per-group gauge such as push_time_seconds; NaN when absent or unreadable. */
function groupGauge(group: Record<string, unknown>, name: string): number {
  const family = group[name];
  if (!isRecord(family) || !Array.isArray(family.metrics)) return NaN;
  const first: unknown = family.metrics[0];
  if (!isRecord(first) || typeof first.value !== 'string') return NaN;
  return Number(first.value);
}

/**
 * Parses the body of `GET /api/v1/metrics`. Throws PushgatewayApiError when the body is not
 * that API's shape (an HTML login page of a proxy, another server on the port).
 */
export function parseGroups(body: unknown): PushgatewayGroup[] {
  if (!isRecord(body) || body.status !== 'success' || !Array.isArray(body.data))
    throw new PushgatewayApiError('not a Pushgateway /api/v1/metrics answer (expected {"status":"success","data":[...]})');
  const groups: PushgatewayGroup[] = [];
  for (const g of body.data) {
    if (!isRecord(g) || !isRecord(g.labels)) throw new PushgatewayApiError('a group without "labels" in /api/v1/metrics');
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(g.labels)) if (typeof v === 'string') labels[k] = v;
    groups.push({
      labels,
      pushTimeSeconds: groupGauge(g, 'push_time_seconds'),
      pushFailureTimeSeconds: groupGauge(g, 'push_failure_time_seconds'),
    });
  }
  return groups;
}

/**
 * When anyone last pushed to the group, successfully or not. A node whose pushes are being
 * rejected (push_failure_time recent) is alive: deleting its group would also delete the
 * `push_failure_time_seconds > push_time_seconds` evidence the DbxAgentPushgatewayPushFailing
 * alert needs. NaN when the group carries no usable time at all.
 */
export function lastActivitySeconds(g: PushgatewayGroup): number {
  const times = [g.pushTimeSeconds, g.pushFailureTimeSeconds].filter((t) => Number.isFinite(t) && t > 0);
  return times.length === 0 ? NaN : Math.max(...times);
}

export interface StaleGroup {
  group: PushgatewayGroup;
  /** Seconds since the group's last push (successful or failed). */
  ageSeconds: number;
}

export interface StaleOptions {
  nowSeconds: number;
  maxAgeSeconds: number;
  /** Only groups of this job; undefined for every job. */
  job?: string;
}

/**
 * The groups to delete: older than maxAge by their last push. A group without a usable push
 * time, or without a job label (no DELETE path can name it), is never chosen: when in doubt,
 * keep it.
 */
export function staleGroups(groups: readonly PushgatewayGroup[], o: StaleOptions): StaleGroup[] {
  const out: StaleGroup[] = [];
  for (const group of groups) {
    const job = group.labels.job;
    if (job === undefined || job === '') continue;
    if (o.job !== undefined && job !== o.job) continue;
    const last = lastActivitySeconds(group);
    if (!Number.isFinite(last)) continue;
    const ageSeconds = o.nowSeconds - last;
    if (ageSeconds > o.maxAgeSeconds) out.push({ group, ageSeconds });
  }
  return out;
}

/**
 * The group's path, `/metrics/job/<job>{/<label>/<value>}` with every grouping label (the
 * Pushgateway only deletes the exact group), values base64-encoded where `/` or emptiness
 * requires it. The other labels are sorted so the path is stable; their order does not matter
 * to the Pushgateway.
 */
export function groupDeletePath(labels: Record<string, string>): string {
  const job = labels.job;
  if (job === undefined) throw new Error('a Pushgateway group always has a job label');
  const rest = Object.entries(labels)
    .filter(([k]) => k !== 'job')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return groupingPath(job, rest);
}

/** `job="databricks" cluster_id="0101-abc" node="ip-10-0-0-1"`: one group on one line. */
export function describeGroup(labels: Record<string, string>): string {
  const job = labels.job;
  const rest = Object.entries(labels)
    .filter(([k]) => k !== 'job')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [...(job === undefined ? [] : [['job', job] as const]), ...rest].map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
}
