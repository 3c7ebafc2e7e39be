/**
 * Structural rules for agent/, checked on the syntax tree (TypeScript compiler API), so that
 * comments, strings and odd formatting cannot fool them:
 *   1. no import cycle, type-only imports included (they still couple the modules for a reader);
 *   2. agent/core/ is a leaf: it imports nothing else under agent/;
 *   3. no function longer than 80 lines.
 * Each rule's helper is also run on a small in-memory input that must fail, so a rule that
 * silently sees nothing (wrong directory, missed syntax) cannot pass.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..');
const AGENT = path.join(ROOT, 'agent');
const CORE = path.join(AGENT, 'core');
const MAX_FUNCTION_LINES = 80;

const rel = (file: string): string => path.relative(ROOT, file).split(path.sep).join('/');
const isUnder = (file: string, dir: string): boolean => file.startsWith(dir + path.sep);

function listTs(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

const parse = (file: string, text: string): ts.SourceFile =>
  ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);

const stringArg = (node: ts.Node | undefined): string | undefined =>
  node && ts.isStringLiteralLike(node) ? node.text : undefined;

/** Every module specifier in the file: import/export from (type-only too), import = require,
 * import('x') in code and in types, require('x'). */
function specifiers(file: string, text: string): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    let spec: string | undefined;
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) spec = stringArg(node.moduleSpecifier);
    else if (ts.isExternalModuleReference(node)) spec = stringArg(node.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) spec = stringArg(node.argument.literal);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if (isImport || isRequire) spec = stringArg(node.arguments[0]);
    }
    if (spec !== undefined) found.push(spec);
    ts.forEachChild(node, visit);
  };
  visit(parse(file, text));
  return found;
}

/** Resolves a relative specifier the way node16/CommonJS does for our sources: the file, or
 * null when none exists; undefined for packages and builtins. */
function resolveImport(from: string, spec: string): string | null | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  const stem = base.replace(/\.js$/, '');
  const candidates = [base, `${stem}.ts`, path.join(stem, 'index.ts'), `${stem}.d.ts`];
  const hit = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
  return hit ?? null;
}

/** Shortest cycle through each node of each strongly connected component (Tarjan), each
 * listed once, starting at its smallest node: one readable cycle per tangled module. */
function findCycles(graph: Map<string, Iterable<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const sccs: Set<string>[] = [];
  const strongConnect = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc = new Set<string>();
    let w: string;
    do scc.add((w = stack.pop()!));
    while (w !== v);
    sccs.push(scc);
  };
  for (const v of graph.keys()) if (!index.has(v)) strongConnect(v);

  const cycles = new Map<string, string[]>();
  for (const scc of sccs) {
    for (const start of scc) {
      const cycle = shortestCycle(graph, scc, start);
      if (!cycle) continue; // a lone node without a self-import
      const body = cycle.slice(0, -1);
      const at = body.indexOf([...body].sort()[0]!);
      const rotated = [...body.slice(at), ...body.slice(0, at), body[at]!];
      cycles.set(rotated.join(' -> '), rotated);
    }
  }
  return [...cycles.values()].sort((a, b) => a.join().localeCompare(b.join()));
}

