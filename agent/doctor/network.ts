/**
 * Reachability of one endpoint, step by step, so the failing step names itself: DNS, then
 * TCP, then (https) the TLS handshake with the agent's own TLS settings, the chain's
 * verification, the host name and the certificate's expiry.
 */
import dns from 'node:dns/promises';
import net from 'node:net';
import tls from 'node:tls';
import { redactUrl } from '../core/options';
import type { TlsMaterial } from '../http/tls';
import { explainTlsError } from '../http/tls';
import { fail, ok, skip, warn, type CheckResult } from '../core/check';

/** A certificate expiring sooner than this is a warning in doctor. */
export const EXPIRY_WARN_DAYS = 14;

export interface Endpoint {
  /** pushgateway, remote_write, oauth2. */
  label: string;
  url: string;
}

/**
 * The proxy the agent's HTTP client (axios, by the HTTP(S)_PROXY / NO_PROXY convention) would
 * use for a URL, if any. Through a proxy the node may have no direct route or DNS at all, so
 * direct DNS/TCP/TLS checks would fail while pushes work: doctor then checks the push only.
 */
export function proxyFor(url: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const u = new URL(url);
  const host = hostOf(u);
  // The agent's client never proxies plain http to loopback.
  if (u.protocol === 'http:' && (host === 'localhost' || host === '::1' || /^127\./.test(host))) return undefined;
  const proxy = u.protocol === 'https:' ? env.HTTPS_PROXY ?? env.https_proxy : env.HTTP_PROXY ?? env.http_proxy;
  if (!proxy) return undefined;
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '').split(/[\s,]+/).filter(Boolean);
  const port = String(portOf(u));
  for (const entry of noProxy) {
    if (entry === '*') return undefined;
    const [h, p] = entry.replace(/^\*?\./, '.').split(':');
    if (p !== undefined && p !== port) continue;
    if (h === host || (h!.startsWith('.') && host.endsWith(h!)) || host.endsWith('.' + h)) return undefined;
  }
  return proxy;
}

function portOf(u: URL): number {
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

function hostOf(u: URL): string {
  return u.hostname.replace(/^\[|\]$/g, '');
}

export async function checkDns(e: Endpoint): Promise<CheckResult> {
  const name = `dns ${e.label}`;
  const host = hostOf(new URL(e.url));
  if (net.isIP(host)) return ok(name, `${host} (an address, no lookup)`);
  try {
    const addrs = await dns.lookup(host, { all: true });
    return ok(name, `${host} -> ${addrs.map((a) => a.address).join(', ')}`);
  } catch (err) {
    return fail(name, `${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check the host name in the URL and the node\'s DNS (/etc/resolv.conf)');
  }
}

export function checkTcp(e: Endpoint, timeoutMs: number): Promise<CheckResult> {
  const name = `tcp ${e.label}`;
  const u = new URL(e.url);
  const host = hostOf(u);
  const port = portOf(u);
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (r: CheckResult): void => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(timeoutMs, () => done(fail(name, `${host}:${port}: no answer within ${timeoutMs} ms`, 'a firewall or security group drops the traffic, or the host is down')));
    s.once('connect', () => done(ok(name, `${host}:${port} connected`)));
    s.once('error', (err: NodeJS.ErrnoException) =>
      done(fail(name, `${host}:${port}: ${err.code ?? err.message}`, err.code === 'ECONNREFUSED' ? 'nothing listens on that port: check the port and that the server runs' : 'check routing and firewalls between the cluster and the endpoint')),
    );
  });
}

function cn(subject: tls.Certificate | undefined): string {
  if (!subject) return '?';
  const v = subject.CN ?? subject.O;
  return Array.isArray(v) ? v.join(',') : v ?? '?';
}

/** The TLS handshake with the agent's settings: chain, host name, expiry. */
export function checkTls(e: Endpoint, material: TlsMaterial, timeoutMs: number, now = Date.now()): Promise<CheckResult> {
  const name = `tls ${e.label}`;
  const u = new URL(e.url);
  if (u.protocol !== 'https:') return Promise.resolve(skip(name, `plain http to ${redactUrl(u.host)}`));
  const host = hostOf(u);
  const port = portOf(u);
  const opts = material.socketOptions();
  const serverName = opts.servername ?? (net.isIP(host) ? undefined : host);
  return new Promise((resolve) => {
    // Verify by hand (rejectUnauthorized off) to report what is wrong, not just that it is.
    const s = tls.connect({
      host,
      port,
      secureContext: opts.secureContext,
      rejectUnauthorized: false,
      ...(serverName ? { servername: serverName } : {}),
    });
    const done = (r: CheckResult): void => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(timeoutMs, () => done(fail(name, `no TLS handshake within ${timeoutMs} ms`, 'is this port TLS at all?')));
    s.once('error', (err: NodeJS.ErrnoException) =>
      done(fail(name, explainTlsError(err.code, err.message) ?? `${err.code ?? ''} ${err.message}`.trim(), 'check that the URL is https:// on a TLS port, and the TLS version/ciphers of the server')),
    );
    s.once('secureConnect', () => {
      const cert = s.getPeerCertificate(true);
      const expires = cert.valid_to ? Date.parse(cert.valid_to) : NaN;
      const days = Math.floor((expires - now) / 86_400_000);
      const who = `subject ${cn(cert.subject)}, issuer ${cn(cert.issuer)}, ${s.getProtocol() ?? 'TLS'}`;
      const insecure = !opts.rejectUnauthorized;
      let problem: string | undefined;
      let hint = '';
      if (!s.authorized) {
        const code = typeof s.authorizationError === 'string' ? s.authorizationError : (s.authorizationError as Error | null)?.message;
        problem = explainTlsError(code) ?? `certificate not trusted (${code})`;
        hint = /expired/i.test(problem) ? 'renew the server certificate' : 'add the CA that signed the server certificate with --ca-file';
      } else {
        const idErr = (opts.checkServerIdentity ?? tls.checkServerIdentity)(opts.servername ?? host, cert);
        if (idErr) {
          problem = `${explainTlsError('ERR_TLS_CERT_ALTNAME_INVALID')}: ${idErr.message}`;
          hint = 'use the host name the certificate names, or --tls-server-name';
        }
      }
      if (problem) {
        if (insecure) return done(warn(name, `${problem}; accepted because of --insecure-skip-verify (${who})`));
        return done(fail(name, `${problem} (${who})`, hint));
      }
      if (Number.isFinite(days) && days < EXPIRY_WARN_DAYS)
        return done(warn(name, `${who}; certificate expires in ${days} day(s)`, 'renew the server certificate soon'));
      done(ok(name, `${who}; certificate valid for ${days} more day(s)`));
    });
  });
}
