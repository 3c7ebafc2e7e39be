/** OAuth2 client credentials (RFC 6749 §4.4): a token fetched, cached and refreshed before expiry. */
import { option, redactUrl } from '../../core/options';
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
const AUTH_METHOD = option('--oauth2-auth-method <method>', 'client_secret_basic or client_secret_post', {
  defaultText: 'client_secret_basic',
});
const METHODS = ['client_secret_basic', 'client_secret_post'] as const;

export const oauth2: AuthMethod<'oauth2', OAuth2Config> = {
  name: 'oauth2',
  title: 'OAuth2',
  options: [TOKEN_URL, CLIENT_ID, SECRET_FILE, SECRET, SCOPES, AUDIENCE, PARAMS, AUTH_METHOD],
  triggers: [TOKEN_URL],
  parse(s) {
    const tokenUrl = s.httpUrl(TOKEN_URL);
    if (tokenUrl === undefined) {
      // An OAuth2 setting without the token URL would be silently ignored: say so instead.
      for (const o of [CLIENT_ID, SECRET_FILE, SECRET, SCOPES, AUDIENCE, PARAMS, AUTH_METHOD])
        if (s.given(o)) throw s.error(o, `needs --oauth2-token-url (${TOKEN_URL.env})`);
      return undefined;
    }
    const clientId = s.str(CLIENT_ID);
    if (clientId === undefined) throw s.error(CLIENT_ID, 'is required with --oauth2-token-url');
    const method = s.str(AUTH_METHOD, 'client_secret_basic');
    if (!(METHODS as readonly string[]).includes(method)) throw s.error(AUTH_METHOD, `"${method}" is not ${METHODS.join(' or ')}`);
    const cfg: OAuth2Config = {
      tokenUrl,
      clientId,
      clientSecretFile: s.readable(SECRET_FILE),
      clientSecret: s.secret(SECRET),
      scopes: (s.str(SCOPES) ?? '').split(/[\s,]+/).filter(Boolean),
      audience: s.str(AUDIENCE),
      params: s.keyValues(PARAMS),
      authMethod: method as OAuth2Config['authMethod'],
    };
    if (cfg.clientSecret === undefined && cfg.clientSecretFile === undefined)
      throw s.error(SECRET_FILE, `or ${SECRET.env} is required with --oauth2-token-url`);
    return cfg;
  },
  create(o, env) {
    const secret = new SecretSource(o.clientSecret, o.clientSecretFile, 'OAuth2 client secret', env.warn);
    const source = new OAuth2TokenSource(o, env.tokenHttp(), () => secret.get());
    return headerAuth(
      'oauth2',
      async () => `Bearer ${await source.token()}`,
      async (rejected) => {
        secret.reload();
        const token = await source.refresh((rejected ?? '').replace(/^Bearer /, ''));
        const now = `Bearer ${token}`;
        return now !== rejected ? now : undefined;
      },
    );
  },
  describe: (o) => `oauth2 (${o.authMethod}${o.clientSecretFile ? ', secret from file' : ', secret from env'})`,
  detail: (o) =>
    `OAuth2 token from ${redactUrl(o.tokenUrl)} (client ${o.clientId}, ${o.authMethod}${o.scopes.length ? `, scopes ${o.scopes.join(' ')}` : ''})`,
  hint: 'check --oauth2-token-url, --oauth2-client-id and the client secret; the IdP error code above says which',
  endpoints: (o) => [{ label: 'oauth2', url: o.tokenUrl }],
};
