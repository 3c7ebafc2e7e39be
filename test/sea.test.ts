/**
 * The self-contained executables made by scripts/build-sea.mjs: the x64 one runs here with no
 * Node on PATH; the arm64 one cannot run here, so its ELF header and notes are read instead.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { BUNDLE, cleanEnv } from './helpers/agent';
import { EM_AARCH64, EM_X86_64, ET_DYN, ET_EXEC, readElf } from './helpers/elf';
import { SEA_ARM64, SEA_X64, requireSea } from './helpers/init-sandbox';

const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const PINNED_NODE = 'v20.20.2';
const pkg = JSON.parse(readFileSync(require.resolve('../package.json'), 'utf8')) as { version: string };

/** Runs the x64 executable with PATH pointing nowhere: it must need no Node installed. */
function runSea(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(SEA_X64, args, { env: cleanEnv({ PATH: '/nonexistent', NODE_OPTIONS: '', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('SEA executables', function () {
  this.timeout(60000);
  before(requireSea);

  describe('linux-x64', () => {
    it('is an executable x86-64 ELF with the blob injected and the fuse flipped', () => {
      accessSync(SEA_X64, constants.X_OK);
      const buf = readFileSync(SEA_X64);
      const elf = readElf(buf);
      assert.equal(elf.machine, EM_X86_64);
      const blob = elf.notes.find((n) => n.name === 'NODE_SEA_BLOB');
      assert.ok(blob, 'NODE_SEA_BLOB note');
      assert.ok(blob.desc.includes(readFileSync(BUNDLE)), 'the blob holds the current bundle');
      assert.ok(buf.includes(`${SEA_FUSE}:1`));
    });

    it('prints --version without Node on PATH', async () => {
      const r = await runSea(['--version']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), pkg.version);
      // disableExperimentalSEAWarning: nothing on stderr.
      assert.equal(r.stderr, '');
    });

    it('runs once --dry-run: valid Prometheus text from the pinned Node', async () => {
      const r = await runSea(['once', '--dry-run', '--sources', 'host,self', '--node-name', 'sea-node'], {
        DB_CLUSTER_ID: 'sea-cluster',
        DB_IS_DRIVER: 'FALSE',
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^node_load1\{[^}]*cluster_id="sea-cluster"[^}]*\} [\d.]+$/m);
      assert.match(r.stdout, /^node_memory_MemAvailable_bytes\{[^}]*node="sea-node"[^}]*\} \d+/m);
      assert.match(r.stdout, new RegExp(`^dbx_agent_build_info\\{[^}]*version="${pkg.version}"[^}]*node_version="${PINNED_NODE}"`, 'm'));
      const check = spawnSync('promtool', ['check', 'metrics'], { input: r.stdout, encoding: 'utf8' });
      // The linter's only objection is node_exporter's own CamelCase memory names (exit 3).
      const problems = (check.stdout + check.stderr)
        .split('\n')
        .filter((l) => l.trim() && !/node_memory_\w+ metric names should be written in 'snake_case' not 'camelCase'/.test(l));
      assert.deepEqual(problems, []);
      assert.ok(check.status === 0 || check.status === 3, `promtool exit ${check.status}`);
    });

    it('answers like the bundle (policy, exit 2 on a bad setting)', async () => {
      const policy = await runSea(['policy', '--artifacts', '/Volumes/a/b/c']);
      assert.equal(policy.code, 0, policy.stderr);
      assert.equal(JSON.parse(policy.stdout)['spark_env_vars.DBX_PROM_ARTIFACTS'].value, '/Volumes/a/b/c');
      const bad = await runSea(['once', '--dry-run', '--interval', 'often']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--interval/);
    });
  });

  describe('linux-arm64', () => {
    it('is an executable aarch64 ELF (e_machine 183) of the pinned Node with the blob injected and the fuse flipped', () => {
      accessSync(SEA_ARM64, constants.X_OK);
      const buf = readFileSync(SEA_ARM64);
      const elf = readElf(buf);
      assert.equal(elf.machine, EM_AARCH64);
      assert.ok(elf.type === ET_EXEC || elf.type === ET_DYN, `e_type ${elf.type}`);
      const blob = elf.notes.find((n) => n.name === 'NODE_SEA_BLOB');
      assert.ok(blob, 'NODE_SEA_BLOB note');
      assert.ok(blob.desc.includes(readFileSync(BUNDLE)), 'the blob holds the current bundle');
      assert.ok(buf.includes(`${SEA_FUSE}:1`), 'sentinel fuse flipped');
      assert.ok(!buf.includes(`${SEA_FUSE}:0`), 'no unflipped fuse left');
      assert.ok(buf.includes(`node-${PINNED_NODE}`), 'the pinned Node version');
      // Same blob in both: one bundle, one Node version.
      const x64Blob = readElf(readFileSync(SEA_X64)).notes.find((n) => n.name === 'NODE_SEA_BLOB')!;
      assert.ok(blob.desc.equals(x64Blob.desc));
    });
  });
});
