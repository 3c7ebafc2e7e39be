/**
 * agent/cli.ts through the built bundle and the x64 SEA binary: exit codes, and the settings
 * file reaching the agent only (Node.js 20 takes `--env-file` itself, from anywhere on the
 * command line, and applies the file's NODE_OPTIONS before any of our code runs).
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildProgram } from '../agent/cli';
import { parsePrometheusText } from '../agent/sources/spark/prometheus';
import { runAgent, runProcess } from './helpers/agent';
import { DATABRICKS_APP_ID, databricksFixture, databricksRoutes, startFakeSpark } from './helpers/fake-spark';
import { SEA_X64, requireSea } from './helpers/init-sandbox';
import { tempDir } from './helpers/servers';

describe('cli', function () {
  this.timeout(30000);

  describe('buildProgram', () => {
    const ALL = ['run', 'once', 'doctor', 'gc', 'policy'];
    const built = (...args: string[]) => buildProgram(['node', 'dbx-prom-agent', ...args]).commands.map((c) => c.name());

    // Cold start: a start builds (and loads the module of) the command it runs, no other.
    it('builds only the command its first argument names', () => {
      for (const name of ALL) assert.deepEqual(built(name, '--dry-run'), [name]);
      assert.deepEqual(built('once', '--help'), ['once']);
    });

    it('builds every command, in help order, for anything else', () => {
      for (const args of [[], ['--help'], ['-V'], ['help', 'once'], ['onc'], ['--log-level', 'debug', 'once']]) assert.deepEqual(built(...args), ALL, args.join(' '));
      assert.deepEqual(buildProgram().commands.map((c) => c.name()), ALL);
    });
  });
  let dir: string;
  before(() => (dir = tempDir()));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const runners: [string, (args: string[], env?: Record<string, string>) => ReturnType<typeof runAgent>][] = [
    ['bundle', (args, env = {}) => runAgent(args, env)],
    [
      'SEA binary',
      (args, env = {}) => {
        requireSea();
        return runProcess(SEA_X64, args, env, 30000);
      },
    ],
  ];

  for (const [what, run] of runners) {
    describe(what, () => {
      it('exits 2 naming --settings-file and the path when the file is missing', async () => {
        const missing = path.join(dir, 'nope.env');
        const r = await run(['once', '--dry-run', '--settings-file', missing]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /invalid --settings-file \(DBX_PROM_SETTINGS_FILE\): cannot read .*nope\.env/);
      });

      it("takes settings from the file but never the file's NODE_OPTIONS", async () => {
        const file = path.join(dir, `${what.replace(/\W/g, '')}.env`);
        // Each would show if applied: a debugger port announced, or a heap too small to start.
        writeFileSync(file, 'NODE_OPTIONS="--inspect=127.0.0.1:0 --max-old-space-size=2"\nDBX_PROM_LABELS=team=from-file\n');
        const r = await run(['once', '--dry-run', '--sources', 'self', '--settings-file', file]);
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /Debugger listening|heap/i);
        assert.match(r.stdout, /^dbx_agent_build_info\{.*team="from-file"/m);
      });
    });
  }

  it('prints all of a large --dry-run through a pipe (more than the 64 KiB a pipe holds)', async () => {
    const routes = databricksRoutes();
    const one = (JSON.parse(databricksFixture('allexecutors.json')) as Record<string, unknown>[])[1]!;
    const many = Array.from({ length: 400 }, (_, i) => ({ ...one, id: String(i) }));
    routes.set(`/api/v1/applications/${DATABRICKS_APP_ID}/allexecutors`, { body: JSON.stringify(many) });
    const spark = await startFakeSpark(routes);
    try {
      const r = await runAgent(['once', '--dry-run', '--spark-url', spark.url, '--max-executor-series', '100000'], { DB_IS_DRIVER: 'TRUE', DB_CLUSTER_ID: 'c-1' });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.length > 256 * 1024, `${r.stdout.length} bytes`);
      const s = parsePrometheusText(r.stdout).samples;
      assert.equal(s.filter((x) => x.name === 'spark_executor_active_tasks').length, 400);
      // The agent's own series come last: the whole text arrived.
      assert.ok(s.some((x) => x.name === 'dbx_agent_build_info'));
      assert.ok(r.stdout.endsWith('\n'));
    } finally {
      await spark.close();
    }
  });
});
