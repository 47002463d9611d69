/// <reference lib="dom" />
/**
 * bench:pets — the Oxford-IIIT Pet model on real photos, in two parts measured in one run:
 *
 * `compare`: --init vs from scratch under the same step budget. Two trainings of the shipped
 * model's architecture and recipe (data/models/pets.train.json: unet-mobilenetv2 with the slim
 * decoder, its learning rate, schedule and seed) on the same data for the same number of steps,
 * one with the encoder from the ImageNet MobileNetV2 (frozen for its first epoch), one from a
 * seeded random init. At every epoch end: validation mIoU (the run's metrics.jsonl) and held-out
 * mIoU and foreground IoU (that epoch's checkpoint on the held-out split, see
 * helpers/epoch_snapshots.ts). Prints `init/scratch held-out mIoU: <x>x`.
 *
 * `shipped`: the model in data/models/pets (`npm run train:pets`): bytes and held-out pixel
 * accuracy, mIoU and foreground IoU of the fp16 root, the uint8 variant and its int8 ONNX model
 * (ONNX Runtime), the fp32 parent's from the fp16 card (the fp32 model is not shipped), and the
 * fp32 ONNX of the same graph (the fp16 weights widened); ms/image on one core in Node (ONNX
 * Runtime, one intra-op thread, batch 1, medians of interleaved runs) for the int8 and fp32 ONNX
 * models; ms/frame and foreground IoU of held-out photos in headless Chromium (runtime-web, wasm).
 * Ends with `pets fg IoU <x>; ms/image <y> (one core, ORT)` and the issue's reference figures.
 *
 * `teacher`: the DeepLab teacher (imported from data/deeplabv3-mnv2-pascal/) against the shipped
 * student on the held-out split (helpers/pets_teacher.ts). Prints `teacher fg IoU <x>; student fg
 * IoU <y>` and `student/teacher latency <r>x` (ORT, one core, each at its own input size).

 *
 * Writes bench/out/pets.json (a part left out with --only keeps its last results) and rebuilds
 * bench/report.md (not with --skip-report). Run from the package root (npm run does).
 *
 *   npm run bench:pets [-- --data oxford:<dir> --steps 120 --batch 8 --workers 2 --only compare,shipped,teacher
 *                         --models data/models --name pets --runs 60 --frames 40 --photos 12 --skip-report]
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { ConfigError, ConfusionMatrix, createLogger, type SegmentationMetrics } from '../core/index.js';
import { tfjsModelOf } from '../core/artifacts.js';
import { normalizationOf } from '../core/contract.js';
import { type ModelRunner } from '../core/engine.js';
import { percentile } from '../core/metrics.js';
import { ortRunner, ortSessionOptions } from '../core/ort_runner.js';
import { loadLayersModel, readModelDir } from '../core/node/artifact_fs.js';
import { PACKAGE_ROOT } from '../core/node/package_root.js';
import { aliases } from '../core/node/registry.js';
import { graphFromArtifacts } from '../converter/fold.js';
import { exportOnnx } from '../converter/onnx/export.js';
import { openDataset, type SampleSet } from '../datasets/dataset.js';
import { evaluate } from '../datasets/evaluate.js';
import { train } from '../trainer/train.js';
import { openRunner } from '../cli/open_model.js';
import { ProgressBar } from '../cli/progress.js';
import { trainProgress } from '../cli/train_progress.js';
import { startWebServer } from '../scripts/web_server.js';
import { buildWeb, HARNESS_DIST, launchBrowser, openHarness } from './helpers/browser.js';
import { EpochSnapshots, type EpochScore } from './helpers/epoch_snapshots.js';
import { segmentPhotos } from './helpers/photo_frames.js';
import { writeReport } from './report.js';
import { BENCH_OUT, SMOKE } from './helpers/smoke.js';
import { interleaved } from './helpers/interleaved.js';
import { teacherVsStudent } from './helpers/pets_teacher.js';
import { folderBytes, shippedVersions } from './helpers/pets_shipped.js';

const PARTS = ['compare', 'shipped', 'teacher'] as const;
type Part = (typeof PARTS)[number];
const SHARED_SUBSET = '../shared/data/oxford-pets-subset';
const SAMPLE = 'data/oxford-pets-sample';
const OUT = SMOKE ? BENCH_OUT : join(import.meta.dirname, 'out');
const JSON_OUT = join(OUT, 'pets.json');

/** The issue's reference (issue 12), printed beside the measured figures: not measured here. */
const REFERENCE = { model: 'DeepLabv3 + MobileNetV2 (int8 TFLite, 513² input, PASCAL VOC, cat|dog as foreground)', megabytes: 2.2, foregroundIou: 0.91, msPerImage: 107, resolution: 128 };

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    steps: { type: 'string', default: '120' },
    batch: { type: 'string', default: '8' },
    workers: { type: 'string', default: '2' },
    only: { type: 'string' },
    models: { type: 'string', default: 'data/models' },
    name: { type: 'string', default: 'pets' },
    runs: { type: 'string', default: '60' },
    frames: { type: 'string', default: '40' },
    photos: { type: 'string', default: '12' },
    'skip-report': { type: 'boolean', default: false },
  },
});

