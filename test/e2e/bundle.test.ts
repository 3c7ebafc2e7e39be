/** The bundle is one file: it must run alone, with no node_modules anywhere near it. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { BUNDLE, cleanEnv, requireBundle, runProcess } from '../helpers/agent';
import { tempDir } from '../helpers/servers';

describe('bundle/dbx-prom-agent.cjs', function () {
  this.timeout(30000);
  let dir: string;
  let copy: string;
  before(() => {
    requireBundle();
    dir = tempDir('dbx-prom-bundle-');
    copy = path.join(dir, 'dbx-prom-agent.cjs');
    copyFileSync(BUNDLE, copy);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [copy, ...args], { cwd: dir, env: cleanEnv({ NODE_PATH: '', ...env }), encoding: 'utf8' });

  it('runs once --dry-run alone in an empty folder, and promtool accepts the output', () => {
    const r = run(['once', '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^node_load1\{/m);
    assert.match(r.stdout, /^dbx_agent_source_up\{.*source="host".*\} 1$/m);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: r.stdout, encoding: 'utf8' });
    // promtool's linter only objects to node_exporter's own CamelCase memory names
    // (node_memory_MemTotal_bytes…), which it says of node_exporter's output too.
    const problems = (check.stdout + check.stderr).split('\n').filter((l) => l.trim() && !/node_memory_\w+ metric names should be written in 'snake_case' not 'camelCase'/.test(l));
    assert.deepEqual(problems, []);
    assert.ok(check.status === 0 || check.status === 3, `promtool exit ${check.status}`);
  });

  it('prints its version and help', () => {
    const v = run(['--version']);
    assert.equal(v.status, 0);
    assert.match(v.stdout.trim(), /^\d+\.\d+\.\d+/);
    const h = run(['run', '--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /--pushgateway-url <url>[\s\S]*?\[DBX_PROM_PUSHGATEWAY_URL\]/);
    assert.match(h.stdout, /DBX_PROM_BEARER_TOKEN/);
  });

  it('exits 2 naming the setting on bad config, from a flag or from env', () => {
    const flag = run(['once', '--dry-run', '--interval', 'fast']);
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /invalid --interval \(DBX_PROM_INTERVAL\): "fast" is not a duration/);
    const env = run(['once', '--dry-run'], { DBX_PROM_LOG_LEVEL: 'chatty' });
    assert.equal(env.status, 2);
    assert.match(env.stderr, /--log-level \(DBX_PROM_LOG_LEVEL\)/);
    const nosink = run(['once']);
    assert.equal(nosink.status, 2);
    assert.match(nosink.stderr, /no sink/);
    const unknown = run(['once', '--no-such-flag']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown option/);
  });

  it('once exits 1 when the push fails, without a stack trace', () => {
    const r = run(['once', '--pushgateway-url', 'http://127.0.0.1:9', '--sources', 'self']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /push to Pushgateway failed/);
    assert.doesNotMatch(r.stderr, /    at /);
  });

  it('reads settings from an env file beside it', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'dbx-prom-agent.env'), 'DBX_PROM_LABELS=team=platform\nDB_CLUSTER_ID=0101-x\n');
    try {
      const r = run(['once', '--dry-run', '--sources', 'self']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /dbx_agent_build_info\{.*team="platform".*cluster_id="0101-x"/);
    } finally {
      rmSync(path.join(dir, 'dbx-prom-agent.env'));
    }
  });

  // Cold start (issue 14): Node's fetch (undici, 30-46 ms) was loaded by axios's fetch adapter
  // and FormData probe, and node:http2 by its http adapter, at every start. Node's own list of
  // the modules it loaded, written at exit by a preload of the test's, says they no longer are.
  it('once, dry or pushing, loads neither undici nor node:http2', async () => {
    const preload = path.join(dir, 'module-list.cjs');
    const list = path.join(dir, 'modules.txt');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));`);
    // Not spawnSync: the receiver below answers from this process's event loop.
    const loaded = async (args: string[]): Promise<string[]> => {
      const r = await runProcess(process.execPath, ['--require', preload, copy, ...args], {}, 20000);
      assert.equal(r.code, 0, r.stderr);
      return readFileSync(list, 'utf8').split('\n');
    };
    const receiver = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(200).end()));
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      for (const args of [['once', '--dry-run', '--sources', 'host'], ['once', '--pushgateway-url', url, '--sources', 'host,self']]) {
        const modules = await loaded(args);
        assert.ok(modules.includes('NativeModule fs'), 'the list is Node\'s module list');
        assert.deepEqual(modules.filter((m) => /undici|http2/.test(m)), [], args.join(' '));
      }
    } finally {
      await new Promise((r) => receiver.close(r));
    }
  });

  it('starts with a Databricks cluster name full of quotes without breaking', async () => {
    const p = spawn(process.execPath, [copy, 'once', '--dry-run', '--sources', 'self'], {
      cwd: dir,
      env: cleanEnv({ DB_CLUSTER_ID: 'c1', DB_CLUSTER_NAME: 'a "quoted" \\ back\nslash' }),
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => p.on('exit', r));
    assert.equal(code, 0);
    assert.match(out, /cluster_name="a \\"quoted\\" \\\\ back\\nslash"/);
  });
});
