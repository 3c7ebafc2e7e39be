/**
 * private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9): instead of a client
 * secret, each token request carries a short JWT signed with the client's private key; the IdP
 * checks it with the public key registered for the client (Okta: a JWKS; Entra ID: an uploaded
 * certificate, found by the `x5t` thumbprint). The key never leaves the node.
 *
 * The key (and its certificate) are re-read when the files change, so a rotated key is used
 * without a restart; a half-done rotation (new key, old certificate) keeps the working pair and
 * warns once, as the TLS files do.
 */
import { X509Certificate, createHash, createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { registerSecret, replaceSecret } from '../core/log';
import { WatchedFile } from './watched-file';

export const SIGNING_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/** RFC 7523 §2.2: the value of the token request's `client_assertion_type`. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * Seconds an assertion is valid. Short on purpose: it is a credential in its own right, and an
 * IdP must not accept one replayed later (it remembers each `jti` only until `exp`, RFC 7523
 * §3 item 7). A minute covers the token request and modest clock skew between node and IdP.
 */
export const ASSERTION_LIFETIME_S = 60;

/** A problem with the key material; `part` says which setting it is about. */
export class AssertionKeyError extends Error {
  constructor(
    readonly part: 'key' | 'alg' | 'certificate',
    message: string,
  ) {
    super(message);
    this.name = 'AssertionKeyError';
  }
}

/** What signs the assertions: the key, its algorithm and the JWS header fields naming it. */
export interface AssertionKey {
  key: KeyObject;
  alg: SigningAlg;
  /** "RSA 2048-bit", "EC P-256": for messages. */
  description: string;
  kid?: string;
  /** base64url SHA-1 and SHA-256 of the certificate's DER (RFC 7515 §4.1.7, §4.1.8). */
  x5t?: string;
  x5tS256?: string;
}

export interface AssertionKeyOptions {
  /** As configured; undefined: the key's default. */
  alg?: string;
  kid?: string;
}

const KEY_LABELS = ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'];
const WANTED = 'a PEM private key: -----BEGIN PRIVATE KEY----- (PKCS#8), RSA PRIVATE KEY or EC PRIVATE KEY';
const ENCRYPTED = 'encrypted keys are not supported; store it unencrypted with mode 0600';

/** Reads an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1); registers its text as a secret first. */
export function readPrivateKey(pem: Buffer, where: string): KeyObject {
  const text = pem.toString('utf8');
  const labels = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]!);
  if (labels.length === 0) throw new AssertionKeyError('key', `${where} is not a PEM file (want ${WANTED})`);
  registerKeyText(text);
  // PKCS#8 `ENCRYPTED PRIVATE KEY`, or OpenSSL's legacy `Proc-Type: 4,ENCRYPTED` in PKCS#1/SEC1.
  if (labels.includes('ENCRYPTED PRIVATE KEY') || /^Proc-Type:\s*4,ENCRYPTED/m.test(text))
    throw new AssertionKeyError('key', `${where}: ${ENCRYPTED}`);
  if (!labels.some((l) => KEY_LABELS.includes(l)))
    throw new AssertionKeyError('key', `${where} holds ${labels.join(', ')}, not ${WANTED}`);
  try {
    return createPrivateKey({ key: text, format: 'pem' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Node says ERR_MISSING_PASSPHRASE; with OpenSSL 3 an encrypted key can also fail as
    // "interrupted or cancelled" (no passphrase callback): both mean the same here.
    if (code === 'ERR_MISSING_PASSPHRASE' || code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED')
      throw new AssertionKeyError('key', `${where}: ${ENCRYPTED}`);
    throw new AssertionKeyError('key', `${where} cannot be read as a private key (${code ?? (e as Error).message})`);
  }
}

/** The whole file, each PEM block, and each block's base64 on one line: none may be printed. */
function registerKeyText(text: string): void {
  registerSecret(text.trim());
  for (const m of text.matchAll(/-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END [A-Z0-9 ]+-----/g)) {
    registerSecret(m[0]);
    registerSecret(m[1]!.replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, ''));
  }
}

const EC_CURVES: Record<string, { name: string; alg: SigningAlg }> = {
  prime256v1: { name: 'P-256', alg: 'ES256' },
  secp384r1: { name: 'P-384', alg: 'ES384' },
  secp521r1: { name: 'P-521', alg: 'ES512' },
};
const RSA_ALGS: SigningAlg[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

/** What a key can sign with (RFC 7518 §3.1): RSA any RS/PS alg, EC only the alg of its curve. */
export function keyAlgorithms(key: KeyObject, where: string): { description: string; algs: SigningAlg[]; default: SigningAlg } {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const bits = d.modulusLength ?? 0;
    // RFC 7518 §3.3 and §3.5: RS* and PS* keys MUST be 2048 bits or larger (jose refuses smaller).
    if (bits < 2048) throw new AssertionKeyError('key', `${where} is an RSA key of ${bits} bits: RS/PS signing needs 2048 bits or more`);
    return { description: `RSA ${bits}-bit`, algs: RSA_ALGS, default: 'RS256' };
  }
  const curve = key.asymmetricKeyType === 'ec' ? EC_CURVES[d.namedCurve ?? ''] : undefined;
  if (curve) return { description: `EC ${curve.name}`, algs: [curve.alg], default: curve.alg };
  const what = key.asymmetricKeyType === 'ec' ? `an EC ${d.namedCurve ?? ''} key` : `a ${key.asymmetricKeyType ?? 'unknown'} key`;
  throw new AssertionKeyError('key', `${where} holds ${what}: only RSA (2048 bits or more) and EC P-256, P-384 or P-521 keys are supported`);
}

/** The configured algorithm if it fits the key, else the key's default. */
export function chooseAlgorithm(key: KeyObject, alg: string | undefined, where: string): { alg: SigningAlg; description: string } {
  const k = keyAlgorithms(key, where);
  if (alg === undefined) return { alg: k.default, description: k.description };
  if (!(SIGNING_ALGS as readonly string[]).includes(alg)) throw new AssertionKeyError('alg', `"${alg}" is not one of ${SIGNING_ALGS.join(', ')}`);
  if (!k.algs.includes(alg as SigningAlg))
    throw new AssertionKeyError('alg', `"${alg}" does not fit the key in ${where} (${k.description}): use ${k.algs.join(', ')}`);
  return { alg: alg as SigningAlg, description: k.description };
}

/** x5t and x5t#S256 of the key's certificate, after checking the certificate holds its public key. */
export function certificateThumbprints(pem: Buffer, key: KeyObject, where: string): { x5t: string; x5tS256: string } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new AssertionKeyError('certificate', `${where} is not a certificate (want -----BEGIN CERTIFICATE-----)`);
  }
  if (!cert.checkPrivateKey(key))
    throw new AssertionKeyError('certificate', `${where} (${cert.subject.replace(/\n/g, ', ')}) does not match the private key: its public key is another key's`);
  return {
    x5t: createHash('sha1').update(cert.raw).digest('base64url'),
    x5tS256: createHash('sha256').update(cert.raw).digest('base64url'),
  };
}

