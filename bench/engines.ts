/// <reference lib="dom" />
/**
 * bench:engines — tfjs-wasm vs ONNX Runtime on the same weights, measured in one run.
 *
 * Node: per-frame latency (p50) and frames/s at batch 1 on one thread for unet-small (base 16,
 * depth 4, 128²) and unet-mobilenetv2: tfjs-wasm (the folded fp32 layers model), onnxruntime-node
 * on model.onnx (fp32) and model.int8.onnx (int8 QDQ). Then the streaming engine's frame path
 * (640×480 JPEG in, PNG mask out) on all cores: ORT with one session per worker vs one worker
 * with intra-op threads, tfjs for reference, and where a frame's time goes.
 * Sizes and held-out mIoU of the int8 QDQ model vs the fp32 parent (the converter's gate).
 * Browser: headless Chromium, tfjs-wasm vs onnxruntime-web (wasm), runtime-web's segmenter.
 *
 * Ends with `node ort/tfjs-wasm: <x>x` and `browser ort/tfjs-wasm: <x>x` for unet-small. Writes
 * bench/out/engines.json and engines.md.
 *
 *   npm run bench:engines [-- --small <model dir> --mobilenet <model dir> --frames 40]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { createLogger, encodeMaskPng, INPUT_SIZE } from '../core/index.js';
import { DEFAULT_GEOMETRY } from '../core/contract.js';
import { percentile } from '../core/metrics.js';
import { ortSessionOptions } from '../core/ort_runner.js';
import { summarizeLogits, summarizeLogitsData } from '../core/postprocess.js';
import { preprocessPixels } from '../core/preprocess.js';
import { loadLayersModel } from '../core/node/artifact_fs.js';
import { convert, type ConvertResult } from '../converter/convert.js';
import { InferencePool } from '../runtime-node/pool/inference_pool.js';
import { startWebServer } from '../scripts/web_server.js';
import type { FrameInput } from '../runtime-node/pool/protocol.js';
import { activateWasm } from '../core/node/backends/wasm.js';
import { decodeImage } from '../core/node/decode_image.js';
import { tf } from '../core/node/tfjs.js';
import { buildWeb, HARNESS_DIST, launchBrowser, openHarness } from './helpers/browser.js';
import { jpeg } from './helpers/fixtures.js';
import { BENCH_MODEL, gflopOf } from './helpers/models.js';
import { BENCH_OUT, benchOut, SMOKE } from './helpers/smoke.js';
import { BENCH_DATA, trainedBenchModel } from './trained.js';
import { interleaved } from './helpers/interleaved.js';

const { values: args } = parseArgs({
  options: {
    small: { type: 'string' },
    mobilenet: { type: 'string' },
    frames: { type: 'string', default: '40' },
    'stream-frames': { type: 'string', default: '160' },
  },
});
const FRAMES = Number(args.frames);
const STREAM_FRAMES = Number(args['stream-frames']);
const DATA = BENCH_DATA;
const log = createLogger('bench', { level: 'warn' });
const root = join(tmpdir(), `edgeseg-bench-engines-${process.pid}`);
const machine = { cpu: cpus()[0]?.model, cores: availableParallelism() };

interface LatencyRow {
  model: string;
  engine: string;
  file: string;
  p50Ms: number;
  fps: number;
}

await activateWasm();
// A smoke run takes the smallest model only.
const parents: [string, string, Record<string, unknown>][] = [['unet-small', args.small ?? (await trainedBenchModel('unet-small', 240, 8, log)), BENCH_MODEL]];
if (!SMOKE) parents.push(['unet-mobilenetv2', args.mobilenet ?? (await trainedBenchModel('unet-mobilenetv2', 160, 8, log)), {}]);

const latency: LatencyRow[] = [];
/** The session options runtime-node serves with (core's one set), at one intra-op thread. */
const ORT_ONE_THREAD = ortSessionOptions({ threads: 1 });
const quantized: { model: string; fp32Bytes: number; int8Bytes: number; ratio: number; parentMiou: number; int8Miou: number; deltaMiouPoints: number; maskAgreement: number }[] = [];
const fp32Dirs = new Map<string, ConvertResult>();
const int8Dirs = new Map<string, ConvertResult>();
const input = tf.randomUniform([1, INPUT_SIZE, INPUT_SIZE, 3], 0, 1, 'float32', 1);
const inputData = input.dataSync() as Float32Array;
for (const [model, dir] of parents) {
  const fp32 = await convert({ model: dir, precision: 'fp32', format: 'both', models: root, backend: 'wasm', force: true, log, onProgress: () => {} });
  const int8 = await convert({ model: dir, precision: 'uint8', format: 'both', eval: DATA, maxMiouDrop: 0.01, models: root, backend: 'wasm', force: true, log, onProgress: () => {} });
  fp32Dirs.set(model, fp32);
  int8Dirs.set(model, int8);
  const c = int8.onnx!.comparison!;
  quantized.push({
    model,
    fp32Bytes: fp32.onnx!.bytes,
    int8Bytes: int8.onnx!.bytes,
    ratio: int8.onnx!.bytes / fp32.onnx!.bytes,
    parentMiou: c.parent.miou,
    int8Miou: c.variant.miou,
    deltaMiouPoints: 100 * c.delta.miou,
    maskAgreement: c.maskAgreement,
  });
  const q = quantized.at(-1)!;
  console.log(`${model} int8 QDQ ONNX: ${(q.int8Bytes / 1024).toFixed(0)} KiB = ${q.ratio.toFixed(3)}× fp32 ONNX, mIoU ${(100 * q.parentMiou).toFixed(2)}% → ${(100 * q.int8Miou).toFixed(2)}% (${q.deltaMiouPoints >= 0 ? '+' : ''}${q.deltaMiouPoints.toFixed(2)} points), agreement ${(100 * q.maskAgreement).toFixed(2)}%`);

  const { model: layers } = await loadLayersModel(fp32.dir);
  // The trained parent as saved (BatchNorm and ReLU layers unfolded), for reference only: the ratios compare the same folded graph.
  const { model: unfolded } = await loadLayersModel(dir);
  const sessions = {
    'model.onnx': await ort.InferenceSession.create(readFileSync(join(fp32.dir, 'model.onnx')), ORT_ONE_THREAD),
    'model.int8.onnx': await ort.InferenceSession.create(readFileSync(join(int8.dir, 'model.int8.onnx')), ORT_ONE_THREAD),
  };
  const feed = () => ({ image: new ort.Tensor('float32', inputData, [1, INPUT_SIZE, INPUT_SIZE, 3]) });
  const ms = await interleaved(FRAMES, 3, {
    'tfjs-wasm': async () => {
      const y = layers.predict(input) as tf.Tensor;
      await y.data();
      y.dispose();
    },
    'tfjs-wasm parent': async () => {
      const y = unfolded.predict(input) as tf.Tensor;
      await y.data();
      y.dispose();
    },
    'model.onnx': () => sessions['model.onnx'].run(feed()),
    'model.int8.onnx': () => sessions['model.int8.onnx'].run(feed()),
  });
  layers.dispose();
  unfolded.dispose();
  for (const s of Object.values(sessions)) await s.release();
  const row = (engine: string, file: string, runs: number[]) => ({ model, engine, file, p50Ms: percentile(runs, 0.5), fps: 1000 / percentile(runs, 0.5) });
  latency.push(row('tfjs-wasm', 'model.json (fp32)', ms['tfjs-wasm']), row('tfjs-wasm', 'parent model.json (BN unfolded)', ms['tfjs-wasm parent']), row('onnxruntime-node', 'model.onnx', ms['model.onnx']), row('onnxruntime-node', 'model.int8.onnx', ms['model.int8.onnx']));
  for (const r of latency.filter((x) => x.model === model)) console.log(`  ${model} ${r.engine} ${r.file}: p50 ${r.p50Ms.toFixed(1)} ms/frame, ${r.fps.toFixed(1)} frames/s (1 thread, batch 1)`);
}
input.dispose();

