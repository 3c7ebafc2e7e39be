/** The HTTP client's auth: bearer file re-read on change and on 401 (one retry), basic auth, no redirects. */
import assert from 'node:assert/strict';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import axios from 'axios';
import { tempDir } from '../helpers/servers';
import { startRecordingServer, type RecordingServer } from '../helpers/recording-server';
import { buildConfig } from '../../agent/config';
import { createHttpClient, describeHttpError } from '../../agent/http/client';
import { redact } from '../../agent/core/log';

describe('http/client auth', () => {
  let dir: string;
  let server: RecordingServer;
  let accepted: Set<string>;

  beforeEach(async () => {
    dir = tempDir();
    accepted = new Set();
    server = await startRecordingServer((r) =>
      r.path === '/redirect'
        ? { status: 302, body: '' }
        : accepted.has(String(r.headers.authorization)) ? { status: 200, body: '{}' } : { status: 401, body: 'unauthorized' },
    );
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the bearer token from the file and the new one after the file changed', async () => {
    const f = path.join(dir, 'token');
    writeFileSync(f, 'token-one-111\n');
    accepted.add('Bearer token-one-111').add('Bearer token-two-222');
    const http = createHttpClient(buildConfig({ bearerTokenFile: f }, {}), { timeoutMs: 2000 });
    await http.get(server.url + '/a');
    writeFileSync(f, 'token-two-222\n');
    await http.get(server.url + '/b');
    assert.deepEqual(server.requests.map((r) => r.headers.authorization), ['Bearer token-one-111', 'Bearer token-two-222']);
    assert.equal(redact('token-two-222'), '[REDACTED]');
  });

  it('on a 401 re-reads the token file and retries once with the new token', async () => {
    const f = path.join(dir, 'token');
    writeFileSync(f, 'stale-token-1');
    utimesSync(f, 1_000_000, 1_000_000);
    accepted.add('Bearer stale-token-1');
    const http = createHttpClient(buildConfig({ bearerTokenFile: f }, {}), { timeoutMs: 2000 });
    await http.get(server.url + '/warm');
    // Same size, same inode and the mtime set back: the stat cannot tell the file changed,
    // so only the 401 can make the client read it again.
    accepted.clear();
    accepted.add('Bearer fresh-token-2');
    writeFileSync(f, 'fresh-token-2');
    utimesSync(f, 1_000_000, 1_000_000);
    await http.put(server.url + '/push', 'body-1');
    const pushes = server.requests.filter((r) => r.path === '/push');
    assert.deepEqual(pushes.map((r) => r.headers.authorization), ['Bearer stale-token-1', 'Bearer fresh-token-2']);
    assert.equal(pushes.at(-1)!.body, 'body-1');
  });

  it('does not retry a 401 when the token did not change (no loop)', async () => {
    const f = path.join(dir, 'token');
    writeFileSync(f, 'rejected-token-3');
    const http = createHttpClient(buildConfig({ bearerTokenFile: f }, {}), { timeoutMs: 2000 });
    await assert.rejects(http.get(server.url + '/x'), (e: unknown) => {
      assert.equal(describeHttpError(e), 'HTTP 401 (credentials rejected): unauthorized');
      return true;
    });
    assert.equal(server.requests.length, 1);
  });

  it('sends basic auth with the password from env and registers it as a secret', async () => {
    accepted.add('Basic ' + Buffer.from('carol:env-Password-77').toString('base64'));
    const http = createHttpClient(buildConfig({ basicAuthUser: 'carol' }, { DBX_PROM_BASIC_AUTH_PASSWORD: 'env-Password-77' }), { timeoutMs: 2000 });
    await http.get(server.url + '/basic');
    assert.equal(redact('x env-Password-77 y'), 'x [REDACTED] y');
  });

  it('sends no credentials from a client made withAuth: false (the Spark API, the token endpoint)', async () => {
    const http = createHttpClient(buildConfig({}, { DBX_PROM_BEARER_TOKEN: 'literal-token-44' }), { timeoutMs: 2000, withAuth: false });
    await http.get(server.url + '/open').catch(() => undefined);
    assert.equal(server.requests[0]!.headers.authorization, undefined);
  });

  it('never follows a redirect, so credentials cannot be carried to another host', async () => {
    accepted.add('Bearer literal-token-55');
    const http = createHttpClient(buildConfig({}, { DBX_PROM_BEARER_TOKEN: 'literal-token-55' }), { timeoutMs: 2000 });
    await assert.rejects(http.get(server.url + '/redirect'), (e: unknown) => axios.isAxiosError(e) && e.response?.status === 302);
    assert.equal(server.requests.length, 1);
  });
});

describe('http/client auth with validateStatus accepting every status (the remote-write sender)', () => {
  it('still re-reads the token and retries once on a 401 answer', async () => {
    const dir = tempDir();
    const accepted = new Set<string>(['Bearer rw-token-1']);
    const server = await startRecordingServer((r) => (accepted.has(String(r.headers.authorization)) ? { status: 204 } : { status: 401, body: 'no' }));
    try {
      const f = path.join(dir, 'token');
      writeFileSync(f, 'rw-token-1');
      utimesSync(f, 2_000_000, 2_000_000);
      const http = createHttpClient(buildConfig({ bearerTokenFile: f }, {}), { timeoutMs: 2000 });
      const post = () => http.post(server.url + '/api/v1/write', Buffer.from([0]), { validateStatus: () => true });
      assert.equal((await post()).status, 204);
      accepted.clear();
      accepted.add('Bearer rw-token-2');
      writeFileSync(f, 'rw-token-2');
      utimesSync(f, 2_000_000, 2_000_000);
      assert.equal((await post()).status, 204);
      // A token that stays rejected comes back as the 401 answer, after no more than one retry.
      accepted.clear();
      const before = server.requests.length;
      assert.equal((await post()).status, 401);
      assert.equal(server.requests.length - before, 1);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('http/client and HTTP_PROXY', () => {
  it('never routes plain http to loopback (allowed with credentials) through a proxy from the environment', async () => {
    const target = await startRecordingServer(() => ({ status: 200, body: '{}' }));
    const proxy = await startRecordingServer(() => ({ status: 502, body: 'proxy' }));
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, http_proxy: process.env.http_proxy, NO_PROXY: process.env.NO_PROXY, no_proxy: process.env.no_proxy };
    process.env.HTTP_PROXY = process.env.http_proxy = proxy.url;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    try {
      const http = createHttpClient(buildConfig({}, { DBX_PROM_BEARER_TOKEN: 'loopback-token-66' }), { timeoutMs: 2000 });
      await http.get(target.url + '/m');
      assert.equal(proxy.requests.length, 0);
      assert.equal(target.requests[0]!.headers.authorization, 'Bearer loopback-token-66');
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
      await target.close();
      await proxy.close();
    }
  });
});

describe('http/client describeHttpError of errors without axios', () => {
  it("puts a Node error's code first, as axios's errors read, and leaves other codes out", () => {
    assert.equal(describeHttpError(Object.assign(new Error('timeout of 200 ms exceeded'), { code: 'ETIMEDOUT' })), 'ETIMEDOUT: timeout of 200 ms exceeded');
    assert.equal(describeHttpError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' })), 'connect ECONNREFUSED 127.0.0.1:9');
    assert.equal(describeHttpError(Object.assign(new Error('Could not load credentials'), { code: 'CredentialsProviderError' })), 'Could not load credentials');
  });
});
