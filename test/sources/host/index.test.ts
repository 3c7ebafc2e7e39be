/** agent/sources/host/index.ts: node_exporter's collector switches, made from the collectors table. */
import assert from 'node:assert/strict';
import { ConfigError, createSettings, type FlagValues } from '../../../agent/core/options';
import { COLLECTORS } from '../../../agent/sources/host/collectors';
import { host } from '../../../agent/sources/host/index';

const enabled = (flags: FlagValues, env: Record<string, string> = {}): string[] =>
  host.parse(createSettings(flags, env)).collectors.map((c) => c.name);
const defaults = COLLECTORS.filter((c) => c.defaultOn).map((c) => c.name);

describe('sources/host/index (collector switches)', () => {
  it('runs the collectors on by default, and a switch for each one of the table', () => {
    assert.deepEqual(enabled({}), defaults);
    for (const c of COLLECTORS) {
      const spec = host.options.find((o) => o.flag === `--collector.${c.name}`);
      assert.ok(spec?.negatable, `no --collector.${c.name} / --no-collector.${c.name}`);
      assert.equal(spec.env, `DBX_PROM_COLLECTOR_${c.name.toUpperCase()}`);
    }
  });

  it('--no-collector.<name> turns one off (flag: false, or the env form)', () => {
    assert.deepEqual(enabled({ 'collector.filesystem': false }), defaults.filter((n) => n !== 'filesystem'));
    assert.deepEqual(enabled({}, { DBX_PROM_COLLECTOR_FILESYSTEM: 'false' }), defaults.filter((n) => n !== 'filesystem'));
  });

  it('--collector.disable-defaults leaves only the collectors named after it', () => {
    assert.deepEqual(enabled({ 'collector.disableDefaults': true, 'collector.loadavg': true }), ['loadavg']);
    assert.deepEqual(enabled({}, { DBX_PROM_COLLECTOR_DISABLE_DEFAULTS: 'true', DBX_PROM_COLLECTOR_LOADAVG: 'true' }), ['loadavg']);
    assert.deepEqual(enabled({ 'collector.disableDefaults': true }), []);
  });

  it('the flag wins over the env', () => {
    assert.deepEqual(enabled({ 'collector.cpu': true }, { DBX_PROM_COLLECTOR_DISABLE_DEFAULTS: 'true', DBX_PROM_COLLECTOR_CPU: 'false' }), ['cpu']);
  });

  it('a value that is not true or false names the setting', () => {
    assert.throws(
      () => enabled({}, { DBX_PROM_COLLECTOR_CPU: 'maybe' }),
      (e: unknown) => e instanceof ConfigError && /--collector\.cpu \(DBX_PROM_COLLECTOR_CPU\): "maybe" is not true or false/.test(e.message),
    );
  });
});
