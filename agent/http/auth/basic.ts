/** Basic auth: a user name, and a password from a file (re-read on change) or from env. */
import { registerSecret } from '../../core/log';
import { option } from '../../core/options';
import { headerAuth, type AuthMethod } from './method';
import { SecretSource } from './secret-source';

const USER = option('--basic-auth-user <user>', 'basic auth user name');
const PASSWORD_FILE = option('--basic-auth-password-file <path>', 'file holding the basic auth password');
const PASSWORD = option('--basic-auth-password <password>', 'basic auth password (env only)', { envOnly: true });

export interface BasicConfig {
  user: string;
  passwordFile?: string;
  password?: string;
}

const header = (user: string, password: string): string => {
  const b64 = Buffer.from(`${user}:${password}`).toString('base64');
  registerSecret(b64);
  return `Basic ${b64}`;
};

export const basic: AuthMethod<'basic', BasicConfig> = {
  name: 'basic',
  title: 'basic auth',
  options: [USER, PASSWORD_FILE, PASSWORD],
  triggers: [USER],
  parse(s) {
    const user = s.str(USER);
    const passwordFile = s.readable(PASSWORD_FILE);
    const password = s.secret(PASSWORD);
    const hasPassword = password !== undefined || passwordFile !== undefined;
    if (user === undefined) {
      if (hasPassword) throw s.error(USER, 'is required with a basic auth password');
      return undefined;
    }
    if (!hasPassword) throw s.error(PASSWORD_FILE, `or ${PASSWORD.env} is required with --basic-auth-user`);
    return { user, passwordFile, password };
  },
  create(o, env) {
    const pw = new SecretSource(o.password, o.passwordFile, 'basic auth password', env.warn);
    return headerAuth(
      'basic',
      async () => header(o.user, pw.get()),
      async (rejected) => {
        pw.reload();
        const now = header(o.user, pw.get());
        return now !== rejected ? now : undefined;
      },
    );
  },
  describe: (o) => `basic auth as ${o.user}`,
  detail: (o) => `basic auth as ${o.user} (password ${o.passwordFile ? `from ${o.passwordFile}` : `from ${PASSWORD.env}`})`,
  hint: 'check that the secret file exists, is readable by the agent and not empty',
};
