/** agent/core/options.ts: option specs and the Settings every component parses its options with. */
import assert from 'node:assert/strict';
import { ConfigError, createSettings, option, settingName } from '../../agent/core/options';
import { redact } from '../../agent/core/log';

const error = (f: () => unknown): ConfigError => {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no ConfigError');
};

describe('core/options', () => {
  it('derives the commander key and the env name from the flag, dotted names included', () => {
    const o = option('--spark-max-response-size <size>', 'x');
    assert.deepEqual([o.key, o.env, o.boolean], ['sparkMaxResponseSize', 'DBX_PROM_SPARK_MAX_RESPONSE_SIZE', false]);
    const d = option('--collector.disable-defaults', 'x');
    assert.deepEqual([d.key, d.env, d.boolean], ['collector.disableDefaults', 'DBX_PROM_COLLECTOR_DISABLE_DEFAULTS', true]);
    assert.equal(settingName(d), '--collector.disable-defaults (DBX_PROM_COLLECTOR_DISABLE_DEFAULTS)');
    assert.equal(settingName(option('--bearer-token <t>', 'x', { envOnly: true })), 'DBX_PROM_BEARER_TOKEN');
  });

  it('reads flag over env, an empty env as unset, and an env-only option never from a flag', () => {
    const o = option('--job <name>', 'x');
    const secret = option('--basic-auth-password <p>', 'x', { envOnly: true });
    const s = createSettings({ job: 'flag', basicAuthPassword: 'from-ps' }, { DBX_PROM_JOB: 'env', DBX_PROM_BASIC_AUTH_PASSWORD: '' });
    assert.equal(s.str(o), 'flag');
    assert.equal(s.given(secret), false);
    assert.equal(createSettings({}, { DBX_PROM_JOB: '' }).str(o, 'databricks'), 'databricks');
  });

  it('a switch is true, false (from --no-… or env) or unset', () => {
    const o = option('--collector.cpu', 'x', { negatable: true });
    assert.equal(createSettings({}, {}).switch(o), undefined);
    assert.equal(createSettings({ 'collector.cpu': false }, { DBX_PROM_COLLECTOR_CPU: 'true' }).switch(o), false);
    assert.equal(createSettings({}, { DBX_PROM_COLLECTOR_CPU: 'off' }).switch(o), false);
    assert.match(error(() => createSettings({}, { DBX_PROM_COLLECTOR_CPU: 'maybe' }).switch(o)).message, /--collector\.cpu \(DBX_PROM_COLLECTOR_CPU\): "maybe" is not true or false/);
  });

  it('durations, sizes and whole numbers name the option and the bound', () => {
    const t = option('--push-timeout <d>', 'x');
    const n = option('--max-samples-per-send <n>', 'x');
    const z = option('--queue-max-bytes <s>', 'x');
    assert.equal(createSettings({ pushTimeout: '1m30s' }, {}).duration(t, '10s', 100, 600_000), 90_000);
    assert.match(error(() => createSettings({ pushTimeout: '11m' }, {}).duration(t, '10s', 100, 600_000)).message, /--push-timeout.*above the maximum of 10m/);
    assert.match(error(() => createSettings({ maxSamplesPerSend: '0' }, {}).int(n, 2000, 1)).message, /not a whole number >= 1/);
    assert.equal(createSettings({ queueMaxBytes: '2MiB' }, {}).size(z, '256MiB', 1 << 20, '1MiB'), 2 << 20);
  });

  it("a URL's password is registered as a secret before anything can print it", () => {
    const u = option('--remote-write-url <url>', 'x');
    createSettings({ remoteWriteUrl: 'https://tenant:Pa%24s-9931@rw.example/api/v1/write' }, {}).httpUrl(u);
    assert.doesNotMatch(redact('Pa%24s-9931 and Pa$s-9931'), /9931/);
  });
});
