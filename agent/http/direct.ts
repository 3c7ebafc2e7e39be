/**
 * One request with a whole body over node:http(s) itself, for the request a node makes every
 * cycle (the Pushgateway PUT): axios's per-request config merging, header normalisation,
 * transforms and adapter cost ~0.8 ms of CPU and ~50 KiB of garbage per push, measured, which
 * at a 1 s interval was the rest of the gap to node_exporter's scrape. The same TLS agents and
 * sign-in as http/client.ts (headers made for the request, one retry after a 401/403 that got
 * new credentials); the same limits (no redirect followed, the timeout over the whole request,
 * sign-in included). A proxy from the environment is axios's to handle: http/client.ts sends
 * such requests through axios.
 */
import http from 'node:http';
import https from 'node:https';
import type { DirectRequest, DirectResponse } from '../core/component';
import { within } from '../core/isolate';
import { USER_AGENT } from '../core/version';
import type { Auth, OutgoingRequest, Rejection } from './auth/index';
import type { TlsMaterial } from './tls';

/** The most of an answer kept: the Pushgateway's answers are a line; a refusal's reason fits. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface DirectSettings {
  tls: TlsMaterial;
  /** Undefined: no credentials (the method is `none`, or the client was made without). */
  auth?: Auth;
  timeoutMs: number;
  httpAgent: http.Agent;
}

/** A request that failed before an answer: a code as Node's errors have (ETIMEDOUT, ...). */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export async function sendDirect(s: DirectSettings, req: DirectRequest): Promise<DirectResponse> {
  const started = Date.now();
  const url = new URL(req.url);
  const body = req.body;
  const base: Record<string, string> = { 'user-agent': USER_AGENT, ...lower(req.headers) };
  // A 100k-series body is ~27 MB: its bytes are made only for a method that signs them (SigV4),
  // not copied for every push.
  if (body !== undefined) base['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length);
  const attempt = async (signedBefore?: Record<string, string>): Promise<DirectResponse> => {
    const left = (): number => s.timeoutMs - (Date.now() - started);
    const sent = s.auth ? await signIn(s.auth, outgoing(req.method, url, base, body), left(), s.timeoutMs, req.signal) : {};
    const res = await exchange(s, url, req.method, { ...base, ...sent }, body, Math.max(1, left()), req.signal);
    if (!s.auth || signedBefore !== undefined || (res.status !== 401 && res.status !== 403)) return res;
    // A method that cannot get credentials at all throws here: an outage, not the refusal.
    if (!(await s.auth.refresh(rejection(res, sent)))) return res;
    return attempt(sent);
  };
  return attempt();
}

function lower(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = v;
  return out;
}

type Body = string | Uint8Array;

function outgoing(method: string, url: URL, headers: Record<string, string>, body: Body | undefined): OutgoingRequest {
  let bytes: Uint8Array | undefined;
  const make = (): Uint8Array => (body === undefined ? new Uint8Array(0) : typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  return { method, url, headers, body: () => (bytes ??= make()) };
}

/**
 * The sign-in headers (names lower-cased) within what is left of the request's timeout
 * (`waitMs`) and its abort: a hanging IMDS, STS or token endpoint must not hold the push, and
 * the agent's exit, for as long as it hangs. http/client.ts signs axios's requests with it too.
 */
export async function signIn(auth: Auth, out: OutgoingRequest, waitMs: number, timeoutMs: number, signal?: AbortSignal): Promise<Record<string, string>> {
  const r = await within(auth.headers(out), Math.max(0, waitMs), signal);
  if (r.status === 'done') return lower(r.value);
  if (r.status === 'failed') throw r.error;
  if (signal?.aborted) throw new RequestError('request aborted while signing in', 'ERR_CANCELED');
  throw new RequestError(`signing in took longer than the ${timeoutMs} ms timeout`, 'ETIMEDOUT');
}

function rejection(res: DirectResponse & { headers: Record<string, string> }, sent: Record<string, string>): Rejection {
  return { status: res.status, body: res.body.slice(0, 1024), headers: res.headers, sent };
}

function exchange(
  s: DirectSettings,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Body | undefined,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<DirectResponse & { headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new RequestError('request aborted', 'ERR_CANCELED'));
    const secure = url.protocol === 'https:';
    // Loading the system CAs costs ~100 ms: only https requests pay it, at their first use.
    const agent = secure ? s.tls.agent() : s.httpAgent;
    const req = (secure ? https : http).request(url, { method, headers, agent });
    let done = false;
    const finish = (e: Error | undefined, r?: DirectResponse & { headers: Record<string, string> }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (e) {
        req.destroy();
        reject(e);
      } else resolve(r!);
    };
    // The whole request's timeout is named, not what was left of it after signing in.
    const timer = setTimeout(() => finish(new RequestError(`timeout of ${s.timeoutMs} ms exceeded`, 'ETIMEDOUT')), timeoutMs);
    const onAbort = (): void => finish(new RequestError('request aborted', 'ERR_CANCELED'));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e) => finish(e));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_ANSWER_BYTES) chunks.push(c);
        size += c.length;
      });
      res.on('error', (e) => finish(e));
      res.on('end', () => {
        const answer: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) answer[k] = Array.isArray(v) ? v.join(', ') : v;
        finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8'), headers: answer });
      });
    });
    req.end(body);
  });
}
