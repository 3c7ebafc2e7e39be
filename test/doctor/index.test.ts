/**
 * `doctor` on the built bundle against real servers: a Pushgateway and a Prometheus
 * remote-write receiver behind --web.config.file (TLS, client certificates, bcrypt basic
 * auth), a fake Spark UI and a local OAuth2 token endpoint. One line per check, a hint under
 * each failure, exit 1 on any failure, no secret in the output, no group left behind.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makePki, type Pki } from '../helpers/certs';
import { startSecurePushgateway, startSecurePrometheus, type SecureServer } from '../helpers/secure-servers';
import { httpsGet } from '../helpers/https-get';
import { startFakeSpark, type FakeSpark } from '../helpers/fake-spark';
import { startRecordingServer, type RecordingServer } from '../helpers/recording-server';
import { runAgent } from '../helpers/agent';
import { formatResults, failed, ok, fail, warn, skip } from '../../agent/core/check';
import { proxyFor } from '../../agent/doctor/network';

const USER = 'doc';
const PASSWORD = 'doctor-Password-31337';

function line(out: string, check: string): string {
  const l = out.split('\n').find((x) => new RegExp(`^(ok  |warn|FAIL|skip) ${check}\\s`).test(x));
  assert.ok(l, `no line for ${check} in:\n${out}`);
  return l;
}

function hintAfter(out: string, check: string): string {
  const lines = out.split('\n');
  const i = lines.indexOf(line(out, check));
  return lines[i + 1] ?? '';
}

describe('doctor', function () {
  this.timeout(60000);
  let pki: Pki;
  let pg: SecureServer;
  let prom: SecureServer;
  let spark: FakeSpark;
  let idp: RecordingServer;
  let pwFile: string;

  before(async () => {
    pki = makePki();
    pwFile = path.join(pki.dir, 'pw');
    writeFileSync(pwFile, PASSWORD);
    const web = { certFile: pki.server.cert, keyFile: pki.server.key, clientCaFile: pki.ca.cert, basicAuth: { [USER]: PASSWORD } };
    [pg, prom, spark, idp] = await Promise.all([
      startSecurePushgateway(web),
      startSecurePrometheus(web),
      startFakeSpark(),
      startRecordingServer(() => ({ status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'unknown client' }) })),
    ]);
  });
  after(async () => {
    await Promise.all([pg?.stop(), prom?.stop(), spark?.close(), idp?.close()]);
    pki?.cleanup();
  });

  const DATABRICKS = { DB_CLUSTER_ID: '0101-123456-abcdef', DB_CLUSTER_NAME: 'etl', DB_IS_DRIVER: 'TRUE', DB_DRIVER_IP: '127.0.0.1', DATABRICKS_RUNTIME_VERSION: '15.4' };
  const tlsArgs = (): string[] => ['--ca-file', pki.ca.cert, '--cert-file', pki.client.cert, '--key-file', pki.client.key];
  const basicArgs = (): string[] => ['--basic-auth-user', USER, '--basic-auth-password-file', pwFile];

  it('passes every check on a healthy driver, leaves no group behind, prints no secret', async () => {
    const r = await runAgent(
      ['doctor', '--pushgateway-url', pg.url, '--remote-write-url', `${prom.url}/api/v1/write`, '--spark-url', spark.url, ...tlsArgs(), ...basicArgs()],
      DATABRICKS,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = r.stdout;
    assert.match(line(out, 'config'), /pushgateway https:\/\/127\.0\.0\.1.*basic auth as doc.*client certificate/);
    assert.match(line(out, 'databricks'), /^ok +databricks +cluster 0101-123456-abcdef "etl".*driver, runtime 15\.4/);
    assert.match(line(out, 'spark'), /^ok .*1 running application/);
    for (const sink of ['pushgateway', 'remote_write']) {
      assert.match(line(out, `dns ${sink}`), /^ok /);
      assert.match(line(out, `tcp ${sink}`), /^ok .*connected/);
      // The test certificates live two days: doctor warns about the coming expiry.
      assert.match(line(out, `tls ${sink}`), /^warn .*subject server, issuer ca.*expires in [01] day/);
    }
    assert.match(line(out, 'auth'), /^ok .*basic auth as doc/);
    assert.match(line(out, 'push pushgateway'), /^ok .*PUT and DELETE of throwaway group doctor=[0-9a-f]{8}/);
    assert.match(line(out, 'push remote_write'), /^ok .*empty WriteRequest accepted.*HTTP 204/);
    assert.doesNotMatch(out + r.stderr, new RegExp(PASSWORD));
    const groups = await httpsGet(`${pg.url}/api/v1/metrics`, { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key, user: USER, password: PASSWORD });
    assert.deepEqual((JSON.parse(groups.body) as { data: unknown[] }).data, []);
  });

  it('names a wrong CA at the tls check, with a hint, and exits 1', async () => {
    const r = await runAgent(['doctor', '--pushgateway-url', pg.url, '--ca-file', pki.otherCa.cert, '--cert-file', pki.client.cert, '--key-file', pki.client.key, ...basicArgs(), '--sources', 'host']);
    assert.equal(r.code, 1);
    assert.match(line(r.stdout, 'tls pushgateway'), /^FAIL .*not signed by a trusted CA/);
    assert.match(hintAfter(r.stdout, 'tls pushgateway'), /^ {5}hint: .*--ca-file/);
    assert.match(line(r.stdout, 'push pushgateway'), /^skip .*not reachable/);
  });

  it('names a missing client certificate and a wrong password at the push check', async () => {
    const noCert = await runAgent(['doctor', '--pushgateway-url', pg.url, '--ca-file', pki.ca.cert, ...basicArgs()]);
    assert.equal(noCert.code, 1);
    assert.match(line(noCert.stdout, 'push pushgateway'), /^FAIL .*client certificate/);

    const bad = path.join(pki.dir, 'bad-pw');
    writeFileSync(bad, 'not-the-Password-1');
    const wrong = await runAgent(['doctor', '--pushgateway-url', pg.url, ...tlsArgs(), '--basic-auth-user', USER, '--basic-auth-password-file', bad]);
    assert.equal(wrong.code, 1);
    assert.match(line(wrong.stdout, 'push pushgateway'), /^FAIL .*HTTP 401/);
    assert.match(hintAfter(wrong.stdout, 'push pushgateway'), /rejected the credentials/);
    assert.doesNotMatch(wrong.stdout + wrong.stderr, /not-the-Password-1/);
  });

  it('reports an endpoint that does not listen at the tcp check', async () => {
    const r = await runAgent(['doctor', '--pushgateway-url', 'http://127.0.0.1:9', '--sources', 'host']);
    assert.equal(r.code, 1);
    assert.match(line(r.stdout, 'tcp pushgateway'), /^FAIL .*ECONNREFUSED/);
    assert.match(hintAfter(r.stdout, 'tcp pushgateway'), /nothing listens/);
  });

  it('reports the IdP error code at the auth check, never the client secret', async () => {
    const r = await runAgent(
      ['doctor', '--pushgateway-url', pg.url, ...tlsArgs(), '--oauth2-token-url', `${idp.url}/token`, '--oauth2-client-id', 'agent'],
      { DBX_PROM_OAUTH2_CLIENT_SECRET: 'doctor-Client-Secret-55' },
    );
    assert.equal(r.code, 1);
    assert.match(line(r.stdout, 'auth'), /^FAIL .*OAuth2 token request failed: HTTP 401 invalid_client/);
    assert.match(line(r.stdout, 'tcp oauth2'), /^ok /);
    assert.doesNotMatch(r.stdout + r.stderr, /doctor-Client-Secret-55/);
  });

  it('warns loudly with --insecure-skip-verify and accepts an untrusted certificate as a warning', async () => {
    const r = await runAgent(['doctor', '--pushgateway-url', pg.url, '--insecure-skip-verify', '--cert-file', pki.client.cert, '--key-file', pki.client.key, ...basicArgs(), '--sources', 'host']);
    assert.equal(r.code, 0, r.stdout);
    assert.match(line(r.stdout, 'tls-verify'), /^warn .*verification is OFF/);
    assert.match(line(r.stdout, 'tls pushgateway'), /^warn .*not signed by a trusted CA.*accepted because of --insecure-skip-verify/);
    assert.match(r.stderr, /verification is OFF/);
  });

  it('skips Spark on a worker and fails it on a driver where Spark does not answer', async () => {
    const worker = await runAgent(['doctor', '--pushgateway-url', pg.url, ...tlsArgs(), ...basicArgs()], { ...DATABRICKS, DB_IS_DRIVER: 'FALSE' });
    assert.match(line(worker.stdout, 'spark'), /^skip .*worker node/);
    const driver = await runAgent(['doctor', '--pushgateway-url', pg.url, ...tlsArgs(), ...basicArgs(), '--spark-url', 'http://127.0.0.1:9'], DATABRICKS);
    assert.equal(driver.code, 1);
    assert.match(line(driver.stdout, 'spark'), /^FAIL .*connection refused/);
  });

  it('exits 2 on a configuration error, with the setting named', async () => {
    const r = await runAgent(['doctor', '--pushgateway-url', 'ftp://x']);
    assert.equal(r.code, 2);
    assert.match(line(r.stdout, 'config'), /^FAIL config +invalid --pushgateway-url/);
    assert.match(hintAfter(r.stdout, 'config'), /hint: fix the setting/);
  });

  it('formats one aligned line per check, a hint under failures only, redacted', () => {
    const text = formatResults([ok('config', 'fine'), fail('tls x', 'bad https://u:p@h/', 'do this'), warn('w', 'careful'), skip('spark', 'worker')]);
    assert.equal(
      text,
      'ok   config  fine\nFAIL tls x   bad https://[REDACTED]@h/\n     hint: do this\nwarn w       careful\nskip spark   worker\n',
    );
    assert.equal(failed([ok('a', ''), warn('b', '')]), false);
    assert.equal(failed([fail('a', '', 'h')]), true);
  });
});

describe('doctor/network proxyFor', () => {
  it('follows HTTP(S)_PROXY and NO_PROXY like the agent client, never for plain http to loopback', () => {
    const env = { HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://proxy:3128', NO_PROXY: 'internal.example,.corp,10.0.0.1:9091' };
    assert.equal(proxyFor('https://pg.example:9091', env), 'http://proxy:3128');
    assert.equal(proxyFor('https://pg.internal.example:9091', env), undefined);
    assert.equal(proxyFor('https://pg.corp/x', env), undefined);
    assert.equal(proxyFor('http://10.0.0.1:9091', env), undefined);
    assert.equal(proxyFor('http://10.0.0.1:9092', env), 'http://proxy:3128');
    assert.equal(proxyFor('http://127.0.0.1:9091', env), undefined);
    assert.equal(proxyFor('https://pg.example', {}), undefined);
  });
});
