/** agent/sources/index.ts: the sources table, --sources, and where each source runs. */
import assert from 'node:assert/strict';
import { ConfigError, createSettings } from '../../agent/core/options';
import { readContext } from '../../agent/databricks/context';
import { enabledSources, parseSourceList, parseSources, SOURCES } from '../../agent/sources/index';

describe('sources/index', () => {
  it('--sources defaults to the sources on by default and refuses an unknown one', () => {
    assert.deepEqual(parseSourceList(createSettings({}, {})), SOURCES.filter((s) => s.defaultOn).map((s) => s.name));
    assert.throws(
      () => parseSourceList(createSettings({ sources: 'host,gpu' }, {})),
      (e: unknown) => e instanceof ConfigError && /unknown source "gpu" \(known: host, spark, self\)/.test(e.message),
    );
  });

  it('spark runs on the driver, or anywhere with --spark-url', () => {
    const list = ['host', 'spark', 'self'];
    const names = (flags: Record<string, string>, env: Record<string, string>) =>
      enabledSources(list, parseSources(createSettings(flags, env)), { context: readContext(env) }).map((s) => s.entry.name);
    assert.deepEqual(names({}, { DB_CLUSTER_ID: 'c', DB_IS_DRIVER: 'FALSE' }), ['host', 'self']);
    assert.deepEqual(names({}, { DB_CLUSTER_ID: 'c', DB_IS_DRIVER: 'TRUE' }), ['host', 'spark', 'self']);
    assert.deepEqual(names({ sparkUrl: 'http://127.0.0.1:4040' }, {}), ['host', 'spark', 'self']);
  });
});
