// Builds bundle/dbx-prom-agent.cjs: one file, runnable with plain `node`, no node_modules beside it.
import { build } from 'esbuild';
import { readFileSync, chmodSync, statSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const outfile = 'bundle/dbx-prom-agent.cjs';
// Written beside and renamed into place: a process running the old bundle never reads half a file.
const tmpfile = `${outfile}.${process.pid}.tmp`;

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