/** Breadth-first search from start back to start, staying inside its component. */
function shortestCycle(graph: Map<string, Iterable<string>>, scc: Set<string>, start: string): string[] | undefined {
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (w === start) {
        const trail: string[] = [];
        for (let u = v; u !== start; u = parent.get(u)!) trail.unshift(u);
        return [start, ...trail, start];
      }
      if (scc.has(w) && !parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return undefined;
}

const isLeafBreach = (from: string, target: string): boolean =>
  isUnder(from, CORE) && isUnder(target, AGENT) && !isUnder(target, CORE);

function functionName(node: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const prefix = ts.isGetAccessor(node) ? 'get ' : ts.isSetAccessor(node) ? 'set ' : '';
  if (node.name) return prefix + node.name.getText(sf);
  const p = node.parent;
  if ((ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.name)
    return p.name.getText(sf);
  if (ts.isBinaryExpression(p)) return p.left.getText(sf);
  if (ts.isCallExpression(p)) return `${p.expression.getText(sf)}(…) callback`;
  return '<anonymous>';
}

/** `file:line name (N lines)` for every function longer than max, counted as a reader sees
 * it: first line of its text (decorators and modifiers in, leading comments out) to last. */
function longFunctions(file: string, text: string, max = MAX_FUNCTION_LINES): string[] {
  const sf = parse(file, text);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) ||
      ts.isGetAccessor(node) || ts.isSetAccessor(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node)
    ) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > max) found.push(`${rel(file)}:${first + 1} ${functionName(node, sf)} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Fails with the whole list, one offender a line (assert.fail: no diff noise). */
function assertNone(offenders: string[], what: string): void {
  if (offenders.length > 0) assert.fail(`${offenders.length} ${what}:${offenders.map((o) => `\n  ${o}`).join('')}`);
}

describe('agent/ layout', () => {
  const files = listTs(AGENT);
  const sources = new Map(files.map((f) => [f, fs.readFileSync(f, 'utf8')]));
  // Relative imports that land on no file: the graph would silently miss those edges.
  const dangling: string[] = [];
  // file -> [specifier, resolved file] for the relative imports that land on a file.
  const imports = new Map(
    files.map((f) => [
      f,
      specifiers(f, sources.get(f)!).flatMap((s) => {
        const target = resolveImport(f, s);
        if (target === null) dangling.push(`${rel(f)} imports '${s}'`);
        return target ? [[s, target] as const] : [];
      }),
    ]),
  );

  it('reads the source tree', () => {
    assert.ok(files.length > 20 && files.some((f) => isUnder(f, CORE)), `only ${files.length} files under agent/`);
  });

  describe('helpers catch what they are meant to', () => {
    it('specifiers() sees type-only, re-export, dynamic and require imports', () => {
      const text = [
        "import type { A } from './a';",
        "import { type B } from './b';",
        "export type { C } from './c';",
        "export * from './d';",
        "import e = require('./e');",
        "type F = typeof import('./f');",
        "const g = () => import('./g');",
        "const h = require('./h');",
        "// import x from './not-code';",
        "const s = \"import y from './not-code'\";",
      ].join('\n');
      assert.deepEqual(specifiers('x.ts', text), ['./a', './b', './c', './d', './e', './f', './g', './h']);
    });

    it('findCycles() reports each cycle once, and nothing for a DAG', () => {
      const graph = new Map([
        ['c.ts', ['a.ts']],
        ['a.ts', ['b.ts']],
        ['b.ts', ['c.ts', 'd.ts']],
        ['d.ts', ['d.ts']],
        ['e.ts', ['a.ts']],
      ]);
      assert.deepEqual(findCycles(graph).map((c) => c.join(' -> ')), ['a.ts -> b.ts -> c.ts -> a.ts', 'd.ts -> d.ts']);
      assert.deepEqual(findCycles(new Map([['a.ts', ['b.ts']], ['b.ts', []]])), []);
    });

    it('isLeafBreach() flags core importing the rest of agent/ only', () => {
      const from = path.join(CORE, 'x.ts');
      assert.equal(isLeafBreach(from, path.join(AGENT, 'config.ts')), true);
      assert.equal(isLeafBreach(from, path.join(CORE, 'log.ts')), false);
      assert.equal(isLeafBreach(from, path.join(ROOT, 'package.json')), false);
      assert.equal(isLeafBreach(path.join(AGENT, 'cli.ts'), path.join(AGENT, 'config.ts')), false);
    });

    it('longFunctions() counts nested functions in their parent', () => {
      const body = Array.from({ length: 79 }, (_, i) => `    const v${i} = ${i};`).join('\n');
      const text = `class K {\n  run() {\n    const inner = () => {\n${body}\n    };\n  }\n}\n`;
      const file = path.join(AGENT, 'k.ts');
      assert.deepEqual(longFunctions(file, text), ['agent/k.ts:2 run (83 lines)', 'agent/k.ts:3 inner (81 lines)']);
      assert.deepEqual(longFunctions(file, text, 83), []);
    });
  });

  it('has no import cycle, type imports included', () => {
    assertNone(dangling, 'relative import(s) resolving to no file');
    const graph = new Map([...imports].map(([f, deps]) => [rel(f), deps.map(([, t]) => rel(t)).filter((t) => t.endsWith('.ts'))]));
    const cycles = findCycles(graph).map((c) => c.join(' -> '));
    assertNone(cycles, 'import cycle(s) in agent/');
  });

  it('keeps agent/core/ a leaf: it imports nothing else under agent/', () => {
    const breaches = [...imports].flatMap(([f, deps]) =>
      deps.filter(([, t]) => isLeafBreach(f, t)).map(([s, t]) => `${rel(f)} imports '${s}' (${rel(t)})`),
    );
    assertNone(breaches, 'import(s) out of agent/core/');
  });

  it(`has no function longer than ${MAX_FUNCTION_LINES} lines`, () => {
    const long = files.flatMap((f) => longFunctions(f, sources.get(f)!));
    assertNone(long, `function(s) over ${MAX_FUNCTION_LINES} lines`);
  });
});
