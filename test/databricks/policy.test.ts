/**
 * The cluster policy: agent/databricks/policy.ts (pure) and the `policy` command of the built
 * bundle; deploy/databricks/cluster-policy.json must be what the command prints.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildPolicy, defaultSecretKey, secretReference, PolicyError, STREAMING_METRICS_ATTRIBUTE } from '../../agent/databricks/policy';
import { policyFromFlags } from '../../agent/commands/policy';
import { runAgent } from '../helpers/agent';

const ARTIFACTS = '/Volumes/main/ops/dbx-prom-agent';
const EXAMPLE = path.resolve(__dirname, '../../deploy/databricks/cluster-policy.json');
const CLUSTER = path.resolve(__dirname, '../../deploy/databricks/cluster.json');
/** The flags deploy/databricks/cluster-policy.json is printed with. */
const EXAMPLE_ARGS = [
  '--artifacts', ARTIFACTS,
  '--pushgateway-url', 'https://pushgateway.example.internal:9091',
  '--labels', 'team=data-platform',
  '--secret-scope', 'monitoring',
  '--streaming-metrics',
];

describe('databricks/policy', () => {
  it('pins the volumes init script and DBX_PROM_ARTIFACTS with fixed rules', () => {
    const p = buildPolicy({ artifacts: ARTIFACTS + '/' });
    assert.deepEqual(p, {
      'init_scripts.0.volumes.destination': { type: 'fixed', value: `${ARTIFACTS}/dbx-prom-agent-init.sh` },
      'spark_env_vars.DBX_PROM_ARTIFACTS': { type: 'fixed', value: ARTIFACTS },
    });
  });

  it('uses workspace.destination for workspace files, and another slot when asked', () => {
    const p = buildPolicy({ artifacts: '/Workspace/Shared/dbx-prom-agent', initScriptIndex: 2 });
    assert.deepEqual(Object.keys(p)[0], 'init_scripts.2.workspace.destination');
    const forced = buildPolicy({ artifacts: '/Workspace/Shared/x', location: 'workspace', initScript: '/Workspace/Shared/x/init.sh' });
    assert.equal(forced['init_scripts.0.workspace.destination']!.value, '/Workspace/Shared/x/init.sh');
  });

  it('refuses DBFS, relative and foreign paths, naming the flag', () => {
    for (const artifacts of ['dbfs:/init/x', '/dbfs/init/x', 'Volumes/a/b/c', '/tmp/x']) {
      assert.throws(() => buildPolicy({ artifacts }), (e: unknown) => e instanceof PolicyError && e.setting === '--artifacts');
    }
    assert.throws(() => buildPolicy({ artifacts: ARTIFACTS, initScript: '/Workspace/x.sh' }), /starts with \/Volumes\//);
  });

  it('fixes agent settings as spark_env_vars, and refuses unknown names', () => {
    const p = buildPolicy({ artifacts: ARTIFACTS, env: { DBX_PROM_PUSHGATEWAY_URL: 'https://pg:9091', DBX_PROM_JOB: 'dbx' } });
    assert.deepEqual(p['spark_env_vars.DBX_PROM_PUSHGATEWAY_URL'], { type: 'fixed', value: 'https://pg:9091' });
    assert.deepEqual(p['spark_env_vars.DBX_PROM_JOB'], { type: 'fixed', value: 'dbx' });
    assert.throws(() => buildPolicy({ artifacts: ARTIFACTS, env: { DBX_PROM_PUSHGATEWAY: 'x' } }), /not a setting/);
    assert.throws(() => buildPolicy({ artifacts: ARTIFACTS, env: { PATH: '/bin' } }), /not a setting/);
  });

  it('writes secrets only as {{secrets/scope/key}} references, never literals', () => {
    for (const name of ['DBX_PROM_BEARER_TOKEN', 'DBX_PROM_BASIC_AUTH_PASSWORD', 'DBX_PROM_OAUTH2_CLIENT_SECRET'])
      assert.throws(() => buildPolicy({ artifacts: ARTIFACTS, env: { [name]: 'hunter2' } }), /is a secret/);
    const p = buildPolicy({
      artifacts: ARTIFACTS,
      secretScope: 'monitoring',
      secrets: { DBX_PROM_BEARER_TOKEN: 'pg-token', DBX_PROM_BASIC_AUTH_USER: 'pg-user' },
    });
    assert.equal(p['spark_env_vars.DBX_PROM_BEARER_TOKEN']!.value, '{{secrets/monitoring/pg-token}}');
    assert.equal(p['spark_env_vars.DBX_PROM_BASIC_AUTH_USER']!.value, '{{secrets/monitoring/pg-user}}');
    assert.equal(secretReference('s', 'k'), '{{secrets/s/k}}');
    assert.equal(defaultSecretKey('DBX_PROM_BEARER_TOKEN'), 'dbx-prom-bearer-token');
    assert.throws(() => buildPolicy({ artifacts: ARTIFACTS, secrets: { DBX_PROM_BEARER_TOKEN: 'k' } }), /--secret-scope/);
    assert.throws(() => buildPolicy({ artifacts: ARTIFACTS, secretScope: 'bad scope', secrets: { DBX_PROM_BEARER_TOKEN: 'k' } }), /secret scope/);
    assert.throws(() => buildPolicy({ artifacts: ARTIFACTS, secretScope: 's', secrets: { DBX_PROM_BEARER_TOKEN: 'a/b' } }), /secret key/);
  });

  it('hides the pinned attributes when asked', () => {
    const p = buildPolicy({ artifacts: ARTIFACTS, hidden: true, streamingMetrics: true });
    assert.ok(Object.values(p).every((r) => r.hidden === true));
    assert.deepEqual(p[STREAMING_METRICS_ATTRIBUTE], { type: 'fixed', value: 'true', hidden: true });
  });

  it('pins spark_conf spark.sql.streaming.metricsEnabled to "true" only when asked', () => {
    assert.equal(STREAMING_METRICS_ATTRIBUTE, 'spark_conf.spark.sql.streaming.metricsEnabled');
    const p = buildPolicy({ artifacts: ARTIFACTS, streamingMetrics: true });
    // A string, as spark_conf values are in the Clusters API.
    assert.deepEqual(p[STREAMING_METRICS_ATTRIBUTE], { type: 'fixed', value: 'true' });
    assert.equal(Object.keys(buildPolicy({ artifacts: ARTIFACTS })).some((k) => k.startsWith('spark_conf.')), false);
    assert.equal(Object.keys(buildPolicy({ artifacts: ARTIFACTS, streamingMetrics: false })).some((k) => k.startsWith('spark_conf.')), false);
  });

  it('deploy/databricks/cluster.json turns on what the policy pins', () => {
    const cluster = JSON.parse(readFileSync(CLUSTER, 'utf8')) as { spark_conf?: Record<string, string>; spark_env_vars?: Record<string, string> };
    const p = buildPolicy({ artifacts: ARTIFACTS, streamingMetrics: true });
    assert.equal(cluster.spark_conf?.['spark.sql.streaming.metricsEnabled'], p[STREAMING_METRICS_ATTRIBUTE]!.value);
    assert.equal(cluster.spark_env_vars?.DBX_PROM_ARTIFACTS, ARTIFACTS);
  });

});

describe('policy command', () => {
  it('policyFromFlags: --streaming-metrics adds the spark_conf rule, --hidden hides it too', () => {
    const p = JSON.parse(policyFromFlags({ artifacts: ARTIFACTS, streamingMetrics: true })) as Record<string, unknown>;
    assert.deepEqual(p[STREAMING_METRICS_ATTRIBUTE], { type: 'fixed', value: 'true' });
    const hidden = JSON.parse(policyFromFlags({ artifacts: ARTIFACTS, streamingMetrics: true, hidden: true })) as Record<string, unknown>;
    assert.deepEqual(hidden[STREAMING_METRICS_ATTRIBUTE], { type: 'fixed', value: 'true', hidden: true });
    const without = JSON.parse(policyFromFlags({ artifacts: ARTIFACTS })) as Record<string, unknown>;
    assert.equal(STREAMING_METRICS_ATTRIBUTE in without, false);
  });

  it('policyFromFlags pins the SigV4 settings, and refuses ones AWS would refuse on every cluster', () => {
    const p = JSON.parse(
      policyFromFlags({ artifacts: ARTIFACTS, sigv4Region: 'eu-west-1', sigv4RoleArn: 'arn:aws:iam::123456789012:role/prom-writer', env: ['DBX_PROM_SIGV4_SERVICE=aps'] }),
    ) as Record<string, { value: string }>;
    assert.equal(p['spark_env_vars.DBX_PROM_SIGV4_REGION']!.value, 'eu-west-1');
    assert.equal(p['spark_env_vars.DBX_PROM_SIGV4_ROLE_ARN']!.value, 'arn:aws:iam::123456789012:role/prom-writer');
    assert.equal(p['spark_env_vars.DBX_PROM_SIGV4_SERVICE']!.value, 'aps');
    assert.throws(() => policyFromFlags({ artifacts: ARTIFACTS, sigv4Region: 'EU-WEST-1' }), /--sigv4-region .*not an AWS region/);
    assert.throws(() => policyFromFlags({ artifacts: ARTIFACTS, env: ['DBX_PROM_SIGV4_ROLE_ARN=writer'] }), /--sigv4-role-arn .*needs --sigv4-region/);
  });

  it('policyFromFlags prints deploy/databricks/cluster-policy.json for its flags', () => {
    assert.equal(
      policyFromFlags({
        artifacts: ARTIFACTS,
        pushgatewayUrl: 'https://pushgateway.example.internal:9091',
        labels: 'team=data-platform',
        secretScope: 'monitoring',
        streamingMetrics: true,
      }),
      readFileSync(EXAMPLE, 'utf8'),
    );
  });

  it('prints the policy JSON, the same as deploy/databricks/cluster-policy.json', async () => {
    const r = await runAgent(['policy', ...EXAMPLE_ARGS]);
    assert.equal(r.code, 0, r.stderr);
    const printed = JSON.parse(r.stdout) as Record<string, { type: string; value: string }>;
    assert.equal(printed['init_scripts.0.volumes.destination']!.value, `${ARTIFACTS}/dbx-prom-agent-init.sh`);
    assert.equal(printed['spark_env_vars.DBX_PROM_PUSHGATEWAY_URL']!.value, 'https://pushgateway.example.internal:9091');
    assert.equal(printed['spark_env_vars.DBX_PROM_LABELS']!.value, 'team=data-platform');
    // --secret-scope alone references the bearer token.
    assert.equal(printed['spark_env_vars.DBX_PROM_BEARER_TOKEN']!.value, '{{secrets/monitoring/dbx-prom-bearer-token}}');
    assert.equal(printed[STREAMING_METRICS_ATTRIBUTE]!.value, 'true');
    assert.ok(Object.values(printed).every((rule) => rule.type === 'fixed'));
    assert.equal(r.stdout, readFileSync(EXAMPLE, 'utf8'));
  });

  it('takes --workspace, --env and --secret NAME=key', async () => {
    const r = await runAgent([
      'policy', '--artifacts', '/Workspace/Shared/agent', '--workspace',
      '--env', 'DBX_PROM_INTERVAL=30s', '--secret-scope', 'ops', '--secret', 'DBX_PROM_OAUTH2_CLIENT_SECRET=client',
      '--remote-write-url', 'https://mimir.example.internal/api/v1/push',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as Record<string, { value: string }>;
    assert.ok('init_scripts.0.workspace.destination' in p);
    assert.equal(p['spark_env_vars.DBX_PROM_INTERVAL']!.value, '30s');
    assert.equal(p['spark_env_vars.DBX_PROM_OAUTH2_CLIENT_SECRET']!.value, '{{secrets/ops/client}}');
    assert.equal('spark_env_vars.DBX_PROM_BEARER_TOKEN' in p, false);
  });

  it('exits 2 naming the setting: missing --artifacts, a literal token, a bad URL', async () => {
    const missing = await runAgent(['policy']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--artifacts/);
    const literal = await runAgent(['policy', '--artifacts', ARTIFACTS, '--env', 'DBX_PROM_BEARER_TOKEN=hunter2']);
    assert.equal(literal.code, 2);
    assert.match(literal.stderr, /DBX_PROM_BEARER_TOKEN.*secret/);
    assert.doesNotMatch(literal.stdout + literal.stderr, /hunter2/);
    const url = await runAgent(['policy', '--artifacts', ARTIFACTS, '--pushgateway-url', 'pushgateway:9091']);
    assert.equal(url.code, 2);
    assert.match(url.stderr, /DBX_PROM_PUSHGATEWAY_URL/);
    assert.equal(url.stdout, '');
  });

  it('refuses user:password@ in any setting, without echoing the password', async () => {
    for (const args of [
      ['--pushgateway-url', 'https://u:s3cret-pw@pg:9091'],
      ['--pushgateway-url', 'u:s3cret-pw@pg:9091'],
      ['--env', 'DBX_PROM_OAUTH2_TOKEN_URL=https://id:s3cret-pw@idp/token'],
    ]) {
      const r = await runAgent(['policy', '--artifacts', ARTIFACTS, ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /user:password@ credentials/);
      assert.doesNotMatch(r.stdout + r.stderr, /s3cret-pw/);
    }
  });
});
