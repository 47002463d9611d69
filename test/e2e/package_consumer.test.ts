/**
 * edgeseg as a user installs it: `npm pack`, the tarball installed into a fresh project, then
 *   - a plain Node ESM script (no tsx, no TypeScript) that trains a tiny model with edgeseg/trainer,
 *     converts it with edgeseg/converter and segments a frame with edgeseg/runtime-node's engine
 *     (its worker threads run the compiled JavaScript);
 *   - the installed CLI (`edgeseg --help`, `edgeseg verify`);
 *   - `tsc --noEmit` on a TypeScript consumer of every subpath's types;
 *   - a Vite app that imports edgeseg/runtime-web, built with `vite build` and served on
 *     127.0.0.1, segmenting the same frame in Chromium on tfjs-wasm and ONNX Runtime Web, whose
 *     worker and wasm binary the app's build found with no configuration.
 */
/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { decodeMaskPng, fromBase64, syntheticSample, toBase64 } from '../../core/index.js';
import { launchBrowser } from '../../bench/helpers/browser.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { checkoutVersion, installProject, packPackage, runPlainNode, type PackedPackage } from '../../bench/helpers/package_consumer.js';
import { serveDir } from '../helpers/static_server.js';

/** The frame every consumer segments: model-sized, so Node and the browser see the same pixels. */
const FRAME = syntheticSample(300, { size: 128, seed: 5 }).image;

/** Plain ESM: train → convert (uint8, tfjs + ONNX, gated) → segment FRAME on both Node engines. */
const NODE_SCRIPT = `
import { readFileSync } from 'node:fs';
import { RAW_RGB8 } from 'edgeseg/core';
import { train } from 'edgeseg/trainer';
import { convert } from 'edgeseg/converter';
import { InferencePool } from 'edgeseg/runtime-node';

const [root, framePath] = process.argv.slice(2);
const silent = { print: () => {} };
const data = 'synthetic:count=24,size=128,seed=1';
const trained = await train({ data, modelConfig: { baseFilters: 8, depth: 3 }, epochs: 1, batchSize: 8, backend: 'wasm', models: root, reportSamples: 0 }, silent);
const variant = await convert({ model: trained.dir, precision: 'uint8', format: 'both', eval: data, maxMiouDrop: 1, backend: 'wasm', models: root, onProgress: () => {} });
const frame = { bytes: readFileSync(framePath), contentType: RAW_RGB8, width: 128, height: 128 };
const masks = {};
for (const engine of ['tfjs', 'ort']) {
  const e = await InferencePool.start(variant.dir, { workers: 1, engine, infer: { maskSize: 'model', maskFormat: 'png', maxSide: 1024 } });
  const out = await e.infer(frame);
  await e.close();
  if (!out.ok) throw new Error(out.message);
  masks[engine] = out.mask;
}
console.log(JSON.stringify({ variant: variant.dir, version: variant.card.version, onnx: variant.card.conversion?.onnx?.file ?? null, masks }));
`;

