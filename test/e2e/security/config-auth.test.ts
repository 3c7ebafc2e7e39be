/** The auth, TLS and insecure-http parts of config.ts: refused combinations and registered secrets. */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildConfig, ConfigError } from '../../../agent/config';
import { redact } from '../../../agent/core/log';
import { tempDir } from '../../helpers/servers';
import { makeCertificate, makeKey } from '../../helpers/jwt-keys';

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
    refuses({ oauth2TokenUrl: 'https://idp/token', oauth2ClientId: 'c', oauth2AuthMethod: 'tls_client_auth' }, { DBX_PROM_OAUTH2_CLIENT_SECRET: 'sec-ffff' }, /--oauth2-auth-method/, /"tls_client_auth" is not client_secret_basic, client_secret_post or private_key_jwt/);
  });

  describe('OAuth2 private_key_jwt', function () {
    this.timeout(60000); // openssl RSA key generation
    const k: Record<string, string> = {};
    const jwt = (extra: Record<string, string> = {}) => ({ oauth2TokenUrl: 'https://idp/token', oauth2ClientId: 'c', oauth2AuthMethod: 'private_key_jwt', ...extra });
    before(() => {
      for (const kind of ['ec256-sec1', 'rsa-pkcs1', 'rsa-encrypted-pkcs8', 'rsa-encrypted-pkcs1', 'ed25519'] as const) k[kind] = makeKey(dir, kind);
      k.otherCert = makeCertificate(dir, makeKey(dir, 'ec256-pkcs8', 'other'), 'other');
      k.cert = makeCertificate(dir, k['ec256-sec1']!, 'own');
      k.text = path.join(dir, 'not-pem.txt');
      writeFileSync(k.text, 'not a key\n');
    });

    it('takes a key file, kid, alg and certificate', () => {
      const c = buildConfig(jwt({ oauth2PrivateKeyFile: k['rsa-pkcs1']!, oauth2KeyId: 'kid-1', oauth2SigningAlg: 'PS384' }), {});
      assert.deepEqual(
        { ...c.auth.oauth2!, tokenUrl: undefined },
        { tokenUrl: undefined, clientId: 'c', privateKeyFile: k['rsa-pkcs1'], keyId: 'kid-1', signingAlg: 'PS384', clientCertificateFile: undefined, scopes: [], audience: undefined, params: {}, authMethod: 'private_key_jwt' },
      );
      assert.doesNotThrow(() => buildConfig(jwt({ oauth2PrivateKeyFile: k['ec256-sec1']!, oauth2ClientCertificateFile: k.cert! }), {}));
      assert.doesNotThrow(() => buildConfig({}, { DBX_PROM_OAUTH2_TOKEN_URL: 'https://idp/token', DBX_PROM_OAUTH2_CLIENT_ID: 'c', DBX_PROM_OAUTH2_AUTH_METHOD: 'private_key_jwt', DBX_PROM_OAUTH2_PRIVATE_KEY_FILE: k['ec256-sec1']! }));
    });

    it('wants the key file, and refuses key settings with a secret method or without a token URL', () => {
      refuses(jwt(), {}, /^--oauth2-private-key-file \(DBX_PROM_OAUTH2_PRIVATE_KEY_FILE\)$/, /is required with --oauth2-auth-method private_key_jwt/);
      refuses(jwt({ oauth2PrivateKeyFile: path.join(dir, 'missing.pem') }), {}, /--oauth2-private-key-file/, /cannot read file/);
      const secretMethod = { oauth2TokenUrl: 'https://idp/token', oauth2ClientId: 'c' };
      refuses({ ...secretMethod, oauth2PrivateKeyFile: k['ec256-sec1']! }, { DBX_PROM_OAUTH2_CLIENT_SECRET: 'sec-jjjj' }, /--oauth2-private-key-file/, /is only used with --oauth2-auth-method private_key_jwt \(the method is client_secret_basic\)/);
      refuses({ ...secretMethod, oauth2AuthMethod: 'client_secret_post', oauth2KeyId: 'k' }, { DBX_PROM_OAUTH2_CLIENT_SECRET: 'sec-jjjj' }, /--oauth2-key-id/, /is only used with .* private_key_jwt \(the method is client_secret_post\)/);
      refuses({ oauth2PrivateKeyFile: k['ec256-sec1']! }, {}, /--oauth2-private-key-file/, /needs --oauth2-token-url/);
      refuses({}, { DBX_PROM_OAUTH2_CLIENT_CERTIFICATE_FILE: k.cert! }, /--oauth2-client-certificate-file/, /needs --oauth2-token-url/);
    });

    it('refuses a client secret, saying it is not used', () => {
      const why = /is not used with --oauth2-auth-method private_key_jwt \(the client signs an assertion with --oauth2-private-key-file instead\): remove it/;
      refuses(jwt({ oauth2PrivateKeyFile: k['ec256-sec1']! }), { DBX_PROM_OAUTH2_CLIENT_SECRET: 'sec-Unused-kkkk' }, /^DBX_PROM_OAUTH2_CLIENT_SECRET$/, why);
      refuses(jwt({ oauth2PrivateKeyFile: k['ec256-sec1']!, oauth2ClientSecretFile: '/etc/hostname' }), {}, /--oauth2-client-secret-file/, why);
      assert.equal(redact('x sec-Unused-kkkk'), 'x [REDACTED]');
    });

    it('refuses a file that is not PEM, an encrypted key and an unsupported key type, naming the key file', () => {
      const key = /^--oauth2-private-key-file \(DBX_PROM_OAUTH2_PRIVATE_KEY_FILE\)$/;
      refuses(jwt({ oauth2PrivateKeyFile: k.text! }), {}, key, /not-pem\.txt is not a PEM file/);
      for (const f of [k['rsa-encrypted-pkcs8']!, k['rsa-encrypted-pkcs1']!])
        refuses(jwt({ oauth2PrivateKeyFile: f }), {}, key, /encrypted keys are not supported; store it unencrypted with mode 0600/);
      refuses(jwt({ oauth2PrivateKeyFile: k.ed25519! }), {}, key, /ed25519 key: only RSA .* and EC P-256, P-384 or P-521 keys are supported/);
      refuses(jwt({ oauth2PrivateKeyFile: k.otherCert! }), {}, key, /holds CERTIFICATE, not a PEM private key/);
    });

    it('refuses an alg that does not fit the key, and a certificate of another key', () => {
      refuses(jwt({ oauth2PrivateKeyFile: k['ec256-sec1']!, oauth2SigningAlg: 'RS256' }), {}, /^--oauth2-signing-alg/, /"RS256" does not fit the key .*\(EC P-256\): use ES256/);
      refuses(jwt({ oauth2PrivateKeyFile: k['rsa-pkcs1']!, oauth2SigningAlg: 'ES512' }), {}, /^--oauth2-signing-alg/, /does not fit .*RSA 2048-bit/);
      refuses(jwt({ oauth2PrivateKeyFile: k['rsa-pkcs1']!, oauth2SigningAlg: 'HS256' }), {}, /^--oauth2-signing-alg/, /"HS256" is not one of RS256/);
      refuses(jwt({ oauth2PrivateKeyFile: k['ec256-sec1']!, oauth2ClientCertificateFile: k.otherCert! }), {}, /^--oauth2-client-certificate-file/, /other\.crt \(CN=other\) does not match the private key/);
      refuses(jwt({ oauth2PrivateKeyFile: k['ec256-sec1']!, oauth2ClientCertificateFile: k.text! }), {}, /^--oauth2-client-certificate-file/, /is not a certificate/);
    });
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
