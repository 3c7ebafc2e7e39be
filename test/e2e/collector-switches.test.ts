/** The collector switches through the bundle's command line (commander and the dotted flag names). */
import assert from 'node:assert/strict';
import { runAgent } from '../helpers/agent';

/** The distinct `node_*` metric names of a dry run, and the collectors that reported. */
async function dryRun(args: string[], env: Record<string, string> = {}): Promise<{ names: Set<string>; collectors: Set<string> }> {
  const r = await runAgent(['once', '--dry-run', '--sources', 'host', ...args], env);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('node_'));
  return {
    names: new Set(lines.map((l) => /^[a-zA-Z0-9_]+/.exec(l)![0])),
    collectors: new Set(lines.flatMap((l) => (l.startsWith('node_scrape_collector_success') ? [/collector="([^"]+)"/.exec(l)![1]!] : []))),
  };
}

describe('collector switches (bundle)', function () {
  this.timeout(30000);

  it('--no-collector.filesystem drops node_filesystem_* and keeps the rest', async () => {
    const all = await dryRun([]);
    assert.ok([...all.names].some((n) => n.startsWith('node_filesystem_')), 'the filesystem collector runs by default');
    const r = await dryRun(['--no-collector.filesystem']);
    assert.deepEqual([...r.names].filter((n) => n.startsWith('node_filesystem_')), []);
    assert.ok(!r.collectors.has('filesystem'));
    assert.ok(r.names.has('node_load1') && r.names.has('node_cpu_seconds_total'));
  });

  for (const [how, args, env] of [
    ['flags', ['--collector.disable-defaults', '--collector.loadavg'], {}],
    ['env', [], { DBX_PROM_COLLECTOR_DISABLE_DEFAULTS: 'true', DBX_PROM_COLLECTOR_LOADAVG: 'true' }],
  ] as const) {
    it(`--collector.disable-defaults --collector.loadavg leaves only the load collector (${how})`, async () => {
      const r = await dryRun([...args], { ...env });
      assert.deepEqual([...r.collectors], ['loadavg']);
      assert.deepEqual([...r.names].sort(), ['node_load1', 'node_load15', 'node_load5', 'node_scrape_collector_duration_seconds', 'node_scrape_collector_success', 'node_time_seconds']);
    });
  }

  it('a bad switch value exits 2 naming it', async () => {
    const r = await runAgent(['once', '--dry-run'], { DBX_PROM_COLLECTOR_VMSTAT: 'sometimes' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid --collector\.vmstat \(DBX_PROM_COLLECTOR_VMSTAT\): "sometimes" is not true or false/);
  });
});
