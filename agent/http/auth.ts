/**
 * Credentials for one endpoint: bearer token (file or env), basic auth (password from file or
 * env) or OAuth2 client credentials. Files are re-read when they change and again after a
 * 401, so a rotated secret needs no restart. Every secret value read is registered with the
 * log redactor before it can reach any log line.
 */
import type { AxiosInstance } from 'axios';
import type { AuthConfig } from '../config';
import { registerSecret } from '../core/log';
import { WatchedFile } from './watched-file';
import { OAuth2TokenSource } from './oauth2';

export interface Auth {
  readonly kind: 'none' | 'bearer' | 'basic' | 'oauth2';
  /** The Authorization header value, or undefined for none. */
  authorization(): Promise<string | undefined>;
  /**
   * Called after the server answered 401 to `rejected`. Resolves with a new header value when
   * a retry has a chance (the secret changed), else undefined.
   */
  refresh(rejected: string | undefined): Promise<string | undefined>;
}

/** A secret that is either a literal (from env) or a file re-read on change. */
export class SecretSource {
  private readonly file?: WatchedFile<string>;
  private last?: string;

  constructor(literal: string | undefined, file: string | undefined, what: string, warn: (m: string) => void = () => undefined) {
    if (literal !== undefined) {
      registerSecret(literal);
      this.last = literal;
    } else if (file !== undefined) {
      this.file = new WatchedFile(
        file,
        (b) => {
          // Token files commonly end with a newline (echo, kubectl): it is not part of the secret.
          const v = b.toString('utf8').trim();
          if (v === '') throw new Error(`${what} file is empty`);
          return v;
        },
        warn,
      );
    } else throw new Error(`no ${what} configured`);
  }

  get(): string {
    if (!this.file) return this.last!;
    const v = this.file.get();
    if (v !== this.last) {
      registerSecret(v); // the previous one stays registered too (late log lines)
      this.last = v;
    }
    return v;
  }

  /** Re-reads the file now; true when the secret changed. */
  reload(): boolean {
    if (!this.file) return false;
    const before = this.last;
    this.file.reload();
    return this.get() !== before;
  }
}

const basic = (user: string, password: string): string => {
  const b64 = Buffer.from(`${user}:${password}`).toString('base64');
  registerSecret(b64);
  return `Basic ${b64}`;
};

/**
 * The auth for a config. `tokenHttp` is a client without auth for the OAuth2 token endpoint
 * (same TLS settings).
 */
export function createAuth(a: AuthConfig, tokenHttp: () => AxiosInstance, warn: (m: string) => void = () => undefined): Auth {
  if (a.bearerToken !== undefined || a.bearerTokenFile !== undefined) {
    const token = new SecretSource(a.bearerToken, a.bearerTokenFile, 'bearer token', warn);
    return {
      kind: 'bearer',
      authorization: async () => `Bearer ${token.get()}`,
      refresh: async (rejected) => {
        token.reload();
        const now = `Bearer ${token.get()}`;
        return now !== rejected ? now : undefined;
      },
    };
  }
  if (a.basicAuthUser !== undefined) {
    const user = a.basicAuthUser;
    const pw = new SecretSource(a.basicAuthPassword, a.basicAuthPasswordFile, 'basic auth password', warn);
    return {
      kind: 'basic',
      authorization: async () => basic(user, pw.get()),
      refresh: async (rejected) => {
        pw.reload();
        const now = basic(user, pw.get());
        return now !== rejected ? now : undefined;
      },
    };
  }
  if (a.oauth2 !== undefined) {
    const o = a.oauth2;
    const secret = new SecretSource(o.clientSecret, o.clientSecretFile, 'OAuth2 client secret', warn);
    const source = new OAuth2TokenSource(o, tokenHttp(), () => secret.get());
    return {
      kind: 'oauth2',
      authorization: async () => `Bearer ${await source.token()}`,
      refresh: async (rejected) => {
        secret.reload();
        const token = await source.refresh((rejected ?? '').replace(/^Bearer /, ''));
        const now = `Bearer ${token}`;
        return now !== rejected ? now : undefined;
      },
    };
  }
  return { kind: 'none', authorization: async () => undefined, refresh: async () => undefined };
}
