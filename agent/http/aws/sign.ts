/**
 * AWS Signature Version 4 of one outgoing request, by the AWS SDK's own signer: the headers to
 * add (Authorization, X-Amz-Date, X-Amz-Security-Token, Host). Signed over the exact method,
 * URL, headers and body bytes that go out, so every request and every retry is signed anew.
 */
import type { OutgoingRequest } from '../auth/method';
import { awsSdk } from './lazy';

export interface SigningKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SigningScope {
  readonly region: string;
  readonly service: string;
}

/**
 * Not signed: the HTTP stack sets or rewrites these after the signature is made (length,
 * compression, connection), or AWS never signs them (user agent). A signed header that changed
 * on the way would fail verification; an unsigned one cannot.
 */
const UNSIGNED = new Set(['user-agent', 'accept', 'accept-encoding', 'content-length', 'connection', 'authorization', 'expect', 'transfer-encoding']);

/** The query as the signer wants it: decoded values, repeated keys as arrays. */
function queryOf(url: URL): Record<string, string | string[]> {
  const q: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = q[k];
    q[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return q;
}

export async function signRequest(req: OutgoingRequest, keys: SigningKeys, scope: SigningScope, at: Date): Promise<Record<string, string>> {
  const host = req.url.host;
  const headers: Record<string, string> = { host };
  for (const [k, v] of Object.entries(req.headers)) if (!UNSIGNED.has(k) && k !== 'host') headers[k] = v;
  const { SignatureV4, Hash } = awsSdk();
  // applyChecksum off: X-Amz-Content-Sha256 is S3's; the payload hash is in the signature either way.
  const signer = new SignatureV4({
    credentials: keys,
    region: scope.region,
    service: scope.service,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: true,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: req.url.protocol,
      hostname: req.url.hostname,
      ...(req.url.port ? { port: Number(req.url.port) } : {}),
      // The path as it goes on the wire (already percent-encoded): SigV4 for services other
      // than S3 encodes it once more in the canonical request, as AWS verifies it.
      path: req.url.pathname,
      query: queryOf(req.url),
      headers,
      body: req.body(),
    },
    { signingDate: at },
  );
  const out: Record<string, string> = { host };
  for (const [k, v] of Object.entries(signed.headers)) {
    const name = k.toLowerCase();
    if (name === 'authorization' || name.startsWith('x-amz-')) out[name] = v;
  }
  return out;
}

/** The access key id in a SigV4 Authorization header (`Credential=AKID/date/region/...`). */
export function signedKeyId(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
}
