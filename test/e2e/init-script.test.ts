/**
 * init-scripts/dbx-prom-agent-init.sh, run as root in a sandbox (DBX_PROM_ROOT) with the built
 * x64 SEA binary, fake DB_* context for a driver and a worker, and a real Pushgateway.
 * This machine has no systemd as PID 1: the setsid supervisor is what runs; the systemd path is
 * exercised with a recording stand-in for systemctl and its unit checked as text.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BUNDLE, requireBundle } from '../helpers/agent';
import { INIT_SCRIPT, SEA_X64, createSandbox, listeningPorts, requireSea, type Sandbox } from '../helpers/init-sandbox';
import { pushgatewaySeries, startPushgateway, tempDir, waitFor, type Server } from '../helpers/servers';

const driverCtx = {
  DB_CLUSTER_ID: '0101-120000-abcd1234',
  DB_CLUSTER_NAME: 'etl nightly',
  DB_IS_DRIVER: 'TRUE',
  DB_DRIVER_IP: '127.0.0.1', // loopback: Spark discovery probes the driver IP, and tests only talk to loopback
  DB_CONTAINER_IP: '10.0.0.10',
  DB_INSTANCE_TYPE: 'm5.xlarge',
  DB_IS_JOB_CLUSTER: 'FALSE',
  DATABRICKS_RUNTIME_VERSION: '15.4',
  DBX_PROM_NODE_NAME: 'driver-node',
};
const workerCtx = { ...driverCtx, DB_IS_DRIVER: 'FALSE', DB_CONTAINER_IP: '10.0.0.11', DBX_PROM_NODE_NAME: 'worker-node-1' };

/** A stand-in executable: a shell wrapper running the bundle with this machine's node. */
function wrapperBinary(dir: string, name: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, `#!/bin/sh\nexec ${process.execPath} ${BUNDLE} "$@"\n`);
  chmodSync(f, 0o755);
  return f;
}