/** The key file (and certificate) checked together: what parse validates and a rotation re-checks. */
export function loadAssertionKey(key: { pem: Buffer; path: string }, cert: { pem: Buffer; path: string } | undefined, o: AssertionKeyOptions): AssertionKey {
  const k = readPrivateKey(key.pem, key.path);
  const { alg, description } = chooseAlgorithm(k, o.alg, key.path);
  return {
    key: k,
    alg,
    description,
    ...(o.kid !== undefined ? { kid: o.kid } : {}),
    ...(cert ? certificateThumbprints(cert.pem, k, cert.path) : {}),
  };
}

/** Signs one client assertion (RFC 7523 §3): `iss` = `sub` = client id, `aud` = the token URL. */
export async function signClientAssertion(
  k: AssertionKey,
  clientId: string,
  audience: string,
  nowMs: number,
  jti: string = randomUUID(),
): Promise<string> {
  // jose is ESM only: imported when first needed (the agent is CommonJS; esbuild bundles it).
  const { SignJWT } = await import('jose');
  const iat = Math.floor(nowMs / 1000);
  const header = {
    alg: k.alg,
    typ: 'JWT',
    ...(k.kid !== undefined ? { kid: k.kid } : {}),
    ...(k.x5t !== undefined ? { x5t: k.x5t, 'x5t#S256': k.x5tS256 } : {}),
  };
  return new SignJWT({})
    .setProtectedHeader(header)
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setJti(jti)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_S)
    .sign(k.key);
}

