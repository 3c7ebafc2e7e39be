/**
 * AWS Signature Version 4 (Amazon Managed Service for Prometheus and other AWS receivers): every
 * request, retries included, signed anew over its exact bytes with keys from the SDK's standard
 * chain (an EC2 instance profile on Databricks), optionally with a role assumed on top. Keys are
 * refreshed before they expire; a 403 saying they expired forces a reload and one retry.
 */
import { option } from '../../core/options';
import { createKeySource } from '../aws/chain';
import { CredentialCache, type AwsKeys } from '../aws/credentials';
import { signRequest, signedKeyId } from '../aws/sign';
import type { AuthMethod, Rejection } from './method';

const REGION = option('--sigv4-region <region>', 'sign requests with AWS SigV4 for this region (e.g. us-east-1; Amazon Managed Prometheus)', { policyFlag: true });
const ROLE_ARN = option('--sigv4-role-arn <arn>', 'IAM role to assume through STS on top of the base AWS credentials', { policyFlag: true });
const SERVICE = option('--sigv4-service <name>', 'SigV4 service name', { defaultText: 'aps' });

/** us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1. */
const REGION_FORMAT = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** arn:aws:iam::123456789012:role/path/name, in every partition (aws-cn, aws-us-gov). */
const ROLE_ARN_FORMAT = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

export interface SigV4Config {
  region: string;
  service: string;
  roleArn?: string;
}

/**
 * Why new keys could fix a refusal (expired keys, or keys the service no longer knows: an
 * instance profile rotated and the old keys revoked), or undefined when they could not (a
 * signature or permission error). Pure.
 */
export function keysRefused(r: Rejection): string | undefined {
  if (r.status !== 403 && r.status !== 400 && r.status !== 401) return undefined;
  const type = (r.headers['x-amzn-errortype'] ?? '').split(':')[0]!;
  const text = `${type} ${r.body}`;
  if (/ExpiredToken|security token included in the request is expired/i.test(text)) return `HTTP ${r.status} ${type || 'ExpiredToken'}`;
  if (/UnrecognizedClient|InvalidClientTokenId/i.test(text)) return `HTTP ${r.status} ${type || 'UnrecognizedClient'}`;
  return undefined;
}

/**
 * How far AWS's clock is from ours, when it refused a signature for its time ("Signature
 * expired", "Signature not yet current": more than 5 minutes apart) and said its time in `Date`.
 * The SDK's own clients correct the same way. Pure.
 */
export function clockSkewMs(r: Rejection, nowMs: number): number | undefined {
  if (r.status !== 403 && r.status !== 400) return undefined;
  if (!/Signature expired|Signature not yet current|RequestTimeTooSkewed/i.test(r.body)) return undefined;
  const server = Date.parse(r.headers.date ?? '');
  return Number.isFinite(server) ? server - nowMs : undefined;
}

/** "in 5h 59m", "2m ago": when keys expire, for doctor. Pure. */
export function expiryText(keys: AwsKeys, now: number): string {
  if (keys.expiration === undefined) return 'long-term keys, no expiry';
  const ms = keys.expiration.getTime() - now;
  const m = Math.round(Math.abs(ms) / 60_000);
  const span = m >= 60 ? `${Math.floor(m / 60)}h ${m % 60}m` : `${m}m`;
  return `expire ${keys.expiration.toISOString()} (${ms >= 0 ? `in ${span}` : `${span} ago`})`;
}

/** The last four characters of an access key id: enough to match it in IAM, nothing to reuse. */
const keyHint = (id: string): string => `…${id.slice(-4)}`;

export const sigv4: AuthMethod<'sigv4', SigV4Config> = {
  name: 'sigv4',
  title: 'AWS SigV4',
  options: [REGION, ROLE_ARN, SERVICE],
  triggers: [REGION],
  parse(s) {
    const region = s.str(REGION);
    if (region === undefined) {
      for (const o of [ROLE_ARN, SERVICE]) if (s.given(o)) throw s.error(o, `needs --sigv4-region (${REGION.env})`);
      return undefined;
    }
    if (!REGION_FORMAT.test(region)) throw s.error(REGION, `"${region.slice(0, 40)}" is not an AWS region (like us-east-1 or eu-central-2)`);
    const service = s.str(SERVICE, 'aps');
    if (!/^[a-z0-9-]{1,64}$/.test(service)) throw s.error(SERVICE, `"${service.slice(0, 40)}" is not an AWS service signing name (like aps)`);
    const roleArn = s.str(ROLE_ARN);
    if (roleArn !== undefined && !ROLE_ARN_FORMAT.test(roleArn))
      throw s.error(ROLE_ARN, `"${roleArn.slice(0, 100)}" is not an IAM role ARN (arn:aws:iam::123456789012:role/name)`);
    return { region, service, ...(roleArn !== undefined ? { roleArn } : {}) };
  },
  create(o, env) {
    const keys: CredentialCache = createKeySource(o);
    let offsetMs = 0; // AWS's clock minus ours, once AWS refused our time
    return {
      kind: 'sigv4',
      headers: async (req) => signRequest(req, await keys.get(), o, new Date(Date.now() + offsetMs)),
      refresh: async (r) => {
        const skew = clockSkewMs(r, Date.now());
        if (skew !== undefined) {
          if (Math.abs(skew - offsetMs) < 1000) return false; // already signing with AWS's time
          offsetMs = skew;
          env.warn(`this node's clock is ${Math.round(Math.abs(skew) / 1000)} s ${skew < 0 ? 'ahead of' : 'behind'} AWS's: signing with AWS's time (fix the node's NTP)`);
          return true;
        }
        const why = keysRefused(r);
        if (why === undefined) return false;
        await keys.forceRefresh(signedKeyId(r.sent.authorization), why);
        return true;
      },
      status: async () => {
        const k = await keys.get();
        return `keys ${keyHint(k.accessKeyId)} from ${k.source}, ${expiryText(k, Date.now())}`;
      },
    };
  },
  refusesUrl(o, url) {
    // An AMP workspace URL names its region: signed for another, every request would be refused.
    const host = /^aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname);
    if (!host || host[1] === o.region) return undefined;
    return `is an Amazon Managed Prometheus workspace in ${host[1]}, but --sigv4-region is ${o.region}: AWS would refuse every request`;
  },
  describe: (o) => `AWS SigV4 (${o.service}, ${o.region}${o.roleArn ? ', assumed role' : ''})`,
  detail: (o) => `AWS SigV4 for ${o.service} in ${o.region}${o.roleArn ? ` as ${o.roleArn}` : ''}`,
  hint: 'give the node AWS credentials: the cluster\'s instance profile (needs aps:RemoteWrite), AWS_* env, or a profile; with --sigv4-role-arn the base identity needs sts:AssumeRole on it',
};
