import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { buildConfig, ConfigError, parseKeyValues } from '../agent/config';
import { tempDir } from './helpers/servers';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail('expected a ConfigError');
}

describe('config', () => {
  let dir: string;
  before(() => (dir = tempDir()));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has the DESIGN defaults', () => {
    const c = buildConfig({}, {});
    assert.equal(c.job, 'databricks');
    assert.equal(c.intervalMs, 15_000);
    assert.equal(c.idleIntervalMs, 60_000);
    assert.deepEqual(c.sources, ['host', 'spark', 'self']);
    assert.equal(c.source.spark.timeoutMs, 5000);
    assert.equal(c.source.spark.driverEnvFile, '/tmp/driver-env.sh');
    assert.equal(c.tls.insecureSkipVerify, false);
    // No sink is configured by default; a configured one gets its defaults.
    assert.deepEqual(c.sinks, {});
    const rw = buildConfig({ remoteWriteUrl: 'http://127.0.0.1:9090/api/v1/write' }, {}).sinks.remote_write!;
    assert.equal(rw.maxSamplesPerSend, 2000);
    assert.equal(rw.queueMaxAgeMs, 2 * 3600_000);
  });

  it('takes a flag over env over the env file over the default', () => {
    const file = path.join(dir, 'a.env');
    writeFileSync(file, 'DBX_PROM_INTERVAL=20s\nDBX_PROM_JOB=from-file\nDBX_PROM_IDLE_INTERVAL=5m\n');
    const c = buildConfig({ interval: '10s', settingsFile: file }, { DBX_PROM_INTERVAL: '30s', DBX_PROM_JOB: 'from-env' });
    assert.equal(c.intervalMs, 10_000);
    assert.equal(c.job, 'from-env');
    assert.equal(c.idleIntervalMs, 300_000);
    assert.equal(c.env.DBX_PROM_JOB, 'from-env');
  });

  it('names the flag and its env variable when a value is bad', () => {
    const e = configError(() => buildConfig({}, { DBX_PROM_INTERVAL: 'soon' }));
    assert.equal(e.setting, '--interval (DBX_PROM_INTERVAL)');
    assert.match(e.message, /"soon" is not a duration/);
    assert.match(configError(() => buildConfig({ pushgatewayUrl: 'ftp://x' }, {})).message, /--pushgateway-url.*http/);
    assert.match(configError(() => buildConfig({ logLevel: 'loud' }, {})).message, /--log-level/);
    assert.match(configError(() => buildConfig({ sources: 'host,gpu' }, {})).message, /unknown source "gpu"/);
    assert.match(configError(() => buildConfig({ interval: '2m', idleInterval: '1m' }, {})).message, /--idle-interval.*must not be shorter than --interval/);
    assert.match(configError(() => buildConfig({ interval: '2m' }, {})).message, /--idle-interval .*is 60s by default, shorter than --interval 2m: set it too/);
    assert.match(configError(() => buildConfig({ busyCpu: '5' }, {})).message, /--busy-cpu/);
    assert.match(configError(() => buildConfig({ keepOnExit: undefined }, { DBX_PROM_KEEP_ON_EXIT: 'maybe' })).message, /KEEP_ON_EXIT/);
    assert.match(configError(() => buildConfig({ settingsFile: path.join(dir, 'missing.env') }, {})).message, /--settings-file \(DBX_PROM_SETTINGS_FILE\): cannot read .*missing\.env/);
  });

  it('reads the settings file named by DBX_PROM_SETTINGS_FILE, or by its old name DBX_PROM_ENV_FILE', () => {
    const file = path.join(dir, 'b.env');
    writeFileSync(file, 'DBX_PROM_JOB=from-settings\nNODE_OPTIONS=--inspect\n');
    assert.equal(buildConfig({}, { DBX_PROM_SETTINGS_FILE: file }).job, 'from-settings');
    assert.equal(buildConfig({}, { DBX_PROM_ENV_FILE: file }).job, 'from-settings');
    assert.equal(buildConfig({}, { DBX_PROM_ENV_FILE: file }).settingsFile, file);
  });

  it('refuses durations past what a timer can hold, stating the maximum', () => {
    // Node's timers fire at once past 2^31-1 ms: 600h would make every cycle "time out".
    assert.match(configError(() => buildConfig({ interval: '600h', idleInterval: '600h' }, {})).message, /--interval \(DBX_PROM_INTERVAL\): "600h" is above the maximum of 24h/);
    assert.match(configError(() => buildConfig({ idleInterval: '25h' }, {})).message, /--idle-interval.*maximum of 24h/);
    assert.match(configError(() => buildConfig({ pushTimeout: '99999h' }, {})).message, /--push-timeout.*maximum of 10m/);
    assert.match(configError(() => buildConfig({ sparkTimeout: '99999h' }, {})).message, /--spark-timeout.*maximum of 10m/);
    assert.match(configError(() => buildConfig({ queueMaxAge: '30d' }, {})).message, /--queue-max-age.*maximum of 168h/);
    assert.match(configError(() => buildConfig({ interval: '500ms' }, {})).message, /below the minimum of 1s/);
    assert.equal(buildConfig({ interval: '24h', idleInterval: '24h' }, {}).intervalMs, 24 * 3600_000);
  });

  it('refuses a Pushgateway or Spark URL with a ?query or #fragment, and any URL with a #fragment', () => {
    assert.match(configError(() => buildConfig({ pushgatewayUrl: 'http://127.0.0.1:9091/?x=1' }, {})).message, /--pushgateway-url.*\?query/);
    assert.match(configError(() => buildConfig({ pushgatewayUrl: 'http://127.0.0.1:9091#top' }, {})).message, /--pushgateway-url.*#fragment/);
    assert.match(configError(() => buildConfig({ sparkUrl: 'http://127.0.0.1:4040?a' }, {})).message, /--spark-url.*\?query/);
    assert.match(configError(() => buildConfig({ remoteWriteUrl: 'http://127.0.0.1:9090/api/v1/write#x' }, {})).message, /--remote-write-url.*#fragment/);
    // VictoriaMetrics takes `?extra_label=`: a remote-write URL may carry a query.
    assert.equal(buildConfig({ remoteWriteUrl: 'http://127.0.0.1:8428/api/v1/write?extra_label=a=b' }, {}).sinks.remote_write?.url, 'http://127.0.0.1:8428/api/v1/write?extra_label=a=b');
  });

  it('leaves out a --labels key with an empty value', () => {
    assert.deepEqual(buildConfig({ labels: 'team=,env=prod' }, {}).labels, { env: 'prod' });
  });

  it('parses extra labels and refuses the ones the agent owns or invalid names', () => {
    assert.deepEqual(buildConfig({ labels: 'team=data, env=prod' }, {}).labels, { team: 'data', env: 'prod' });
    assert.match(configError(() => buildConfig({ labels: 'cluster_id=x' }, {})).message, /set by the agent/);
    assert.match(configError(() => buildConfig({ labels: '1bad=x' }, {})).message, /not a valid label name/);
    assert.match(configError(() => buildConfig({ labels: 'novalue' }, {})).message, /not key=value/);
    assert.deepEqual(parseKeyValues('a=b=c,d=e\\,f'), { a: 'b=c', d: 'e,f' });
  });

  it('refuses credentials over plain http to a non-loopback host', () => {
    const env = { DBX_PROM_BEARER_TOKEN: 'tok-123456' };
    const e = configError(() => buildConfig({ pushgatewayUrl: 'http://pushgw.internal:9091' }, env));
    assert.match(e.message, /plain http/);
    assert.doesNotMatch(e.message, /tok-123456/);
    // Loopback and an explicit opt-in are allowed.
    buildConfig({ pushgatewayUrl: 'http://127.0.0.1:9091' }, env);
    buildConfig({ pushgatewayUrl: 'http://pushgw.internal:9091', allowInsecureHttp: true }, env);
  });

  it('never puts URL credentials into its error messages', () => {
    const e = configError(() => buildConfig({ remoteWriteUrl: 'gopher://user:hunter2@host/x' }, {}));
    assert.doesNotMatch(e.message, /hunter2/);
  });
});
