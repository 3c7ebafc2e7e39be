/**
 * Starts test/helpers/jwt-token-endpoint.py: a private_key_jwt token endpoint that verifies the
 * agent's client assertions with PyJWT (Debian python3-jwt) and the public key only, so the
 * agent's signing is checked by an implementation that shares no code with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** Debian's interpreter, where python3-jwt and python3-cryptography are installed. */
export const DEBIAN_PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(__dirname, 'jwt-token-endpoint.py');

export interface EndpointConfig {
  clientId: string;
  /** PEM public keys the endpoint accepts (a rotation: only the new one). */
  publicKeys: string[];
  alg: string;
  kid?: string;
  /** PEM certificate whose thumbprints the header must carry as x5t and x5t#S256. */
  certificate?: string;
}

export interface TokenRequestLog {
  ok: boolean;
  reason?: string;
  form: Record<string, string>;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
}

export interface JwtTokenEndpoint {
  url: string;
  tokenUrl: string;
  configure(c: EndpointConfig): Promise<void>;
  /** Tokens issued so far are refused by /resource from now on. */
  revokeTokens(): Promise<void>;
  log(): Promise<TokenRequestLog[]>;
  close(): Promise<void>;
}

async function post(url: string, body: unknown): Promise<void> {
  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}`);
}

function listening(p: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    p.once('exit', (code) => reject(new Error(`${SCRIPT} exited with ${code}: ${err}`)));
    p.once('error', reject);
  });
}

export async function startJwtTokenEndpoint(): Promise<JwtTokenEndpoint> {
  const p = spawn(DEBIAN_PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  const port = await listening(p);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    tokenUrl: `${url}/token`,
    configure: (c) =>
      post(`${url}/_control`, { client_id: c.clientId, public_keys: c.publicKeys, alg: c.alg, kid: c.kid, certificate: c.certificate }),
    revokeTokens: () => post(`${url}/_control`, { revoke: true }),
    log: async () => (await (await fetch(`${url}/_control/log`)).json()) as TokenRequestLog[],
    close: () =>
      new Promise<void>((resolve) => {
        if (p.exitCode !== null) return resolve();
        p.once('exit', () => resolve());
        p.stdin!.end();
      }),
  };
}
