/**
 * Loopback stand-in for the AWS side of SigV4 remote write (see aws-standin.py): EC2 IMDSv2
 * (token required), STS AssumeRole and a SigV4-verifying remote-write front that forwards
 * accepted bodies to a real Prometheus, all on one port, checked with botocore (Debian's
 * python3-botocore, hence /usr/bin/python3 and not the `python3` on PATH).
 */
import path from 'node:path';
import { freePort, spawnUntilReady, tempDir } from './servers';

const SCRIPT = path.resolve(__dirname, 'aws-standin.py');
const PYTHON = '/usr/bin/python3';

export interface AwsStandInOptions {
  /** Where accepted writes go: a Prometheus `/api/v1/write` URL. Without one, writes get a bare 200. */
  upstream?: string;
  /** The signing region the remote-write front accepts. */
  region: string;
  /** The signing service the remote-write front accepts; default `aps`. */
  service?: string;
  /** Signing regions STS accepts; default `region` and us-east-1 (the SDK's default STS region). */
  stsRegions?: string[];
  accountId?: string;
  /** The instance-profile role IMDS lists; default `dbx-prom-agent-instance`. */
  roleName?: string;
  /** Lifetime of the initial and rotated instance-profile credentials; default 21600. */
  imdsLifetimeSeconds?: number;
  /** Lifetime of AssumeRole credentials; default the request's DurationSeconds, else 3600. */
  stsLifetimeSeconds?: number;
}

/** Settings `configure` may change; each call merges into the current ones. */
export interface AwsStandInConfig {
  /** Lifetime of instance-profile credentials minted from now on (rotate). */
  imdsLifetimeSeconds: number;
  /** Rotate on a credentials GET when the current key has < min(300 s, half its life) left. Off by default. */
  imdsAutoRotate: boolean;
  /** Lifetime of AssumeRole credentials; null: DurationSeconds, else 3600. */
  stsLifetimeSeconds: number | null;
  /** The role's MaxSessionDuration; a larger DurationSeconds is a ValidationError. Default 3600. */
  maxSessionDurationSeconds: number;
  /** Allowed |X-Amz-Date − now|; default 300. */
  maxSkewSeconds: number;
  /** Role ARNs AssumeRole may assume (others: 403 AccessDenied); null: any well-formed ARN. */
  assumableRoles: string[] | null;
  /** Outage switches: that service answers 503 to everything. */
  imdsDown: boolean;
  stsDown: boolean;
  writeDown: boolean;
}

export type StandInKind = 'imds' | 'sts' | 'write';
export type KeySource = 'imds' | 'sts' | 'static';

/** One logged request (admin requests are not logged). */
export interface StandInRequest {
  seq: number;
  time: string;
  kind: StandInKind;
  method: string;
  /** Path and query as received. */
  path: string;
  /** imds: the key handed out; sts/write: the key in the Authorization header. */
  accessKeyId: string | null;
  ok: boolean;
  status: number | null;
  /**
   * imds: MissingToken | InvalidToken | NotFound | MethodNotAllowed | BadRequest | Forbidden | ServiceUnavailable;
   * sts: the STS error Code (SignatureDoesNotMatch, ExpiredToken, InvalidClientTokenId, ValidationError, AccessDenied, …);
   * write: the x-amzn-ErrorType (InvalidSignatureException, ExpiredTokenException, UnrecognizedClientException, …)
   * or `Upstream<status>`.
   */
  error: string | null;
  message: string | null;
  /** imds: X-aws-ec2-metadata-token was sent; sts/write: X-Amz-Security-Token was sent. */
  tokenHeaderSeen: boolean;
  /** sts/write, once the key is known and valid: */
  source?: KeySource;
  roleArn?: string | null;
  sessionName?: string | null;
  region?: string;
  service?: string;
  signedHeaders?: string;
  /** sts: the key AssumeRole minted. */
  issuedAccessKeyId?: string;
  /** write: the upstream's status. */
  upstreamStatus?: number | null;
}

export interface StandInKey {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string | null;
  source: KeySource;
  createdAt: string;
  expiration: string | null;
  /** Refused as expired now (admin-expired or past its expiration). */
  expired: boolean;
  expiredByAdmin: boolean;
  /** The instance-profile key IMDS hands out now. */
  current: boolean;
  roleArn: string | null;
  sessionName: string | null;
  /** sts: the key that signed the AssumeRole. */
  parentAccessKeyId: string | null;
}

