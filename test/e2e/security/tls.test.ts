/**
 * TLS against the real Pushgateway and Prometheus, each behind its own --web.config.file:
 * server certificate, client-certificate verification and bcrypt basic auth. Certificates are
 * made by openssl in the run. A wrong CA, an expired certificate, a wrong host name and a
 * missing client certificate each fail with a clear error and nothing reaches the server.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makePki, type Pki } from '../../helpers/certs';
import { startSecurePushgateway, startSecurePrometheus, type SecureServer } from '../../helpers/secure-servers';
import { httpsGet } from '../../helpers/https-get';
import { runAgent } from '../../helpers/agent';
import { buildConfig } from '../../../agent/config';
import { createHttpClient, describeHttpError } from '../../../agent/http/client';

const USER = 'alice';
const PASSWORD = 'pw-Secret-4711';

describe('TLS, mTLS and basic auth against servers with --web.config.file', function () {
  this.timeout(60000);
  let pki: Pki;
  let pg: SecureServer; // mTLS + basic auth
  let pwFile: string;

  before(async () => {
    pki = makePki();
    pwFile = path.join(pki.dir, 'password');
    writeFileSync(pwFile, PASSWORD + '\n');
    pg = await startSecurePushgateway({
      certFile: pki.server.cert,
      keyFile: pki.server.key,
      clientCaFile: pki.ca.cert,
      basicAuth: { [USER]: PASSWORD },
    });
  });
  after(async () => {
    await pg?.stop();
    pki?.cleanup();
  });
  afterEach(function () {
    // On a failure, the server's own view (pushes it accepted, handshakes it refused) helps.
    if (this.currentTest?.state === 'failed') console.error(`Pushgateway ${pg.url} output:\n${pg.output().split('\n').slice(-15).join('\n')}`);
  });

  const creds = (): string[] => ['--cert-file', pki.client.cert, '--key-file', pki.client.key, '--basic-auth-user', USER, '--basic-auth-password-file', pwFile];
  const once = (url: string, extra: string[]) =>
    runAgent(['once', '--pushgateway-url', url, '--sources', 'self', '--node-name', 'tls-node', ...extra]);

  async function groups(): Promise<unknown[]> {
    const res = await httpsGet(`${pg.url}/api/v1/metrics`, { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key, user: USER, password: PASSWORD });
    assert.equal(res.status, 200, res.body);
    // Group labels only: enough to tell which push a leftover came from.
    return (JSON.parse(res.body) as { data: { labels: unknown }[] }).data.map((g) => g.labels);
  }

  async function deleteAll(): Promise<void> {
    const c = buildConfig({ caFile: pki.ca.cert, certFile: pki.client.cert, keyFile: pki.client.key, basicAuthUser: USER, basicAuthPasswordFile: pwFile }, {});
    await createHttpClient(c, { timeoutMs: 5000 }).put(`${pg.url}/api/v1/admin/wipe`).catch(() => undefined);
  }

  it('pushes with the right CA, client certificate and basic auth', async () => {
    const r = await once(pg.url, ['--ca-file', pki.ca.cert, ...creds()]);
    assert.equal(r.code, 0, r.stderr);
    const g = await groups();
    assert.equal(g.length, 1);
    assert.match(JSON.stringify(g), /"node":"tls-node"/);
    await deleteAll();
    assert.deepEqual(await groups(), [], r.stderr);
  });

  it('fails with a wrong CA, nothing sent', async () => {
    const r = await once(pg.url, ['--ca-file', pki.otherCa.cert, ...creds()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not signed by a trusted CA/);
    assert.deepEqual(await groups(), [], r.stderr);
  });

  it('fails without --ca-file: a private CA is not trusted by default', async () => {
    const r = await once(pg.url, creds());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not signed by a trusted CA/);
  });

  it('fails without a client certificate, nothing sent', async () => {
    const r = await once(pg.url, ['--ca-file', pki.ca.cert, '--basic-auth-user', USER, '--basic-auth-password-file', pwFile]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /client certificate/);
    assert.deepEqual(await groups(), [], r.stderr);
  });

  it('fails with a client certificate from a CA the server does not trust', async () => {
    const r = await once(pg.url, ['--ca-file', pki.ca.cert, '--cert-file', pki.foreignClient.cert, '--key-file', pki.foreignClient.key, '--basic-auth-user', USER, '--basic-auth-password-file', pwFile]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /client certificate/);
    assert.deepEqual(await groups(), [], r.stderr);
  });

  it('fails with a wrong basic auth password (401), without printing it', async () => {
    const bad = path.join(pki.dir, 'bad-password');
    writeFileSync(bad, 'wrong-Password-99');
    const r = await once(pg.url, ['--ca-file', pki.ca.cert, '--cert-file', pki.client.cert, '--key-file', pki.client.key, '--basic-auth-user', USER, '--basic-auth-password-file', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HTTP 401 \(credentials rejected\)/);
    assert.doesNotMatch(r.stderr + r.stdout, /wrong-Password-99/);
    assert.deepEqual(await groups(), [], r.stderr);
  });

  it('with --insecure-skip-verify pushes despite a wrong CA and warns loudly', async () => {
    const r = await once(pg.url, ['--ca-file', pki.otherCa.cert, '--insecure-skip-verify', ...creds()]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /verification is OFF/);
    await deleteAll();
  });

  describe('server certificate problems', () => {
    let expired: SecureServer;
    let otherHost: SecureServer;
    before(async () => {
      [expired, otherHost] = await Promise.all([
        startSecurePushgateway({ certFile: pki.expiredServer.cert, keyFile: pki.expiredServer.key }),
        startSecurePushgateway({ certFile: pki.otherHostServer.cert, keyFile: pki.otherHostServer.key }),
      ]);
    });
    after(async () => {
      await Promise.all([expired?.stop(), otherHost?.stop()]);
    });

    /** The groups a server holds, read without verification (its certificate is the bad one). */
    const groupsOf = async (s: SecureServer): Promise<unknown[]> =>
      (JSON.parse((await httpsGet(`${s.url}/api/v1/metrics`, { ca: pki.ca.cert, insecure: true })).body) as { data: { labels: unknown }[] }).data.map((g) => g.labels);

    it('fails on an expired server certificate, nothing sent', async () => {
      const r = await once(expired.url, ['--ca-file', pki.ca.cert]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /server certificate has expired/);
      assert.deepEqual(await groupsOf(expired), [], r.stderr);
    });

    it('fails when the certificate names another host, nothing sent', async () => {
      const r = await once(otherHost.url, ['--ca-file', pki.ca.cert]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /does not match the host name/);
      assert.deepEqual(await groupsOf(otherHost), [], r.stderr);
    });

    it('pushes to that host with --tls-server-name naming the certificate', async () => {
      const r = await once(otherHost.url, ['--ca-file', pki.ca.cert, '--tls-server-name', 'metrics.internal']);
      assert.equal(r.code, 0, r.stderr);
      const c = buildConfig({ caFile: pki.ca.cert, tlsServerName: 'metrics.internal' }, {});
      const res = await createHttpClient(c, { timeoutMs: 5000 }).get(`${otherHost.url}/api/v1/metrics`);
      assert.equal((res.data as { data: unknown[] }).data.length, 1);
    });

    it('a wrong --tls-server-name fails even when the dialled address matches', async () => {
      const c = buildConfig({ caFile: pki.ca.cert, tlsServerName: 'elsewhere.internal' }, {});
      await assert.rejects(createHttpClient(c, { timeoutMs: 5000 }).get(`${otherHost.url}/api/v1/metrics`), (e: unknown) => {
        assert.match(describeHttpError(e), /does not match the host name/);
        return true;
      });
    });
  });

  describe('Prometheus remote-write receiver with mTLS and basic auth', () => {
    let prom: SecureServer;
    before(async () => {
      prom = await startSecurePrometheus({
        certFile: pki.server.cert,
        keyFile: pki.server.key,
        clientCaFile: pki.ca.cert,
        basicAuth: { [USER]: PASSWORD },
      });
    });
    after(async () => prom?.stop());

    // An empty WriteRequest: protobuf of zero bytes, snappy block = one varint 0 (length).
    const EMPTY_WRITE = Buffer.from([0]);
    const post = (flags: Record<string, string | boolean>) =>
      createHttpClient(buildConfig(flags, {}), { timeoutMs: 5000 }).post(`${prom.url}/api/v1/write`, EMPTY_WRITE, {
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
      });

    it('accepts a write with the right CA, client certificate and password', async () => {
      const res = await post({ caFile: pki.ca.cert, certFile: pki.client.cert, keyFile: pki.client.key, basicAuthUser: USER, basicAuthPasswordFile: pwFile });
      assert.equal(res.status, 204);
    });

    it('the agent writes through its remote-write sink and the series is queryable', async () => {
      const queue = path.join(pki.dir, 'queue');
      const r = await runAgent(['once', '--remote-write-url', `${prom.url}/api/v1/write`, '--queue-dir', queue, '--sources', 'self', '--node-name', 'rw-tls-node', '--ca-file', pki.ca.cert, ...creds()]);
      assert.equal(r.code, 0, r.stderr);
      const q = encodeURIComponent('dbx_agent_source_up{node="rw-tls-node"}');
      const res = await httpsGet(`${prom.url}/api/v1/query?query=${q}`, { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key, user: USER, password: PASSWORD });
      assert.equal(res.status, 200, res.body);
      assert.ok((JSON.parse(res.body) as { data: { result: unknown[] } }).data.result.length > 0, res.body);
    });

    it('rejects each broken setting with a clear error', async () => {
      const cases: [Record<string, string | boolean>, RegExp][] = [
        [{ caFile: pki.otherCa.cert, certFile: pki.client.cert, keyFile: pki.client.key, basicAuthUser: USER, basicAuthPasswordFile: pwFile }, /not signed by a trusted CA/],
        [{ caFile: pki.ca.cert, basicAuthUser: USER, basicAuthPasswordFile: pwFile }, /client certificate/],
        [{ caFile: pki.ca.cert, certFile: pki.client.cert, keyFile: pki.client.key }, /HTTP 401/],
      ];
      for (const [flags, re] of cases)
        await assert.rejects(post(flags), (e: unknown) => {
          assert.match(describeHttpError(e), re);
          return true;
        });
    });
  });
});
