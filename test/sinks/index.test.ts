/** agent/sinks/index.ts: the sinks table, and the "is any sink configured" rule walked from it. */
import assert from 'node:assert/strict';
import { ConfigError, createSettings } from '../../agent/core/options';
import { configuredSinks, parseSinks, requireSink, SINKS } from '../../agent/sinks/index';

const parse = (flags: Record<string, string>) => parseSinks(createSettings(flags, {}));

describe('sinks/index', () => {
  it('a sink is configured by its primary option; each entry owns its options', () => {
    assert.deepEqual(parse({}), {});
    assert.deepEqual(configuredSinks(parse({ remoteWriteUrl: 'http://127.0.0.1:9090/api/v1/write' })).map((s) => s.entry.name), ['remote_write']);
    const both = configuredSinks(parse({ pushgatewayUrl: 'http://127.0.0.1:9091', remoteWriteUrl: 'http://127.0.0.1:9090/api/v1/write' }));
    assert.deepEqual(both.map((s) => s.entry.name), SINKS.map((s) => s.name));
    for (const s of SINKS) assert.ok(s.options.includes(s.primary));
    // Every URL a sink sends to carries credentials: the plain-http rule covers it by its spec.
    for (const s of SINKS) assert.equal(s.primary.carriesCredentials, true, s.name);
  });

  it('no sink: the error names the first sink option and says the others', () => {
    assert.throws(
      () => requireSink(parse({}), ', or use --dry-run'),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.setting === '--pushgateway-url (DBX_PROM_PUSHGATEWAY_URL)' &&
        /no sink: set it or --remote-write-url, or use --dry-run/.test(e.message),
    );
    requireSink(parse({ pushgatewayUrl: 'http://127.0.0.1:9091' }));
  });
});
