/**
 * The layout rules of the README's Architecture section, checked on the source: relative imports
 * (type-only ones included) only point down — core ← core/node ← datasets ← trainer, runtime-web ←
 * converter, demo ← runtime-node ← tools (development tools the CLI ships: dev broker, frame producer, loop
 * demo) ← cli, bench, scripts, bin — so the runtime library never imports a development tool; no
 * product file imports test/, no module is part of an import circle, no product file hides another
 * folder's module or data in a `new URL(…)` string, and browser code (core outside core/node,
 * runtime-web, demo, bench/pages) type-checks with DOM types and without Node types.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SKIP = new Set(['node_modules', '.git', 'dist', '.cache', 'models', 'out']);
const PRODUCT = ['core', 'datasets', 'trainer', 'runtime-web', 'converter', 'demo', 'runtime-node', 'tools', 'cli', 'bench', 'scripts', 'bin'];
/** The entry points' layer: cli, bench, scripts, bin (and anything not named), which may import each other. */
const ENTRY_RANK = 7;

/** Layer of each room; an import may point to a lower or equal layer only. */
function layerOf(file: string): { room: string; rank: number } {
  const [top, second] = file.split('/');
  if (top === 'core') return second === 'node' ? { room: 'core/node', rank: 1 } : { room: 'core', rank: 0 };
  if (top === 'runtime-node') return { room: 'runtime-node', rank: 5 };
  const ranks: Record<string, number> = { datasets: 2, trainer: 3, 'runtime-web': 3, converter: 4, demo: 4, tools: 6, cli: ENTRY_RANK, bench: ENTRY_RANK, scripts: ENTRY_RANK, bin: ENTRY_RANK, test: ENTRY_RANK + 1 };
  return { room: top, rank: ranks[top] ?? ENTRY_RANK };
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    if (SKIP.has(name)) continue;
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sourceFiles(rel));
    else if (/\.(ts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|(?:^|[\s;(])import\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/gm;
const URL_REF = /new URL\(\s*['"`]([^'"`]+)['"`]\s*,\s*import\.meta\.url/g;

function resolveImport(from: string, spec: string): string | null {
  const base = normalize(join(dirname(from), spec));
  for (const candidate of [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(join(ROOT, candidate)) && statSync(join(ROOT, candidate)).isFile()) return candidate;
  }
  return null;
}

const files = [...PRODUCT.flatMap((d) => sourceFiles(d)), 'vite.config.ts'];
const edges = new Map<string, string[]>();
for (const file of files) {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const targets: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    // The installed CLI's fallback into the build output (bin/edgeseg.js): not a source module.
    if (normalize(join(dirname(file), spec)).startsWith(`dist/`)) continue;
    const target = resolveImport(file, spec);
    assert.ok(target, `${file} imports ${spec}, which does not exist`);
    targets.push(target);
  }
  edges.set(file, targets);
}

test('relative imports only point to the same or a lower layer', () => {
  const upward: string[] = [];
  for (const [file, targets] of edges) {
    const from = layerOf(file);
    for (const target of targets) {
      const to = layerOf(target);
      const sideways = to.rank === from.rank && to.room !== from.room && from.rank < ENTRY_RANK;
      if (to.rank > from.rank || sideways) upward.push(`${file} (${from.room}) → ${target} (${to.room})`);
    }
  }
  assert.deepEqual(upward, []);
});

test('no product file imports test/', () => {
  const intoTests = [...edges].flatMap(([file, targets]) => targets.filter((t) => t.startsWith('test/')).map((t) => `${file} → ${t}`));
  assert.deepEqual(intoTests, []);
});

test('no import circle among modules', () => {
  // Tarjan's strongly connected components over the file graph.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) circles.push(component.sort());
    }
  };
  for (const file of edges.keys()) if (!index.has(file)) visit(file);
  assert.deepEqual(circles, []);
});

test('new URL(…, import.meta.url) names only a file beside the module', () => {
  const hidden: string[] = [];
  for (const file of files) {
    for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(URL_REF)) {
      if (!/^\.\/[^/]+$/.test(m[1]) && !m[1].includes('${')) hidden.push(`${file}: new URL('${m[1]}')`);
    }
  }
  assert.deepEqual(hidden, []);
});

test('the scan sees the whole tree', () => {
  assert.ok(files.length > 150, `only ${files.length} source files found`);
  assert.ok(relative(ROOT, join(ROOT, 'core/node/registry.ts')) && edges.has('core/node/registry.ts'));
});

test('browser code type-checks without Node types and without core/node', () => {
  const config = JSON.parse(readFileSync(join(ROOT, 'tsconfig.web.json'), 'utf8')) as { compilerOptions: { types?: string[] } };
  assert.deepEqual(config.compilerOptions.types, [], 'tsconfig.web.json must set "types": [] so no Node types load implicitly');
  // The program tsc builds for the browser config: a file that imports core/node (or anything that
  // references Node's types) pulls @types/node in, and then node: modules and process type-check.
  let listed: string;
  try {
    listed = execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.web.json'), '--listFiles'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    assert.fail(`tsc -p tsconfig.web.json fails:\n${`${e.stdout ?? ''}${e.stderr ?? ''}`.split('\n').filter((l) => /error TS/.test(l)).join('\n')}`);
  }
  const files = listed.split('\n').map((l) => l.trim().replaceAll('\\', '/')).filter(Boolean);
  assert.ok(files.some((f) => f.endsWith('/runtime-web/worker.ts')), 'the browser program holds runtime-web');
  assert.deepEqual(files.filter((f) => f.includes('/@types/node/')).slice(0, 3), [], 'no Node types in the browser program');
  assert.deepEqual(files.filter((f) => relative(ROOT, f).startsWith('core/node/')), [], 'no core/node module in the browser program');
});
