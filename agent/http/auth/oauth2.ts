/** OAuth2 client credentials (RFC 6749 §4.4): a token fetched, cached and refreshed before expiry. */
import { readFileSync } from 'node:fs';
import { option, redactUrl, type Settings } from '../../core/options';
import { AssertionKeyError, ClientAssertionSource, loadAssertionKey, SIGNING_ALGS, type SigningAlg } from '../client-assertion';
import { OAuth2TokenSource, type OAuth2Config } from '../oauth2';
import { headerAuth, type AuthMethod } from './method';
import { SecretSource } from './secret-source';

const TOKEN_URL = option('--oauth2-token-url <url>', 'OAuth2 client-credentials token endpoint', { carriesCredentials: true });
const CLIENT_ID = option('--oauth2-client-id <id>', 'OAuth2 client id');
const SECRET_FILE = option('--oauth2-client-secret-file <path>', 'file holding the OAuth2 client secret');
const SECRET = option('--oauth2-client-secret <secret>', 'OAuth2 client secret (env only)', { envOnly: true });
const SCOPES = option('--oauth2-scopes <scopes>', 'OAuth2 scopes, comma or space separated');
const AUDIENCE = option('--oauth2-audience <aud>', 'OAuth2 audience parameter');
const PARAMS = option('--oauth2-params <k=v,...>', 'extra OAuth2 token request parameters');
const AUTH_METHOD = option('--oauth2-auth-method <method>', 'client_secret_basic, client_secret_post or private_key_jwt', {
  defaultText: 'client_secret_basic',
});
const PRIVATE_KEY_FILE = option(
  '--oauth2-private-key-file <path>',
  'private_key_jwt: unencrypted PEM private key (PKCS#8, RSA or EC) that signs the client assertion',
);
const KEY_ID = option('--oauth2-key-id <kid>', 'private_key_jwt: key id sent as the JWS kid header');
const SIGNING_ALG = option('--oauth2-signing-alg <alg>', `private_key_jwt: signing algorithm (${SIGNING_ALGS.join(', ')})`, {
  defaultText: 'RS256 for RSA, ES256/ES384/ES512 for EC P-256/P-384/P-521',
});
const CLIENT_CERT_FILE = option(
  '--oauth2-client-certificate-file <path>',
  'private_key_jwt: PEM certificate of the key, sent as x5t and x5t#S256 (Entra ID certificate credentials)',
);
const METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
const KEY_OPTIONS = [PRIVATE_KEY_FILE, KEY_ID, SIGNING_ALG, CLIENT_CERT_FILE];
const JWT = '--oauth2-auth-method private_key_jwt';

type Credential = Pick<OAuth2Config, 'clientSecretFile' | 'clientSecret' | 'privateKeyFile' | 'keyId' | 'signingAlg' | 'clientCertificateFile'>;

/** The client secret (file or env) of client_secret_basic and client_secret_post. */
function secretCredential(s: Settings, method: string): Credential {
  // A key setting with a secret method would be silently ignored: say so instead.
  for (const o of KEY_OPTIONS) if (s.given(o)) throw s.error(o, `is only used with ${JWT} (the method is ${method})`);
  const cred = { clientSecretFile: s.readable(SECRET_FILE), clientSecret: s.secret(SECRET) };
  if (cred.clientSecret === undefined && cred.clientSecretFile === undefined)
    throw s.error(SECRET_FILE, `or ${SECRET.env} is required with --oauth2-token-url`);
  return cred;
}

/** private_key_jwt: the key (and certificate) are read and checked here, once, at the config edge. */
function keyCredential(s: Settings): Credential {
  s.secret(SECRET); // registered even though it is refused: the error must not be the only guard
  for (const o of [SECRET_FILE, SECRET])
    if (s.given(o)) throw s.error(o, `is not used with ${JWT} (the client signs an assertion with --oauth2-private-key-file instead): remove it`);
  const privateKeyFile = s.readable(PRIVATE_KEY_FILE);
  if (privateKeyFile === undefined) throw s.error(PRIVATE_KEY_FILE, `is required with ${JWT}`);
  const cred: Credential = {
    privateKeyFile,
    keyId: s.str(KEY_ID),
    signingAlg: s.str(SIGNING_ALG) as SigningAlg | undefined,
    clientCertificateFile: s.readable(CLIENT_CERT_FILE),
  };
  const certFile = cred.clientCertificateFile;
  try {
    loadAssertionKey(
      { pem: readFileSync(privateKeyFile), path: privateKeyFile },
      certFile === undefined ? undefined : { pem: readFileSync(certFile), path: certFile },
      { alg: cred.signingAlg, kid: cred.keyId },
    );
  } catch (e) {
    if (!(e instanceof AssertionKeyError)) throw e;
    throw s.error({ key: PRIVATE_KEY_FILE, alg: SIGNING_ALG, certificate: CLIENT_CERT_FILE }[e.part], e.message);
  }
  return cred;
}

