/**
 * `npm run bench:package`: what installing edgeseg costs its users, in one run.
 *
 *   - the package: packed (.tgz) and unpacked bytes, files, and what installing it alone puts in
 *     node_modules (dependencies and peers included);
 *   - the bytes a minimal Vite app adds to its build by importing only `createSegmenter` from
 *     edgeseg/runtime-web, and from the lean edgeseg/runtime-web/ort (ONNX Runtime only), next to minimal segmentation apps on @mediapipe/tasks-vision and
 *     onnxruntime-web and an empty app (all built by the same Vite in one temporary project):
 *     JavaScript and wasm, raw and gzip. MediaPipe loads its wasm at run time from a folder the
 *     app serves (FilesetResolver), so its SIMD loader + binary are counted as served files;
 *   - cold `edgeseg --help`: the installed package (compiled JavaScript, plain node) against the
 *     checkout's tsx start, each its first run and the median of the runs after.
 *
 * Writes bench/out/package.json; bench/report.ts puts it into bench/report.md.
 *
 *   npm run bench:package                 (about 2 minutes; installs from the npm cache when it can)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { extname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { PACKAGE_ROOT } from '../core/node/package_root.js';
import { tempDir } from './helpers/fixtures.js';
import { checkoutVersion, installProject, packPackage } from './helpers/package_consumer.js';
import { writeReport } from './report.js';
import { BENCH_OUT, SMOKE } from './helpers/smoke.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, mediapipe: { type: 'string', default: '1.1.0' } } });
const RUNS = Math.max(1, Math.min(20, Number(args.runs)));

/** Minimal apps, each what a user writes to segment one image. */
const APPS: Record<string, { label: string; main: string; served?: (project: string) => string[] }> = {
  empty: { label: 'empty Vite app (baseline)', main: "document.body.textContent = 'hello';\n" },
  edgeseg: {
    label: 'edgeseg/runtime-web createSegmenter',
    main: `import { createSegmenter } from 'edgeseg/runtime-web';
const seg = await createSegmenter({ model: '/models/unet-small/1-uint8/' });
const r = await seg.segment(document.querySelector('img'));
document.body.dataset.coverage = r.classCoverage.join(',');
`,
  },
  'edgeseg-ort': {
    label: 'edgeseg/runtime-web/ort createSegmenter (ONNX Runtime only)',
    main: `import { createSegmenter } from 'edgeseg/runtime-web/ort';
const seg = await createSegmenter({ model: '/models/unet-small/1-uint8/' });
const r = await seg.segment(document.querySelector('img'));
document.body.dataset.coverage = r.classCoverage.join(',');
`,
  },
  mediapipe: {
    label: '@mediapipe/tasks-vision ImageSegmenter',
    main: `import { FilesetResolver, ImageSegmenter } from '@mediapipe/tasks-vision';
const fileset = await FilesetResolver.forVisionTasks('/mediapipe-wasm');
const seg = await ImageSegmenter.createFromOptions(fileset, { baseOptions: { modelAssetPath: '/model.tflite' }, runningMode: 'IMAGE', outputCategoryMask: true });
const r = seg.segment(document.querySelector('img'));
document.body.dataset.mask = String(r.categoryMask?.width);
`,
    // FilesetResolver loads vision_wasm_internal.{js,wasm} (SIMD; the nosimd pair only without it).
    served: (project) => ['vision_wasm_internal.js', 'vision_wasm_internal.wasm'].map((f) => join(project, 'node_modules/@mediapipe/tasks-vision/wasm', f)),
  },
  'onnxruntime-web': {
    label: 'onnxruntime-web InferenceSession',
    main: `import * as ort from 'onnxruntime-web';
const session = await ort.InferenceSession.create('/model.onnx');
const out = await session.run({ image: new ort.Tensor('float32', new Float32Array(128 * 128 * 3), [1, 128, 128, 3]) });
document.body.dataset.outputs = Object.keys(out).join(',');
`,
  },
};

