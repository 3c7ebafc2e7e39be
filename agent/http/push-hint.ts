/** Doctor's hint for a failed test push, by what the endpoint answered. */
import { isAxiosError } from './axios';
import { describeHttpError } from './client';

export function pushHint(e: unknown, what: string): string {
  const status = isAxiosError(e) ? e.response?.status : undefined;
  if (status === 401) return 'the endpoint rejected the credentials: check the token/password/client secret and its file';
  if (status === 403) {
    const body = isAxiosError(e) && typeof e.response?.data === 'string' ? e.response.data : '';
    // AWS says which: a signature that does not verify is a clock or a proxy, not IAM.
    if (/signature/i.test(body)) return 'the AWS signature did not verify: check the node clock (NTP) and --sigv4-region/--sigv4-service, and that no proxy rewrites the request';
    if (/not authorized|AccessDenied/i.test(body)) return 'the AWS identity lacks permission: allow aps:RemoteWrite on the workspace for the instance profile (or the --sigv4-role-arn role)';
    return 'the credentials are valid but not allowed to push here';
  }
  if (status === 404) return `no ${what} API at this path: check the URL (and its path prefix behind a proxy)`;
  if (status !== undefined && status >= 500) return 'the endpoint or a proxy in front of it has a problem: see its logs';
  const text = describeHttpError(e);
  if (/TLS/.test(text)) return 'see the tls check above; --ca-file, --cert-file/--key-file, --tls-server-name';
  return 'see the dns/tcp checks above';
}