/** Uses the public types of every subpath; the @ts-expect-error lines fail the check if a type collapses to any. */
const TS_CONSUMER = `
import { createSegmenter, drawOverlay, type SegmenterOptions, type SegmentationResult } from 'edgeseg/runtime-web';
import { StreamService, InferencePool, type StreamOptions } from 'edgeseg/runtime-node';
import { convert, type ConvertOptions, type ConvertResult } from 'edgeseg/converter';
import { train, type TrainConfig } from 'edgeseg/trainer';
import { openDataset, evaluate, type Evaluation } from 'edgeseg/datasets';
import { MODEL_CONTRACT, EdgesegError, syntheticSample } from 'edgeseg/core';
import { WorkerPool, startWorker, FeedbackStore } from 'edgeseg/core/node';

const options: SegmenterOptions = { model: '/models/unet-small/1-uint8/', backend: 'wasm', engine: 'tfjs' };
export async function web(ctx: CanvasRenderingContext2D, frame: ImageBitmap): Promise<number> {
  const seg = await createSegmenter(options);
  const r: SegmentationResult = await seg.segment(frame);
  drawOverlay(ctx, r, { opacity: 0.5 });
  await seg.close();
  const size: number = r.mask.length;
  const name: string = MODEL_CONTRACT.input.name;
  return size + name.length;
}
export async function node(c: ConvertOptions, t: Partial<TrainConfig>): Promise<string> {
  const trained = await train(t);
  const r: ConvertResult = await convert({ ...c, model: trained.dir });
  return r.dir;
}
export async function data(spec: string): Promise<number> {
  const d = await openDataset(spec);
  const e: Evaluation | null = null;
  await d.close();
  return d.train.size + (e ? 1 : 0) + (typeof evaluate === "function" ? 0 : 1);
}
// @ts-expect-error model must be a string
void createSegmenter({ model: 1 });
// @ts-expect-error precision is not a boolean
void convert({ model: 'm', precision: true });
export const kinds = [StreamService, InferencePool, WorkerPool, startWorker, FeedbackStore, EdgesegError, syntheticSample];
export type S = StreamOptions;
`;

const TS_CONFIG = {
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'DOM', 'DOM.Iterable'], types: ['node'], strict: true, noEmit: true, skipLibCheck: true },
  files: ['consumer.ts'],
};

/** The web app: segments the frame it is given with the engine asked for. */
const WEB_MAIN = `
import { createSegmenter } from 'edgeseg/runtime-web';
window.segmentFrame = async (rgbBase64, engine) => {
  const rgb = Uint8Array.from(atob(rgbBase64), (c) => c.charCodeAt(0));
  const rgba = new Uint8ClampedArray(128 * 128 * 4);
  for (let i = 0; i < 128 * 128; i++) rgba.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255], 4 * i);
  const seg = await createSegmenter({ model: '/models/m/', backend: 'wasm', engine });
  try {
    const r = await seg.segment(await createImageBitmap(new ImageData(rgba, 128, 128)));
    return { mask: Array.from(r.mask), engine: r.engine, backend: r.backend };
  } finally {
    await seg.close();
  }
};
document.body.dataset.ready = 'true';
`;
const WEB_HTML = '<!doctype html><html><body><script type="module" src="./main.js"></script></body></html>';

function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

