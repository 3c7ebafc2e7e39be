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

/**
 * Modules axios's http adapter imports at load but needs only for what the agent never or
 * rarely does, loaded at their first use instead (8-12 ms each of every start that sends): a
 * request through an HTTPS proxy (https-proxy-agent, with agent-base and debug), a multipart
 * body (form-data, with get-intrinsic and friends), a redirect followed (follow-redirects: the
 * agent's clients set maxRedirects 0, so axios takes plain http/https), HTTP/2 (node:http2).
 * Each stand-in does all that axios does with it: `new` and `instanceof` of a constructor;
 * `.request()` of follow-redirects; any member of node:http2.
 */
const lazyConstructor = (pkg) =>
  [
    `let real; const load = () => (real ??= require(${JSON.stringify(pkg)}));`,
    'function Lazy(...args) { return new (load())(...args); }',
    'Object.defineProperty(Lazy, Symbol.hasInstance, { value: (x) => real !== undefined && x instanceof real });',
    'module.exports = Lazy;',
  ].join('\n');
const AXIOS_LAZY_PACKAGES = {
  'https-proxy-agent': lazyConstructor('https-proxy-agent'),
  'form-data': lazyConstructor('form-data'),
  'follow-redirects': [
    "let real; const load = () => (real ??= require('follow-redirects'));",
    "module.exports = { http: { request: (...args) => load().http.request(...args) }, https: { request: (...args) => load().https.request(...args) } };",
  ].join('\n'),
  http2: "let real; module.exports = new Proxy({}, { get: (_, key) => (real ??= require('node:http2'))[key] });",
};

const escapeRegExp = (t) => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** What the agent needs at start, and nothing more: see the comments of each rule. */
const loadLazily = {
  name: 'load-lazily',
  setup(b) {
    // axios's require() (http/axios.ts) gets its ES build, as its imports do:
    // the build whose parts the rules below trim (its CommonJS build is one file).
    b.onResolve({ filter: /^axios$/ }, (args) =>
      args.kind === 'require-call' ? b.resolve(args.path, { kind: 'import-statement', resolveDir: args.resolveDir }) : undefined,
    );

    // axios's fetch adapter runs its feature test when loaded (a Request with a ReadableStream
    // body), which loads Node's fetch, undici: 30-46 ms of every start that loads axios. It is
    // never chosen: the http adapter comes before it in axios's list and always applies in Node.
    b.onResolve({ filter: /^\.\/fetch\.js$/ }, (args) =>
      /axios[\\/]lib[\\/]adapters[\\/]adapters\.js$/.test(args.importer) ? { path: 'axios-fetch', namespace: 'axios-no-fetch' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'axios-no-fetch' }, () => ({ contents: 'export const getFetch = () => false;\nexport default false;', loader: 'js' }));
    // axios's utils read globalThis.FormData when loaded: Node's getter of it loads undici too.
    // Without that constructor axios still tells a FormData by its toString tag (isFormData),
    // and the agent sends none. Checked: an axios that changes the line fails the build.
    b.onLoad({ filter: /axios[\\/]lib[\\/]utils\.js$/ }, (args) => {
      const probe = "const FormDataCtor = typeof G.FormData !== 'undefined' ? G.FormData : undefined;";
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes(probe)) throw new Error(`${args.path}: axios's FormData probe changed; check that loading axios still does not load undici`);
      return { contents: text.replace(probe, 'const FormDataCtor = undefined;'), loader: 'js' };
    });
    const lazyPackages = new RegExp(`^(${Object.keys(AXIOS_LAZY_PACKAGES).map(escapeRegExp).join('|')})$`);
    b.onResolve({ filter: lazyPackages }, (args) =>
      /axios[\\/]lib[\\/]/.test(args.importer) ? { path: args.path, namespace: 'axios-lazy-package', pluginData: args.resolveDir } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'axios-lazy-package' }, (args) => ({
      contents: AXIOS_LAZY_PACKAGES[args.path],
      loader: 'js',
      resolveDir: args.pluginData,
    }));
  },
};

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
    loadLazily,
    {
      name: 'trim-dependencies',
      setup(b) {
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