function positive(flag: keyof typeof args): number {
  const v = Number(args[flag]);
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(`--${flag} must be an integer ≥ 1, got ${args[flag]}`);
  return v;
}
const STEPS = positive('steps');
const BATCH = positive('batch');
const WORKERS = positive('workers');
const RUNS = positive('runs');
const FRAMES = positive('frames');
const PHOTOS = positive('photos');
const parts = (args.only ?? PARTS.join(',')).split(',').map((s) => s.trim()) as Part[];
for (const p of parts) if (!PARTS.includes(p)) throw new ConfigError(`--only: unknown part '${p}' (parts: ${PARTS.join(', ')})`);
const DATA = args.data ?? (existsSync(SHARED_SUBSET) ? `oxford:${SHARED_SUBSET}` : `oxford:${SAMPLE}`);
const log = createLogger('bench', { level: 'warn' });
const machine = { cpu: cpus()[0]?.model ?? 'cpu', cores: availableParallelism() };

type HeldOut = Pick<SegmentationMetrics, 'pixelAccuracy' | 'miou' | 'foregroundIou'>;
const heldOutOf = (m: Partial<SegmentationMetrics> | null | undefined): HeldOut => ({ pixelAccuracy: m?.pixelAccuracy ?? NaN, miou: m?.miou ?? NaN, foregroundIou: m?.foregroundIou ?? NaN });
const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(2)}%` : 'n/a');

/** Held-out pixel accuracy, mIoU and foreground IoU of a model or runner on a set, with a progress bar. */
async function scored(runner: Parameters<typeof evaluate>[0], set: SampleSet, label: string): Promise<HeldOut> {
  const bar = new ProgressBar({ label, total: set.size });
  const e = await evaluate(runner, set, { batchSize: 8, onProgress: (d) => bar.update(d) });
  bar.done();
  return heldOutOf(e.metrics);
}

// ─── compare: --init vs from scratch ────────────────────────────────────────────────────────

interface Arm {
  arm: 'init' | 'scratch';
  /** The pretrained weights file, or null from scratch. */
  init: string | null;
  freezeEncoderEpochs: number;
  normalization: string;
  steps: number;
  seconds: number;
  final: HeldOut;
  epochs: EpochScore[];
}

async function compare() {
  const recipe = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'data', 'models', 'pets.train.json'), 'utf8')) as Record<string, unknown>;
  const root = join(OUT, 'pets', 'models');
  rmSync(root, { recursive: true, force: true });
  const arms: Arm[] = [];
  let heldOut = { split: '', images: 0 };
  for (const arm of ['init', 'scratch'] as const) {
    const init = arm === 'init' ? resolve(PACKAGE_ROOT, String(recipe.init)) : null;
    const freeze = init ? 1 : 0;
    console.log(`\n${arm}: ${recipe.model} ${JSON.stringify(recipe.modelConfig)}, ${init ? `encoder from ${String(recipe.init)}, frozen for epoch 1` : 'seeded random init'}; ${STEPS} steps of batch ${BATCH} on ${DATA}, ${WORKERS} workers`);
    const snapshots = new EpochSnapshots(join(OUT, 'pets', `snapshots-${arm}`));
    const progress = trainProgress();
    try {
      const r = await train(
        {
          model: String(recipe.model),
          modelConfig: recipe.modelConfig as Record<string, unknown>,
          name: `bench-pets-${arm}`,
          data: DATA,
          // The step budget ends the run; epochs only need to be enough of them.
          epochs: STEPS,
          maxSteps: STEPS,
          batchSize: BATCH,
          learningRate: Number(recipe.learningRate),
          schedule: recipe.schedule as 'cosine',
          warmupSteps: Number(recipe.warmupSteps ?? 0),
          seed: Number(recipe.seed ?? 1),
          workers: WORKERS,
          backend: 'wasm',
          models: root,
          // Every epoch runs and the version keeps the last epoch's weights, so its card is the last point of the curve.
          patience: 0,
          restoreBest: false,
          // Checkpoints at epoch ends only: each is one epoch's snapshot.
          checkpointEvery: STEPS + 1,
          reportSamples: 0,
          init,
          freezeEncoderEpochs: freeze,
        },
        {
          log,
          print: (line) => console.log(line),
          onEvent: (e) => {
            progress(e);
            snapshots.onEvent(e);
          },
        },
      );
      const normalization = normalizationOf(r.card);
      const data = await openDataset(DATA, { splits: ['held-out'], normalization, log: log.child('data'), print: () => {} });
      try {
        heldOut = { split: data.heldOutSplit, images: data.heldOut.size };
        const { model } = await loadLayersModel(r.dir);
        const final = heldOutOf(r.card.metrics);
        const epochs = await snapshots.score(model, data.heldOut, join(r.dir, 'metrics.jsonl'), final, (epoch) => console.log(`  epoch ${epoch} weights on the held-out ${data.heldOutSplit} split (${data.heldOut.size} images)…`));
        model.dispose();
        const training = r.card.training as { steps: number; seconds: number };
        arms.push({ arm, init: init ? String(recipe.init) : null, freezeEncoderEpochs: freeze, normalization, steps: training.steps, seconds: training.seconds, final, epochs });
      } finally {
        await data.close();
      }
    } finally {
      snapshots.dispose();
    }
    const a = arms.at(-1)!;
    console.log(`${arm}: held-out (${heldOut.split}, ${heldOut.images} images) mIoU ${pct(a.final.miou)}, fg IoU ${pct(a.final.foregroundIou)} after ${a.steps} steps in ${a.seconds.toFixed(0)} s`);
    for (const e of a.epochs) console.log(`  epoch ${e.epoch} (step ${e.step}): val mIoU ${pct(e.valMiou)}; held-out mIoU ${pct(e.heldOut.miou)}, fg IoU ${pct(e.heldOut.foregroundIou)}`);
  }
  rmSync(root, { recursive: true, force: true });
  const [withInit, scratch] = arms;
  const ratios = { 'init/scratch held-out mIoU': withInit.final.miou / scratch.final.miou, 'init/scratch held-out fg IoU': withInit.final.foregroundIou / scratch.final.foregroundIou };
  console.log(`init/scratch held-out mIoU: ${ratios['init/scratch held-out mIoU'].toFixed(2)}x`);
  return { measured: new Date().toISOString(), data: DATA, heldOut, steps: STEPS, batch: BATCH, workers: WORKERS, recipe, arms, ratios, load: loadavg() };
}

// ─── shipped: sizes, held-out metrics, latency ──────────────────────────────────────────────

interface MetricRow extends HeldOut {
  variant: string;
  file: string;
  engine: string;
  bytes: number;
  /** Measured in this run, or read from a card. */
  source: 'measured' | 'card';
  note?: string;
}

async function shipped() {
  const root = resolve(args.models);
  const name = args.name;
  const { fp16, uint8 } = shippedVersions(root, name);
  const normalization = normalizationOf(fp16.card);
  const data = await openDataset(DATA, { splits: ['held-out'], normalization, log: log.child('data') });
  const set = data.heldOut;
  console.log(`shipped ${name}: ${fp16.card.version} and ${uint8.card.version} (champion ${aliases(root, name).champion ?? 'none'}) from ${root}; held-out ${data.heldOutSplit} split of ${data.spec}, ${set.size} images`);
  const rows: MetricRow[] = [];
  try {
    const parent = fp16.card.parentVersion ?? '?';
    const parentMetrics = (fp16.card.conversion as { parentMetrics?: SegmentationMetrics } | undefined)?.parentMetrics;
    rows.push({
      variant: 'fp32',
      file: `${name}/${parent} (not shipped)`,
      engine: '-',
      bytes: fp16.card.params * 4,
      source: 'card',
      note: `metrics from the fp16 card's parent (${parent}) on ${fp16.card.evaluation?.spec ?? '?'}; bytes = params × 4`,
      ...heldOutOf(parentMetrics),
    });
    const int8File = 'model.int8.onnx';
    const int8Path = join(uint8.dir, int8File);
    if (!existsSync(int8Path)) throw new ConfigError(`${uint8.dir} has no ${int8File}; convert the shipped uint8 variant with --format both`);
    for (const [v, engine, file] of [
      [fp16, 'tfjs', 'model.json'],
      [uint8, 'tfjs', 'model.json'],
      [uint8, 'ort', int8File],
    ] as const) {
      const { runner } = await openRunner(v.dir, { engine, backend: 'wasm', log });
      try {
        const m = await scored(runner, set, `${v.card.version} ${engine}`);
        rows.push({ variant: v.card.precision, file: `${name}/${v.card.version}/${file}`, engine: engine === 'ort' ? 'onnxruntime-node' : 'tfjs-wasm', bytes: engine === 'ort' ? statSync(int8Path).size : v.card.bytes, source: 'measured', ...m });
      } finally {
        await runner.dispose();
      }
    }
    // The fp32 ONNX model of the shipped graph: the fp16 root's folded graph with its weights widened (same ops and shapes as the fp32 parent's export).
    const verified = await readModelDir(fp16.dir);
    const fp32Onnx = exportOnnx(graphFromArtifacts(tfjsModelOf(verified, verified.dir), verified.weightData), { weights: 'float32', normalization, metadata: { name, parentVersion: parent } }).bytes;
    const fp32Runner: ModelRunner = await ortRunner(ort, fp32Onnx, { threads: 1, contract: fp16.card.contract });
    try {
      rows.push({ variant: 'fp32 (fp16 weights widened)', file: 'model.onnx (exported here)', engine: 'onnxruntime-node', bytes: fp32Onnx.byteLength, source: 'measured', ...(await scored(fp32Runner, set, 'fp32 onnx')) });
    } finally {
      await fp32Runner.dispose();
    }
    for (const r of rows) console.log(`  ${r.variant.padEnd(28)} ${r.engine.padEnd(17)} ${(r.bytes / 1e6).toFixed(2).padStart(6)} MB  pixel acc ${pct(r.pixelAccuracy)}  mIoU ${pct(r.miou)}  fg IoU ${pct(r.foregroundIou)}${r.source === 'card' ? `  (${r.note})` : ''}`);

    // Node, one core: one intra-op thread, sequential, batch 1, a held-out photo as input.
    const input = new ort.Tensor('float32', (await set.get(0)).image, [1, ...fp16.card.contract.input.shape.slice(1).map(Number)]);
    const options = ortSessionOptions({ threads: 1 });
    const sessions = { [int8File]: await ort.InferenceSession.create(readFileSync(int8Path), options), 'model.onnx (fp32)': await ort.InferenceSession.create(fp32Onnx, options) };
    const feeds = { [uint8.card.contract.input.name]: input };
    const fetches = [uint8.card.contract.output.name];
    console.log(`Node, ONNX Runtime ${ort.env.versions.common} on one core: ${RUNS} interleaved runs each…`);
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    const ms = await interleaved(RUNS, 5, Object.fromEntries(Object.entries(sessions).map(([k, s]) => [k, () => s.run(feeds, fetches)])));
    // Evidence for "one core": the process's CPU time over the timed loop's wall time (≈ 1 when one thread does the work).
    const cpu = process.cpuUsage(cpu0);
    const cpuPerWall = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0);
    for (const s of Object.values(sessions)) await s.release();
    console.log(`  CPU time / wall time over the runs: ${cpuPerWall.toFixed(2)}`);
    const node = Object.entries(ms).map(([file, runs]) => ({ file, runs: runs.length, p50Ms: percentile(runs, 0.5), p90Ms: percentile(runs, 0.9), minMs: Math.min(...runs) }));
    for (const r of node) console.log(`  ${r.file}: p50 ${r.p50Ms.toFixed(1)} ms/image, p90 ${r.p90Ms.toFixed(1)}, min ${r.minMs.toFixed(1)} (batch 1)`);

    // Browser: runtime-web in headless Chromium on wasm, held-out photos at their own size.
    const picks = await Promise.all(Array.from({ length: Math.min(PHOTOS, set.size) }, (_, i) => set.get(Math.floor((i * set.size) / Math.min(PHOTOS, set.size)))));
    const photos = picks.map((s) => readFileSync(s.files[0].path).toString('base64'));
    await buildWeb();
    const server = await startWebServer({ dist: HARNESS_DIST, models: root });
    const browser = await launchBrowser({ webgpu: false });
    const web: { engine: string; file: string; frames: number; p50Ms: number; modelP50Ms: number; fps: number; foregroundIou: number; miou: number }[] = [];
    let chromium = '';
    try {
      chromium = browser.version();
      const page = await openHarness(browser, server.url);
      for (const [v, engine, file] of [
        [uint8, 'tfjs', 'model.json (uint8)'],
        [uint8, 'ort', `${int8File}`],
        [fp16, 'tfjs', 'model.json (fp16)'],
      ] as const) {
        const r = await segmentPhotos(page, { url: `/models/${name}/${v.card.version}/`, backend: 'wasm', engine, photos, frames: FRAMES });
        const confusion = new ConfusionMatrix();
        r.masks.forEach((m, i) => confusion.accumulate(picks[i].mask, m));
        const m = confusion.metrics();
        web.push({ engine: r.chosen === 'ort' ? `onnxruntime-web (${r.provider})` : 'tfjs-wasm', file: `${v.card.version}/${file}`, frames: r.totalMs.length, p50Ms: percentile(r.totalMs, 0.5), modelP50Ms: percentile(r.modelMs, 0.5), fps: r.totalMs.length / r.seconds, foregroundIou: m.foregroundIou, miou: m.miou });
        const w = web.at(-1)!;
        console.log(`  Chromium ${w.engine} ${w.file}: p50 ${w.p50Ms.toFixed(1)} ms/frame (model + readback ${w.modelP50Ms.toFixed(1)}), ${w.fps.toFixed(1)} frames/s; fg IoU ${pct(w.foregroundIou)} on ${photos.length} held-out photos`);
      }
    } finally {
      await browser.close();
      await server.close();
    }

    const int8Row = rows.find((r) => r.file.endsWith(int8File))!;
    const fp32Row = rows[0];
    const uint8Row = rows.find((r) => r.variant === 'uint8' && r.engine === 'tfjs-wasm')!;
    const headline = { foregroundIou: int8Row.foregroundIou, msPerImage: node.find((n) => n.file === int8File)!.p50Ms };
    const goals = {
      'fg IoU ≥ 0.92 (int8 ONNX)': headline.foregroundIou >= 0.92,
      'mIoU ≥ 0.75 (int8 ONNX)': int8Row.miou >= 0.75,
      'uint8 ≤ 3 MB': uint8Row.bytes <= 3e6,
      'uint8 within 1 mIoU point of fp32': Math.abs(uint8Row.miou - fp32Row.miou) <= 0.01,
      [`ms/image ≤ ${REFERENCE.msPerImage / 2} (half the reference)`]: headline.msPerImage <= REFERENCE.msPerImage / 2,
    };
    return {
      measured: new Date().toISOString(),
      data: data.spec,
      heldOut: { split: data.heldOutSplit, images: set.size },
      root: args.models,
      name,
      versions: { fp16: fp16.card.version, uint8: uint8.card.version, parent: fp16.card.parentVersion, champion: aliases(root, name).champion ?? null },
      shippedBytes: folderBytes(fp16.dir) + folderBytes(uint8.dir),
      rows,
      node: { ort: ort.env.versions.common, runs: RUNS, cpuPerWall, rows: node },
      browser: { chromium, photos: photos.length, frames: FRAMES, rows: web },
      headline,
      goals,
      ratios: { 'reference ms / int8 ms (one core)': REFERENCE.msPerImage / headline.msPerImage, 'fp32 ONNX ms / int8 ONNX ms': node.find((n) => n.file !== int8File)!.p50Ms / headline.msPerImage },
      load: loadavg(),
    };
  } finally {
    await data.close();
  }
}