// Where a frame's time goes on one thread, ORT engine: decode, preprocess, model, statistics, PNG.
const frameJpegs = await Promise.all(Array.from({ length: 8 }, (_, i) => jpeg(i, 480, 3)));
const smallOnnx = readFileSync(join(fp32Dirs.get('unet-small')!.dir, 'model.onnx'));
const profileSession = await ort.InferenceSession.create(smallOnnx, ORT_ONE_THREAD);
const stages = { decode: [] as number[], preprocess: [] as number[], model: [] as number[], stats: [] as number[], encode: [] as number[], 'stats via tfjs-wasm (not used)': [] as number[] };
for (let i = 0; i < FRAMES + 3; i++) {
  const t0 = performance.now();
  const img = await decodeImage(frameJpegs[i % frameJpegs.length]);
  const t1 = performance.now();
  const batch = tf.tidy(() => tf.expandDims(preprocessPixels(tf.tensor3d(img.data as Uint8Array, [img.height, img.width, 3], 'int32')), 0));
  const data = (await batch.data()) as Float32Array;
  batch.dispose();
  const t2 = performance.now();
  const out = await profileSession.run({ image: new ort.Tensor('float32', data, [1, INPUT_SIZE, INPUT_SIZE, 3]) }, ['logits']);
  const t3 = performance.now();
  const [seg] = summarizeLogitsData(out.logits.data as Float32Array, 1, DEFAULT_GEOMETRY);
  const t4 = performance.now();
  encodeMaskPng({ data: seg.mask, width: INPUT_SIZE, height: INPUT_SIZE });
  const t5 = performance.now();
  const logits = tf.tensor4d(out.logits.data as Float32Array, [1, INPUT_SIZE, INPUT_SIZE, 3]);
  await summarizeLogits(logits);
  logits.dispose();
  const t6 = performance.now();
  if (i < 3) continue;
  stages.decode.push(t1 - t0);
  stages.preprocess.push(t2 - t1);
  stages.model.push(t3 - t2);
  stages.stats.push(t4 - t3);
  stages.encode.push(t5 - t4);
  stages['stats via tfjs-wasm (not used)'].push(t6 - t5);
}
await profileSession.release();
const profile = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, percentile(v, 0.5)])) as Record<keyof typeof stages, number>;
const profileTotal = profile.decode + profile.preprocess + profile.model + profile.stats + profile.encode;
console.log(`frame path (640×480 JPEG → 128² PNG mask, ORT, 1 thread), p50 ms: ${Object.entries(profile).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}; model ${((100 * profile.model) / profileTotal).toFixed(0)}% of ${profileTotal.toFixed(1)} ms`);