describe('init script (dbx-prom-agent-init.sh)', function () {
  this.timeout(120000);
  const sandboxes: Sandbox[] = [];
  const sandbox = (...a: Parameters<typeof createSandbox>): Sandbox => {
    const s = createSandbox(...a);
    sandboxes.push(s);
    return s;
  };
  before(() => {
    requireSea();
    requireBundle();
  });
  afterEach(async () => {
    for (const s of sandboxes.splice(0)) await s.cleanup();
  });

  it('passes shellcheck', () => {
    const r = spawnSync('shellcheck', [INIT_SCRIPT], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  describe('with a real Pushgateway', () => {
    let pg: Server;
    before(async () => {
      pg = await startPushgateway();
    });
    after(async () => {
      await pg?.stop();
    });

    it('installs on a driver and a worker, returns at once with 0, and each agent pushes with its labels', async () => {
      // The Pushgateway URL comes from the env file beside the binaries (runtime 19+ standard
      // access mode); the interval and labels from the init script env, which wins over the file.
      const envFile = `# settings for every node\nDBX_PROM_PUSHGATEWAY_URL=${pg.url}\nDBX_PROM_INTERVAL=30s\nDBX_PROM_LABELS=team=from-file\n`;
      const driver = sandbox(driverCtx, { envFile });
      const worker = sandbox(workerCtx, { envFile });
      const extra = { DBX_PROM_INTERVAL: '1s', DBX_PROM_LABELS: 'team=platform', DBX_PROM_BEARER_TOKEN: "s3cr'et" };

      for (const s of [driver, worker]) {
        const r = await s.run([], extra);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /started agent under supervisor \d+/);
        // The env file holds the context and possibly tokens: root only.
        assert.equal(statSync(path.join(s.installDir, 'agent.env')).mode & 0o777, 0o600);
        const env = s.read('agent.env');
        assert.match(env, /^DB_CLUSTER_ID='0101-120000-abcd1234'$/m);
        assert.match(env, /^DBX_PROM_INTERVAL='1s'$/m);
        assert.match(env, /^DBX_PROM_BEARER_TOKEN='s3cr'\\''et'$/m);
        assert.doesNotMatch(env, /DBX_PROM_ROOT|DBX_PROM_ARTIFACTS/);
        assert.equal(s.processes().length >= 2, true, 'supervisor and agent run');
      }

      await waitFor(async () => {
        const series = await pushgatewaySeries(pg.url);
        return ['driver-node', 'worker-node-1'].every((n) => series.some((x) => x.name === 'node_load1' && x.labels.node === n));
      }, 30000, 'both nodes in the Pushgateway');
      const series = await pushgatewaySeries(pg.url);
      const load = (node: string) => series.find((x) => x.name === 'node_load1' && x.labels.node === node)!;
      for (const [node, role, ip] of [['driver-node', 'driver', '10.0.0.10'], ['worker-node-1', 'worker', '10.0.0.11']] as const) {
        const l = load(node).labels;
        assert.equal(l.cluster_id, '0101-120000-abcd1234');
        assert.equal(l.cluster_name, 'etl nightly');
        assert.equal(l.role, role);
        assert.equal(l.node_ip, ip);
        assert.equal(l.instance_type, 'm5.xlarge');
        assert.equal(l.team, 'platform', 'the init script env wins over the env file');
        assert.equal(load(node).group.job, 'databricks');
      }

      // No port is opened on the cluster (6062 on the driver belongs to Databricks): it only pushes.
      for (const s of [driver, worker])
        for (const p of s.processes()) assert.deepEqual(listeningPorts(p.pid), [], `${p.cmdline} listens`);

      // A second run changes nothing and starts no second agent.
      // The supervisor forks `wc` once a second to cap the log: only processes seen twice count.
      const lasting = async (): Promise<number[]> => {
        const first = new Set(driver.processes().filter((p) => !p.cmdline.startsWith('sleep')).map((p) => p.pid));
        await new Promise((r) => setTimeout(r, 300));
        return driver.processes().map((p) => p.pid).filter((pid) => first.has(pid)).sort();
      };
      const before = { sup: driver.supervisorPid(), agent: driver.agentPid(), procs: await lasting() };
      const mtimes = ['agent.env', 'bin/dbx-prom-agent', 'bin/dbx-prom-agent-init.sh'].map((f) => statSync(path.join(driver.installDir, f)).mtimeMs);
      const again = await driver.run([], extra);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /already runs under supervisor \d+ and nothing changed/);
      assert.equal(driver.supervisorPid(), before.sup);
      assert.equal(driver.agentPid(), before.agent);
      assert.deepEqual(await lasting(), before.procs);
      assert.deepEqual(['agent.env', 'bin/dbx-prom-agent', 'bin/dbx-prom-agent-init.sh'].map((f) => statSync(path.join(driver.installDir, f)).mtimeMs), mtimes);

      // Uninstall: the agent deletes its group on the way out, nothing of it stays.
      const un = await driver.run(['uninstall'], extra);
      assert.equal(un.code, 0, un.stderr);
      assert.deepEqual(driver.processes(), []);
      assert.equal(existsSync(driver.installDir), false);
      const status = await driver.run(['status']);
      assert.equal(status.code, 3);
      assert.match(status.stdout, /^not running/);
      const left = await pushgatewaySeries(pg.url);
      assert.equal(left.some((x) => x.group.node === 'driver-node'), false, 'driver group deleted');
      assert.equal(left.some((x) => x.group.node === 'worker-node-1'), true, 'worker untouched');
      const un2 = await worker.run([], { ...extra, DBX_PROM_UNINSTALL: 'true' });
      assert.equal(un2.code, 0, un2.stderr);
      assert.deepEqual(worker.processes(), []);
    });

    it('restarts a crashed agent, and a changed binary replaces the running one', async () => {
      const s = sandbox({ ...workerCtx, DBX_PROM_PUSHGATEWAY_URL: pg.url, DBX_PROM_INTERVAL: '1s' });
      assert.equal((await s.run()).code, 0);
      const sup = s.supervisorPid()!;
      const first = s.agentPid()!;
      const status = await s.run(['status']);
      assert.equal(status.code, 0);
      assert.match(status.stdout, new RegExp(`^supervisor ${sup} running, agent pid ${first}`));
      process.kill(first, 'SIGKILL');
      await waitFor(async () => s.agentPid() !== undefined && s.agentPid() !== first, 20000, 'a restarted agent');
      assert.equal(s.supervisorPid(), sup);
      assert.match(s.read('log/agent.log'), /agent exited with status 137; restarting in 1s/);

      // Upgrade in place: a new file in the artifacts folder, the init script run again.
      const second = s.agentPid()!;
      rmSync(path.join(s.artifacts, 'dbx-prom-agent-linux-x64'));
      symlinkSync(wrapperBinary(s.artifacts, 'wrapper'), path.join(s.artifacts, 'dbx-prom-agent-linux-x64'));
      const r = await s.run();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /changed: agent restarted under supervisor/);
      // The script returns once the new agent runs (it waited for that): no polling here.
      const third = s.agentPid();
      assert.ok(third !== undefined && third !== second, `a new agent (was ${second}, now ${third})`);
      assert.ok(s.processes().some((p) => p.pid === third), 'the new agent runs');
      assert.equal(s.supervisorPid(), sup);
      assert.match(readFileSync(path.join(s.installDir, 'bin/dbx-prom-agent'), 'utf8'), /dbx-prom-agent\.cjs/);
    });

    it('a bad setting on a re-run is reported as on a first install, not as "restarted"', async () => {
      const s = sandbox({ ...workerCtx, DBX_PROM_NODE_NAME: 'rerun-node', DBX_PROM_PUSHGATEWAY_URL: pg.url, DBX_PROM_INTERVAL: '1s' });
      const first = await s.run();
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stderr, /started agent under supervisor \d+/);

      const bad = await s.run([], { DBX_PROM_INTERVAL: 'bogus' });
      assert.equal(bad.code, 0, bad.stderr);
      assert.match(bad.stderr, /error: the agent rejected its configuration: .*invalid --interval \(DBX_PROM_INTERVAL\)/);
      assert.match(bad.stderr, /the cluster starts without the agent \(exit 0\)/);
      assert.doesNotMatch(bad.stderr, /agent restarted/);
      // Exit 2 is not retried: the supervisor stops, and status says why.
      await waitFor(async () => s.processes().length === 0, 10000, 'the supervisor to stop');
      const status = await s.run(['status']);
      assert.equal(status.code, 3, status.stdout);
      assert.match(status.stdout, /configuration error \(status 2\)/);

      // Fixed again: a new supervisor; then the same bad setting in strict mode exits 1.
      const fixed = await s.run();
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.match(fixed.stderr, /started agent under supervisor \d+/);
      const strict = await s.run([], { DBX_PROM_INTERVAL: 'bogus', DBX_PROM_STRICT: 'true' });
      assert.equal(strict.code, 1, strict.stderr);
      assert.match(strict.stderr, /error: the agent rejected its configuration: .*invalid --interval \(DBX_PROM_INTERVAL\)/);
    });

    it('a crash-looping agent is reported as such, status exits 3 while it waits to restart, and a fixed binary recovers', async () => {
      const s = sandbox({ ...workerCtx, DBX_PROM_NODE_NAME: 'crash-node', DBX_PROM_PUSHGATEWAY_URL: pg.url, DBX_PROM_INTERVAL: '1s' }, { binaries: {} });
      const bin = path.join(s.artifacts, 'dbx-prom-agent-linux-x64');
      // Answers --version (so it is installed), then every run dies at once with status 1.
      writeFileSync(bin, `#!/bin/sh\ncase "$1" in --version) echo 0.0.0-crash; exit 0 ;; esac\necho '{"level":"error","msg":"simulated crash"}' >&2\nexit 1\n`);
      chmodSync(bin, 0o755);

      const r = await s.run();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /error: the agent exited with status 1 right after it started; last log line: .*simulated crash/);
      assert.match(r.stderr, /supervisor \d+ restarts it in \d+s/);
      assert.doesNotMatch(r.stderr, /started agent/);

      // The agent lives for milliseconds of each cycle and waits seconds between them: poll.
      let status = await s.run(['status']);
      await waitFor(async () => (status = await s.run(['status'])).code === 3, 30000, 'status 3 while the agent waits to restart');
      assert.match(status.stdout, /^supervisor \d+ running, but no agent process: the agent exited with status 1 at \S+; restart in \d+s/);
      assert.match(status.stdout, /last log line: .*simulated crash/);

      // Strict mode reports it as an error (a changed setting makes the run deterministic).
      const strict = await s.run([], { DBX_PROM_STRICT: 'true', DBX_PROM_LABELS: 'team=strict' });
      assert.equal(strict.code, 1, strict.stderr);
      assert.match(strict.stderr, /error: the agent exited with status 1 right after it started/);

      // A working binary uploaded and the script run again: the agent runs, status says so.
      rmSync(bin);
      symlinkSync(SEA_X64, bin);
      const fixed = await s.run();
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.match(fixed.stderr, /(started agent|agent restarted) under supervisor \d+/);
      const ok = await s.run(['status']);
      assert.equal(ok.code, 0, ok.stdout);
      assert.match(ok.stdout, /^supervisor \d+ running, agent pid \d+/);
    });

    it('keeps the agent log under its size cap by rotating it', async () => {
      const s = sandbox({
        ...workerCtx,
        DBX_PROM_PUSHGATEWAY_URL: pg.url,
        DBX_PROM_INTERVAL: '1s',
        DBX_PROM_LOG_LEVEL: 'debug',
        DBX_PROM_LOG_MAX_BYTES: '200',
      });
      assert.equal((await s.run()).code, 0);
      const rotated = path.join(s.installDir, 'log/agent.log.1');
      await waitFor(async () => existsSync(rotated), 30000, 'a rotated log');
      // Rotation copies then truncates: the live file restarts small, the old part is kept once.
      assert.ok(statSync(rotated).size > 200);
      assert.ok(statSync(rotated).size < 64 * 1024, `rotated log of ${statSync(rotated).size} bytes`);
    });
    it('falls back to the defaults for a heap or log size that is not a whole number, and the agent runs', async () => {
      const s = sandbox({
        ...workerCtx,
        DBX_PROM_NODE_NAME: 'heap-node',
        DBX_PROM_PUSHGATEWAY_URL: pg.url,
        DBX_PROM_INTERVAL: '1s',
        DBX_PROM_MAX_HEAP_MB: '256MB',
        DBX_PROM_LOG_MAX_BYTES: '10M',
      });
      const r = await s.run();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warn: DBX_PROM_MAX_HEAP_MB=256MB is not a whole number; using 192/);
      assert.match(r.stderr, /warn: DBX_PROM_LOG_MAX_BYTES=10M is not a whole number; using 10485760/);
      await waitFor(async () => (await pushgatewaySeries(pg.url)).some((x) => x.group.node === 'heap-node'), 20000, 'a push');
    });
  });

  describe('never fails the cluster', () => {
    const cases: { what: string; setup: () => Sandbox; extra?: Record<string, string>; line: RegExp }[] = [
      {
        what: 'a missing binary',
        setup: () => sandbox(driverCtx, { binaries: { arm64: '/nonexistent' } }),
        line: /error: binary not found: .*dbx-prom-agent-linux-x64/,
      },
      {
        what: 'an unreadable env file',
        setup: () => {
          const s = sandbox(driverCtx);
          // Root reads any mode: a directory in its place cannot be read by anyone.
          mkdirSync(path.join(s.artifacts, 'dbx-prom-agent.env'));
          return s;
        },
        line: /error: cannot read env file .*dbx-prom-agent\.env: Is a directory/,
      },
      {
        what: 'an env file that is not KEY=VALUE',
        setup: () => sandbox(driverCtx, { envFile: 'DBX_PROM_JOB=x\nthis is not a setting\n' }),
        line: /error: env file .*dbx-prom-agent\.env: line 2 is not KEY=VALUE/,
      },
      {
        what: 'an unknown architecture',
        setup: () => sandbox(driverCtx),
        extra: { DBX_PROM_UNAME_M: 'riscv64' },
        line: /error: unsupported architecture 'riscv64'/,
      },
      {
        what: 'no artifacts folder at all',
        setup: () => sandbox(driverCtx),
        extra: { DBX_PROM_ARTIFACTS: '' },
        line: /error: DBX_PROM_ARTIFACTS is not set/,
      },
      {
        what: 'a missing artifacts folder',
        setup: () => sandbox(driverCtx),
        extra: { DBX_PROM_ARTIFACTS: '/Volumes/nowhere/at/all' },
        line: /error: artifacts folder \/Volumes\/nowhere\/at\/all does not exist/,
      },
      {
        what: 'a binary that does not run here',
        setup: () => {
          const s = sandbox(driverCtx, { binaries: {} });
          const bad = path.join(s.artifacts, 'dbx-prom-agent-linux-x64');
          writeFileSync(bad, '#!/bin/sh\necho "cannot execute: Exec format error" >&2\nexit 126\n');
          chmodSync(bad, 0o755);
          return s;
        },
        line: /error: .*dbx-prom-agent-linux-x64 does not run on this node: cannot execute: Exec format error/,
      },
      {
        what: 'a binary whose --version hangs',
        setup: () => {
          const s = sandbox(driverCtx, { binaries: {} });
          const bad = path.join(s.artifacts, 'dbx-prom-agent-linux-x64');
          writeFileSync(bad, '#!/bin/sh\nsleep 600\n');
          chmodSync(bad, 0o755);
          return s;
        },
        line: /error: .*dbx-prom-agent-linux-x64 does not run on this node: '--version' timed out after 10 s/,
      },
      {
        what: 'a setting the agent rejects',
        setup: () => sandbox(driverCtx, { envFile: 'DBX_PROM_PUSHGATEWAY_URL=http://127.0.0.1:9\nDBX_PROM_INTERVAL=soon\n' }),
        line: /error: the agent rejected its configuration: .*invalid --interval \(DBX_PROM_INTERVAL\)/,
      },
    ];
    for (const c of cases) {
      it(`${c.what}: logs a clear line and exits 0, or 1 with DBX_PROM_STRICT=true`, async () => {
        const s = c.setup();
        const r = await s.run([], c.extra);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, c.line);
        assert.match(r.stderr, /the cluster starts without the agent \(exit 0\)/);
        const strict = await s.run([], { ...c.extra, DBX_PROM_STRICT: 'true' });
        assert.equal(strict.code, 1, strict.stderr);
        assert.match(strict.stderr, c.line);
        assert.deepEqual(s.processes(), [], 'no agent left running');
      });
    }
  });

  describe('under systemd', () => {
    /** A recording systemctl: logs its arguments; `is-active` answers from a marker file. */
    function fakeSystemctl(dir: string): { calls: () => string[]; bin: string } {
      const bin = path.join(dir, 'fakebin');
      mkdirSync(bin);
      const log = path.join(dir, 'systemctl.log');
      writeFileSync(
        path.join(bin, 'systemctl'),
        `#!/bin/sh\necho "$*" >>${log}\ncase "$1" in is-active) [ -f ${dir}/active ] ;; restart|start) touch ${dir}/active ;; esac\n`,
      );
      chmodSync(path.join(bin, 'systemctl'), 0o755);
      return { bin, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
    }

    it('writes a limited, always-restarting unit, enables it once, and removes it on uninstall', async () => {
      const s = sandbox(driverCtx, { envFile: 'DBX_PROM_PUSHGATEWAY_URL=http://127.0.0.1:9\n' });
      mkdirSync(path.join(s.root, 'run/systemd/system'), { recursive: true });
      const fake = fakeSystemctl(path.dirname(s.root));
      const env = { PATH: `${fake.bin}:${process.env.PATH}` };

      const r = await s.run([], env);
      assert.equal(r.code, 0, r.stderr);
      const unitFile = path.join(s.root, 'etc/systemd/system/dbx-prom-agent.service');
      const unit = readFileSync(unitFile, 'utf8');
      assert.match(unit, new RegExp(`^ExecStart=/bin/bash ${s.installDir}/bin/dbx-prom-agent-init.sh run-logged$`, 'm'));
      for (const line of [/^Restart=always$/m, /^RestartPreventExitStatus=2$/m, /^MemoryMax=\d+M$/m, /^CPUQuota=\d+%$/m, /^Nice=10$/m, /^WantedBy=multi-user.target$/m])
        assert.match(unit, line);
      assert.equal(statSync(unitFile).mode & 0o777, 0o644);
      assert.deepEqual(fake.calls(), ['daemon-reload', 'enable dbx-prom-agent.service', 'restart --no-block dbx-prom-agent.service']);
      assert.deepEqual(s.processes(), [], 'systemd, not the script, runs the agent');
      // `print-unit` shows the same text.
      const printed = await s.run(['print-unit'], env);
      assert.equal(printed.stdout.trim(), unit.trim());

      const again = await s.run([], env);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /already runs and nothing changed: nothing to do/);
      assert.deepEqual(fake.calls().slice(3), ['is-active --quiet dbx-prom-agent.service']);

      const un = await s.run(['uninstall'], env);
      assert.equal(un.code, 0, un.stderr);
      assert.equal(existsSync(unitFile), false);
      assert.deepEqual(fake.calls().slice(4), ['disable --now dbx-prom-agent.service', 'daemon-reload']);
      assert.equal(existsSync(s.installDir), false);
    });

    it('the unit passes systemd-analyze verify, which does report a bad unit', async () => {
      const s = sandbox(driverCtx);
      const r = await s.run(['print-unit']);
      assert.equal(r.code, 0, r.stderr);
      // verify checks that ExecStart's program exists: /bin/bash does; its arguments are not checked.
      assert.match(r.stdout, /^ExecStart=\/bin\/bash /m);
      const dir = tempDir();
      /** verify's complaints about the unit file name it (`name.service:12: ...` or `name.service: ...`). */
      const verify = (name: string, text: string): string[] => {
        const f = path.join(dir, name);
        writeFileSync(f, text);
        const v = spawnSync('systemd-analyze', ['verify', f], { encoding: 'utf8' });
        if (v.error) throw new Error(`systemd-analyze cannot run (${v.error.message}): install the systemd package`);
        return v.stderr.split('\n').filter((l) => l.includes(name));
      };
      try {
        assert.deepEqual(verify('dbx-prom-agent.service', r.stdout), []);
        // The check can fail: a misspelt key, a bad value and a missing program are each reported.
        const bad = r.stdout
          .replace(/^Restart=always$/m, 'Restart=sometimes')
          .replace(/^Nice=10$/m, 'Nicce=10')
          .replace(/^ExecStart=\/bin\/bash /m, 'ExecStart=/nonexistent/bash ');
        const complaints = verify('dbx-prom-agent-bad.service', bad).join('\n');
        assert.match(complaints, /dbx-prom-agent-bad\.service:\d+: .*sometimes/, complaints);
        assert.match(complaints, /dbx-prom-agent-bad\.service:\d+: Unknown key.*Nicce/, complaints);
        assert.match(complaints, /\/nonexistent\/bash/, complaints);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