// ─── teacher vs student ───────────────────────────────────────

async function teacher() {
  const root = resolve(args.models);
  const { uint8 } = shippedVersions(root, args.name);
  // The student's input normalization (the teacher decodes the photos itself).
  const data = await openDataset(DATA, { splits: ['held-out'], normalization: normalizationOf(uint8.card), log: log.child('data') });
  try {
    const r = await teacherVsStudent({ models: join(OUT, 'pets', 'teacher'), student: uint8.dir, set: data.heldOut, runs: RUNS });
    rmSync(join(OUT, 'pets', 'teacher'), { recursive: true, force: true });
    console.log(`  teacher ${r.teacher.version} (${r.teacher.inputSize}²): fg IoU ${pct(r.teacher.foregroundIou)}, p50 ${r.teacher.p50Ms.toFixed(1)} ms/image; student ${r.student.version} ${r.student.file} (${r.student.inputSize}²): fg IoU ${pct(r.student.foregroundIou)}, mIoU ${pct(r.student.miou)}, p50 ${r.student.p50Ms.toFixed(1)} ms/image`);
    return { measured: new Date().toISOString(), data: data.spec, heldOut: { split: data.heldOutSplit, images: data.heldOut.size }, ...r, load: loadavg() };
  } finally {
    await data.close();
  }
}