interface Bytes {
  raw: number;
  gzip: number;
}
interface AppSize {
  app: string;
  label: string;
  js: Bytes;
  wasm: Bytes;
  files: { file: string; raw: number; gzip: number }[];
}

function sizeOf(path: string): { raw: number; gzip: number } {
  const bytes = readFileSync(path);
  return { raw: bytes.length, gzip: gzipSync(bytes).length };
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}

function buildApp(project: string, name: string): AppSize {
  const { label, main, served } = APPS[name];
  const dir = join(project, 'apps', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><html><body><img src="/frame.png"><script type="module" src="./main.js"></script></body></html>\n');
  writeFileSync(join(dir, 'main.js'), main);
  execFileSync(process.execPath, [join(project, 'node_modules/vite/bin/vite.js'), 'build', dir, '--logLevel', 'error'], { cwd: project, stdio: 'inherit', timeout: 5 * 60_000 });
  const files = [...walk(join(dir, 'dist')), ...(served?.(project) ?? [])]
    .filter((f) => ['.js', '.mjs', '.wasm'].includes(extname(f)))
    .map((f) => ({ file: f.startsWith(dir) ? relative(join(dir, 'dist'), f) : `served: ${relative(join(project, 'node_modules'), f)}`, ...sizeOf(f) }));
  const sum = (ext: string[]): Bytes => files.filter((f) => ext.includes(extname(f.file))).reduce((a, f) => ({ raw: a.raw + f.raw, gzip: a.gzip + f.gzip }), { raw: 0, gzip: 0 });
  return { app: name, label, js: sum(['.js', '.mjs']), wasm: sum(['.wasm']), files };
}

/** Wall time of `node <args> --help` in `cwd`, in ms. */
function timeHelp(args: string[], cwd: string): number {
  const { NODE_OPTIONS: _ignored, ...env } = process.env;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [...args, '--help'], { cwd, env, encoding: 'utf8', timeout: 120_000 });
  const ms = performance.now() - t0;
  if (r.status !== 0 || !r.stdout.includes('Usage: edgeseg')) throw new Error(`edgeseg --help failed in ${cwd}: ${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const work = tempDir('bench-package');
console.log(`packing edgeseg (npm run build:lib, vite build --mode lib, npm pack) in ${work}`);
const packed = packPackage(join(work, 'pack'));
console.log(`package: ${packed.tarball}: ${(packed.packedBytes / 1e6).toFixed(2)} MB packed, ${(packed.unpackedBytes / 1e6).toFixed(2)} MB unpacked, ${packed.files.length} files`);

// edgeseg alone, as a user's Node project gets it: the size of everything it installs.
const alone = join(work, 'alone');
const aloneStart = performance.now();
installProject(alone, { edgeseg: `file:${packed.tarball}` });
const aloneInstall = { ms: performance.now() - aloneStart, bytes: walk(join(alone, 'node_modules')).reduce((sum, f) => sum + statSync(f).size, 0) };
console.log(`edgeseg alone: ${(aloneInstall.bytes / 1e6).toFixed(0)} MB of node_modules, installed in ${(aloneInstall.ms / 1000).toFixed(1)} s`);

const project = join(work, 'project');
// A smoke run builds the baseline and edgeseg's apps only: the others need packages from the registry.
const appNames = SMOKE ? ['empty', 'edgeseg', 'edgeseg-ort'] : Object.keys(APPS);
const versions: Record<string, string> = SMOKE ? { vite: checkoutVersion('vite') } : { vite: checkoutVersion('vite'), 'onnxruntime-web': checkoutVersion('onnxruntime-web'), '@mediapipe/tasks-vision': args.mediapipe };
console.log(`installing edgeseg + ${Object.entries(versions).map(([k, v]) => `${k}@${v}`).join(', ')} into ${project}`);
installProject(project, { edgeseg: `file:${packed.tarball}`, ...versions });

// Cold start first: the installed CLI's first process ever, then the checkout's tsx start.
const bin = join(project, 'node_modules/.bin/edgeseg');
const checkoutBin = join(PACKAGE_ROOT, 'bin/edgeseg.js');
const installedRuns = [timeHelp([bin], project)];
const tsxRuns = [timeHelp([checkoutBin], PACKAGE_ROOT)];
for (let i = 0; i < RUNS; i++) {
  installedRuns.push(timeHelp([bin], project));
  tsxRuns.push(timeHelp([checkoutBin], PACKAGE_ROOT));
}
const cli = {
  installed: { firstMs: installedRuns[0], medianMs: median(installedRuns.slice(1)), runs: installedRuns },
  tsx: { firstMs: tsxRuns[0], medianMs: median(tsxRuns.slice(1)), runs: tsxRuns },
};
console.log(`edgeseg --help: installed ${cli.installed.firstMs.toFixed(0)} ms first, ${cli.installed.medianMs.toFixed(0)} ms median; checkout (tsx) ${cli.tsx.firstMs.toFixed(0)} ms first, ${cli.tsx.medianMs.toFixed(0)} ms median`);

const apps = appNames.map((name) => {
  const a = buildApp(project, name);
  console.log(`${name}: JS ${(a.js.gzip / 1e3).toFixed(1)} kB gzip (${(a.js.raw / 1e3).toFixed(1)} kB), wasm ${(a.wasm.gzip / 1e6).toFixed(2)} MB gzip (${(a.wasm.raw / 1e6).toFixed(2)} MB)`);
  return a;
});
const base = apps.find((a) => a.app === 'empty')!;
const added = (a: AppSize) => ({ jsGzip: a.js.gzip - base.js.gzip, jsRaw: a.js.raw - base.js.raw, wasmGzip: a.wasm.gzip - base.wasm.gzip, wasmRaw: a.wasm.raw - base.wasm.raw });
const edgeseg = apps.find((a) => a.app === 'edgeseg')!;
const lean = apps.find((a) => a.app === 'edgeseg-ort')!;
const others = apps.filter((a) => a.app === 'mediapipe' || a.app === 'onnxruntime-web');
console.log(`added JS gzip: edgeseg/runtime-web/ort ${(added(lean).jsGzip / 1e3).toFixed(1)} kB (goal ≤ 200 kB), edgeseg/runtime-web ${(added(edgeseg).jsGzip / 1e3).toFixed(1)} kB; ${others.map((a) => `${a.app} ${(added(a).jsGzip / 1e3).toFixed(1)} kB`).join(', ')}`);

const out = {
  measured: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model ?? '?', cores: cpus().length },
  node: process.version,
  versions: { edgeseg: JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version as string, ...versions },
  package: { packedBytes: packed.packedBytes, unpackedBytes: packed.unpackedBytes, files: packed.files.length, largest: packed.files.map((f) => ({ file: f, bytes: statSync(join(project, 'node_modules/edgeseg', f)).size })).sort((a, b) => b.bytes - a.bytes).slice(0, 5) },
  install: aloneInstall,
  apps: apps.map((a) => ({ ...a, added: added(a) })),
  cli,
  ratios: {
    'tsx start / installed start (median)': cli.tsx.medianMs / cli.installed.medianMs,
    'tsx start / installed start (first run)': cli.tsx.firstMs / cli.installed.firstMs,
    ...Object.fromEntries(
      (['onnxruntime-web', 'mediapipe'] as const)
        .map((other) => [other, apps.find((a) => a.app === other)] as const)
        .filter(([, a]) => a !== undefined)
        .flatMap(([other, a]) => [
          [`edgeseg / ${other} added JS gzip`, added(edgeseg).jsGzip / added(a!).jsGzip],
          [`edgeseg/runtime-web/ort / ${other} added JS gzip`, added(lean).jsGzip / added(a!).jsGzip],
        ]),
    ),
  },
};
const outDir = SMOKE ? BENCH_OUT : join(import.meta.dirname, 'out');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'package.json'), JSON.stringify(out, null, 2) + '\n');
console.log(`${join(outDir, 'package.json')}${SMOKE ? '' : `; report: ${writeReport().md}`}`);