export interface ClientCredential {
  /** The secret, or a fresh assertion; `refused`: the token endpoint refused the last one, read the file again. */
  get(refused: boolean): string | Promise<string>;
  /** Reads the file again now (after a 401 from the receiver). */
  reload(): void;
}

/** The client secret, or with private_key_jwt the source of signed assertions. */
export function clientCredential(o: OAuth2Config, warn: (m: string) => void): ClientCredential {
  const src =
    o.authMethod === 'private_key_jwt'
      ? new ClientAssertionSource({ ...o, privateKeyFile: o.privateKeyFile! }, warn)
      : new SecretSource(o.clientSecret, o.clientSecretFile, 'OAuth2 client secret', warn);
  return {
    get(refused) {
      if (refused) src.reload();
      return src instanceof ClientAssertionSource ? src.next() : src.get();
    },
    reload: () => void src.reload(),
  };
}

/** "private_key_jwt, key /etc/k.pem, kid k1": where the credential comes from, never what it is. */
function credentialText(o: OAuth2Config): string {
  if (o.authMethod !== 'private_key_jwt') return `${o.authMethod}${o.clientSecretFile ? ', secret from file' : ', secret from env'}`;
  const parts = [`private_key_jwt, key ${o.privateKeyFile}`];
  if (o.keyId !== undefined) parts.push(`kid ${o.keyId}`);
  if (o.signingAlg !== undefined) parts.push(o.signingAlg);
  if (o.clientCertificateFile !== undefined) parts.push(`certificate ${o.clientCertificateFile}`);
  return parts.join(', ');
}

export const oauth2: AuthMethod<'oauth2', OAuth2Config> = {
  name: 'oauth2',
  title: 'OAuth2',
  options: [TOKEN_URL, CLIENT_ID, SECRET_FILE, SECRET, SCOPES, AUDIENCE, PARAMS, AUTH_METHOD, ...KEY_OPTIONS],
  triggers: [TOKEN_URL],
  parse(s) {
    const tokenUrl = s.httpUrl(TOKEN_URL);
    if (tokenUrl === undefined) {
      // An OAuth2 setting without the token URL would be silently ignored: say so instead.
      for (const o of [CLIENT_ID, SECRET_FILE, SECRET, SCOPES, AUDIENCE, PARAMS, AUTH_METHOD, ...KEY_OPTIONS])
        if (s.given(o)) throw s.error(o, `needs --oauth2-token-url (${TOKEN_URL.env})`);
      return undefined;
    }
    const clientId = s.str(CLIENT_ID);
    if (clientId === undefined) throw s.error(CLIENT_ID, 'is required with --oauth2-token-url');
    const method = s.str(AUTH_METHOD, 'client_secret_basic');
    if (!(METHODS as readonly string[]).includes(method)) throw s.error(AUTH_METHOD, `"${method}" is not ${METHODS.slice(0, -1).join(', ')} or ${METHODS.at(-1)}`);
    return {
      tokenUrl,
      clientId,
      ...(method === 'private_key_jwt' ? keyCredential(s) : secretCredential(s, method)),
      scopes: (s.str(SCOPES) ?? '').split(/[\s,]+/).filter(Boolean),
      audience: s.str(AUDIENCE),
      params: s.keyValues(PARAMS),
      authMethod: method as OAuth2Config['authMethod'],
    };
  },
  create(o, env) {
    const credential = clientCredential(o, env.warn);
    const source = new OAuth2TokenSource(o, env.tokenHttp(), (refused) => credential.get(refused));
    return headerAuth(
      'oauth2',
      async () => `Bearer ${await source.token()}`,
      async (rejected) => {
        credential.reload();
        const token = await source.refresh((rejected ?? '').replace(/^Bearer /, ''));
        const now = `Bearer ${token}`;
        return now !== rejected ? now : undefined;
      },
    );
  },
  describe: (o) => `oauth2 (${credentialText(o)})`,
  detail: (o) =>
    `OAuth2 token from ${redactUrl(o.tokenUrl)} (client ${o.clientId}, ${o.authMethod === 'private_key_jwt' ? credentialText(o) : o.authMethod}${o.scopes.length ? `, scopes ${o.scopes.join(' ')}` : ''})`,
  hint: 'check --oauth2-token-url, --oauth2-client-id and the client secret or private key (the public key and kid registered with the IdP); the IdP error code above says which',
  endpoints: (o) => [{ label: 'oauth2', url: o.tokenUrl }],
};
