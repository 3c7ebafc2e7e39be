/**
 * The one place outgoing HTTP is configured: timeouts, keep-alive, TLS and auth. Sinks and
 * commands take an AxiosInstance from here and never build their own.
 *
 * Per request: the https.Agent of the current TLS files (rebuilt only when a file changed)
 * and the sign-in headers of the configured method, made for that request (SigV4 signs its
 * exact bytes). A 401 or 403 asks the method for new credentials (a re-read secret, a new
 * OAuth2 token, refreshed AWS keys) and, when that changed anything, the request is signed anew
 * and retried once. Redirects are not followed, so credentials only ever go to the configured URL.
 */
import http from 'node:http';
import type { AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { isAxiosError, loadAxios } from './axios';
import type { DirectRequest, DirectResponse, HttpClient, HttpClientOptions } from '../core/component';
import { sendDirect, signIn } from './direct';
import { ConfigError, isLoopback } from '../core/options';
import { log, redact } from '../core/log';
import { USER_AGENT } from '../core/version';
import { createAuth, type Auth, type AuthConfigs, type OutgoingRequest, type Rejection } from './auth/index';
import type { TlsConfig } from './tls-options';
import { explainTlsError, TlsError, TlsMaterial } from './tls';

export type HttpOptions = HttpClientOptions;

/** What a client is built from: the agent's TLS and auth settings (a Config has them). */
export interface HttpSettings {
  readonly tls: TlsConfig;
  readonly auth: AuthConfigs;
  readonly pushTimeoutMs: number;
}

interface Shared {
  tls: TlsMaterial;
  auth?: Auth;
}

// TLS material and auth are shared by every client of one Config: one OAuth2 token for all
// sinks, one stat of the certificate files per request whichever sink sends it.
const shared = new WeakMap<HttpSettings, Shared>();

const warn = (m: string): void => log.warn(m);

function sharedFor(config: HttpSettings): Shared {
  let s = shared.get(config);
  if (!s) {
    try {
      s = { tls: new TlsMaterial(config.tls, warn) };
      // Once per process and config, whichever command (run, once, doctor, gc) builds a client.
      if (config.tls.insecureSkipVerify)
        log.warn('TLS certificate verification is OFF (--insecure-skip-verify): anyone on the path can read and forge pushes');
    } catch (e) {
      if (e instanceof TlsError) throw new ConfigError(e.setting, e.message);
      throw e;
    }
    shared.set(config, s);
  }
  return s;
}

/** The TLS material of a config (doctor uses it for its handshake check). */
export function tlsMaterialFor(config: HttpSettings): TlsMaterial {
  return sharedFor(config).tls;
}

/** The auth of a config (shared by its clients). */
export function authFor(config: HttpSettings): Auth {
  const s = sharedFor(config);
  if (!s.auth) {
    s.auth = createAuth(config.auth, {
      tokenHttp: () => createHttpClient(config, { timeoutMs: config.pushTimeoutMs, withAuth: false }),
      warn,
    });
  }
  return s.auth;
}

function isLoopbackHttp(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' && isLoopback(u.hostname);
  } catch {
    return false;
  }
}

type SignedConfig = InternalAxiosRequestConfig & { dbxAuthRetried?: boolean; dbxAuthSent?: Record<string, string> };

/**
 * The request as it will go out, for the sign-in method: URL with query, headers, body bytes.
 * Each is made when the method first asks: a bearer token asks for none, on every push.
 */
function outgoing(client: AxiosInstance, req: InternalAxiosRequestConfig): OutgoingRequest {
  let url: URL | undefined;
  let headers: Record<string, string> | undefined;
  return {
    method: (req.method ?? 'get').toUpperCase(),
    get url() {
      return (url ??= new URL(client.getUri(req)));
    },
    get headers() {
      if (headers === undefined) {
        headers = {};
        for (const [k, v] of Object.entries(req.headers.toJSON())) if (v !== undefined && v !== null) headers[k.toLowerCase()] = String(v);
      }
      return headers;
    },
    body: () => bodyBytes(req.data),
  };
}

/** The bytes axios sends for the bodies the agent makes (a Buffer, a string or none). */
function bodyBytes(data: unknown): Uint8Array {
  if (data === undefined || data === null) return new Uint8Array(0);
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  throw new Error('a request body of this type cannot be signed');
}

function rejectionOf(res: AxiosResponse, sent: Record<string, string>): Rejection {
  const data: unknown = res.data;
  const body = typeof data === 'string' ? data : data instanceof Uint8Array ? Buffer.from(data).toString('utf8') : JSON.stringify(data ?? '');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers ?? {})) if (v !== undefined && v !== null) headers[k.toLowerCase()] = String(v);
  return { status: res.status, body: body.slice(0, 1024), headers, sent };
}

/** Whether a proxy from the environment may apply to this URL (then axios, which reads it, sends the request). */
function proxyMayApply(url: string): boolean {
  if (isLoopbackHttp(url)) return false;
  const env = process.env;
  const proxy = url.startsWith('https:') ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
  return proxy !== undefined && proxy !== '';
}