// Streaming engine throughput on all cores: sessions per worker vs intra-op threads.
const cores = availableParallelism();
const streamFrames: FrameInput[] = (await Promise.all(Array.from({ length: 16 }, (_, i) => jpeg(i, 480, 5)))).map((bytes) => ({ bytes, contentType: 'image/jpeg' }));
const threading: { config: string; engine: string; workers: number; ortThreads: number; fps: number; decodeMs: number; inferenceMs: number }[] = [];
for (const [engine, workers, ortThreads] of [
  ['ort', cores, 1],
  ['ort', 1, cores],
  ['tfjs', cores, 1],
] as const) {
  const e = await InferencePool.start(fp32Dirs.get('unet-small')!.dir, { workers, engine, ortThreads, infer: { maskSize: 'model', maskFormat: 'png', maxSide: 4096 } });
  await Promise.all(streamFrames.map((f) => e.infer(f)));
  const t0 = performance.now();
  const outs = await Promise.all(Array.from({ length: STREAM_FRAMES }, (_, i) => e.infer(streamFrames[i % streamFrames.length])));
  const wall = performance.now() - t0;
  await e.close();
  const ok = outs.filter((o): o is Extract<typeof o, { ok: true }> => o.ok);
  const row = {
    config: engine === 'ort' ? (workers > 1 ? `${workers} workers × 1 ORT thread` : `1 worker × ${ortThreads} ORT threads`) : `${workers} tfjs-wasm workers`,
    engine,
    workers,
    ortThreads,
    fps: (1000 * ok.length) / wall,
    decodeMs: percentile(ok.map((o) => o.decodeMs), 0.5),
    inferenceMs: percentile(ok.map((o) => o.inferenceMs), 0.5),
  };
  threading.push(row);
  console.log(`stream engine, unet-small, ${row.config}: ${row.fps.toFixed(1)} frames/s over ${ok.length} frames (p50 decode ${row.decodeMs.toFixed(1)} ms, preprocess+model+stats ${row.inferenceMs.toFixed(1)} ms)`);
}
const ortRows = threading.filter((r) => r.engine === 'ort');
const bestThreading = ortRows.reduce((a, b) => (b.fps > a.fps ? b : a));

