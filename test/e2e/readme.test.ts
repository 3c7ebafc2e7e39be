/** The README must tell the truth: every option, every emitted metric name, every runbook. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { AGENT_OPTIONS } from '../../agent/config';
import { AUTH_METHODS } from '../../agent/http/auth/index';
import { SINKS } from '../../agent/sinks/index';
import { SOURCES } from '../../agent/sources/index';
import { COLLECTORS } from '../../agent/sources/host/collectors';
import { runAgent } from '../helpers/agent';
import { startFakeSpark, type FakeSpark } from '../helpers/fake-spark';

const ROOT = path.resolve(__dirname, '../..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** `node_memory_{MemTotal,MemFree}_bytes` → both names (the README's shorthand). */
function expandBraces(token: string): string[] {
  const m = /\{([^{}]*)\}/.exec(token);
  if (!m) return [token];
  return m[1]!.split(',').flatMap((alt) => expandBraces(token.slice(0, m.index) + alt + token.slice(m.index + m[0].length)));
}

// A trailing `{...}` is a label set (`spark_jobs{status}`); braces inside a name are shorthand.
const documentedNames = new Set(
  [...README.matchAll(/`([a-z_][^`\s]*)`/g)].flatMap((m) => expandBraces(m[1]!.replace(/\{[^{}]*\}$/, ''))),
);

describe('README', function () {
  this.timeout(30000);

  it('documents every option and its env variable', () => {
    // AGENT_OPTIONS is walked from the component tables: a new component's options land here.
    for (const o of AGENT_OPTIONS) {
      assert.ok(README.includes(o.env), `${o.env} missing`);
      if (!o.envOnly) assert.ok(README.includes(o.flag.split(' ')[0]!), `${o.flag} missing`);
      if (o.negatable) assert.ok(README.includes(o.flag.replace(/^--/, '--no-')), `--no- form of ${o.flag} missing`);
    }
  });

  it('names every source, sink, sign-in method and host collector', () => {
    const collectorRow = README.split('\n').find((l) => l.startsWith('| `node_scrape_collector_success`')) ?? '';
    for (const c of COLLECTORS) assert.match(collectorRow, new RegExp(`\\b${c.name}\\b`), `collector ${c.name} not in the collector label list`);
    const sourcesRow = README.split('\n').find((l) => l.startsWith('| `--sources <names>`')) ?? '';
    for (const s of SOURCES) assert.ok(sourcesRow.includes(s.name), `source ${s.name} not in the --sources row`);
    const sinksSection = README.slice(README.indexOf('\n## Sinks'), README.indexOf('\n## ', README.indexOf('\n## Sinks') + 1));
    for (const s of SINKS) assert.ok(sinksSection.includes(s.primary.flag.split(' ')[0]!), `sink ${s.name}: ${s.primary.flag} not in the Sinks section`);
    for (const m of AUTH_METHODS) for (const o of m.options) assert.ok(README.includes(o.env), `${m.name}: ${o.env} missing`);
  });

  it('has a runbook heading for every alert the rules link to', () => {
    const rules = yaml.load(readFileSync(path.join(ROOT, 'deploy/prometheus/dbx-prom-agent.rules.yml'), 'utf8')) as {
      groups: { rules: { alert?: string; annotations?: { runbook_url?: string } }[] }[];
    };
    const headings = new Set([...README.matchAll(/^#### (\S+)$/gm)].map((m) => m[1]!.toLowerCase()));
    const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    assert.ok(alerts.length >= 8);
    for (const a of alerts) {
      const anchor = /README\.md#(.+)$/.exec(a.annotations?.runbook_url ?? '')?.[1];
      assert.ok(anchor && headings.has(anchor), `${a.alert}: no "#### ${a.alert}" section`);
    }
  });

  describe('metrics reference', () => {
    let spark: FakeSpark;
    before(async () => (spark = await startFakeSpark()));
    after(async () => spark?.close());

    it('names every metric a driver emits', async () => {
      const r = await runAgent(['once', '--dry-run', '--spark-url', spark.url], { DB_CLUSTER_ID: 'c', DB_IS_DRIVER: 'TRUE' });
      assert.equal(r.code, 0, r.stderr);
      const emitted = new Set([...r.stdout.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
      assert.ok(emitted.size > 50);
      const missing = [...emitted].filter((n) => !documentedNames.has(n));
      assert.deepEqual(missing, []);
    });
  });
});
