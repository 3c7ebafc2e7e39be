/** The auth, TLS and insecure-http parts of config.ts: refused combinations and registered secrets. */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildConfig, ConfigError } from '../../../agent/config';
import { redact } from '../../../agent/core/log';
import { tempDir } from '../../helpers/servers';

function refuses(flags: Record<string, string | boolean>, env: Record<string, string>, setting: RegExp, why: RegExp): void {
  assert.throws(
    () => buildConfig(flags, env),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.setting, setting);
      assert.match(e.message, why);
      return true;
    },
  );
}

describe('config: auth, TLS and plain http', () => {
  let dir: string;
  before(() => (dir = tempDir()));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('allows one auth method only', () => {
    // The error names the settings actually given, not ones the user never set.
    refuses({ basicAuthUser: 'u' }, { DBX_PROM_BEARER_TOKEN: 'tok-aaaa', DBX_PROM_BASIC_AUTH_PASSWORD: 'pw-bbbb' }, /^DBX_PROM_BEARER_TOKEN and --basic-auth-user/, /choose one/);
    // Two methods is the mistake to fix first, before what the half-given one lacks.
    refuses({ basicAuthUser: 'u' }, { DBX_PROM_BEARER_TOKEN: 'tok-aaaa' }, /^DBX_PROM_BEARER_TOKEN and --basic-auth-user/, /choose one/);
    refuses({ basicAuthUser: 'u', oauth2TokenUrl: 'https://idp.example/token', oauth2ClientId: 'c' }, {}, /^--basic-auth-user .* and --oauth2-token-url/, /choose one/);
  });

  it('refuses a basic auth password without a user, and a user without a password', () => {
    refuses({}, { DBX_PROM_BASIC_AUTH_PASSWORD: 'pw-cccc' }, /--basic-auth-user/, /required with a basic auth password/);
    refuses({ basicAuthUser: 'u' }, {}, /--basic-auth-password-file/, /DBX_PROM_BASIC_AUTH_PASSWORD is required/);
  });

  it('refuses OAuth2 settings without a token URL instead of ignoring them', () => {
    refuses({ oauth2ClientId: 'c' }, {}, /--oauth2-client-id/, /needs --oauth2-token-url/);
    refuses({}, { DBX_PROM_OAUTH2_CLIENT_SECRET: 'sec-dddd' }, /DBX_PROM_OAUTH2_CLIENT_SECRET/, /needs --oauth2-token-url/);
  });

  it('refuses OAuth2 without a client id or secret, and an unknown client auth method', () => {
    refuses({ oauth2TokenUrl: 'https://idp/token' }, { DBX_PROM_OAUTH2_CLIENT_SECRET: 'sec-eeee' }, /--oauth2-client-id/, /required/);
    refuses({ oauth2TokenUrl: 'https://idp/token', oauth2ClientId: 'c' }, {}, /--oauth2-client-secret-file/, /required/);
    refuses({ oauth2TokenUrl: 'https://idp/token', oauth2ClientId: 'c', oauth2AuthMethod: 'private_key_jwt' }, { DBX_PROM_OAUTH2_CLIENT_SECRET: 'sec-ffff' }, /--oauth2-auth-method/, /client_secret_basic or client_secret_post/);
  });

  it('parses OAuth2 scopes comma or space separated, audience and extra params', () => {
    const c = buildConfig(
      { oauth2TokenUrl: 'https://idp/token', oauth2ClientId: 'c', oauth2Scopes: 'a, b c', oauth2Audience: 'api://x', oauth2Params: 'resource=r1,team=t' },
      { DBX_PROM_OAUTH2_CLIENT_SECRET: 'sec-gggg' },
    );
    assert.deepEqual(c.auth.oauth2!.scopes, ['a', 'b', 'c']);
    assert.equal(c.auth.oauth2!.audience, 'api://x');
    assert.deepEqual(c.auth.oauth2!.params, { resource: 'r1', team: 't' });
    assert.equal(c.auth.oauth2!.authMethod, 'client_secret_basic');
  });

  it('wants client certificate and key together, and readable', () => {
    refuses({ certFile: '/etc/hostname' }, {}, /--key-file/, /go together/);
    refuses({ caFile: path.join(dir, 'missing.pem') }, {}, /--ca-file/, /cannot read file/);
  });

  it('registers literal secrets from env and from the env file, and URL passwords', () => {
    const envFile = path.join(dir, 'agent.env');
    writeFileSync(envFile, 'DBX_PROM_BEARER_TOKEN=from-env-File-123\n');
    buildConfig({ settingsFile: envFile }, {});
    buildConfig({ pushgatewayUrl: 'https://u:url-Pass%21word@pg.example' }, {});
    assert.equal(redact('a from-env-File-123 b'), 'a [REDACTED] b');
    assert.equal(redact('x url-Pass!word y url-Pass%21word'), 'x [REDACTED] y [REDACTED]');
  });

  it('counts a client certificate and URL user-info as credentials for the plain-http rule', () => {
    refuses({ pushgatewayUrl: 'http://pg.example:9091', certFile: '/etc/hostname', keyFile: '/etc/hostname' }, {}, /--pushgateway-url/, /plain http to pg\.example:9091/);
    refuses({ remoteWriteUrl: 'http://u:p@rw.example/api/v1/write' }, {}, /--remote-write-url/, /plain http to rw\.example/);
    assert.doesNotThrow(() => buildConfig({ pushgatewayUrl: 'http://[::1]:9091' }, { DBX_PROM_BEARER_TOKEN: 'tok-hhhh' }));
    assert.doesNotThrow(() => buildConfig({ pushgatewayUrl: 'http://localhost:9091' }, { DBX_PROM_BEARER_TOKEN: 'tok-hhhh' }));
  });
});
