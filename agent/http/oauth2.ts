/**
 * OAuth2 client-credentials grant (RFC 6749 §4.4) for IdPs such as Okta, Entra ID or
 * Databricks OAuth. The token is cached until shortly before `expires_in`, fetched again
 * after a 401, and only one token request is ever in flight: 500 nodes x N sinks must not
 * stampede the IdP.
 */
import type { AxiosInstance } from 'axios';
import { isAxiosError } from './axios';
import { registerSecret, replaceSecret } from '../core/log';
import { JWT_BEARER_ASSERTION_TYPE, type SigningAlg } from './client-assertion';
import { explainTlsError } from './tls';

/** OAuth2 client credentials, as the oauth2 sign-in method (auth/oauth2.ts) parses them. */
export interface OAuth2Config {
  tokenUrl: string;
  clientId: string;
  clientSecretFile?: string;
  clientSecret?: string;
  scopes: string[];
  audience?: string;
  params: Record<string, string>;
  authMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /** private_key_jwt (RFC 7523 §2.2): the PEM key that signs each client assertion. */
  privateKeyFile?: string;
  /** The JWS `kid` header: which of the client's registered keys this is. */
  keyId?: string;
  /** As configured; undefined: from the key (RSA RS256, EC by curve). */
  signingAlg?: SigningAlg;
  /** The key's certificate: its thumbprints go in the `x5t` and `x5t#S256` headers. */
  clientCertificateFile?: string;
}

