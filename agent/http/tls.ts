/**
 * TLS for every outgoing connection (Pushgateway, remote write, OAuth2 token endpoint).
 * Trust: Node's bundled roots + the OS CA bundle (where Databricks init scripts put corporate
 * CAs with update-ca-certificates) + NODE_EXTRA_CA_CERTS + --ca-file. Client certificate for
 * mTLS from --cert-file/--key-file. The files are stat'ed on use and the SecureContext is
 * rebuilt only when one of them changed, so a renewed certificate needs no restart.
 */
import https from 'node:https';
import tls from 'node:tls';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { TlsConfig } from './tls-options';
import { WatchedFile } from './watched-file';

/** Where Debian/Ubuntu (Databricks images) and RHEL keep the OS trust store as one PEM file. */
const OS_CA_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];

let systemCaCache: string[] | undefined;

/** Node's bundled roots plus the OS bundle and NODE_EXTRA_CA_CERTS (read once per process). */
export function systemCAs(): string[] {
  if (systemCaCache) return systemCaCache;
  const out = [...tls.rootCertificates];
  const extra = [OS_CA_BUNDLES.find((f) => existsSync(f)), process.env.NODE_EXTRA_CA_CERTS];
  for (const f of extra) {
    if (!f) continue;
    try {
      out.push(readFileSync(f, 'utf8'));
    } catch {
      /* an unreadable bundle only narrows trust; --ca-file is the explicit way */
    }
  }
  systemCaCache = out;
  return out;
}

export class TlsError extends Error {
  constructor(readonly setting: string, message: string) {
    super(message);
    this.name = 'TlsError';
  }
}

/** The socket options a TLS connection needs (also used by `doctor` for its handshake check). */
export interface TlsSocketOptions {
  secureContext: tls.SecureContext;
  rejectUnauthorized: boolean;
  servername?: string;
  checkServerIdentity?: (host: string, cert: tls.PeerCertificate) => Error | undefined;
}

export class TlsMaterial {
  private readonly files: WatchedFile<Buffer>[] = [];
  private readonly ca?: WatchedFile<Buffer>;
  private readonly cert?: WatchedFile<Buffer>;
  private readonly key?: WatchedFile<Buffer>;
  private built?: { ca?: Buffer; cert?: Buffer; key?: Buffer; options: TlsSocketOptions; agent: https.Agent };
  private lastBuildError = '';
  /** The files of the last build that failed: not tried again until one of them changes. */
  private failed?: { ca?: Buffer; cert?: Buffer; key?: Buffer };

  constructor(
    readonly config: TlsConfig,
    private readonly warn: (msg: string) => void = () => undefined,
    private readonly agentOptions: https.AgentOptions = { keepAlive: true, maxSockets: 4 },
  ) {
    const watch = (p: string | undefined): WatchedFile<Buffer> | undefined => {
      if (p === undefined) return undefined;
      const f = new WatchedFile(p, (b) => b, warn);
      this.files.push(f);
      return f;
    };
    this.ca = watch(config.caFile);
    this.cert = watch(config.certFile);
    this.key = watch(config.keyFile);
    // Fail at start on a bad PEM, not at the first push; without files of its own the
    // material (the system CAs) is built at the first https request.
    if (this.files.length > 0) this.current();
  }

  /** The https.Agent for the current files (a new one after a file changed). */
  agent(): https.Agent {
    return this.current().agent;
  }

  socketOptions(): TlsSocketOptions {
    return this.current().options;
  }

  private current(): NonNullable<TlsMaterial['built']> {
    const ca = this.ca?.get();
    const cert = this.cert?.get();
    const key = this.key?.get();
    const b = this.built;
    if (b && b.ca === ca && b.cert === cert && b.key === key) return b;
    // Mid-rotation (new cert written, key not yet): a build costs ~70 ms of loading every
    // system CA, so the same broken files are not tried again on every request.
    const f = this.failed;
    if (b && f && f.ca === ca && f.cert === cert && f.key === key) return b;
    let options: TlsSocketOptions;
    try {
      options = this.build(ca, cert, key);
    } catch (e) {
      const msg = (e as Error).message;
      if (!b) throw e;
      this.failed = { ca, cert, key };
      if (msg !== this.lastBuildError) this.warn(`TLS files changed but cannot be used yet (${msg}); keeping the previous ones`);
      this.lastBuildError = msg;
      return b;
    }
    this.failed = undefined;
    this.lastBuildError = '';
    const agent = new https.Agent({ ...this.agentOptions, ...options });
    if (b) {
      // Let requests in flight on the old agent finish, then drop its idle sockets.
      const old = b.agent;
      setTimeout(() => old.destroy(), 60_000).unref();
    }
    this.built = { ca, cert, key, options, agent };
    return this.built;
  }