export interface ClientAssertionConfig {
  clientId: string;
  /** The assertion's audience (RFC 7523 §3 item 3: the token endpoint URL identifies the IdP). */
  tokenUrl: string;
  privateKeyFile: string;
  clientCertificateFile?: string;
  signingAlg?: string;
  keyId?: string;
}

/** A fresh signed assertion per token request, from the key file as it is now. */
export class ClientAssertionSource {
  private readonly keyFile: WatchedFile<Buffer>;
  private readonly certFile?: WatchedFile<Buffer>;
  private current?: { keyPem: Buffer; certPem?: Buffer; key: AssertionKey };
  /** The files of the last load that failed: not tried again until one of them changes. */
  private failed?: { keyPem: Buffer; certPem?: Buffer };
  private lastError = '';
  private lastAssertion?: string;

  constructor(
    private readonly cfg: ClientAssertionConfig,
    private readonly warn: (message: string) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.keyFile = new WatchedFile(cfg.privateKeyFile, (b) => b, warn);
    if (cfg.clientCertificateFile !== undefined) this.certFile = new WatchedFile(cfg.clientCertificateFile, (b) => b, warn);
    this.signingKey(); // a bad key fails at start, not at the first token request
  }

  /** The key as the files are now; a pair that does not load keeps the previous one. */
  signingKey(): AssertionKey {
    const keyPem = this.keyFile.get();
    const certPem = this.certFile?.get();
    const c = this.current;
    if (c && c.keyPem === keyPem && c.certPem === certPem) return c.key;
    const f = this.failed;
    if (c && f && f.keyPem === keyPem && f.certPem === certPem) return c.key;
    let key: AssertionKey;
    try {
      const cert = certPem && { pem: certPem, path: this.cfg.clientCertificateFile! };
      key = loadAssertionKey({ pem: keyPem, path: this.cfg.privateKeyFile }, cert, { alg: this.cfg.signingAlg, kid: this.cfg.keyId });
    } catch (e) {
      if (!c) throw e;
      const msg = (e as Error).message;
      this.failed = { keyPem, certPem };
      if (msg !== this.lastError) this.warn(`private_key_jwt key files changed but cannot be used yet (${msg}); keeping the previous key`);
      this.lastError = msg;
      return c.key;
    }
    this.failed = undefined;
    this.lastError = '';
    this.current = { keyPem, certPem, key };
    return key;
  }

  /** A new assertion (new `jti`, `iat` now), registered as a secret before anyone sees it. */
  async next(): Promise<string> {
    const jwt = await signClientAssertion(this.signingKey(), this.cfg.clientId, this.cfg.tokenUrl, this.now());
    // Only the live one stays registered (as access tokens): an older one is expired anyway.
    replaceSecret(this.lastAssertion, jwt);
    this.lastAssertion = jwt;
    return jwt;
  }

  /** Re-reads the files now, whatever their stat says (after a 401); true when the key changed. */
  reload(): boolean {
    const before = this.current;
    this.keyFile.reload((a, b) => a.equals(b));
    this.certFile?.reload((a, b) => a.equals(b));
    this.failed = undefined;
    const after = this.signingKey();
    return before === undefined || !before.key.key.equals(after.key) || before.key.x5t !== after.x5t;
  }
}