// Browser: runtime-web's segmenter in headless Chromium on 640×480 canvas frames, wasm backend,
// tfjs engine vs onnxruntime-web (wasm execution provider), one thread each.
interface BrowserRow {
  model: string;
  engine: string;
  file: string;
  provider: string | null;
  frames: number;
  p50Ms: number;
  modelP50Ms: number;
  fps: number;
}
const browserRows: BrowserRow[] = [];
await buildWeb();
const server = await startWebServer({ dist: HARNESS_DIST, models: root });
const browser = await launchBrowser({ webgpu: false });
let chromium = '';
try {
  chromium = browser.version();
  const page = await openHarness(browser, server.url);
  for (const [model, fp32] of fp32Dirs) {
    // fp32 on both engines (the ratio), then ORT on the int8 QDQ model for reference.
    for (const [engine, r, file] of [
      ['tfjs', fp32, 'model.json (fp32)'],
      ['ort', fp32, 'model.onnx'],
      ['ort', int8Dirs.get(model)!, 'model.int8.onnx'],
    ] as const) {
      const m = await page.evaluate(
        async ({ url, engine, frames }) => {
          type Seg = { info: { engine: { chosen: string; provider: string | null } }; segment(s: HTMLCanvasElement): Promise<{ timings: { total: number; inference: number; readback: number } }>; close(): Promise<void> };
          const api = (globalThis as unknown as { edgeseg: { createSegmenter(o: object): Promise<Seg> } }).edgeseg;
          const canvas = document.createElement('canvas');
          canvas.width = 640;
          canvas.height = 480;
          const ctx = canvas.getContext('2d')!;
          const seg = await api.createSegmenter({ model: url, backend: 'wasm', engine, cache: false });
          const total: number[] = [];
          const inference: number[] = [];
          const t0 = performance.now();
          for (let i = 0; i < frames + 3; i++) {
            ctx.fillStyle = `hsl(${(i * 37) % 360} 40% 50%)`;
            ctx.fillRect(0, 0, 640, 480);
            ctx.fillStyle = '#e0c090';
            ctx.beginPath();
            ctx.ellipse(320 + (i % 40) * 3, 240, 150, 110, 0, 0, 2 * Math.PI);
            ctx.fill();
            const res = await seg.segment(canvas);
            if (i >= 3) {
              total.push(res.timings.total);
              inference.push(res.timings.inference + res.timings.readback);
            }
          }
          const seconds = (performance.now() - t0) / 1000;
          const info = seg.info.engine;
          await seg.close();
          return { chosen: info.chosen, provider: info.provider, total, inference, seconds };
        },
        { url: `/models/${r.card.name}/${r.card.version}/`, engine, frames: FRAMES },
      );
      browserRows.push({ model, engine: m.chosen === 'ort' ? `onnxruntime-web (${m.provider})` : 'tfjs-wasm', file, provider: m.provider, frames: m.total.length, p50Ms: percentile(m.total, 0.5), modelP50Ms: percentile(m.inference, 0.5), fps: m.total.length / m.seconds });
      const row = browserRows.at(-1)!;
      console.log(`browser ${model} ${row.engine} ${row.file}: p50 ${row.p50Ms.toFixed(1)} ms/frame (model + readback ${row.modelP50Ms.toFixed(1)} ms), ${row.fps.toFixed(1)} frames/s over ${row.frames} frames`);
    }
  }
} finally {
  await browser.close();
  await server.close();
}
const browserRatio = (model: string) => {
  const [t, o] = [browserRows.find((r) => r.model === model && r.provider === null)!, browserRows.find((r) => r.model === model && r.file === 'model.onnx')!];
  return t.p50Ms / o.p50Ms;
};

const gflop = { 'unet-small': gflopOf('unet-small', BENCH_MODEL), 'unet-mobilenetv2': gflopOf('unet-mobilenetv2', {}) };
const ratio = (model: string, engine: string, file: string) => {
  const base = latency.find((r) => r.model === model && r.engine === 'tfjs-wasm' && r.file === 'model.json (fp32)')!;
  const other = latency.find((r) => r.model === model && r.engine === engine && r.file === file)!;
  return other.fps / base.fps;
};
const nodeRatio = ratio('unet-small', 'onnxruntime-node', 'model.onnx');

