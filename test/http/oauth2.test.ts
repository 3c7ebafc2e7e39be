/**
 * OAuth2 client credentials against a small local token endpoint (written here, as an IdP
 * cannot run in a test): both client-auth methods, scopes/audience/params, caching, expiry,
 * refresh after a 401, one request in flight, errors without secrets.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tempDir } from '../helpers/servers';
import { makePki, type Pki } from '../helpers/certs';
import { startRecordingServer, type RecordingServer, type Recorded } from '../helpers/recording-server';
import { buildConfig, type FlagValues } from '../../agent/config';
import { createHttpClient, describeHttpError } from '../../agent/http/client';
import { OAuth2TokenSource, basicClientAuth, parseTokenResponse, refreshMarginMs, tokenRequest } from '../../agent/http/oauth2';
import { redact } from '../../agent/core/log';

const CLIENT_ID = 'agent client';
const SECRET = 'cl!ent-Secret=42';

interface Idp {
  server: RecordingServer;
  tokenRequests(): Recorded[];
  /** Tokens the resource accepts. */
  valid: Set<string>;
  expiresIn: number | undefined;
  fail?: { status: number; body: string };
  /** The resource refuses every token (wrong audience, revoked client). */
  refuseAll?: boolean;
}

async function startIdp(): Promise<Idp> {
  let n = 0;
  const idp: Idp = {
    valid: new Set(),
    expiresIn: 3600,
    server: undefined as unknown as RecordingServer,
    tokenRequests: () => idp.server.requests.filter((r) => r.path === '/token'),
  };
  idp.server = await startRecordingServer((r) => {
    if (r.path === '/token') {
      if (idp.fail) return idp.fail;
      const token = `access-token-${++n}`;
      idp.valid.add(token);
      const body: Record<string, unknown> = { access_token: token, token_type: 'Bearer' };
      if (idp.expiresIn !== undefined) body.expires_in = idp.expiresIn;
      return { status: 200, body: JSON.stringify(body), delayMs: 50 };
    }
    const auth = String(r.headers.authorization ?? '').replace(/^Bearer /, '');
    return idp.valid.has(auth) && !idp.refuseAll ? { status: 200, body: '{}' } : { status: 401, body: '{"error":"invalid_token"}' };
  });
  return idp;
}

