/**
 * The one place outgoing HTTP is configured: timeouts, keep-alive, TLS and auth. Sinks and
 * commands take an AxiosInstance from here and never build their own.
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import axios, { type AxiosInstance } from 'axios';
import type { Config } from '../config';
import { USER_AGENT } from '../version';

export interface HttpOptions {
  timeoutMs: number;
  /** Whether to attach the configured credentials (not for the local Spark API). */
  withAuth?: boolean;
}

export function createHttpClient(config: Config, opts: HttpOptions): AxiosInstance {
  const tls = config.tls;
  const httpsAgent = new https.Agent({
    keepAlive: true,
    maxSockets: 4,
    rejectUnauthorized: !tls.insecureSkipVerify,
    ...(tls.caFile ? { ca: [...require('node:tls').rootCertificates, readFileSync(tls.caFile, 'utf8')] } : {}),
    ...(tls.certFile && tls.keyFile ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } : {}),
    ...(tls.serverName ? { servername: tls.serverName } : {}),
  });
  const client = axios.create({
    timeout: opts.timeoutMs,
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 4 }),
    httpsAgent,
    headers: { 'User-Agent': USER_AGENT },
    maxRedirects: 0,
    // Bodies can be large (100k series); never let axios buffer unboundedly on responses.
    maxContentLength: 64 * 1024 * 1024,
    transitional: { clarifyTimeoutError: true },
  });
  if (opts.withAuth !== false) {
    const a = config.auth;
    client.interceptors.request.use((req) => {
      if (a.bearerToken || a.bearerTokenFile) {
        const token = a.bearerToken ?? readFileSync(a.bearerTokenFile!, 'utf8').trim();
        req.headers.set('Authorization', `Bearer ${token}`);
      } else if (a.basicAuthUser !== undefined) {
        const pw = a.basicAuthPassword ?? readFileSync(a.basicAuthPasswordFile!, 'utf8').trim();
        req.headers.set('Authorization', `Basic ${Buffer.from(`${a.basicAuthUser}:${pw}`).toString('base64')}`);
      }
      return req;
    });
  }
  return client;
}

/** A short, secret-free description of an HTTP failure for logs and errors. */
export function describeHttpError(e: unknown): string {
  if (axios.isAxiosError(e)) {
    if (e.response) {
      const body = typeof e.response.data === 'string' ? e.response.data.trim().slice(0, 200) : '';
      return `HTTP ${e.response.status}${body ? `: ${body}` : ''}`;
    }
    return e.code ? `${e.code}: ${e.message}` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
