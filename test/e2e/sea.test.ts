/**
 * The self-contained executables made by scripts/build-sea.mjs: the x64 one runs here with no
 * Node on PATH; the arm64 one has its ELF header and notes read, and runs under qemu-user
 * (qemu-aarch64-static with the Debian arm64 cross libc as its sysroot), with no Node either.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { BUNDLE, cleanEnv } from '../helpers/agent';
import { EM_AARCH64, EM_X86_64, ET_DYN, ET_EXEC, readElf } from '../helpers/elf';
import { SEA_ARM64, SEA_X64, requireSea } from '../helpers/init-sandbox';
import { pushgatewaySeries, startPushgateway, type Server } from '../helpers/servers';

const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const PINNED_NODE = 'v20.20.2';
const pkg = JSON.parse(readFileSync(require.resolve('../../package.json'), 'utf8')) as { version: string };

// qemu-user-static runs the arm64 executable; libc6-arm64-cross and libstdc++6-arm64-cross
// put the arm64 dynamic loader and libraries it links against under this prefix.
const QEMU_AARCH64 = 'qemu-aarch64-static';
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';
const ARM64_PACKAGES = 'qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross';

/** The qemu-aarch64 binary and a check that the arm64 loader is there: a clear error if not. */
function requireQemu(): string {
  const which = spawnSync('sh', ['-c', `command -v ${QEMU_AARCH64}`], { encoding: 'utf8' });
  const qemu = which.stdout.trim();
  if (which.status !== 0 || !qemu) throw new Error(`${QEMU_AARCH64} is not on PATH: apt-get install ${ARM64_PACKAGES}`);
  for (const lib of ['ld-linux-aarch64.so.1', 'libstdc++.so.6'])
    if (!existsSync(`${ARM64_SYSROOT}/lib/${lib}`)) throw new Error(`${ARM64_SYSROOT}/lib/${lib} is missing: apt-get install ${ARM64_PACKAGES}`);
  return qemu;
}

/** Runs an executable with PATH pointing nowhere: it must need no Node installed. */
function runSea(args: string[], env: Record<string, string> = {}, bin = SEA_X64, prefix: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, [...prefix, ...args], { env: cleanEnv({ PATH: '/nonexistent', NODE_OPTIONS: '', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
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
      // V8 code caches of the bundle (scripts/build-sea.mjs): for a start under the init
      // script's NODE_OPTIONS and for one without.
      for (const asset of ['v8-cache-init-script', 'v8-cache-plain']) assert.ok(blob.desc.includes(asset), asset);
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
      // One bundle in both (checked above); each blob has its own architecture's code caches.
    });

    describe('run under qemu-aarch64 emulation', function () {
      // Emulated, a cold start takes seconds rather than ~150 ms: generous limits, and nothing
      // here is timed.
      this.timeout(300000);
      let qemu = '';
      let pg: Server | undefined;
      const runArm64 = (args: string[], env: Record<string, string> = {}) => runSea(args, env, qemu, ['-L', ARM64_SYSROOT, SEA_ARM64]);
      before(async () => {
        qemu = requireQemu();
        pg = await startPushgateway();
      });
      after(async () => {
        await pg?.stop();
      });

      it('prints --version, and once --dry-run prints the host series', async () => {
        const v = await runArm64(['--version']);
        assert.equal(v.code, 0, v.stderr);
        assert.equal(v.stdout.trim(), pkg.version);
        const r = await runArm64(['once', '--dry-run', '--sources', 'host,self', '--node-name', 'arm64-node'], {
          DB_CLUSTER_ID: 'arm64-cluster',
          DB_IS_DRIVER: 'FALSE',
        });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^node_load1\{[^}]*cluster_id="arm64-cluster"[^}]*\} [\d.]+$/m);
        assert.match(r.stdout, /^node_memory_MemAvailable_bytes\{[^}]*node="arm64-node"[^}]*\} \d+/m);
        assert.match(r.stdout, /^node_cpu_seconds_total\{[^}]*mode="idle"[^}]*\} [\d.]+/m);
        assert.match(r.stdout, new RegExp(`^dbx_agent_build_info\\{[^}]*version="${pkg.version}"[^}]*node_version="${PINNED_NODE}"`, 'm'));
      });

      it('pushes once to a real Pushgateway', async () => {
        const r = await runArm64(['once', '--pushgateway-url', pg!.url, '--sources', 'host,self', '--node-name', 'arm64-push'], {
          DB_CLUSTER_ID: 'arm64-cluster',
          DB_IS_DRIVER: 'FALSE',
        });
        assert.equal(r.code, 0, r.stderr);
        const series = await pushgatewaySeries(pg!.url);
        const load = series.find((x) => x.name === 'node_load1' && x.group.node === 'arm64-push');
        assert.ok(load, `node_load1 of arm64-push in the Pushgateway (nodes there: ${[...new Set(series.map((x) => x.group.node))].join(', ')})`);
        assert.equal(load.group.job, 'databricks');
        assert.equal(load.group.cluster_id, 'arm64-cluster');
        assert.ok(series.some((x) => x.name === 'dbx_agent_build_info' && x.group.node === 'arm64-push' && x.labels.node_version === PINNED_NODE));
      });
    });
  });
});
