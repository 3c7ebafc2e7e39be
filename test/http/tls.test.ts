/**
 * TLS material: built once, rebuilt only when a file changes, and a rotated client
 * certificate takes effect on the next request against a real Pushgateway requiring mTLS.
 */
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { makePki, type Pki } from '../helpers/certs';
import { startSecurePushgateway, type SecureServer } from '../helpers/secure-servers';
import { runAgent } from '../helpers/agent';
import { buildConfig, ConfigError } from '../../agent/config';
import { createHttpClient, describeHttpError } from '../../agent/http/client';
import { TlsMaterial, TlsError, explainTlsError } from '../../agent/http/tls';

describe('http/tls', function () {
  this.timeout(60000);
  let pki: Pki;
  before(() => (pki = makePki()));
  after(() => pki?.cleanup());

  function copies(tag: string): { cert: string; key: string } {
    const cert = path.join(pki.dir, `${tag}-client.crt`);
    const key = path.join(pki.dir, `${tag}-client.key`);
    copyFileSync(pki.client.cert, cert);
    copyFileSync(pki.client.key, key);
    return { cert, key };
  }

  it('keeps one agent while the files are unchanged and builds a new one when one changes', () => {
    const { cert, key } = copies('a');
    const m = new TlsMaterial({ caFile: pki.ca.cert, certFile: cert, keyFile: key, insecureSkipVerify: false });
    const first = m.agent();
    assert.equal(m.agent(), first);
    copyFileSync(pki.foreignClient.cert, cert);
    copyFileSync(pki.foreignClient.key, key);
    assert.notEqual(m.agent(), first);
  });

  it('refuses unusable files at start with the setting named', () => {
    const bad = path.join(pki.dir, 'garbage.pem');
    writeFileSync(bad, 'not a certificate');
    assert.throws(() => new TlsMaterial({ certFile: bad, keyFile: pki.client.key, insecureSkipVerify: false }), TlsError);
    assert.throws(() => createHttpClient(buildConfig({ certFile: bad, keyFile: pki.client.key }, {}), { timeoutMs: 1000 }), ConfigError);
  });

  it('exits 2 naming exactly the file that does not load: cert, key or CA', async () => {
    const bad = path.join(pki.dir, 'garbage2.pem');
    writeFileSync(bad, 'not a certificate');
    const cases: [string[], string][] = [
      [['--cert-file', bad, '--key-file', pki.client.key], '--cert-file'],
      [['--cert-file', pki.client.cert, '--key-file', bad], '--key-file'],
      [['--cert-file', pki.client.cert, '--key-file', pki.foreignClient.key], '--key-file'],
      // createSecureContext itself would ignore a CA it cannot parse, and every push would fail later.
      [['--ca-file', bad], '--ca-file'],
      [['--ca-file', pki.client.key], '--ca-file'],
    ];
    for (const [flags, setting] of cases) {
      const r = await runAgent(['once', '--pushgateway-url', 'https://127.0.0.1:9', ...flags, '--sources', 'self']);
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`invalid ${setting}: cannot load TLS files`), flags.join(' '));
    }
  });

  it('keeps the working material while a rotation is half done (new cert, old key)', () => {
    const { cert, key } = copies('b');
    const warnings: string[] = [];
    const m = new TlsMaterial({ caFile: pki.ca.cert, certFile: cert, keyFile: key, insecureSkipVerify: false }, (w) => warnings.push(w));
    const first = m.agent();
    copyFileSync(pki.foreignClient.cert, cert); // the key does not match this certificate
    // Each build loads every system CA (~70 ms): the same broken pair is tried once, not per request.
    const original = tls.createSecureContext;
    let builds = 0;
    (tls as { createSecureContext: unknown }).createSecureContext = (...a: Parameters<typeof original>) => {
      builds++;
      return original(...a);
    };
    try {
      for (let i = 0; i < 3; i++) assert.equal(m.agent(), first);
    } finally {
      (tls as { createSecureContext: unknown }).createSecureContext = original;
    }
    assert.equal(builds, 1);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /keeping the previous ones/);
    copyFileSync(pki.foreignClient.key, key); // rotation finished
    assert.notEqual(m.agent(), first);
  });

  it('explains TLS error codes in words', () => {
    assert.match(explainTlsError('CERT_HAS_EXPIRED')!, /expired/);
    assert.match(explainTlsError('SELF_SIGNED_CERT_IN_CHAIN')!, /trusted CA.*--ca-file/);
    assert.match(explainTlsError('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')!, /client certificate/);
    assert.equal(explainTlsError('ECONNREFUSED'), undefined);
  });

  describe('client certificate rotation against a Pushgateway requiring mTLS', () => {
    let pg: SecureServer;
    before(async () => {
      pg = await startSecurePushgateway({ certFile: pki.server.cert, keyFile: pki.server.key, clientCaFile: pki.ca.cert });
    });
    after(async () => pg?.stop());

    it('uses the new certificate on the next request, without a new client', async () => {
      const { cert, key } = copies('rot');
      const http = createHttpClient(buildConfig({ caFile: pki.ca.cert, certFile: cert, keyFile: key }, {}), { timeoutMs: 5000 });
      assert.equal((await http.get(`${pg.url}/api/v1/status`)).status, 200);
      // Rotate to a certificate the server does not trust: the next request must fail...
      copyFileSync(pki.foreignClient.cert, cert);
      copyFileSync(pki.foreignClient.key, key);
      await assert.rejects(http.get(`${pg.url}/api/v1/status`), (e: unknown) => {
        assert.match(describeHttpError(e), /client certificate/);
        return true;
      });
      // ...and rotating back makes it work again.
      copyFileSync(pki.client.cert, cert);
      copyFileSync(pki.client.key, key);
      assert.equal((await http.get(`${pg.url}/api/v1/status`)).status, 200);
    });

    it('trusts a CA added to --ca-file while running', async () => {
      const ca = path.join(pki.dir, 'rot-ca.pem');
      copyFileSync(pki.otherCa.cert, ca);
      const http = createHttpClient(buildConfig({ caFile: ca, certFile: pki.client.cert, keyFile: pki.client.key }, {}), { timeoutMs: 5000 });
      await assert.rejects(http.get(`${pg.url}/api/v1/status`), (e: unknown) => /trusted CA/.test(describeHttpError(e)));
      copyFileSync(pki.ca.cert, ca);
      assert.equal((await http.get(`${pg.url}/api/v1/status`)).status, 200);
    });
  });
});
