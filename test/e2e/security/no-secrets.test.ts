/**
 * Every command, run with secrets set in every way the agent accepts them (env literals,
 * files, an OAuth2 client secret and the access token it earns, a private_key_jwt key file and
 * the client assertions signed with it, user:pass@ in a URL, AWS SigV4 keys from the AWS_* env
 * with a session token and from the IMDSv2 stand-in with a role assumed through its STS), at log
 * level debug, on success and on failure paths: no secret, nor its base64 form in a header,
 * appears in stdout, stderr (logs) or in what was pushed to the Pushgateway (or, for SigV4,
 * written through the stand-in's verifying front to Prometheus). For SigV4 every secret access
 * key and session token the stand-in ever minted is forbidden, besides the env literals.
 * To cover a new command, add a line to COMMANDS.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runAgent, startAgent } from '../../helpers/agent';
import { awsEnvFor, startAwsStandIn, type AwsStandIn, type StandInKey, type StandInRequest } from '../../helpers/aws-standin';
import { startPrometheus, startPushgateway, tempDir, waitFor, type Server } from '../../helpers/servers';
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
  /** Made-up AWS keys in the env (the front does not know them: a refusal path). */
  awsSecretEnv: 'Leak-Aws-Secret-Env-4c8d',
  awsTokenEnv: 'Leak-Aws-Session-Token-Env-0e7f',
};

const ROLE = 'arn:aws:iam::123456789012:role/prom-writer';
const REGION = 'eu-west-1';

interface Scenario {
  name: string;
  args: string[];
  env: Record<string, string>;
  /** Pushes go by remote write to the SigV4 front (Prometheus behind), where the command has it; gc stays on the Pushgateway. */
  remoteWrite?: boolean;
}

/**
 * `{pg}` is the Pushgateway URL, `{dead}` a port where nothing listens. `own: true` marks a
 * command that does not take the agent options (auth flags, --log-level...): it runs with the
 * secrets in its environment only. `collects: true`: it also takes --sources/--node-name.
 * In a remote-write scenario `--pushgateway-url {pg}` becomes `--remote-write-url` to the SigV4
 * front (`{dead}` a remote-write URL where nothing listens), except for `pushgatewayOnly` commands.
 */
const COMMANDS: { name: string; args: string[]; own?: boolean; collects?: boolean; pushgatewayOnly?: boolean }[] = [
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
  { name: 'gc', args: ['gc', '--pushgateway-url', '{pg}', '--max-age', '1h'], pushgatewayOnly: true },
  { name: 'gc --dry-run', args: ['gc', '--dry-run', '--pushgateway-url', '{pg}', '--max-age', '1s'], pushgatewayOnly: true },
  { name: 'policy', args: ['policy', '--artifacts', '/Volumes/main/ops/dbx-prom-agent', '--pushgateway-url', '{pg}', '--secret-scope', 'monitoring'], own: true },
];

