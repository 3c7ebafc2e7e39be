/**
 * The oauth2 method with private_key_jwt, through the agent's HTTP client, against a token
 * endpoint that checks every client assertion with PyJWT and the public key only
 * (test/helpers/jwt-token-endpoint.py): RSA and EC keys, PKCS#1 and SEC1 files, the x5t of a
 * certificate, a rotated key without a restart, and no assertion ever accepted twice.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../../helpers/servers';
import { makeCertificate, makeKey, publicPem, type KeyKind } from '../../helpers/jwt-keys';
import { startJwtTokenEndpoint, type JwtTokenEndpoint } from '../../helpers/jwt-token-endpoint';
import { buildConfig, type FlagValues } from '../../../agent/config';
import { createHttpClient } from '../../../agent/http/client';
import { clientCredential } from '../../../agent/http/auth/oauth2';
import { OAuth2TokenSource, RETRY_AFTER_FAILURE_MS } from '../../../agent/http/oauth2';

const CLIENT_ID = '0oa-agent-client';

describe('http/auth/oauth2 private_key_jwt', function () {
  this.timeout(60000); // openssl RSA key generation on a small machine
  let idp: JwtTokenEndpoint;
  let dir: string;
  const keys = {} as Record<KeyKind, string>;

  before(async () => {
    dir = tempDir();
    for (const k of ['rsa-pkcs8', 'rsa-pkcs1', 'ec256-pkcs8', 'ec256-sec1', 'ec384-pkcs8', 'ec521-sec1'] as KeyKind[]) keys[k] = makeKey(dir, k);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => (idp = await startJwtTokenEndpoint()));
  afterEach(async () => idp.close());

  const config = (keyFile: string, extra: FlagValues = {}) =>
    buildConfig(
      { oauth2TokenUrl: idp.tokenUrl, oauth2ClientId: CLIENT_ID, oauth2AuthMethod: 'private_key_jwt', oauth2PrivateKeyFile: keyFile, oauth2Scopes: 'metrics.write', ...extra },
      {},
    );

  async function accepted(): Promise<number> {
    const log = await idp.log();
    for (const l of log) assert.ok(l.ok, `token endpoint refused an assertion: ${l.reason}`);
    return log.length;
  }

  it('RSA and EC keys, PKCS#8, PKCS#1 and SEC1 files: each assertion verifies with the public key', async () => {
    const cases: [KeyKind, string][] = [['rsa-pkcs8', 'RS256'], ['rsa-pkcs1', 'RS256'], ['ec256-pkcs8', 'ES256'], ['ec256-sec1', 'ES256'], ['ec384-pkcs8', 'ES384'], ['ec521-sec1', 'ES512']];
    for (const [kind, alg] of cases) {
      await idp.configure({ clientId: CLIENT_ID, publicKeys: [publicPem(keys[kind])], alg, kid: `kid-${kind}` });
      const http = createHttpClient(config(keys[kind], { oauth2KeyId: `kid-${kind}` }), { timeoutMs: 5000 });
      const res = await http.get(`${idp.url}/resource`, { validateStatus: () => true });
      const log = await idp.log();
      assert.equal(res.status, 200, `${kind}: ${log.at(-1)?.reason}`);
      assert.equal(log.at(-1)!.header!.kid, `kid-${kind}`);
    }
    assert.equal(await accepted(), cases.length);
  });

  it('the form: client_id, client_assertion_type jwt-bearer, the assertion and scope; no secret, no Authorization', async () => {
    await idp.configure({ clientId: CLIENT_ID, publicKeys: [publicPem(keys['ec256-sec1'])], alg: 'ES256' });
    await createHttpClient(config(keys['ec256-sec1']), { timeoutMs: 5000 }).get(`${idp.url}/resource`);
    const [t] = await idp.log();
    assert.ok(t!.ok, t!.reason);
    assert.deepEqual(Object.keys(t!.form).sort(), ['client_assertion', 'client_assertion_type', 'client_id', 'grant_type', 'scope']);
    assert.equal(t!.form.client_assertion_type, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    assert.equal(t!.claims!.aud, idp.tokenUrl);
    assert.equal(t!.claims!.iss, CLIENT_ID);
    assert.equal(t!.claims!.sub, CLIENT_ID);
    assert.equal((t!.claims!.exp as number) - (t!.claims!.iat as number), 60);
  });

  it('a configured alg (PS256) and a certificate: x5t and x5t#S256 as the endpoint computes them', async () => {
    const cert = makeCertificate(dir, keys['rsa-pkcs1'], 'entra');
    await idp.configure({ clientId: CLIENT_ID, publicKeys: [publicPem(keys['rsa-pkcs1'])], alg: 'PS256', certificate: readFileSync(cert, 'utf8') });
    const http = createHttpClient(config(keys['rsa-pkcs1'], { oauth2SigningAlg: 'PS256', oauth2ClientCertificateFile: cert }), { timeoutMs: 5000 });
    await http.get(`${idp.url}/resource`);
    assert.equal(await accepted(), 1);
  });

  it('a rotated key file is used without a restart (the endpoint now accepts only the new public key)', async () => {
    const live = path.join(dir, 'rotating.pem');
    copyFileSync(keys['ec256-pkcs8'], live);
    await idp.configure({ clientId: CLIENT_ID, publicKeys: [publicPem(keys['ec256-pkcs8'])], alg: 'ES256' });
    const http = createHttpClient(config(live), { timeoutMs: 5000 });
    await http.get(`${idp.url}/resource`);
    // Rotation: the IdP forgets the old key and the tokens it earned; the file gets the new key.
    copyFileSync(keys['ec256-sec1'], live);
    await idp.configure({ clientId: CLIENT_ID, publicKeys: [publicPem(keys['ec256-sec1'])], alg: 'ES256' });
    await idp.revokeTokens();
    const res = await http.get(`${idp.url}/resource`, { validateStatus: () => true });
    assert.equal(res.status, 200, (await idp.log()).at(-1)?.reason);
    assert.equal(await accepted(), 2);
  });

  it('after a 401 from the receiver, re-reads a key whose rewrite the stat did not show', async () => {
    const live = path.join(dir, 'same-stat.pem');
    copyFileSync(keys['ec256-sec1'], live);
    utimesSync(live, 1_700_000_000, 1_700_000_000);
    await idp.configure({ clientId: CLIENT_ID, publicKeys: [publicPem(keys['ec256-sec1'])], alg: 'ES256' });
    const http = createHttpClient(config(live), { timeoutMs: 5000 });
    await http.get(`${idp.url}/resource`);
    const next = makeKey(dir, 'ec256-sec1', 'next');
    assert.equal(statSync(next).size, statSync(live).size);
    writeFileSync(live, readFileSync(next));
    utimesSync(live, 1_700_000_000, 1_700_000_000);
    await idp.configure({ clientId: CLIENT_ID, publicKeys: [publicPem(next)], alg: 'ES256' });
    await idp.revokeTokens();
    const res = await http.get(`${idp.url}/resource`, { validateStatus: () => true });
    assert.equal(res.status, 200, (await idp.log()).at(-1)?.reason);
    assert.equal(await accepted(), 2);
  });

  it('after the token endpoint refused the assertion, the next token request reads the key file again (clock injected)', async () => {
    const live = path.join(dir, 'refused.pem');
    copyFileSync(keys['ec256-sec1'], live);
    utimesSync(live, 1_700_000_000, 1_700_000_000);
    const next = makeKey(dir, 'ec256-sec1', 'after-refusal');
    await idp.configure({ clientId: CLIENT_ID, publicKeys: [publicPem(next)], alg: 'ES256' }); // the IdP already has the new key
    const c = config(live);
    let now = 1_000_000;
    const cred = clientCredential(c.auth.oauth2!, () => undefined);
    const src = new OAuth2TokenSource(c.auth.oauth2!, createHttpClient(c, { timeoutMs: 5000, withAuth: false }), (r) => cred.get(r), () => now);
    await assert.rejects(src.token(), /OAuth2 token request failed: HTTP 401 invalid_client: signature/);
    writeFileSync(live, readFileSync(next)); // the same size and mtime: only a forced read sees it
    utimesSync(live, 1_700_000_000, 1_700_000_000);
    now += RETRY_AFTER_FAILURE_MS;
    assert.match(await src.token(), /^jwt-issued-/);
    const log = await idp.log();
    assert.deepEqual(log.map((l) => l.ok), [false, true]);
  });

  it('no replay: every token request carries a new jti, and the endpoint refuses one sent again', async () => {
    await idp.configure({ clientId: CLIENT_ID, publicKeys: [publicPem(keys['ec256-sec1'])], alg: 'ES256' });
    // Three agents (configs), each with a first token and one more after its token was refused.
    for (let i = 0; i < 3; i++) {
      const http = createHttpClient(config(keys['ec256-sec1']), { timeoutMs: 5000 });
      await http.get(`${idp.url}/resource`);
      await idp.revokeTokens(); // the next request gets a 401, then a new token
      await http.get(`${idp.url}/resource`);
    }
    const log = await idp.log();
    assert.equal(await accepted(), 6);
    assert.equal(new Set(log.map((l) => l.claims!.jti)).size, 6);
    // The endpoint does refuse a replay: the first request's form, sent again as it was.
    const again = await fetch(idp.tokenUrl, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(log[0]!.form).toString() });
    assert.equal(again.status, 401);
    assert.match((await idp.log()).at(-1)!.reason!, /^replay: jti .* was used before$/);
  });
});
