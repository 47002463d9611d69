/**
 * `npm run bench:resolution`: masks at display resolution, measured (issue 25's goals).
 *
 *   - foreground IoU on the labelled test split: at the model's 128² (the contract's evaluation,
 *     trimaps resized nearest to 128²), and at each photo's full size against its original
 *     trimap, for the 128² mask resized nearest-neighbour (before) and for the logits upsampled
 *     bilinearly before the argmax (`outputSize: 'input'`, `--output-size input`);
 *   - the staircase excess of `edgeseg predict` masks at 640×480 (the test photos stretched to a
 *     camera frame): the share of horizontal class changes that fall where the 128 grid's
 *     nearest-neighbour source column changes, over the share of columns that are such grid
 *     columns (core's staircaseExcess). Nearest-neighbour masks give the maximum, 639/127 = 5.03
 *     at this width; a smooth edge about 1.0. Goal: ≤ 1.3.
 *
 * Writes bench/out/resolution.json.
 *
 *   npm run bench:resolution [-- --data oxford:../shared/data/oxford-pets-subset] [--model data/models/pets/2-fp16] [--limit 0]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { ConfusionMatrix, decodeMaskPng, geometryOf } from '../core/index.js';
import { normalizationOf } from '../core/contract.js';
import { argmaxData, staircaseExcess } from '../core/output_geometry.js';
import { imageToInput, resizeMask, trimapToClassIds } from '../core/preprocess.js';
import { classMasksAt } from '../core/upsample.js';
import { decodeImage } from '../core/node/decode_image.js';
import { PACKAGE_ROOT } from '../core/node/package_root.js';
import { tf } from '../core/node/tfjs.js';
import { openRunner } from '../cli/open_model.js';
import { openDataset } from '../datasets/dataset.js';
import { tempDir } from './helpers/fixtures.js';
import { BENCH_OUT, benchOut } from './helpers/smoke.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: `oxford:${join(PACKAGE_ROOT, 'data', 'oxford-pets-sample')}` },
    model: { type: 'string', default: join(PACKAGE_ROOT, 'data', 'models', 'pets', '2-fp16') },
    limit: { type: 'string', default: '0' },
  },
});
const FRAME = { width: 640, height: 480 };
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet } as never;

const spec = args.data!;
const root = spec.replace(/^oxford:/, '');
const dataset = await openDataset(spec, { splits: ['test'], log: quiet, print: () => {} });
const limit = Number(args.limit) || dataset.test.size;
const { runner, card } = await openRunner(args.model!, { engine: 'tfjs', backend: 'wasm', log: quiet });
const grid = geometryOf(card);
const normalization = normalizationOf(card);
console.log(`model ${card.name}@${card.version} on ${runner.engine} (${grid.width}×${grid.height}, ${grid.classes} classes, ${normalization} input); ${Math.min(limit, dataset.test.size)} test photos of ${spec}`);

const at128 = new ConfusionMatrix();
const fullNearest = new ConfusionMatrix();
const fullBilinear = new ConfusionMatrix();
const frames = tempDir('resolution');
mkdirSync(join(frames, 'in'), { recursive: true });
for (let i = 0; i < Math.min(limit, dataset.test.size); i++) {
  const s = await dataset.test.get(i);
  const file = (part: string) => {
    const p = s.files.find((f) => f.path.includes(part))!.path;
    return join(root, p.slice(p.indexOf(part)));
  };
  const bytes = readFileSync(file('images/'));
  const image = await decodeImage(bytes);
  const trimap = await sharp(readFileSync(file('annotations/trimaps/'))).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const truth = { data: trimapToClassIds(new Uint8Array(trimap.data)), width: trimap.info.width, height: trimap.info.height };
  const batch = tf.tidy(() => tf.expandDims(imageToInput(image, normalization, grid)) as tf.Tensor4D);
  const logits = await runner.predict(batch).finally(() => batch.dispose());
  const values = logits instanceof Float32Array ? logits : ((await logits.data()) as Float32Array);
  const mask = argmaxData(values, grid.classes);
  const [bilinear] = await classMasksAt(logits, grid, [truth]);
  if (!(logits instanceof Float32Array)) logits.dispose();
  at128.accumulate(s.mask, mask);
  fullNearest.accumulate(truth.data, resizeMask({ data: mask, width: grid.width, height: grid.height }, truth.width, truth.height).data);
  fullBilinear.accumulate(truth.data, bilinear);
  // The same photo as a 640×480 camera frame, for `edgeseg predict`.
  writeFileSync(join(frames, 'in', `${s.id}.png`), await sharp(bytes).removeAlpha().resize(FRAME.width, FRAME.height, { fit: 'fill' }).png().toBuffer());
}
await runner.dispose();
const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
console.log(`fg IoU at 128² (the contract's evaluation): ${pct(at128.foregroundIou())}`);
console.log(`fg IoU at full resolution, 128² mask resized nearest (before): ${pct(fullNearest.foregroundIou())}`);
console.log(`fg IoU at full resolution, logits upsampled bilinearly then argmax: ${pct(fullBilinear.foregroundIou())}`);
console.log(`full-resolution bilinear − 128² fg IoU: ${((fullBilinear.foregroundIou() - at128.foregroundIou()) * 100).toFixed(2)} points`);

/** Staircase excess of the mask PNGs in `dir`, each mask's weighted by its number of class changes. */
function pooledStaircase(dir: string, nearestFrom128: boolean): number {
  const masks = readdirSync(dir).filter((f) => f.endsWith('.mask.png'));
  // Weighted by each mask's number of class changes: the excess of all edges together.
  let weighted = 0;
  let weights = 0;
  for (const f of masks) {
    let m = decodeMaskPng(readFileSync(join(dir, f)));
    if (nearestFrom128) m = resizeMask(m, FRAME.width, FRAME.height);
    let changes = 0;
    for (let y = 0; y < m.height; y++) for (let x = 1; x < m.width; x++) changes += Number(m.data[y * m.width + x] !== m.data[y * m.width + x - 1]);
    const e = staircaseExcess(m.data, m.width, m.height, grid.width);
    if (!Number.isFinite(e)) continue;
    weighted += e * changes;
    weights += changes;
  }
  return weights ? weighted / weights : NaN;
}