describe('no secret in any output', function () {
  this.timeout(120000);
  let dir: string;
  let pg: Server;
  let idp: RecordingServer;
  let prom: Server;
  let aws: AwsStandIn;
  /** Instance-profile keys (with a session token) the stand-in minted for the AWS_* env scenario. */
  let envKey: StandInKey;
  /** Every secret access key and session token the stand-in minted so far: see learnMinted. */
  const minted = new Set<string>();
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
    prom = await startPrometheus('global: {}\n', ['--web.enable-remote-write-receiver']);
    aws = await startAwsStandIn({ upstream: `${prom.url}/api/v1/write`, region: REGION });
    // Keys for the env: a rotation's (ASIA…, secret and session token); rotated once more so
    // IMDS hands out other keys, and expiring these (a refusal path) leaves the IMDS scenario alone.
    const { accessKeyId } = await aws.rotate({ expiresInSeconds: 6 * 3600 });
    envKey = (await aws.keys()).find((k) => k.accessKeyId === accessKeyId)!;
    assert.ok(envKey.sessionToken, 'instance-profile keys carry a session token');
    await aws.rotate({ expiresInSeconds: 6 * 3600 });
  });
  after(async () => {
    await pg?.stop();
    await idp?.close();
    await aws?.stop();
    await prom?.stop();
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
    {
      name: 'SigV4 keys from the AWS_* env with a session token',
      args: ['--sigv4-region', REGION],
      env: awsEnv({ AWS_ACCESS_KEY_ID: envKey.accessKeyId, AWS_SECRET_ACCESS_KEY: envKey.secretAccessKey, AWS_SESSION_TOKEN: envKey.sessionToken! }),
      remoteWrite: true,
    },
    { name: 'SigV4 keys from IMDSv2 with a role assumed through STS', args: ['--sigv4-region', REGION, '--sigv4-role-arn', ROLE], env: awsEnv(), remoteWrite: true },
  ];

  /** The env that points the AWS SDK at the stand-in (IMDS, STS, no ~/.aws), a queue dir, `extra`. */
  const awsEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...(awsEnvFor(aws, {}) as Record<string, string>),
    DBX_PROM_QUEUE_DIR: path.join(dir, 'queue'),
    ...extra,
  });
  const writeUrl = (): string => `${aws.url}/workspaces/ws-1/api/v1/remote_write`;

  /** A command's arguments for a scenario: placeholders filled, the sink switched for remote write. */
  const commandArgs = (c: (typeof COMMANDS)[number], sc: Scenario): string[] => {
    const rw = sc.remoteWrite === true && c.pushgatewayOnly !== true;
    return c.args.map((a) =>
      rw && a === '--pushgateway-url'
        ? '--remote-write-url'
        : a.replace('{pg}', rw ? writeUrl() : pg.url).replace('{dead}', rw ? 'http://127.0.0.1:9/api/v1/write' : 'http://127.0.0.1:9'),
    );
  };

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
      ...minted,
    ];
  };

  /**
   * Adds every secret access key and session token the stand-in has minted to forbidden(), also
   * URL-encoded (they hold `/` and `+`): call after a command ran.
   */
  async function learnMinted(): Promise<void> {
    for (const k of await aws.keys())
      for (const v of [k.secretAccessKey, k.sessionToken ?? '']) if (v !== '') minted.add(v).add(encodeURIComponent(v));
  }

  function assertClean(where: string, text: string): void {
    for (const s of forbidden()) assert.ok(!text.includes(s), `${where} leaks ${s.slice(0, 12)}...:\n${text.slice(0, 3000)}`);
  }

  async function pushed(): Promise<string> {
    const [json, text] = await Promise.all([fetch(`${pg.url}/api/v1/metrics`).then((r) => r.text()), fetch(`${pg.url}/metrics`).then((r) => r.text())]);
    return json + text;
  }

  /** What reached Prometheus through the SigV4 front: every series with its labels and last value. */
  async function written(): Promise<string> {
    const all = encodeURIComponent('{__name__=~".+"}');
    const [series, federate] = await Promise.all([
      fetch(`${prom.url}/api/v1/series?match[]=${all}`).then((r) => r.text()),
      fetch(`${prom.url}/federate?match[]=${all}`).then((r) => r.text()),
    ]);
    return series + federate;
  }

  /** Every command that takes the agent options (help and `own` ones only see the env), in a scenario. */
  async function everyCommand(sc: Scenario, when: string): Promise<void> {
    for (const c of COMMANDS) {
      const help = c.args.includes('--help') || c.own === true;
      const args = commandArgs(c, sc);
      const full = help ? args : [...args, ...sc.args, '--log-level', 'debug', ...(c.collects ? ['--sources', 'self', '--node-name', 'leak-check'] : [])];
      const r = await runAgent(full, { ...sc.env, DBX_PROM_LOG_LEVEL: 'debug' });
      assert.notEqual(r.code, 2, `${c.name}${when}: configuration refused: ${r.stderr}`);
      await learnMinted();
      assertClean(`${c.name}${when} stdout/stderr`, r.stdout + r.stderr);
    }
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

  /** Requests to the stand-in since `seq`, of a kind. */
  const requestsSince = async (seq: number, kind: 'sts' | 'write'): Promise<StandInRequest[]> => (await aws.requests(kind)).filter((r) => r.seq > seq);
  const lastSeq = async (): Promise<number> => Math.max(0, ...(await aws.requests()).map((r) => r.seq));

  const NAMES = [
    'bearer token from env',
    'bearer token file',
    'basic auth password from env',
    'basic auth password file',
    'OAuth2 secret from env (client_secret_post)',
    'OAuth2 secret file (client_secret_basic)',
    'OAuth2 private_key_jwt key file',
    'SigV4 keys from the AWS_* env with a session token',
    'SigV4 keys from IMDSv2 with a role assumed through STS',
  ];
  for (const [i, name] of NAMES.entries()) {
    it(`with ${name}: every command, and a short run`, async () => {
      const sc = scenarios()[i]!;
      assert.equal(sc.name, name);
      const seq = sc.remoteWrite ? await lastSeq() : 0;
      await everyCommand(sc, '');
      if (sc.remoteWrite) {
        // The keys were really used: verified writes, signed with the env keys or the assumed role's.
        const ok = (await requestsSince(seq, 'write')).filter((r) => r.ok);
        const envId = sc.env.AWS_ACCESS_KEY_ID;
        assert.ok(ok.length > 0 && ok.every((r) => (envId ? r.accessKeyId === envId : r.source === 'sts' && r.roleArn === ROLE)), JSON.stringify(ok));
      }
      // The daemon: a few cycles, then SIGTERM (final push and DELETE).
      const node = `leak-run-${i}`;
      const sink = sc.remoteWrite ? ['--remote-write-url', writeUrl()] : ['--pushgateway-url', pg.url];
      const d = startAgent(['run', '--interval', '1s', '--idle-interval', '1s', ...sink, ...sc.args, '--log-level', 'debug', '--sources', 'self', '--node-name', node], { ...sc.env, DBX_PROM_LOG_LEVEL: 'debug' });
      try {
        if (sc.remoteWrite) {
          await waitFor(async () => (await written()).includes(`node="${node}"`), 20000, 'a verified remote write from run, in Prometheus');
          await learnMinted();
          assertClean('Prometheus (through the SigV4 front)', await written());
        } else {
          await waitFor(async () => (await pushed()).includes(node), 20000, 'a push from run');
        }
        assertClean('Pushgateway', await pushed());
      } finally {
        const { code } = await d.stop();
        assert.equal(code, 0, d.stderr());
      }
      await learnMinted();
      assertClean('run stderr', d.stderr());
    });
  }

  it('with SigV4 keys refused (env keys expired or unknown to the front, STS refusing the role): every command, and the refusals happened', async () => {
    const [fromEnv, fromImds] = [scenarios()[7]!, scenarios()[8]!];
    assert.match(fromEnv.name, /AWS_\* env/);
    assert.match(fromImds.name, /IMDSv2/);

    // The env keys expired: the front answers ExpiredToken, the reload brings the same keys back.
    await aws.expire(envKey.accessKeyId);
    let seq = await lastSeq();
    await everyCommand(fromEnv, ' (env keys expired)');
    const expired = (await requestsSince(seq, 'write')).filter((r) => !r.ok);
    assert.ok(expired.length > 0 && expired.every((r) => r.accessKeyId === envKey.accessKeyId && /ExpiredToken/.test(r.error ?? '')), JSON.stringify(expired));

    // Made-up keys and token in the env, literals: the front does not know them.
    const madeUp = { ...fromEnv, env: awsEnv({ AWS_ACCESS_KEY_ID: 'ASIALEAKMADEUP000001', AWS_SECRET_ACCESS_KEY: S.awsSecretEnv, AWS_SESSION_TOKEN: S.awsTokenEnv }) };
    seq = await lastSeq();
    await everyCommand(madeUp, ' (made-up env keys)');
    const unknown = (await requestsSince(seq, 'write')).filter((r) => !r.ok);
    assert.ok(unknown.length > 0 && unknown.every((r) => r.accessKeyId === 'ASIALEAKMADEUP000001'), JSON.stringify(unknown));

    // STS refuses the role: AccessDenied for AssumeRole with the instance-profile keys.
    await aws.configure({ assumableRoles: ['arn:aws:iam::123456789012:role/someone-else'] });
    try {
      seq = await lastSeq();
      await everyCommand(fromImds, ' (STS refuses the role)');
      const denied = await requestsSince(seq, 'sts');
      assert.ok(denied.length > 0 && denied.every((r) => !r.ok && r.error === 'AccessDenied'), JSON.stringify(denied));
      assert.deepEqual((await requestsSince(seq, 'write')).filter((r) => r.ok), [], 'nothing written without the role');
    } finally {
      await aws.configure({ assumableRoles: null });
    }
    await learnMinted();
    assertClean('Prometheus (through the SigV4 front)', await written());
  });

  it('with SigV4: policy pinning the settings, keys in its env, shows no key', async () => {
    const env = awsEnv({ AWS_ACCESS_KEY_ID: envKey.accessKeyId, AWS_SECRET_ACCESS_KEY: envKey.secretAccessKey, AWS_SESSION_TOKEN: envKey.sessionToken! });
    const policy = await runAgent(['policy', '--artifacts', '/Volumes/main/ops/dbx-prom-agent', '--remote-write-url', writeUrl(), '--sigv4-region', REGION, '--sigv4-role-arn', ROLE], env);
    assert.equal(policy.code, 0, policy.stderr);
    assert.match(policy.stdout, /DBX_PROM_SIGV4_ROLE_ARN/);
    await learnMinted();
    assertClean('policy stdout/stderr', policy.stdout + policy.stderr);
  });

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
