/**
 * The private_key_jwt assertion builder and key loading: claims, header (alg, kid, x5t),
 * lifetime on an injected clock, the PEM forms read and refused, and a key file rotated under
 * a running source. Signatures are checked with node:crypto's verify on the public key, not
 * with jose, which signs them.
 */
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync, rmSync, statSync, utimesSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/servers';
import { makeCertificate, makeKey, opensslThumbprints, type KeyKind } from '../helpers/jwt-keys';
import { redact } from '../../agent/core/log';
import {
  ASSERTION_LIFETIME_S,
  AssertionKeyError,
  ClientAssertionSource,
  loadAssertionKey,
  signClientAssertion,
} from '../../agent/http/client-assertion';

const TOKEN_URL = 'https://idp.example/oauth2/v1/token';
const NOW = Date.UTC(2030, 0, 2, 3, 4, 5, 678);

interface Decoded {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

const part = (s: string): Record<string, unknown> => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;

/** Verifies the JWS with the public key of keyFile (RFC 7518: ES* signatures are r||s). */
function verified(jwt: string, keyFile: string): Decoded {
  const [h, c, sig] = jwt.split('.') as [string, string, string];
  const header = part(h);
  const alg = String(header.alg);
  const hash = `sha${alg.slice(2)}`;
  const pub = createPublicKey(readFileSync(keyFile));
  const key = alg.startsWith('ES')
    ? { key: pub, dsaEncoding: 'ieee-p1363' as const }
    : alg.startsWith('PS')
      ? { key: pub, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: Number(alg.slice(2)) / 8 }
      : pub;
  assert.ok(verify(hash, Buffer.from(`${h}.${c}`), key, Buffer.from(sig, 'base64url')), `signature of ${alg} does not verify`);
  return { header, claims: part(c) };
}

const load = (keyFile: string, opts: { alg?: string; kid?: string } = {}, certFile?: string) =>
  loadAssertionKey(
    { pem: readFileSync(keyFile), path: keyFile },
    certFile === undefined ? undefined : { pem: readFileSync(certFile), path: certFile },
    opts,
  );

function refusedAs(fn: () => unknown, part: AssertionKeyError['part'], why: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AssertionKeyError, String(e));
    assert.equal(e.part, part);
    assert.match(e.message, why);
    return true;
  });
}