export function createHttpClient(config: HttpSettings, opts: HttpOptions): HttpClient {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const direct = {
    tls: tlsMaterialFor(config),
    auth: opts.withAuth === false ? undefined : authFor(config),
    timeoutMs: opts.timeoutMs,
    httpAgent,
  };
  if (direct.auth?.kind === 'none') direct.auth = undefined;
  let made: AxiosInstance | undefined;
  const axiosClient = (): AxiosInstance => (made ??= createAxiosClient(config, opts, httpAgent));
  const send = async (req: DirectRequest): Promise<DirectResponse> => {
    if (!proxyMayApply(req.url)) return sendDirect(direct, req);
    const res = await axiosClient().request<string>({
      method: req.method,
      url: req.url,
      data: req.body,
      headers: { ...req.headers },
      signal: req.signal,
      responseType: 'text',
      validateStatus: () => true,
    });
    return { status: res.status, body: typeof res.data === 'string' ? res.data : String(res.data ?? '') };
  };
  // The axios instance is made (and axios loaded) at its first use: a node whose only requests
  // are the per-cycle PUT (`run` and `once` to a Pushgateway) never loads axios.
  // (`then` is asked by `await` of anything: the client is not a promise.)
  return new Proxy({} as HttpClient, {
    get: (_, key) => (key === 'direct' ? send : key === 'then' ? undefined : Reflect.get(axiosClient(), key)),
    set: (_, key, value) => Reflect.set(axiosClient(), key, value),
  });
}

function createAxiosClient(config: HttpSettings, opts: HttpOptions, httpAgent: http.Agent): AxiosInstance {
  const tls = tlsMaterialFor(config);
  const client = loadAxios().create({
    timeout: opts.timeoutMs,
    httpAgent,
    headers: { 'User-Agent': USER_AGENT },
    maxRedirects: 0,
    // Bodies can be large (100k series); never let axios buffer unboundedly on responses.
    maxContentLength: 64 * 1024 * 1024,
    transitional: { clarifyTimeoutError: true },
    // A URL's user:pass@ is sent by axios as basic auth: config.ts counts it as a credential
    // for the plain-http rule and registers the password as a secret.
  });
  client.interceptors.request.use((req) => {
    const uri = client.getUri(req);
    // Loading the system CAs costs ~100 ms: only https requests pay it, at their first use.
    if (uri.startsWith('https:')) req.httpsAgent = tls.agent();
    // Plain http with credentials is allowed to loopback only (config.ts); an HTTP_PROXY in
    // the environment must not carry that request, in clear, off the node.
    if (req.proxy === undefined && isLoopbackHttp(uri)) req.proxy = false;
    return req;
  });
  if (opts.withAuth === false) return client;

  const auth = authFor(config);
  if (auth.kind === 'none') return client;
  client.interceptors.request.use(async (req) => {
    // axios starts its timer only once the headers are made: signing in counts against it here.
    const signal = req.signal instanceof AbortSignal ? req.signal : undefined;
    const sent = await signIn(auth, outgoing(client, req), req.timeout || Infinity, req.timeout ?? 0, signal);
    for (const [k, v] of Object.entries(sent)) req.headers.set(k, v);
    (req as SignedConfig).dbxAuthSent = sent;
    return req;
  });
  /**
   * After a refusal: new credentials and one retry of the same request, signed anew; or
   * undefined. A method that cannot get credentials at all throws here: the request then fails
   * with that error (an outage, its batch kept), not with the refusal (a 4xx drops a batch).
   */
  const retry = async (res: AxiosResponse | undefined): Promise<AxiosResponse | undefined> => {
    const req = res?.config as SignedConfig | undefined;
    if (!res || !req || req.dbxAuthRetried || (res.status !== 401 && res.status !== 403)) return undefined;
    const sent = req.dbxAuthSent ?? {};
    if (!(await auth.refresh(rejectionOf(res, sent)))) return undefined;
    req.dbxAuthRetried = true;
    for (const k of Object.keys(sent)) req.headers.delete(k);
    return client.request(req);
  };
  client.interceptors.response.use(
    // A caller with `validateStatus: () => true` (the remote-write sender classifies every
    // status itself) gets the refusal as a response, not an error: refresh there too.
    async (res) => (await retry(res)) ?? res,
    async (e: unknown) => {
      if (!isAxiosError(e) || !e.response) throw e;
      const res = await retry(e.response);
      if (res === undefined) throw e;
      return res;
    },
  );
  return client;
}

/** A short, secret-free description of a refusal: its status and the start of its reason. */
export function describeHttpStatus(status: number, data: unknown): string {
  const raw = typeof data === 'string' ? data : '';
  // The body helps (Pushgateway says why a push was rejected); control chars do not.
  const body = raw.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 200);
  const hint = status === 401 ? ' (credentials rejected)' : status === 403 ? ' (credentials lack permission)' : '';
  return redact(`HTTP ${status}${hint}${body ? `: ${body}` : ''}`);
}

/** A short, secret-free description of an HTTP failure for logs and errors. */
export function describeHttpError(e: unknown): string {
  if (isAxiosError(e)) {
    if (e.response) return describeHttpStatus(e.response.status, e.response.data);
    const cause = (e as { cause?: NodeJS.ErrnoException }).cause;
    const tlsText = explainTlsError(e.code, e.message) ?? explainTlsError(cause?.code, cause?.message);
    if (tlsText) return tlsText;
    return redact(e.code ? `${e.code}: ${e.message}` : e.message);
  }
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    const tlsText = explainTlsError(code, e.message);
    // Node's own errors (the direct path) read as axios's did: the code first.
    const nodeCode = code !== undefined && /^(E[A-Z]+|ERR_[A-Z_]+)$/.test(code) && !e.message.includes(code);
    return redact(tlsText ?? (nodeCode ? `${code}: ${e.message}` : e.message));
  }
  return redact(String(e));
}
