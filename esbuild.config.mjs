// Builds bundle/dbx-prom-agent.cjs: one file, runnable with plain `node`, no node_modules beside it.
import { build } from 'esbuild';
import { readFileSync, chmodSync, statSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const outfile = 'bundle/dbx-prom-agent.cjs';
// Written beside and renamed into place: a process running the old bundle never reads half a file.
const tmpfile = `${outfile}.${process.pid}.tmp`;

// The AWS SDK (~290 kB, used only by nodes that sign with SigV4) is bundled on its own and
// carried as a string, compiled at its first use: parsing it with the rest cost every start
// ~25 ms (measured with --cpu-prof: the bundle's compile went from ~30 to ~55 ms).
const awsSdk = await build({
  entryPoints: ['agent/http/aws/sdk.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  mainFields: ['module', 'main'],
  minify: true,
  legalComments: 'none',
  write: false,
  logLevel: 'warning',
});
// A function compiled with vm has no dynamic import(): the SDK's few of Node's own modules
// become requires (it imports nothing else dynamically once bundled).
const awsSdkText = awsSdk.outputFiles[0].text.replace(/\bimport\(("node:[a-z_/]+")\)/g, 'Promise.resolve().then(() => require($1))');
if (/\bimport\(/.test(awsSdkText)) throw new Error('the bundled AWS SDK has a dynamic import() that a vm-compiled function cannot run');
const deferredAwsSdk = [
  "const { compileFunction } = require('node:vm');",
  `const body = ${JSON.stringify(awsSdkText)};`,
  "compileFunction(body, ['exports', 'require', 'module'], { filename: 'dbx-prom-agent/aws-sdk.js' })(module.exports, require, module);",
].join('\n');

await build({
  entryPoints: ['agent/main.ts'],
  outfile: tmpfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // The ES builds first: the AWS SDK's CommonJS builds are one file per package, so nothing of
  // them could be left out (all of @aws-sdk/credential-providers, a browser-detection library);
  // their ES builds shake down to what SigV4 uses (~110 kB less).
  mainFields: ['module', 'main'],
  plugins: [
    {
      name: 'trim-dependencies',
      setup(b) {
        // node-cron's CommonJS build: its ESM build (which the `exports` map gives an `import`)
        // uses import.meta.url, which is empty in a CJS bundle.
        b.onResolve({ filter: /^node-cron$/ }, (args) => ({ path: require.resolve(args.path) }));
        // axios -> form-data -> mime-types -> mime-db is 137 kB of MIME tables used only to
        // guess the type of multipart file uploads, which the agent never sends.
        b.onResolve({ filter: /^mime-db$/ }, () => ({ path: 'mime-db', namespace: 'empty' }));
        b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
        // The agent imports jose dynamically (it is ES-only), which would bundle all of it (JWE,
        // JWKS, ...): the agent's import gets a module with the one export it uses, ~45 kB less.
        b.onResolve({ filter: /^jose$/ }, (args) =>
          args.namespace === 'jose-used' ? undefined : { path: 'jose', namespace: 'jose-used' },
        );
        b.onResolve({ filter: /^\.\/sdk$/ }, (args) =>
          args.importer.endsWith('aws/lazy.ts') ? { path: 'aws-sdk', namespace: 'deferred' } : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: 'deferred' }, () => ({ contents: deferredAwsSdk, loader: 'js' }));
        b.onLoad({ filter: /.*/, namespace: 'jose-used' }, () => ({
          contents: "export { SignJWT } from 'jose';",
          loader: 'js',
          resolveDir: process.cwd(),
        }));
      },
    },
  ],
  minify: true,
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  define: { __AGENT_VERSION__: JSON.stringify(pkg.version) },
  logLevel: 'warning',
});
chmodSync(tmpfile, 0o755);
renameSync(tmpfile, outfile);
console.log(`${outfile}: ${statSync(outfile).size} bytes`);