  private build(ca?: Buffer, cert?: Buffer, key?: Buffer): TlsSocketOptions {
    checkPem(ca, cert, key);
    let secureContext: tls.SecureContext;
    try {
      secureContext = tls.createSecureContext({
        ca: ca ? [...systemCAs(), ca.toString('utf8')] : systemCAs(),
        ...(cert && key ? { cert, key } : {}),
      });
    } catch (e) {
      const m = (e as Error).message;
      // Each file parsed on its own above: what fails here is the pair.
      const setting = /mismatch|key values/i.test(m) ? '--key-file' : '--cert-file';
      throw new TlsError(setting, `cannot load TLS files: ${m}`);
    }
    const serverName = this.config.serverName;
    return {
      secureContext,
      rejectUnauthorized: !this.config.insecureSkipVerify,
      ...(serverName
        ? {
            servername: serverName,
            // Check the certificate against --tls-server-name, not the address we dialled.
            checkServerIdentity: (_host: string, c: tls.PeerCertificate) => tls.checkServerIdentity(serverName, c),
          }
        : {}),
    };
  }
}

/**
 * Parses each file on its own, so the error names the right setting: createSecureContext
 * silently ignores a CA it cannot parse (every push would then fail later, "not trusted") and
 * names neither file when a key does not decode.
 */
function checkPem(ca?: Buffer, cert?: Buffer, key?: Buffer): void {
  if (ca) {
    const blocks = ca.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw new TlsError('--ca-file', 'cannot load TLS files: no PEM certificate in it');
    for (const b of blocks) {
      try {
        new X509Certificate(b);
      } catch (e) {
        throw new TlsError('--ca-file', `cannot load TLS files: ${(e as Error).message}`);
      }
    }
  }
  if (cert) {
    try {
      new X509Certificate(cert);
    } catch (e) {
      throw new TlsError('--cert-file', `cannot load TLS files: ${(e as Error).message}`);
    }
  }
  if (key) {
    try {
      createPrivateKey(key);
    } catch (e) {
      throw new TlsError('--key-file', `cannot load TLS files: ${(e as Error).message}`);
    }
  }
}

/** Explains Node/OpenSSL TLS error codes in words an operator can act on; undefined if not TLS. */
export function explainTlsError(code: string | undefined, message = ''): string | undefined {
  const c = code ?? '';
  const table: [RegExp, string][] = [
    [/^CERT_HAS_EXPIRED$/, 'server certificate has expired'],
    [/^CERT_NOT_YET_VALID$/, 'server certificate is not valid yet (check the clock)'],
    [/^ERR_TLS_CERT_ALTNAME_INVALID$/, 'server certificate does not match the host name (see --tls-server-name)'],
    [
      /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED)$/,
      'server certificate is not signed by a trusted CA (see --ca-file)',
    ],
    [/ALERT_CERTIFICATE_REQUIRED|ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA|ALERT_HANDSHAKE_FAILURE/, 'server rejected the client certificate or requires one (see --cert-file/--key-file)'],
    [/ALERT_CERTIFICATE_EXPIRED/, 'server rejected the client certificate as expired (see --cert-file)'],
    [/^ERR_SSL_WRONG_VERSION_NUMBER$/, 'the server does not speak TLS on this port (http:// instead of https://?)'],
  ];
  for (const [re, text] of table) if (re.test(c)) return `TLS: ${text} (${c})`;
  if (/certificate required|tlsv13 alert certificate required/i.test(message))
    return 'TLS: server requires a client certificate (see --cert-file/--key-file)';
  return undefined;
}
