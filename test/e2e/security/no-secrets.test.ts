/**
 * Every command, run with secrets set in every way the agent accepts them (env literals,
 * files, an OAuth2 client secret and the access token it earns, a private_key_jwt key file and
 * the client assertions signed with it, user:pass@ in a URL), at log
 * level debug, on success and on failure paths: no secret, nor its base64 form in a header,
 * appears in stdout, stderr (logs) or in what was pushed to the Pushgateway.
 * To cover a new command, add a line to COMMANDS.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runAgent, startAgent } from '../../helpers/agent';
import { startPushgateway, tempDir, waitFor, type Server } from '../../helpers/servers';
import { startRecordingServer, type RecordingServer } from '../../helpers/recording-server';
import { makeCertificate, makeKey } from '../../helpers/jwt-keys';

const S = {
  bearerEnv: 'Leak-Bearer-Env-9f1c',
  bearerFile: 'Leak-Bearer-File-7d2e',
  basicEnv: 'Leak-Basic-Env-3a9b',
  basicFile: 'Leak-Basic-File-5c0d',
  clientEnv: 'Leak-Client-Env-8e4f',
  clientFile: 'Leak-Client-File-1a2b',
  accessToken: 'Leak-Access-Token-6b7a',
  urlPassword: 'Leak-Url-Pass-2f3e',
};

interface Scenario {
  name: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * `{pg}` is the Pushgateway URL, `{dead}` a port where nothing listens. `own: true` marks a
 * command that does not take the agent options (auth flags, --log-level...): it runs with the
 * secrets in its environment only. `collects: true`: it also takes --sources/--node-name.
 */
const COMMANDS: { name: string; args: string[]; own?: boolean; collects?: boolean }[] = [
  { name: '--help', args: ['--help'] },
  { name: 'run --help', args: ['run', '--help'] },
  { name: 'once --help', args: ['once', '--help'] },
  { name: 'doctor --help', args: ['doctor', '--help'] },
  { name: 'gc --help', args: ['gc', '--help'] },
  { name: 'policy --help', args: ['policy', '--help'] },
  { name: 'once', args: ['once', '--pushgateway-url', '{pg}'], collects: true },
  { name: 'once (push fails)', args: ['once', '--pushgateway-url', '{dead}', '--push-timeout', '1s'], collects: true },
  { name: 'once --dry-run', args: ['once', '--dry-run', '--pushgateway-url', '{pg}'], collects: true },
  { name: 'doctor', args: ['doctor', '--pushgateway-url', '{pg}'], collects: true },
  { name: 'doctor (endpoint down)', args: ['doctor', '--pushgateway-url', '{dead}', '--push-timeout', '1s'], collects: true },
  { name: 'gc', args: ['gc', '--pushgateway-url', '{pg}', '--max-age', '1h'] },
  { name: 'gc --dry-run', args: ['gc', '--dry-run', '--pushgateway-url', '{pg}', '--max-age', '1s'] },
  { name: 'policy', args: ['policy', '--artifacts', '/Volumes/main/ops/dbx-prom-agent', '--pushgateway-url', '{pg}', '--secret-scope', 'monitoring'], own: true },
];