// ─── run, write, report ─────────────────────────────────────────────────────────────────────

mkdirSync(OUT, { recursive: true });
const previous = existsSync(JSON_OUT) ? (JSON.parse(readFileSync(JSON_OUT, 'utf8')) as Record<string, unknown>) : {};
const result: Record<string, unknown> = { ...previous, bench: 'pets', machine, reference: REFERENCE };
for (const part of parts) {
  result[part] = part === 'compare' ? await compare() : part === 'shipped' ? await shipped() : await teacher();
  result.measured = new Date().toISOString();
  // Each part is kept as soon as it is done: a failure in the next leaves it in place.
  writeFileSync(JSON_OUT, JSON.stringify(result, null, 2) + '\n');
}
console.log(`\n${JSON_OUT}${args['skip-report'] || SMOKE ? '' : `; report: ${writeReport().md}`}`);
const c = result.compare as Awaited<ReturnType<typeof compare>> | undefined;
const s = result.shipped as Awaited<ReturnType<typeof shipped>> | undefined;
if (c) console.log(`init/scratch held-out mIoU: ${c.ratios['init/scratch held-out mIoU'].toFixed(2)}x (${c.heldOut.split} split, ${c.heldOut.images} images; ${c.steps} steps each${parts.includes('compare') ? '' : `, measured ${c.measured}`})`);
const t = result.teacher as Awaited<ReturnType<typeof teacher>> | undefined;
if (t) {
  console.log(`teacher fg IoU ${t.teacher.foregroundIou.toFixed(3)}; student fg IoU ${t.student.foregroundIou.toFixed(3)} (${t.heldOut.split} split, ${t.heldOut.images} images, 128², border ignored)`);
  console.log(`student/teacher latency ${t.ratios['student/teacher latency'].toFixed(3)}x (ORT, one core, ${t.student.inputSize}² vs ${t.teacher.inputSize}²)`);
}
if (s) {
  console.log(`reference (issue 12, not measured here): ${REFERENCE.model}: ${REFERENCE.megabytes} MB, fg IoU ${REFERENCE.foregroundIou} at ${REFERENCE.resolution}², ${REFERENCE.msPerImage} ms/image on one core`);
  console.log(`pets fg IoU ${s.headline.foregroundIou.toFixed(3)}; ms/image ${s.headline.msPerImage.toFixed(1)} (one core, ORT)`);
}