export class AuthError extends Error {
  /** The token endpoint's HTTP status, when it answered. */
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

export interface TokenResponse {
  accessToken: string;
  /** Seconds, when the IdP said. */
  expiresIn?: number;
}

/** RFC 6749 §5.1: the JSON answer of a token endpoint. Pure. */
export function parseTokenResponse(body: unknown): TokenResponse {
  const b = (typeof body === 'string' ? safeJson(body) : body) as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object') throw new AuthError('OAuth2 token endpoint did not answer JSON');
  const token = b.access_token;
  if (typeof token !== 'string' || token === '') throw new AuthError('OAuth2 token endpoint answered without access_token');
  const type = b.token_type;
  // RFC 6750 bearer tokens only; the type is case-insensitive (RFC 6749 §7.1).
  if (typeof type === 'string' && type.toLowerCase() !== 'bearer')
    throw new AuthError(`OAuth2 token type "${type.slice(0, 20)}" is not supported (only Bearer)`);
  const exp = typeof b.expires_in === 'string' ? Number(b.expires_in) : b.expires_in;
  return { accessToken: token, ...(typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? { expiresIn: exp } : {}) };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** RFC 6749 §5.2 error answer: `error` code (and description), never the whole body. */
export function describeTokenError(e: unknown): string {
  if (isAxiosError(e) && e.response) {
    const d = (typeof e.response.data === 'string' ? safeJson(e.response.data) : e.response.data) as
      | Record<string, unknown>
      | undefined;
    const code = d && typeof d.error === 'string' ? d.error.slice(0, 60) : '';
    const desc = d && typeof d.error_description === 'string' ? d.error_description.slice(0, 160) : '';
    return `HTTP ${e.response.status}${code ? ` ${code}` : ''}${desc ? `: ${desc}` : ''}`;
  }
  if (isAxiosError(e)) return explainTlsError(e.code, e.message) ?? (e.code ? `${e.code}: ${e.message}` : e.message);
  return e instanceof Error ? e.message : String(e);
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before the Basic encoding. */
export function basicClientAuth(clientId: string, secret: string): string {
  // The form-urlencoded serializer (URLSearchParams), as the RFC asks: `!` becomes %21 too.
  const enc = (s: string): string => new URLSearchParams({ v: s }).toString().slice(2);
  return 'Basic ' + Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64');
}

/**
 * The token request body and headers. Pure. `credential` is the client secret, or with
 * private_key_jwt the signed client assertion.
 */
export function tokenRequest(cfg: OAuth2Config, credential: string): { body: string; headers: Record<string, string> } {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (cfg.scopes.length > 0) form.set('scope', cfg.scopes.join(' '));
  if (cfg.audience !== undefined) form.set('audience', cfg.audience);
  for (const [k, v] of Object.entries(cfg.params)) form.set(k, v);
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json',
  };
  if (cfg.authMethod === 'private_key_jwt') {
    // RFC 7523 §2.2. client_id is optional there but must name the assertion's client if sent
    // (RFC 7521 §4.2); Entra ID's certificate-credential request requires it.
    form.set('client_id', cfg.clientId);
    form.set('client_assertion_type', JWT_BEARER_ASSERTION_TYPE);
    form.set('client_assertion', credential);
  } else if (cfg.authMethod === 'client_secret_post') {
    form.set('client_id', cfg.clientId);
    form.set('client_secret', credential);
  } else {
    const h = basicClientAuth(cfg.clientId, credential);
    registerSecret(h.slice('Basic '.length));
    headers.Authorization = h;
  }
  return { body: form.toString(), headers };
}

/** Refresh this long before expiry: 10% of the lifetime, at most 60 s. */
export function refreshMarginMs(expiresInS: number): number {
  return Math.min(60_000, expiresInS * 100);
}

/** A token fetched after a 401 and refused again this soon is not replaced again. */
export const MIN_REFETCH_MS = 30_000;
/** After a failed token request, the IdP is left alone this long. */
export const RETRY_AFTER_FAILURE_MS = 5_000;

export class OAuth2TokenSource {
  private cached?: { token: string; refreshAt: number; expiresAt: number; fetchedAt: number; afterRejection: boolean };
  private inFlight?: Promise<string>;
  private lastFailure?: { at: number; error: unknown };
  private lastToken?: string;
  /** Token requests made (for health metrics and tests). */
  fetches = 0;

  constructor(
    private readonly cfg: OAuth2Config,
    private readonly http: AxiosInstance,
    /**
     * The client secret, or a fresh client assertion, for each token request. `refused`: the
     * token endpoint refused the last request (400/401, RFC 6749 §5.2 invalid_client): the
     * credential file is read again whatever its stat says.
     */
    private readonly credential: (refused: boolean) => string | Promise<string>,
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid token: the cached one, else a fetched one. */
  token(): Promise<string> {
    const c = this.cached;
    if (c && this.now() < c.refreshAt) return Promise.resolve(c.token);
    return this.fetch();
  }

  /**
   * After a 401 with `rejected`: fetch a new token, unless another request already replaced
   * that one (then the current token is the answer) or a fetch is already running (join it).
   */
  refresh(rejected: string): Promise<string> {
    if (this.inFlight) return this.inFlight;
    const c = this.cached;
    const now = this.now();
    if (c && c.token !== rejected && now < c.refreshAt) return Promise.resolve(c.token);
    if (c && c.token === rejected) {
      // A token that itself replaced a refused one, refused again moments later (wrong
      // audience or scope, revoked client): another would be refused too. Answer the same one,
      // so the caller does not retry, and spare the IdP 500 nodes asking every cycle.
      if (c.afterRejection && now - c.fetchedAt < MIN_REFETCH_MS) return Promise.resolve(c.token);
      this.cached = { ...c, refreshAt: 0, expiresAt: 0 }; // never fall back to a refused token
    }
    return this.fetch(true);
  }

  private fetch(afterRejection = false): Promise<string> {
    if (this.inFlight) return this.inFlight;
    const now = this.now();
    if (this.lastFailure && now - this.lastFailure.at < RETRY_AFTER_FAILURE_MS) {
      const c = this.cached;
      return c && now < c.expiresAt ? Promise.resolve(c.token) : Promise.reject(this.lastFailure.error);
    }
    this.inFlight = this.request(afterRejection)
      .then(
        (token) => {
          this.lastFailure = undefined;
          return token;
        },
        (e: unknown) => {
          this.lastFailure = { at: this.now(), error: e };
          // The IdP failing in a token's last minutes must not fail pushes the token still covers.
          const c = this.cached;
          if (c && this.now() < c.expiresAt) return c.token;
          throw e;
        },
      )
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  private async request(afterRejection: boolean): Promise<string> {
    this.fetches++;
    const start = this.now();
    const refused = this.lastFailure?.error instanceof AuthError && [400, 401].includes(this.lastFailure.error.status ?? 0);
    const { body, headers } = tokenRequest(this.cfg, await this.credential(refused));
    let data: unknown;
    try {
      data = (await this.http.post(this.cfg.tokenUrl, body, { headers, responseType: 'text' })).data;
    } catch (e) {
      throw new AuthError(`OAuth2 token request failed: ${describeTokenError(e)}`, isAxiosError(e) ? e.response?.status : undefined);
    }
    const t = parseTokenResponse(data);
    // Access tokens are secrets too; keep only the live one registered (the set stays small).
    replaceSecret(this.lastToken, t.accessToken);
    this.lastToken = t.accessToken;
    const expiresAt = t.expiresIn === undefined ? Infinity : start + t.expiresIn * 1000;
    const refreshAt = t.expiresIn === undefined ? Infinity : expiresAt - refreshMarginMs(t.expiresIn);
    this.cached = { token: t.accessToken, refreshAt, expiresAt, fetchedAt: start, afterRejection };
    return t.accessToken;
  }
}