describe('http/oauth2', () => {
  let idp: Idp;
  let dir: string;
  beforeEach(async () => {
    idp = await startIdp();
    dir = tempDir();
  });
  afterEach(async () => {
    await idp.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (extra: FlagValues = {}, env: Record<string, string> = { DBX_PROM_OAUTH2_CLIENT_SECRET: SECRET }) =>
    buildConfig({ oauth2TokenUrl: `${idp.server.url}/token`, oauth2ClientId: CLIENT_ID, ...extra }, env);

  it('client_secret_basic: form-urlencoded id and secret in the Authorization header, scopes space-joined', async () => {
    const http = createHttpClient(config({ oauth2Scopes: 'metrics.write, metrics.read', oauth2Audience: 'https://metrics.example', oauth2Params: 'resource=urn:x' }), { timeoutMs: 2000 });
    await http.get(`${idp.server.url}/resource`);
    const [t] = idp.tokenRequests();
    assert.equal(t!.method, 'POST');
    assert.equal(t!.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(t!.headers.authorization, 'Basic ' + Buffer.from('agent+client:cl%21ent-Secret%3D42').toString('base64'));
    const form = new URLSearchParams(t!.body);
    assert.equal(form.get('grant_type'), 'client_credentials');
    assert.equal(form.get('scope'), 'metrics.write metrics.read');
    assert.equal(form.get('audience'), 'https://metrics.example');
    assert.equal(form.get('resource'), 'urn:x');
    assert.equal(form.get('client_secret'), null);
    const res = idp.server.requests.find((r) => r.path === '/resource')!;
    assert.equal(res.headers.authorization, 'Bearer access-token-1');
  });

  it('client_secret_post: id and secret in the body, no Authorization header', async () => {
    const http = createHttpClient(config({ oauth2AuthMethod: 'client_secret_post', oauth2Scopes: 'a b' }), { timeoutMs: 2000 });
    await http.get(`${idp.server.url}/resource`);
    const [t] = idp.tokenRequests();
    assert.equal(t!.headers.authorization, undefined);
    const form = new URLSearchParams(t!.body);
    assert.equal(form.get('client_id'), CLIENT_ID);
    assert.equal(form.get('client_secret'), SECRET);
    assert.equal(form.get('scope'), 'a b');
  });

  it('caches the token across requests and clients of one config', async () => {
    const c = config();
    const a = createHttpClient(c, { timeoutMs: 2000 });
    const b = createHttpClient(c, { timeoutMs: 2000 });
    for (let i = 0; i < 3; i++) await a.get(`${idp.server.url}/resource`);
    await b.get(`${idp.server.url}/resource`);
    assert.equal(idp.tokenRequests().length, 1);
  });

  it('fetches one token for many requests at once (one refresh in flight)', async () => {
    const http = createHttpClient(config(), { timeoutMs: 2000 });
    await Promise.all(Array.from({ length: 10 }, () => http.get(`${idp.server.url}/resource`)));
    assert.equal(idp.tokenRequests().length, 1);
  });

  it('after a 401 fetches a new token and retries once; concurrent 401s share one refresh', async () => {
    const http = createHttpClient(config(), { timeoutMs: 2000 });
    await http.get(`${idp.server.url}/resource`);
    idp.valid.clear(); // the IdP revoked it
    await Promise.all(Array.from({ length: 5 }, () => http.get(`${idp.server.url}/resource`)));
    assert.equal(idp.tokenRequests().length, 2);
  });

  it('refreshes before expires_in runs out (clock injected)', async () => {
    let now = 1_000_000;
    const c = config();
    const src = new OAuth2TokenSource(c.auth.oauth2!, createHttpClient(c, { timeoutMs: 2000, withAuth: false }), () => SECRET, () => now);
    idp.expiresIn = 100;
    assert.equal(await src.token(), 'access-token-1');
    now += 100_000 - refreshMarginMs(100) - 1;
    assert.equal(await src.token(), 'access-token-1');
    now += 2;
    assert.equal(await src.token(), 'access-token-2');
    assert.equal(src.fetches, 2);
  });

  it('a resource that refuses every token does not make the IdP issue one per push', async () => {
    const http = createHttpClient(config(), { timeoutMs: 2000 });
    idp.refuseAll = true;
    for (let i = 0; i < 5; i++) await assert.rejects(http.get(`${idp.server.url}/resource`), /401/);
    // The first token, one replacement after the first 401, then no more.
    assert.equal(idp.tokenRequests().length, 2);
    assert.equal(idp.server.requests.filter((r) => r.path === '/resource').length, 6);
  });

  it('keeps using a still-valid token while the IdP fails near its expiry, and leaves a failing IdP alone', async () => {
    let now = 1_000_000;
    const c = config();
    const src = new OAuth2TokenSource(c.auth.oauth2!, createHttpClient(c, { timeoutMs: 2000, withAuth: false }), () => SECRET, () => now);
    idp.expiresIn = 100;
    assert.equal(await src.token(), 'access-token-1');
    idp.fail = { status: 503, body: '{"error":"temporarily_unavailable"}' };
    now += 95_000; // past the refresh point, before expiry
    assert.equal(await src.token(), 'access-token-1');
    assert.equal(await src.token(), 'access-token-1');
    assert.equal(src.fetches, 2, 'no new request within 5 s of a failure');
    now += 10_000; // expired, IdP still down
    await assert.rejects(src.token(), /temporarily_unavailable/);
    idp.fail = undefined;
    now += 5_000;
    assert.equal(await src.token(), 'access-token-2');
  });

  it('keeps a token without expires_in until the resource rejects it', async () => {
    idp.expiresIn = undefined;
    const http = createHttpClient(config(), { timeoutMs: 2000 });
    await http.get(`${idp.server.url}/resource`);
    await http.get(`${idp.server.url}/resource`);
    assert.equal(idp.tokenRequests().length, 1);
    idp.valid.clear();
    await http.get(`${idp.server.url}/resource`);
    assert.equal(idp.tokenRequests().length, 2);
  });

  it('reads the client secret from a file, again after it changed', async () => {
    const f = path.join(dir, 'secret');
    writeFileSync(f, 'file-Secret-one\n');
    const http = createHttpClient(config({ oauth2ClientSecretFile: f, oauth2AuthMethod: 'client_secret_post' }, {}), { timeoutMs: 2000 });
    await http.get(`${idp.server.url}/resource`);
    writeFileSync(f, 'file-Secret-two-rotated\n');
    idp.valid.clear();
    await http.get(`${idp.server.url}/resource`);
    const secrets = idp.tokenRequests().map((t) => new URLSearchParams(t.body).get('client_secret'));
    assert.deepEqual(secrets, ['file-Secret-one', 'file-Secret-two-rotated']);
  });

  it('reports the IdP error code, never the secret or the token', async () => {
    idp.fail = { status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'bad secret ' + SECRET }) };
    const http = createHttpClient(config(), { timeoutMs: 2000 });
    await assert.rejects(http.get(`${idp.server.url}/resource`), (e: unknown) => {
      const text = describeHttpError(e);
      assert.match(text, /OAuth2 token request failed: HTTP 401 invalid_client/);
      assert.doesNotMatch(text, /cl!ent-Secret/);
      return true;
    });
  });

  it('registers each access token as a secret', async () => {
    const http = createHttpClient(config(), { timeoutMs: 2000 });
    await http.get(`${idp.server.url}/resource`);
    assert.equal(redact('token access-token-1 leaked'), 'token [REDACTED] leaked');
  });

  describe('token endpoint over TLS', () => {
    let pki: Pki;
    let server: https.Server;
    let url: string;
    before(async () => {
      pki = makePki();
      server = https.createServer({ cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key) }, (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ access_token: 'tls-access-token-9', expires_in: 60 }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      pki.cleanup();
    });

    const source = (caFile: string) => {
      const c = buildConfig({ oauth2TokenUrl: url, oauth2ClientId: 'x', caFile }, { DBX_PROM_OAUTH2_CLIENT_SECRET: SECRET });
      return new OAuth2TokenSource(c.auth.oauth2!, createHttpClient(c, { timeoutMs: 2000, withAuth: false }), () => SECRET);
    };

    it('verifies the token endpoint with the configured CA', async () => {
      assert.equal(await source(pki.ca.cert).token(), 'tls-access-token-9');
    });

    it('refuses a token endpoint signed by another CA, saying so', async () => {
      await assert.rejects(source(pki.otherCa.cert).token(), /OAuth2 token request failed: TLS: server certificate is not signed by a trusted CA/);
    });
  });

  describe('pure parts', () => {
    it('parses token answers (RFC 6749 5.1) and refuses non-bearer tokens', () => {
      assert.deepEqual(parseTokenResponse({ access_token: 'x', token_type: 'bearer', expires_in: '60' }), { accessToken: 'x', expiresIn: 60 });
      assert.deepEqual(parseTokenResponse('{"access_token":"y"}'), { accessToken: 'y' });
      assert.throws(() => parseTokenResponse({ access_token: 'x', token_type: 'mac' }), /only Bearer/);
      assert.throws(() => parseTokenResponse('<html>'), /did not answer JSON/);
      assert.throws(() => parseTokenResponse({}), /without access_token/);
    });

    it('builds the form and encodes Basic client auth per RFC 6749 2.3.1', () => {
      assert.equal(basicClientAuth('a b', 'p:w'), 'Basic ' + Buffer.from('a+b:p%3Aw').toString('base64'));
      const r = tokenRequest({ tokenUrl: 'x', clientId: 'id', scopes: [], params: {}, authMethod: 'client_secret_post' }, 's');
      assert.equal(r.body, 'grant_type=client_credentials&client_id=id&client_secret=s');
    });

    it('refreshes 10% of the lifetime early, at most a minute', () => {
      assert.equal(refreshMarginMs(10), 1000);
      assert.equal(refreshMarginMs(3600), 60_000);
    });
  });
});
