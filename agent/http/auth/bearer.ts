/** A bearer token, from a file (re-read on change) or from env. */
import { option } from '../../core/options';
import { headerAuth, type AuthMethod } from './method';
import { SecretSource } from './secret-source';

const TOKEN_FILE = option('--bearer-token-file <path>', 'file holding a bearer token (re-read on change)');
const TOKEN = option('--bearer-token <token>', 'bearer token (env only)', { envOnly: true });

export interface BearerConfig {
  tokenFile?: string;
  token?: string;
}

export const bearer: AuthMethod<'bearer', BearerConfig> = {
  name: 'bearer',
  title: 'bearer token',
  options: [TOKEN_FILE, TOKEN],
  triggers: [TOKEN_FILE, TOKEN],
  parse(s) {
    const tokenFile = s.readable(TOKEN_FILE);
    const token = s.secret(TOKEN);
    return tokenFile === undefined && token === undefined ? undefined : { tokenFile, token };
  },
  create(o, env) {
    const token = new SecretSource(o.token, o.tokenFile, 'bearer token', env.warn);
    return headerAuth(
      'bearer',
      async () => `Bearer ${token.get()}`,
      async (rejected) => {
        token.reload();
        const now = `Bearer ${token.get()}`;
        return now !== rejected ? now : undefined;
      },
    );
  },
  describe: (o) => (o.tokenFile ? 'bearer token from file' : 'bearer token from env'),
  detail: (o) => `bearer token ${o.tokenFile ? `from ${o.tokenFile}` : `from ${TOKEN.env}`}`,
  hint: 'check that the secret file exists, is readable by the agent and not empty',
};
