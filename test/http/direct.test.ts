/**
 * The per-cycle request without axios (http/direct.ts), through the client the sinks get:
 * the same headers, sign-in and limits as the axios path, and axios for a proxied URL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildConfig } from '../../agent/config';
import { createHttpClient, describeHttpError } from '../../agent/http/client';
import { USER_AGENT } from '../../agent/core/version';
import { startRecordingServer, type RecordingServer } from '../helpers/recording-server';
import { startHangingServer } from '../helpers/hanging-server';

describe('http/direct', () => {
  let server: RecordingServer;
  const accepted = new Set<string>();
  let dir: string;
  beforeEach(async () => {
    accepted.clear();
    dir = mkdtempSync(path.join(os.tmpdir(), 'direct-'));
    server = await startRecordingServer((r) => (accepted.size === 0 || accepted.has(String(r.headers.authorization)) ? { status: 202, body: '' } : { status: 401, body: 'unauthorized' }));
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('PUTs the body with its length, our User-Agent, the caller\'s headers and the bearer token', async () => {
    const http = createHttpClient(buildConfig({}, { DBX_PROM_BEARER_TOKEN: 'direct-token-1' }), { timeoutMs: 2000 });
    const res = await http.direct({ method: 'PUT', url: `${server.url}/metrics/job/x`, body: 'a 1\nzürich 2\n', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(res.status, 202);
    const [r] = server.requests;
    assert.equal(r!.method, 'PUT');
    assert.equal(r!.path, '/metrics/job/x');
    assert.equal(r!.body, 'a 1\nzürich 2\n');
    assert.equal(r!.headers['content-length'], String(Buffer.byteLength('a 1\nzürich 2\n')));
    assert.equal(r!.headers['content-type'], 'text/plain');
    assert.equal(r!.headers['user-agent'], USER_AGENT);
    assert.equal(r!.headers.authorization, 'Bearer direct-token-1');
  });

  it('on a 401 re-reads the token file and sends once more with the new token; a second 401 is the answer', async () => {
    const f = path.join(dir, 'token');
    writeFileSync(f, 'stale-token-1');
    utimesSync(f, 1_000_000, 1_000_000);
    accepted.add('Bearer stale-token-1');
    const http = createHttpClient(buildConfig({ bearerTokenFile: f }, {}), { timeoutMs: 2000 });
    await http.direct({ method: 'PUT', url: `${server.url}/warm`, body: '' });
    accepted.clear();
    accepted.add('Bearer fresh-token-2');
    writeFileSync(f, 'fresh-token-2');
    utimesSync(f, 1_000_000, 1_000_000);
    assert.equal((await http.direct({ method: 'PUT', url: `${server.url}/push`, body: 'body-1' })).status, 202);
    const pushes = server.requests.filter((r) => r.path === '/push');
    assert.deepEqual(pushes.map((r) => [r.headers.authorization, r.body]), [['Bearer stale-token-1', 'body-1'], ['Bearer fresh-token-2', 'body-1']]);
    accepted.clear();
    accepted.add('Bearer never');
    const refused = await http.direct({ method: 'PUT', url: `${server.url}/again`, body: 'x' });
    assert.deepEqual([refused.status, refused.body], [401, 'unauthorized']);
    assert.equal(server.requests.filter((r) => r.path === '/again').length, 1, 'no loop when the token did not change');
  });

  it('a peer that never answers fails the request at its timeout (ETIMEDOUT), and an abort at once', async () => {
    const hanging = await startHangingServer();
    try {
      const http = createHttpClient(buildConfig({}, {}), { timeoutMs: 200 });
      await assert.rejects(http.direct({ method: 'PUT', url: `${hanging.url}/x`, body: 'x' }), (e: unknown) => {
        assert.match(describeHttpError(e), /^ETIMEDOUT: timeout of 200 ms exceeded$/);
        return true;
      });
      const slow = createHttpClient(buildConfig({}, {}), { timeoutMs: 60_000 });
      const abort = new AbortController();
      const p = slow.direct({ method: 'PUT', url: `${hanging.url}/y`, body: 'y', signal: abort.signal });
      abort.abort();
      await assert.rejects(p, /request aborted/);
    } finally {
      await hanging.close();
    }
  });

  it('a refused connection reads as axios\'s did: its code first', async () => {
    const http = createHttpClient(buildConfig({}, {}), { timeoutMs: 2000 });
    await assert.rejects(http.direct({ method: 'PUT', url: 'http://127.0.0.1:9/x', body: '' }), (e: unknown) => {
      assert.match(describeHttpError(e), /ECONNREFUSED/);
      return true;
    });
  });

  it('a URL an HTTP proxy from the environment applies to goes through axios, which reads it', async () => {
    const proxy = await startRecordingServer(() => ({ status: 200, body: 'via proxy' }));
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, http_proxy: process.env.http_proxy, NO_PROXY: process.env.NO_PROXY, no_proxy: process.env.no_proxy };
    process.env.HTTP_PROXY = process.env.http_proxy = proxy.url;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    try {
      const http = createHttpClient(buildConfig({}, {}), { timeoutMs: 2000 });
      const res = await http.direct({ method: 'PUT', url: 'http://pushgateway.example.internal:9091/metrics/job/x', body: 'p 1\n' });
      assert.deepEqual([res.status, res.body], [200, 'via proxy']);
      assert.equal(proxy.requests[0]!.body, 'p 1\n');
      assert.match(proxy.requests[0]!.path, /^http:\/\/pushgateway\.example\.internal:9091\/metrics\/job\/x$/);
      // Loopback plain http never goes through it (it may carry credentials in clear).
      await http.direct({ method: 'PUT', url: `${server.url}/local`, body: '' });
      assert.equal(server.requests.length, 1);
      assert.equal(proxy.requests.length, 1);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
      await proxy.close();
    }
  });
});