describe('http/client-assertion', function () {
  this.timeout(60000); // openssl RSA key generation on a small machine
  let dir: string;
  const keys = {} as Record<KeyKind, string>;
  before(() => {
    dir = tempDir();
    for (const k of Object.keys({ 'rsa-pkcs8': 1, 'rsa-pkcs1': 1, 'ec256-pkcs8': 1, 'ec256-sec1': 1, 'ec384-pkcs8': 1, 'ec521-sec1': 1 }) as KeyKind[])
      keys[k] = makeKey(dir, k);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('claims: iss = sub = client id, aud = token URL, jti, iat = nbf = now, exp = iat + 60 s', async () => {
    const jwt = await signClientAssertion(load(keys['ec256-pkcs8']), 'client-0oa1', TOKEN_URL, NOW, 'jti-fixed-1');
    const { claims } = verified(jwt, keys['ec256-pkcs8']);
    const iat = Math.floor(NOW / 1000);
    assert.deepEqual(claims, { iss: 'client-0oa1', sub: 'client-0oa1', aud: TOKEN_URL, jti: 'jti-fixed-1', iat, nbf: iat, exp: iat + 60 });
    assert.equal(ASSERTION_LIFETIME_S, 60);
  });

  it('a random jti (UUID) for every assertion', async () => {
    const k = load(keys['ec256-pkcs8']);
    const jtis = new Set<unknown>();
    for (let i = 0; i < 20; i++) jtis.add(part((await signClientAssertion(k, 'c', TOKEN_URL, NOW)).split('.')[1]!).jti);
    assert.equal(jtis.size, 20);
    for (const j of jtis) assert.match(String(j), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('header: alg from the key (RSA RS256, P-256 ES256, P-384 ES384, P-521 ES512), kid when given, no x5t without a certificate', async () => {
    const cases: [KeyKind, string][] = [['rsa-pkcs8', 'RS256'], ['rsa-pkcs1', 'RS256'], ['ec256-sec1', 'ES256'], ['ec384-pkcs8', 'ES384'], ['ec521-sec1', 'ES512']];
    for (const [kind, alg] of cases) {
      const { header } = verified(await signClientAssertion(load(keys[kind], { kid: `kid-${kind}` }), 'c', TOKEN_URL, NOW), keys[kind]);
      assert.deepEqual(header, { alg, typ: 'JWT', kid: `kid-${kind}` }, kind);
    }
    const { header } = verified(await signClientAssertion(load(keys['ec256-sec1']), 'c', TOKEN_URL, NOW), keys['ec256-sec1']);
    assert.deepEqual(header, { alg: 'ES256', typ: 'JWT' });
  });

  it('signs with a configured RSA alg (RS384, RS512, PS256, PS384, PS512)', async () => {
    for (const alg of ['RS384', 'RS512', 'PS256', 'PS384', 'PS512']) {
      const { header } = verified(await signClientAssertion(load(keys['rsa-pkcs1'], { alg }), 'c', TOKEN_URL, NOW), keys['rsa-pkcs1']);
      assert.equal(header.alg, alg);
    }
  });

  it('refuses an alg that does not fit the key, or is not one of the nine', () => {
    refusedAs(() => load(keys['rsa-pkcs8'], { alg: 'ES256' }), 'alg', /"ES256" does not fit the key .* \(RSA 2048-bit\): use RS256, RS384, RS512, PS256, PS384, PS512/);
    refusedAs(() => load(keys['ec256-sec1'], { alg: 'ES384' }), 'alg', /"ES384" does not fit .*EC P-256.*: use ES256$/);
    refusedAs(() => load(keys['ec384-pkcs8'], { alg: 'RS256' }), 'alg', /use ES384/);
    refusedAs(() => load(keys['ec256-sec1'], { alg: 'HS256' }), 'alg', /"HS256" is not one of RS256, .*ES512/);
    refusedAs(() => load(keys['ec256-sec1'], { alg: 'none' }), 'alg', /is not one of/);
  });

  it('x5t and x5t#S256: the certificate thumbprints as openssl computes them', async () => {
    const cert = makeCertificate(dir, keys['rsa-pkcs8'], 'rsa-cert');
    const { header } = verified(await signClientAssertion(load(keys['rsa-pkcs8'], { kid: 'k' }, cert), 'c', TOKEN_URL, NOW), keys['rsa-pkcs8']);
    const t = opensslThumbprints(cert);
    assert.deepEqual(header, { alg: 'RS256', typ: 'JWT', kid: 'k', x5t: t.x5t, 'x5t#S256': t.x5tS256 });
  });

  it('refuses a certificate of another key, and a file that is not a certificate', () => {
    const other = makeCertificate(dir, keys['ec256-pkcs8'], 'other-cert');
    refusedAs(() => load(keys['ec256-sec1'], {}, other), 'certificate', /other-cert\.crt \(CN=other-cert\) does not match the private key/);
    refusedAs(() => load(keys['rsa-pkcs8'], {}, other), 'certificate', /does not match the private key/);
    refusedAs(() => load(keys['rsa-pkcs8'], {}, keys['rsa-pkcs8']), 'certificate', /is not a certificate/);
  });

  it('reads a key with an EC PARAMETERS block before it, and a key file that also holds its certificate', () => {
    assert.equal(load(makeKey(dir, 'ec256-with-params')).alg, 'ES256');
    const both = path.join(dir, 'both.pem');
    writeFileSync(both, Buffer.concat([readFileSync(makeCertificate(dir, keys['ec384-pkcs8'], 'c384')), readFileSync(keys['ec384-pkcs8'])]));
    assert.equal(load(both, {}, both).alg, 'ES384');
  });

  it('refuses what is not a usable unencrypted RSA or EC key, saying why', () => {
    const file = (name: string, text: string | Buffer): string => (writeFileSync(path.join(dir, name), text), path.join(dir, name));
    refusedAs(() => load(file('text', 'just some text\n')), 'key', /text is not a PEM file \(want a PEM private key: -----BEGIN PRIVATE KEY-----/);
    refusedAs(() => load(file('der', Buffer.from([0x30, 0x82, 0x01, 0x22, 0x02, 0x01]))), 'key', /is not a PEM file/);
    refusedAs(() => load(makeCertificate(dir, keys['ec256-sec1'], 'cert-as-key')), 'key', /holds CERTIFICATE, not a PEM private key/);
    for (const k of ['rsa-encrypted-pkcs8', 'rsa-encrypted-pkcs1'] as const)
      refusedAs(() => load(makeKey(dir, k)), 'key', /encrypted keys are not supported; store it unencrypted with mode 0600/);
    refusedAs(() => load(makeKey(dir, 'ed25519')), 'key', /holds a ed25519 key: only RSA .* and EC P-256, P-384 or P-521 keys are supported/);
    refusedAs(() => load(makeKey(dir, 'secp256k1')), 'key', /holds an EC secp256k1 key: only RSA/);
    refusedAs(() => load(makeKey(dir, 'rsa1024')), 'key', /RSA key of 1024 bits: RS\/PS signing needs 2048 bits or more/);
    const broken = readFileSync(keys['rsa-pkcs8'], 'utf8').replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!');
    refusedAs(() => load(file('broken.pem', broken)), 'key', /broken\.pem cannot be read as a private key/);
  });

  it('registers the key file text, and each assertion, as secrets', async () => {
    const text = readFileSync(keys['ec256-sec1'], 'utf8');
    const src = new ClientAssertionSource({ clientId: 'c', tokenUrl: TOKEN_URL, privateKeyFile: keys['ec256-sec1'] }, undefined, () => NOW);
    const jwt = await src.next();
    assert.equal(redact(`key ${text.trim()} jwt ${jwt}`), 'key [REDACTED] jwt [REDACTED]');
    const body = text.split('\n').filter((l) => !l.startsWith('-----')).join('');
    assert.equal(redact(`one line ${body}`), 'one line [REDACTED]');
  });

  describe('ClientAssertionSource', () => {
    let file: string;
    let cert: string;
    beforeEach(() => {
      file = path.join(dir, 'live.pem');
      copyFileSync(keys['ec256-sec1'], file);
      cert = path.join(dir, 'live.crt');
      copyFileSync(makeCertificate(dir, file, 'live-orig'), cert);
    });

    it('a fresh assertion per call on the injected clock: new jti, iat now, exp iat + 60', async () => {
      let now = NOW;
      const src = new ClientAssertionSource({ clientId: 'c', tokenUrl: TOKEN_URL, privateKeyFile: file, keyId: 'k1' }, undefined, () => now);
      const a = verified(await src.next(), file).claims;
      now += 45_500;
      const b = verified(await src.next(), file).claims;
      assert.notEqual(a.jti, b.jti);
      assert.equal(b.iat, Math.floor((NOW + 45_500) / 1000));
      assert.equal(b.exp, (b.iat as number) + 60);
    });

    it('signs with a rotated key file without a restart; a half-done rotation keeps the working pair and warns once', async () => {
      const warnings: string[] = [];
      const src = new ClientAssertionSource({ clientId: 'c', tokenUrl: TOKEN_URL, privateKeyFile: file, clientCertificateFile: cert }, (m) => warnings.push(m), () => NOW);
      verified(await src.next(), file);
      copyFileSync(keys['ec256-pkcs8'], file); // new key, certificate not yet renewed
      verified(await src.next(), keys['ec256-sec1']); // the old pair (live.pem was a copy of it)
      await src.next();
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0]!, /key files changed but cannot be used yet \(.*live\.crt \(CN=live-orig\) does not match the private key.*\); keeping the previous key$/);
      copyFileSync(makeCertificate(dir, file, 'live-new'), cert);
      const { header } = verified(await src.next(), file);
      assert.equal(header.x5t, opensslThumbprints(cert).x5t);
      verified(await src.next(), keys['ec256-pkcs8']);
    });

    it('reload() reads a rewrite its stat cannot see (same size and mtime); get() alone does not', async () => {
      const stamp = 1_700_000_000; // whole seconds: restored exactly after the rewrite
      utimesSync(file, stamp, stamp);
      const src = new ClientAssertionSource({ clientId: 'c', tokenUrl: TOKEN_URL, privateKeyFile: file }, undefined, () => NOW);
      await src.next();
      const st = statSync(file);
      const other = makeKey(dir, 'ec256-sec1', 'same-size');
      assert.equal(statSync(other).size, st.size, 'SEC1 P-256 files are all one size');
      writeFileSync(file, readFileSync(other));
      utimesSync(file, stamp, stamp);
      assert.equal(statSync(file).mtimeMs, st.mtimeMs);
      verified(await src.next(), keys['ec256-sec1']); // still the old key: the stat did not move
      assert.equal(src.reload(), true);
      verified(await src.next(), other);
      assert.equal(src.reload(), false);
    });

    it('fails at construction on a bad key file', () => {
      writeFileSync(file, 'not a key');
      assert.throws(() => new ClientAssertionSource({ clientId: 'c', tokenUrl: TOKEN_URL, privateKeyFile: file }), /live\.pem is not a PEM file/);
    });
  });
});
