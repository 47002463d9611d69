/**
 * The imported DeepLab against Google's LiteRT interpreter on the developers' labelled test split
 * (a measurement for the notes, not a test: the split lives outside the repository).
 *
 *   npx tsx bench/tflite_parity.ts [--data ../shared/data/oxford-pets-subset] [--model <file.tflite>] [--labels <file>]
 *
 * For every photo of `annotations/test.txt`: core's preprocessing at the model's size, the
 * imported version on ONNX Runtime (one thread) and LiteRT (scripts/tflite_reference.py, fed the
 * very bytes the imported graph feeds its first layer). Prints the share of pixels whose class
 * ids agree and, for both, the foreground IoU against the trimap (pet = cat | dog, trimap border
 * pixels ignored; the trimap stretched to the model's size by core's nearest-neighbour mask
 * resize), then the one-thread latency of both per frame (the model call alone, medians over the
 * same frames; the two run one after the other, so a busy machine can favour either).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { inputSizeOf, normalizationOf } from '../core/contract.js';
import { decodePngChannel } from '../core/mask_codec.js';
import { ortRunner } from '../core/ort_runner.js';
import { resizeMask } from '../core/preprocess.js';
import { decodeImage } from '../core/node/decode_image.js';
import { tf } from '../core/node/tfjs.js';
import { importModel } from '../converter/import/import_model.js';
import { parseLabelsOption } from '../converter/import/labels.js';
import { parseTflite } from '../core/node/tflite/reader.js';
import { tempDir } from './helpers/fixtures.js';
import { agreement, classIds, foregroundCounts, InputCoder, modelInput } from './helpers/tflite_parity.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/oxford-pets-subset' },
    model: { type: 'string', default: 'data/deeplabv3-mnv2-pascal/deeplabv3_mnv2_pascal_quant.tflite' },
    labels: { type: 'string', default: 'data/deeplabv3-mnv2-pascal/pascal_voc_segmentation_labels.txt' },
  },
});
const work = tempDir('tflite-parity');
const { dir, card } = await importModel({ path: values.model!, name: 'teacher', models: work, labels: parseLabelsOption(values.labels!) });
const size = inputSizeOf(card);
const normalization = normalizationOf(card);
const pet = new Set(['cat', 'dog'].map((c) => card.contract.classes.indexOf(c)).filter((i) => i >= 0));
if (pet.size !== 2) throw new Error(`${basename(values.model!)} names no cat and dog classes`);

const names = readFileSync(join(values.data!, 'annotations', 'test.txt'), 'utf8')
  .split('\n')
  .map((l) => l.trim().split(/\s+/)[0])
  .filter((n) => n && !n.startsWith('#') && existsSync(join(values.data!, 'images', `${n}.jpg`)));
const coder = await InputCoder.create(parseTflite(new Uint8Array(readFileSync(values.model!)), basename(values.model!)), normalization);
const runner = await ortRunner(ort, new Uint8Array(readFileSync(join(dir, 'model.onnx'))), { contract: card.contract, threads: 1 });
const codes: Uint8Array[] = [];
const ours: Uint8Array[] = [];
const trimaps: Uint8Array[] = [];
const ms: number[] = [];
for (const name of names) {
  const img = await decodeImage(new Uint8Array(readFileSync(join(values.data!, 'images', `${name}.jpg`))));
  const input = modelInput(img, normalization, size);
  codes.push(await coder.code(input));
  const batch = tf.tensor4d(input, [1, size.height, size.width, 3]);
  const t0 = performance.now();
  const logits = (await runner.predict(batch)) as Float32Array;
  ms.push(performance.now() - t0);
  ours.push(classIds(logits, card.contract.classes.length));
  batch.dispose();
  trimaps.push(resizeMask(decodePngChannel(new Uint8Array(readFileSync(join(values.data!, 'annotations', 'trimaps', `${name}.png`)))), size.width, size.height).data);
}
await coder.release();
writeFileSync(join(work, 'codes.bin'), Buffer.concat(codes));
writeFileSync(join(work, 'codes.bin.names'), names.join('\n') + '\n');
const litert = execFileSync('python3', ['scripts/tflite_reference.py', '--model', values.model!, '--codes', join(work, 'codes.bin'), '--out', join(work, 'litert')], { stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' }).trim();

let same = 0;
let pixels = 0;
const iou = { ours: { intersection: 0, union: 0 }, litert: { intersection: 0, union: 0 } };
names.forEach((name, k) => {
  const ref = decodePngChannel(new Uint8Array(readFileSync(join(work, 'litert', `${name}.png`)))).data;
  same += agreement(ours[k], ref) * ref.length;
  pixels += ref.length;
  for (const [who, ids] of [['ours', ours[k]], ['litert', ref]] as const) {
    const c = foregroundCounts(ids, trimaps[k], pet);
    iou[who].intersection += c.intersection;
    iou[who].union += c.union;
  }
});
const fg = (c: { intersection: number; union: number }) => c.intersection / c.union;
ms.sort((a, b) => a - b);
await runner.dispose();
console.log(`${names.length} test photos of ${values.data} at ${size.height}×${size.width}`);
console.log(`class-id agreement with LiteRT: ${(100 * same / pixels).toFixed(3)}% of ${pixels} pixels`);
console.log(`fg IoU (pet = cat|dog, border ignored): imported ${fg(iou.ours).toFixed(4)}, LiteRT ${fg(iou.litert).toFixed(4)} (Δ ${(100 * (fg(iou.ours) - fg(iou.litert))).toFixed(3)} points)`);
console.log(`imported on ONNX Runtime, one thread (intraOpNumThreads 1): median ${ms[Math.floor(ms.length / 2)].toFixed(1)} ms/frame over the ${ms.length} frames (min ${ms[0].toFixed(1)})`);
console.log(litert.split('; ').at(-1));