describe('edgeseg as an installed package', () => {
  let work: string;
  let app: string;
  let packed: PackedPackage;
  let node: { variant: string; version: string; onnx: string | null; masks: { tfjs: string; ort: string } };
  let browser: Browser | null = null;

  before(() => {
    work = tempDir('package-consumer');
    packed = packPackage(join(work, 'pack'));
    app = join(work, 'app');
    installProject(app, {
      edgeseg: `file:${packed.tarball}`,
      vite: checkoutVersion('vite'),
      typescript: checkoutVersion('typescript'),
      '@types/node': checkoutVersion('@types/node'),
    });
  });

  after(async () => {
    await browser?.close();
  });

  it('ships compiled JavaScript, types and the runtime-web assets, without sources or tests', () => {
    const files = packed.files;
    for (const f of ['bin/edgeseg.js', 'dist/lib/core/index.js', 'dist/lib/core/index.d.ts', 'dist/lib/core/node/index.js', 'dist/lib/runtime-node/index.d.ts', 'dist/lib/converter/index.js', 'dist/lib/trainer/index.js', 'dist/lib/datasets/decode_worker.js', 'dist/lib/runtime-web/index.d.ts', 'dist/runtime-web/index.js', 'dist/runtime-web/ort-wasm-simd-threaded.asyncify.wasm', 'dist/runtime-web/THIRD_PARTY_LICENSES.txt', 'dist/lib/runtime-node/pool/inference_worker.js', 'dist/lib/tools/dev_broker.js', 'dist/lib/tools/loop_demo.js']) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    const stray = files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')).concat(files.filter((f) => /(^|\/)(test|bench|demo|scripts)\//.test(f) && !f.startsWith('dist/lib/scripts/')));
    assert.deepEqual(stray, []);
    assert.equal(existsSync(join(app, 'node_modules', 'tsx')), false, 'tsx is not installed for users');
  });

  it('a plain Node ESM script trains, converts and segments with edgeseg/trainer, /converter and /runtime-node', () => {
    const framePath = join(work, 'frame.rgb');
    writeFileSync(framePath, FRAME.data);
    writeFileSync(join(app, 'train_convert_predict.mjs'), NODE_SCRIPT);
    const out = runPlainNode(['train_convert_predict.mjs', join(work, 'models'), framePath], app).trim().split('\n').at(-1)!;
    node = JSON.parse(out) as typeof node;
    assert.equal(node.version, '1-uint8');
    assert.equal(node.onnx, 'model.int8.onnx');
    for (const engine of ['tfjs', 'ort'] as const) {
      const mask = decodeMaskPng(fromBase64(node.masks[engine]));
      assert.equal(mask.width, 128);
      assert.ok(mask.data.every((c) => c < 3), `${engine}: class ids`);
    }
  });

  it('runs the installed CLI from compiled JavaScript', () => {
    const help = runPlainNode([join(app, 'node_modules', '.bin', 'edgeseg'), '--help'], app);
    assert.match(help, /Usage: edgeseg/);
    assert.match(help, /convert/);
    const verify = runPlainNode([join(app, 'node_modules', '.bin', 'edgeseg'), 'verify', node.variant], app);
    assert.match(verify, /ok|verified/i);
  });

  it('type-checks a TypeScript consumer of every subpath', () => {
    writeFileSync(join(app, 'consumer.ts'), TS_CONSUMER);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TS_CONFIG));
    runPlainNode([join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app);
  });

  it('a Vite app built with edgeseg/runtime-web segments the frame in Chromium like Node does, on tfjs and ONNX Runtime', async () => {
    const web = join(app, 'web');
    mkdirSync(web, { recursive: true });
    writeFileSync(join(web, 'index.html'), WEB_HTML);
    writeFileSync(join(web, 'main.js'), WEB_MAIN);
    runPlainNode([join(app, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', web, '--logLevel', 'error'], app);
    const dist = join(web, 'dist');
    const emitted = readdirSync(join(dist, 'assets'));
    assert.ok(emitted.some((f) => f.startsWith('worker')), `the app's build emitted runtime-web's worker (${emitted.join(', ')})`);
    assert.ok(emitted.some((f) => f.startsWith('ort-wasm-simd-threaded.asyncify') && f.endsWith('.wasm')), "the app's build emitted ONNX Runtime's wasm");
    assert.ok(emitted.some((f) => f.startsWith('tfjs-backend-wasm-simd') && f.endsWith('.wasm')), "the app's build emitted tfjs' wasm");
    cpSync(node.variant, join(dist, 'models', 'm'), { recursive: true });
    const server = await serveDir(dist);
    try {
      browser = await launchBrowser({ webgpu: false });
      const page = await browser.newPage();
      page.on('pageerror', (e) => console.error('page error:', e.stack ?? e.message));
      await page.goto(`${server.url}/index.html`);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 60_000 });
      for (const engine of ['tfjs', 'ort'] as const) {
        const r = await page.evaluate(
          ({ rgb, engine }) => (globalThis as unknown as { segmentFrame(rgb: string, engine: string): Promise<{ mask: number[]; engine: string; backend: string }> }).segmentFrame(rgb, engine),
          { rgb: toBase64(Uint8Array.from(FRAME.data)), engine },
        );
        assert.equal(r.engine, engine);
        assert.equal(r.backend, 'wasm');
        const nodeMask = decodeMaskPng(fromBase64(node.masks[engine])).data;
        const same = agreement(r.mask, nodeMask);
        assert.ok(same >= 0.99, `${engine}: ${(same * 100).toFixed(2)}% of pixels agree with Node`);
      }
    } finally {
      await server.close();
    }
  });
});