describe('no secret in any output', function () {
  this.timeout(120000);
  let dir: string;
  let pg: Server;
  let idp: RecordingServer;
  const files: Record<string, string> = {};

  before(async () => {
    dir = tempDir();
    for (const k of ['bearerFile', 'basicFile', 'clientFile'] as const) {
      files[k] = path.join(dir, k);
      writeFileSync(files[k], S[k] + '\n');
    }
    files.privateKey = makeKey(dir, 'rsa-pkcs1', 'leak-key');
    files.certificate = makeCertificate(dir, files.privateKey, 'leak-cert');
    pg = await startPushgateway();
    idp = await startRecordingServer(() => ({ status: 200, body: JSON.stringify({ access_token: S.accessToken, token_type: 'Bearer', expires_in: 3600 }) }));
  });
  after(async () => {
    await pg?.stop();
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const scenarios = (): Scenario[] => [
    { name: 'bearer token from env', args: [], env: { DBX_PROM_BEARER_TOKEN: S.bearerEnv } },
    { name: 'bearer token file', args: ['--bearer-token-file', files.bearerFile!], env: {} },
    { name: 'basic auth password from env', args: ['--basic-auth-user', 'alice'], env: { DBX_PROM_BASIC_AUTH_PASSWORD: S.basicEnv } },
    { name: 'basic auth password file', args: ['--basic-auth-user', 'alice', '--basic-auth-password-file', files.basicFile!], env: {} },
    {
      name: 'OAuth2 secret from env (client_secret_post)',
      args: ['--oauth2-token-url', `${idp.url}/token`, '--oauth2-client-id', 'agent', '--oauth2-auth-method', 'client_secret_post', '--oauth2-scopes', 'metrics'],
      env: { DBX_PROM_OAUTH2_CLIENT_SECRET: S.clientEnv },
    },
    {
      name: 'OAuth2 secret file (client_secret_basic)',
      args: ['--oauth2-token-url', `${idp.url}/token`, '--oauth2-client-id', 'agent', '--oauth2-client-secret-file', files.clientFile!],
      env: {},
    },
    { name: 'OAuth2 private_key_jwt key file', args: jwtArgs(), env: {} },
  ];

  const jwtArgs = (): string[] => [
    ...['--oauth2-token-url', `${idp.url}/token`, '--oauth2-client-id', 'agent', '--oauth2-auth-method', 'private_key_jwt'],
    ...['--oauth2-private-key-file', files.privateKey!, '--oauth2-key-id', 'leak-kid', '--oauth2-client-certificate-file', files.certificate!],
  ];

  /** The key file whole, its base64 on one line and line by line; every assertion the IdP was sent. */
  const keyMaterial = (): string[] => {
    if (files.privateKey === undefined) return [];
    const text = readFileSync(files.privateKey, 'utf8');
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
    const assertions = idp.requests.map((r) => new URLSearchParams(r.body).get('client_assertion')).filter((a): a is string => a !== null);
    return [text.trim(), lines.join(''), ...lines, ...assertions, ...assertions.map((a) => a.split('.')[2]!)];
  };

  const forbidden = (): string[] => {
    const values = Object.values(S);
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    return [
      ...values,
      b64(`alice:${S.basicEnv}`),
      b64(`alice:${S.basicFile}`),
      b64(`agent:${S.clientFile}`),
      b64(`bob:${S.urlPassword}`),
      ...keyMaterial(),
    ];
  };

  function assertClean(where: string, text: string): void {
    for (const s of forbidden()) assert.ok(!text.includes(s), `${where} leaks ${s.slice(0, 12)}...:\n${text.slice(0, 3000)}`);
  }

  async function pushed(): Promise<string> {
    const [json, text] = await Promise.all([fetch(`${pg.url}/api/v1/metrics`).then((r) => r.text()), fetch(`${pg.url}/metrics`).then((r) => r.text())]);
    return json + text;
  }

  it('with a URL carrying user:pass@ (loopback), every command', async () => {
    const pgWithUser = pg.url.replace('http://', `http://bob:${S.urlPassword}@`);
    // `policy` refuses user-info (exit 2) without echoing it: checked below the loop.
    for (const c of COMMANDS.filter((x) => !x.own)) {
      const args = c.args.map((a) => a.replace('{pg}', pgWithUser).replace('{dead}', `http://bob:${S.urlPassword}@127.0.0.1:9`));
      const full = c.args.includes('--help') || c.own ? args : [...args, '--log-level', 'debug', ...(c.collects ? ['--sources', 'self', '--node-name', 'leak-check'] : [])];
      const r = await runAgent(full, {});
      assert.notEqual(r.code, 2, `${c.name}: configuration refused: ${r.stderr}`);
      assertClean(`${c.name} stdout/stderr`, r.stdout + r.stderr);
    }
    assertClean('Pushgateway', await pushed());
    const policy = await runAgent(['policy', '--artifacts', '/Volumes/main/ops/dbx-prom-agent', '--pushgateway-url', pgWithUser]);
    assert.equal(policy.code, 2, policy.stderr);
    assert.match(policy.stderr, /user:password@ credentials/);
    assertClean('policy stdout/stderr', policy.stdout + policy.stderr);
  });

  for (const [i, name] of ['bearer token from env', 'bearer token file', 'basic auth password from env', 'basic auth password file', 'OAuth2 secret from env (client_secret_post)', 'OAuth2 secret file (client_secret_basic)', 'OAuth2 private_key_jwt key file'].entries()) {
    it(`with ${name}: every command, and a short run`, async () => {
      const sc = scenarios()[i]!;
      assert.equal(sc.name, name);
      for (const c of COMMANDS) {
        const help = c.args.includes('--help') || c.own === true;
        const args = c.args.map((a) => a.replace('{pg}', pg.url).replace('{dead}', 'http://127.0.0.1:9'));
        const full = help ? args : [...args, ...sc.args, '--log-level', 'debug', ...(c.collects ? ['--sources', 'self', '--node-name', 'leak-check'] : [])];
        const r = await runAgent(full, { ...sc.env, DBX_PROM_LOG_LEVEL: 'debug' });
        assert.notEqual(r.code, 2, `${c.name}: configuration refused: ${r.stderr}`);
        assertClean(`${c.name} stdout/stderr`, r.stdout + r.stderr);
      }
      // The daemon: a few cycles, then SIGTERM (final push and DELETE).
      const d = startAgent(['run', '--interval', '1s', '--idle-interval', '1s', '--pushgateway-url', pg.url, ...sc.args, '--log-level', 'debug', '--sources', 'self', '--node-name', 'leak-run'], sc.env);
      try {
        await waitFor(async () => (await pushed()).includes('leak-run'), 20000, 'a push from run');
        assertClean('Pushgateway', await pushed());
      } finally {
        const { code } = await d.stop();
        assert.equal(code, 0, d.stderr());
      }
      assertClean('run stderr', d.stderr());
    });
  }

  it('with private_key_jwt: assertions were signed, and policy pinning the key settings shows no key material', async () => {
    const before = idp.requests.length;
    const r = await runAgent(['once', '--pushgateway-url', pg.url, ...jwtArgs(), '--log-level', 'debug', '--sources', 'self', '--node-name', 'leak-jwt']);
    assert.equal(r.code, 0, r.stderr);
    const sent = idp.requests.slice(before).map((q) => new URLSearchParams(q.body).get('client_assertion'));
    assert.ok(sent.length > 0 && sent.every((a) => a !== null && a.split('.').length === 3), 'the token request carries a signed assertion');
    assertClean('once stdout/stderr', r.stdout + r.stderr);
    const env = ['DBX_PROM_OAUTH2_AUTH_METHOD=private_key_jwt', `DBX_PROM_OAUTH2_PRIVATE_KEY_FILE=${files.privateKey}`, 'DBX_PROM_OAUTH2_KEY_ID=leak-kid'];
    const policy = await runAgent(['policy', '--artifacts', '/Volumes/main/ops/dbx-prom-agent', '--pushgateway-url', pg.url, ...env.flatMap((e) => ['--env', e])]);
    assert.equal(policy.code, 0, policy.stderr);
    assert.match(policy.stdout, /DBX_PROM_OAUTH2_PRIVATE_KEY_FILE/);
    assertClean('policy stdout/stderr', policy.stdout + policy.stderr);
  });
});
