/**
 * Credentials never go over plain http to a non-loopback host unless --allow-insecure-http:
 * the agent refuses at start with exit 2 and a message naming the setting. Checked on the
 * built bundle with every kind of credential, including user:pass@ in the URL itself.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runAgent } from '../../helpers/agent';
import { tempDir } from '../../helpers/servers';

describe('credentials over plain http', function () {
  this.timeout(60000);
  let dir: string;
  let tokenFile: string;
  before(() => {
    dir = tempDir();
    tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'file-Token-123\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never contacted, the check happens before any I/O.
  const remote = 'http://192.0.2.10:9091';

  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ['a bearer token file', ['--pushgateway-url', remote, '--bearer-token-file', '{token}'], {}, /--pushgateway-url \(DBX_PROM_PUSHGATEWAY_URL\)/],
    ['a bearer token from env', ['--remote-write-url', remote + '/api/v1/write'], { DBX_PROM_BEARER_TOKEN: 'env-Token-456' }, /--remote-write-url/],
    ['basic auth', ['--pushgateway-url', remote, '--basic-auth-user', 'u'], { DBX_PROM_BASIC_AUTH_PASSWORD: 'env-Password-789' }, /--pushgateway-url/],
    ['an OAuth2 token URL over http', ['--pushgateway-url', 'https://127.0.0.1:9', '--oauth2-token-url', 'http://192.0.2.11/token', '--oauth2-client-id', 'c'], { DBX_PROM_OAUTH2_CLIENT_SECRET: 'env-Client-Secret-1' }, /--oauth2-token-url/],
    ['user:pass@ in the URL', ['--pushgateway-url', 'http://bob:url-Password-5@192.0.2.10:9091'], {}, /--pushgateway-url/],
  ];

  for (const [what, args, env, setting] of cases) {
    it(`refuses ${what} with exit 2 and a clear message, printing no secret`, async () => {
      const r = await runAgent(['once', '--sources', 'self', ...args.map((a) => a.replace('{token}', tokenFile))], env);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, setting);
      assert.match(r.stderr, /credentials would be sent over plain http to 192\.0\.2\.1\d.*use https:\/\/ or --allow-insecure-http/);
      assert.doesNotMatch(r.stderr + r.stdout, /Token-123|Token-456|Password-789|Client-Secret-1|url-Password-5/);
    });
  }

  it('allows plain http to loopback (a sidecar proxy on the node)', async () => {
    const r = await runAgent(['once', '--sources', 'self', '--pushgateway-url', 'http://127.0.0.1:9', '--bearer-token-file', tokenFile, '--push-timeout', '1s']);
    assert.equal(r.code, 1, r.stderr); // got past config: the push itself fails (nothing listens)
    assert.doesNotMatch(r.stderr, /plain http/);
  });

  it('allows it with --allow-insecure-http (or DBX_PROM_ALLOW_INSECURE_HTTP=true)', async () => {
    const r = await runAgent(['once', '--dry-run', '--sources', 'self', '--pushgateway-url', remote, '--bearer-token-file', tokenFile], { DBX_PROM_ALLOW_INSECURE_HTTP: 'true' });
    assert.equal(r.code, 0, r.stderr);
  });

  it('allows plain http without credentials', async () => {
    const r = await runAgent(['once', '--dry-run', '--sources', 'self', '--pushgateway-url', remote]);
    assert.equal(r.code, 0, r.stderr);
  });
});