const nodeTable = [
  '| model | GFLOP/frame | engine | model file | p50 ms/frame | frames/s (1 thread, 1000/p50) | × tfjs-wasm |',
  '|---|---|---|---|---|---|---|',
  ...latency.map((r) => `| ${r.model} | ${gflop[r.model as keyof typeof gflop].toFixed(2)} | ${r.engine} | ${r.file} | ${r.p50Ms.toFixed(1)} | ${r.fps.toFixed(1)} | ${ratio(r.model, r.engine, r.file).toFixed(2)} |`),
].join('\n');
const quantTable = [
  '| model | fp32 ONNX bytes | int8 QDQ bytes | ratio | fp32 mIoU | int8 mIoU | Δ mIoU (points) | mask agreement |',
  '|---|---|---|---|---|---|---|---|',
  ...quantized.map((q) => `| ${q.model} | ${q.fp32Bytes.toLocaleString('en')} | ${q.int8Bytes.toLocaleString('en')} | ${q.ratio.toFixed(3)} | ${(100 * q.parentMiou).toFixed(2)}% | ${(100 * q.int8Miou).toFixed(2)}% | ${q.deltaMiouPoints.toFixed(2)} | ${(100 * q.maskAgreement).toFixed(2)}% |`),
].join('\n');
const threadTable = ['| configuration | frames/s | p50 decode ms | p50 preprocess+model+stats ms |', '|---|---|---|---|', ...threading.map((r) => `| ${r.config} | ${r.fps.toFixed(1)} | ${r.decodeMs.toFixed(1)} | ${r.inferenceMs.toFixed(1)} |`)].join('\n');
const browserTable = [
  '| model | engine | model file | p50 ms/frame (640×480 canvas → mask) | p50 model + readback ms | frames/s | × tfjs-wasm (p50) |',
  '|---|---|---|---|---|---|---|',
  ...browserRows.map((r) => `| ${r.model} | ${r.engine} | ${r.file} | ${r.p50Ms.toFixed(1)} | ${r.modelP50Ms.toFixed(1)} | ${r.fps.toFixed(1)} | ${(browserRows.find((x) => x.model === r.model && x.provider === null)!.p50Ms / r.p50Ms).toFixed(2)} |`),
].join('\n');
const profileTable = ['| stage | p50 ms |', '|---|---|', ...Object.entries(profile).map(([k, v]) => `| ${k} | ${v.toFixed(2)} |`)].join('\n');

console.log(`\n${nodeTable}\n\n${quantTable}\n\n${threadTable}\n\n${browserTable}\n`);
console.log(`threading on ${cores} cores: ${bestThreading.config} wins (${bestThreading.fps.toFixed(1)} frames/s)`);
console.log(`node ort/tfjs-wasm: ${nodeRatio.toFixed(2)}x`);
console.log(`browser ort/tfjs-wasm: ${browserRatio('unet-small').toFixed(2)}x`);

mkdirSync(BENCH_OUT, { recursive: true });
writeFileSync(
  benchOut('engines.json'),
  JSON.stringify({ bench: 'engines', machine, gflopPerFrame: gflop, parents, node: { latency, quantized, profile, threading, bestThreading: bestThreading.config }, browser: { chromium, rows: browserRows }, ratios: { nodeOrtOverTfjsWasm: nodeRatio, browserOrtOverTfjsWasm: browserRatio('unet-small') }, measured: new Date().toISOString() }, null, 2),
);
writeFileSync(
  benchOut('engines.md'),
  `# tfjs-wasm vs ONNX Runtime\n\nSame weights per model (trained parents in engines.json), batch 1, one thread per engine; ${machine.cpu} × ${machine.cores}.\n\n## Node\n\n${nodeTable}\n\n## int8 QDQ ONNX\n\nHeld-out split of \`${DATA}\`.\n\n${quantTable}\n\n## Streaming engine on ${cores} cores (unet-small fp32, 640×480 JPEG → PNG mask)\n\n${threadTable}\n\nChosen: ${bestThreading.config}.\n\n## Frame path, one thread (ORT)\n\n${profileTable}\n\n## Browser (headless Chromium ${chromium}, wasm backend, one thread each)\n\n${browserTable}\n\n- node ort/tfjs-wasm: ${nodeRatio.toFixed(2)}x\n- browser ort/tfjs-wasm: ${browserRatio('unet-small').toFixed(2)}x\n`,
);