const modelDir = join(frames, 'model');
const inputDir = join(frames, 'input');
for (const [out, size] of [[modelDir, 'model'], [inputDir, 'input']] as const) {
  execFileSync(process.execPath, [join(PACKAGE_ROOT, 'bin', 'edgeseg.js'), 'predict', '--model', args.model!, '--input', join(frames, 'in'), '--out', out, '--output-size', size, '--backend', 'wasm', '--engine', 'tfjs'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 15 * 60_000 });
}
const before = pooledStaircase(modelDir, true);
const after = pooledStaircase(inputDir, false);
console.log(`staircase excess of edgeseg predict masks at ${FRAME.width}×${FRAME.height}: before (128² nearest) ${before.toFixed(2)} (the maximum: ${(639 / 127).toFixed(2)}); --output-size input ${after.toFixed(2)} (goal ≤ 1.3)`);

mkdirSync(BENCH_OUT, { recursive: true });
writeFileSync(
  benchOut('resolution.json'),
  JSON.stringify(
    {
      measured: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model ?? '?', cores: cpus().length },
      model: `${card.name}@${card.version}`,
      data: spec,
      photos: Math.min(limit, dataset.test.size),
      foregroundIou: { at128: at128.foregroundIou(), fullNearest: fullNearest.foregroundIou(), fullBilinear: fullBilinear.foregroundIou() },
      staircaseExcess: { frame: FRAME, nearest: before, bilinear: after, maximum: 639 / 127 },
    },
    null,
    2,
  ) + '\n',
);
