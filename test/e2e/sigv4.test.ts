/**
 * SigV4 remote write end to end: the built bundle against loopback stand-ins for AWS (IMDSv2
 * that refuses token-less requests, STS AssumeRole, and an AMP-like front that verifies every
 * request with botocore, an implementation independent of the agent's) in front of a real
 * Prometheus. Keys rotate mid-run; nothing queued is lost across the rotation.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { queueSubdir } from '../../agent/sinks/remote-write/sink';
import { runAgent, startAgent, type Daemon } from '../helpers/agent';
import { awsEnvFor, startAwsStandIn, type AwsStandIn, type StandInRequest } from '../helpers/aws-standin';
import { startHangingServer } from '../helpers/hanging-server';
import { rawSamples } from '../helpers/prometheus-restart';
import { unsentTimestamps } from '../helpers/queue-files';
import { startPrometheus, tempDir, waitFor, type Server } from '../helpers/servers';

const ROLE = 'arn:aws:iam::123456789012:role/prom-writer';

describe('SigV4 remote write (bundle + AWS stand-ins verifying with botocore + real Prometheus)', function () {
  this.timeout(120_000);
  let prom: Server;
  let aws: AwsStandIn;
  let queueBase: string;
  const daemons: Daemon[] = [];

  before(async () => {
    prom = await startPrometheus('global: {}\n', ['--web.enable-remote-write-receiver']);
    aws = await startAwsStandIn({ upstream: `${prom.url}/api/v1/write`, region: 'eu-west-1' });
    queueBase = tempDir();
  });
  after(async () => {
    for (const d of daemons) await d.stop('SIGKILL');
    await aws?.stop();
    await prom?.stop();
    rmSync(queueBase, { recursive: true, force: true });
  });

  const writeUrl = (): string => `${aws.url}/workspaces/ws-1/api/v1/remote_write`;
  const env = (extra: Record<string, string> = {}): Record<string, string> =>
    ({ ...(awsEnvFor(aws, {}) as Record<string, string>), DBX_PROM_QUEUE_DIR: queueBase, ...extra });
  const writes = async (): Promise<StandInRequest[]> => aws.requests('write');
  const okWith = async (key: string): Promise<boolean> => (await writes()).some((r) => r.ok && r.accessKeyId === key);

  it('signs every write with the instance profile keys, rotates before they expire, and loses nothing when keys are refused', async () => {
    // Keys that expire in 5 min 4 s are due for refresh ~10 s after they were fetched.
    await aws.configure({ imdsLifetimeSeconds: 304 });
    const k1 = await aws.rotate({ expiresInSeconds: 304 });
    await aws.clearRequests();
    const args = ['run', '--remote-write-url', writeUrl(), '--sigv4-region', 'eu-west-1', '--sources', 'self', '--node-name', 'n-sigv4',
      '--interval', '1s', '--idle-interval', '1s', '--push-timeout', '2s'];
    const daemon = startAgent(args, env());
    daemons.push(daemon);
    await waitFor(() => okWith(k1.accessKeyId), 20_000, 'a write signed with the first keys');

    // Rotation: IMDS hands out new keys; the agent takes them before the old expire.
    const k2 = await aws.rotate({ expiresInSeconds: 6 * 3600 });
    await waitFor(() => okWith(k2.accessKeyId), 30_000, 'a write signed with the rotated keys');
    const firstK2 = (await writes()).find((r) => r.accessKeyId === k2.accessKeyId)!;
    assert.ok(Date.parse(firstK2.time) < Date.parse(k1.expiration), 'switched before the old keys expired');
    assert.deepEqual((await writes()).filter((r) => !r.ok), [], 'every request verified');
    const imds = await aws.requests('imds');
    assert.ok(imds.length > 0 && imds.every((r) => r.method === 'PUT' || r.tokenHeaderSeen), 'IMDSv2: a token on every GET');

    // Refused keys with IMDS down: the writes wait in the queue, then go out with the next keys.
    await aws.configure({ imdsDown: true });
    await aws.expire(k2.accessKeyId);
    const queueDir = path.join(queueBase, queueSubdir(writeUrl()));
    await waitFor(async () => unsentTimestamps(queueDir).length >= 3, 30_000, 'three queued cycles');
    const queued = unsentTimestamps(queueDir);
    const refused = (await writes()).filter((r) => !r.ok);
    assert.ok(refused.length >= 1 && refused.every((r) => r.accessKeyId === k2.accessKeyId && /ExpiredToken/.test(r.error ?? '')), JSON.stringify(refused));
    const k3 = await aws.rotate({ expiresInSeconds: 6 * 3600 });
    await aws.configure({ imdsDown: false });
    await waitFor(async () => (await okWith(k3.accessKeyId)) && unsentTimestamps(queueDir).length === 0, 30_000, 'the backlog sent with the new keys');
    const stopped = await daemon.stop('SIGTERM');
    assert.equal(stopped.code, 0, daemon.stderr());

    // Every queued cycle is in Prometheus, once.
    const [series, ...more] = await rawSamples(prom.url, 'dbx_agent_build_info{node="n-sigv4"}', '10m');
    assert.equal(more.length, 0);
    const ts = series!.values.map(([t]) => Math.round(t * 1000));
    for (const t of queued) assert.equal(ts.filter((x) => x === t).length, 1, `cycle at ${t} once`);
    // And none dropped on the way, the refused writes included (the agent counts what it drops).
    const counted = async (result: string): Promise<number[]> =>
      (await rawSamples(prom.url, `dbx_agent_remote_write_samples_total{node="n-sigv4",result="${result}"}`, '10m')).flatMap((r) => r.values.map(([, v]) => Number(v)));
    assert.ok((await counted('retried')).some((v) => v > 0), 'the refused writes were retried');
    assert.deepEqual((await counted('dropped')).filter((v) => v > 0), [], 'no sample dropped');
    assert.deepEqual((await writes()).filter((r) => !r.ok && r.accessKeyId !== k2.accessKeyId), [], 'only the expired keys were ever refused');
    // Every line is the agent's JSON (no multi-line SDK warning), the outage said once, not once
    // per cycle, and no secret in any line.
    for (const line of daemon.stderr().split('\n').filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), line);
    assert.equal(daemon.stderr().match(/remote write failed/g)?.length ?? 0, 1, daemon.stderr());
    for (const k of await aws.keys()) {
      assert.ok(!daemon.stderr().includes(k.secretAccessKey), 'secret key in the log');
      if (k.sessionToken) assert.ok(!daemon.stderr().includes(k.sessionToken), 'session token in the log');
    }
  });

  it('assumes a role through STS on top of the instance profile; doctor says where the keys came from and makes a signed push', async () => {
    await aws.clearRequests();
    const doctor = await runAgent(['doctor', '--remote-write-url', writeUrl(), '--sigv4-region', 'eu-west-1', '--sigv4-role-arn', ROLE, '--sources', 'self'], env());
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    assert.match(doctor.stdout, /auth.*AWS SigV4 for aps in eu-west-1 as arn:aws:iam::123456789012:role\/prom-writer: keys …\w{4} from role arn:aws:iam::123456789012:role\/prom-writer assumed with keys from EC2 instance profile \(IMDS\), expire \S+ \(in (59m|1h 0m)\)/);
    assert.match(doctor.stdout, /push remote_write.*accepted/);
    const sts = await aws.requests('sts');
    assert.ok(sts.length >= 1 && sts.every((r) => r.ok), JSON.stringify(sts));
    assert.match(sts[0]!.path ?? '', /^\//);
    const w = (await writes()).filter((r) => r.ok);
    const issued = new Set(sts.map((r) => r.issuedAccessKeyId));
    assert.ok(w.length >= 1 && w.every((r) => r.accessKeyId !== null && issued.has(r.accessKeyId)), 'the push was signed with the assumed role keys');
    for (const k of await aws.keys()) {
      assert.ok(!(doctor.stdout + doctor.stderr).includes(k.secretAccessKey));
      if (k.sessionToken) assert.ok(!(doctor.stdout + doctor.stderr).includes(k.sessionToken));
    }
  });

  it("signs with AWS's time when the node's clock is off, losing nothing", async () => {
    const key = await aws.mintStatic();
    await aws.clearRequests();
    const clock = { NODE_OPTIONS: `-r ${path.join(__dirname, '../helpers/skewed-clock.cjs')}`, DBX_TEST_CLOCK_SKEW_MS: String(10 * 60_000) };
    // Its own node name: its samples carry its clock's time, 10 minutes ahead of everyone's.
    const once = await runAgent(['once', '--remote-write-url', writeUrl(), '--sigv4-region', 'eu-west-1', '--sources', 'self', '--node-name', 'n-skewed'],
      env({ AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey, ...clock }));
    assert.equal(once.code, 0, once.stderr);
    const ahead = /this node's clock is (\d+) s ahead of AWS's: signing with AWS's time/.exec(once.stderr);
    assert.ok(ahead && Math.abs(Number(ahead[1]) - 600) <= 2, once.stderr); // AWS's Date has whole seconds
    const w = await writes();
    assert.match(w[0]!.message ?? '', /Signature not yet current/);
    assert.ok(w.length === 2 && w[1]!.ok, JSON.stringify(w));
  });

  it('a hanging STS fails the sign-in in bounded time: doctor and once finish and say so', async () => {
    const hang = await startHangingServer();
    const sts = hang.url;
    try {
      const args = ['--remote-write-url', writeUrl(), '--sigv4-region', 'eu-west-1', '--sigv4-role-arn', ROLE, '--sources', 'self', '--push-timeout', '2s'];
      const doctor = await runAgent(['doctor', ...args], env({ AWS_ENDPOINT_URL_STS: sts }), 60_000);
      assert.equal(doctor.code, 1, doctor.stdout + doctor.stderr);
      // The SDK's own timeout, or the key cache's: either way the role and the failure are named.
      assert.match(doctor.stdout, /FAIL auth +(AssumeRole of arn:aws:iam::123456789012:role\/prom-writer with keys from EC2 instance profile \(IMDS\) failed: |AWS credentials unavailable: AssumeRole of arn:aws:iam::123456789012:role\/prom-writer did not answer)/);
      const once = await runAgent(['once', ...args], env({ AWS_ENDPOINT_URL_STS: sts }), 60_000);
      assert.equal(once.code, 1, once.stderr);
      assert.match(once.stderr, /unsent samples stay queued/);
      assert.ok(hang.connections > 0, 'STS was asked');
    } finally {
      await hang.close();
    }
  });

  it('takes long-term keys from the environment first, and keeps running when there are none', async () => {
    const key = await aws.mintStatic();
    await aws.clearRequests();
    const once = await runAgent(['once', '--remote-write-url', writeUrl(), '--sigv4-region', 'eu-west-1', '--sources', 'self'],
      env({ AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey }));
    assert.equal(once.code, 0, once.stderr);
    assert.ok((await writes()).every((r) => r.ok && r.accessKeyId === key.accessKeyId));
    assert.equal((await aws.requests('imds')).length, 0, 'environment keys come before IMDS');
    assert.ok(!once.stderr.includes(key.secretAccessKey));

    // The same keys refused as expired, and nothing newer to be had: an outage, the batch kept.
    await aws.expire(key.accessKeyId);
    const refused = await runAgent(['once', '--remote-write-url', writeUrl(), '--sigv4-region', 'eu-west-1', '--sources', 'self'],
      env({ AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey }));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the keys from environment \(AWS_ACCESS_KEY_ID\) were refused \(HTTP 403 ExpiredTokenException\) and no newer ones are available/);
    assert.match(refused.stderr, /unsent samples stay queued/);
    assert.doesNotMatch(refused.stderr, /dropped/);

    await aws.configure({ imdsDown: true });
    try {
      const none = await runAgent(['once', '--remote-write-url', writeUrl(), '--sigv4-region', 'eu-west-1', '--sources', 'self'], env());
      assert.equal(none.code, 1, 'a failed push, not a crash');
      assert.match(none.stderr, /AWS credentials unavailable: .*attach an instance profile/);
      assert.match(none.stderr, /unsent samples stay queued/);
    } finally {
      await aws.configure({ imdsDown: false });
    }
  });
});