export interface AwsStandIn {
  url: string;
  port: number;
  region: string;
  service: string;
  accountId: string;
  roleName: string;
  /** The stand-in's temp dir (removed by stop). */
  dir: string;
  /** New instance-profile key from now on; the old one stays valid until it expires. */
  rotate(opts?: { expiresInSeconds?: number }): Promise<{ accessKeyId: string; expiration: string; previous: string | null }>;
  /** Refuse this key as expired from now on (IMDS may still hand it out until rotate). */
  expire(accessKeyId: string): Promise<StandInKey>;
  configure(config: Partial<AwsStandInConfig>): Promise<AwsStandInConfig>;
  /** A long-term AKIA… key (no session token, no expiration) the fronts accept. */
  mintStatic(): Promise<StandInKey>;
  requests(kind?: StandInKind): Promise<StandInRequest[]>;
  clearRequests(): Promise<void>;
  keys(): Promise<StandInKey[]>;
  output(): string;
  stop(): Promise<void>;
}

async function admin<T>(url: string, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}/_admin/${route}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`aws stand-in ${method} /_admin/${route}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

export async function startAwsStandIn(opts: AwsStandInOptions): Promise<AwsStandIn> {
  const port = await freePort();
  const dir = tempDir('dbx-prom-aws-');
  const url = `http://127.0.0.1:${port}`;
  const service = opts.service ?? 'aps';
  const accountId = opts.accountId ?? '123456789012';
  const roleName = opts.roleName ?? 'dbx-prom-agent-instance';
  const args = [SCRIPT, '--port', String(port), '--region', opts.region, '--service', service];
  args.push('--account-id', accountId, '--role-name', roleName);
  if (opts.upstream) args.push('--upstream', opts.upstream);
  for (const r of opts.stsRegions ?? []) args.push('--sts-region', r);
  if (opts.imdsLifetimeSeconds !== undefined) args.push('--imds-lifetime', String(opts.imdsLifetimeSeconds));
  if (opts.stsLifetimeSeconds !== undefined) args.push('--sts-lifetime', String(opts.stsLifetimeSeconds));
  const s = await spawnUntilReady(
    PYTHON,
    args,
    dir,
    async () => (await fetch(`${url}/_admin/health`).catch(() => undefined))?.ok === true,
    `aws stand-in on ${url}`,
  );
  return {
    url,
    port,
    region: opts.region,
    service,
    accountId,
    roleName,
    dir,
    rotate: (o = {}) => admin(url, 'POST', 'rotate', o),
    expire: (accessKeyId) => admin(url, 'POST', 'expire', { accessKeyId }),
    configure: (config) => admin(url, 'POST', 'config', config),
    mintStatic: () => admin(url, 'POST', 'mint', { source: 'static' }),
    requests: async (kind) => {
      const all = await admin<StandInRequest[]>(url, 'GET', 'requests');
      return kind ? all.filter((r) => r.kind === kind) : all;
    },
    clearRequests: async () => {
      await admin(url, 'DELETE', 'requests');
    },
    keys: () => admin(url, 'GET', 'keys'),
    output: s.output,
    stop: s.stop,
  };
}

/**
 * The environment a process needs to get its AWS credentials from the stand-in and nothing
 * else: `base` (default process.env) without any AWS_* variable (static keys, profiles, web
 * identity, container credentials, AWS_ENDPOINT_URL, AWS_REGION, AWS_EC2_METADATA_DISABLED, …),
 * plus IMDS and STS pointed at the stand-in and the shared config/credentials files pointed
 * at paths that do not exist (so ~/.aws is not read).
 */
export function awsEnvFor(standIn: Pick<AwsStandIn, 'url' | 'dir'>, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!k.toUpperCase().startsWith('AWS_')) env[k] = v;
  env.AWS_EC2_METADATA_SERVICE_ENDPOINT = standIn.url;
  env.AWS_ENDPOINT_URL_STS = standIn.url;
  env.AWS_SHARED_CREDENTIALS_FILE = path.join(standIn.dir, 'no-such-dir', 'credentials');
  env.AWS_CONFIG_FILE = path.join(standIn.dir, 'no-such-dir', 'config');
  return env;
}
