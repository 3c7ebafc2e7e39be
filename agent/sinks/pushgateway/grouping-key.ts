/**
 * Pushgateway grouping-key URL paths. The Pushgateway README: a value containing `/` or an
 * empty value cannot be a path segment and must be sent as `<label>@base64/<urlsafe base64>`
 * (padding optional; an empty value is `=`). prom-client only URI-encodes, which breaks on `/`,
 * and a URL parser drops `.` and `..` segments, so those go as base64 too.
 */
export function encodeGroupingValue(label: string, value: string): string {
  if (value === '') return `${label}@base64/=`;
  // `.` and `..` would be removed from the path by URL parsing (RFC 3986 dot segments).
  if (value.includes('/') || value === '.' || value === '..') return `${label}@base64/${Buffer.from(value, 'utf8').toString('base64url')}`;
  return `${label}/${encodeURIComponent(value)}`;
}

/** `/metrics/job/<job>{/<label>/<value>}` for a job and an ordered grouping key. */
export function groupingPath(job: string, key: ReadonlyArray<readonly [string, string]>): string {
  const parts = [`/metrics/${encodeGroupingValue('job', job)}`];
  for (const [label, value] of key) parts.push(encodeGroupingValue(label, value));
  return parts.join('/');
}
