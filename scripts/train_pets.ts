/**
 * `npm run train:pets`: trains the pets model the repository ships in `data/models/pets/`, with one
 * command, on this machine's CPUs, from the developers' Oxford-IIIT Pet subset (`../shared/data`,
 * which a user's clone does not have; `--data` names another copy, e.g. the full dataset that
 * `edgeseg data fetch oxford-pets` downloads).
 *
 *   1. train `data/models/pets.train.json` (unet-mobilenetv2, slim decoder, encoder from the
 *      ImageNet MobileNetV2 in data/mobilenet-v2-imagenet, frozen for its first epochs)
 *   2. fp16 variant (the shipped root: half the bytes of fp32, same masks) behind the mIoU gate
 *   3. uint8 variant with the int8 QDQ ONNX model, calibrated on the training split, gated
 *   4. copies both variants into data/models/pets/ with the registry file, and the trained root's
 *      report (markdown, curves, held-out prediction grid, per-step metrics) into training/.
 *      Champion: the fp16 variant. The uint8 one is half its size, but in tfjs it gives up 0.7 mIoU
 *      and 1.3 foreground-IoU points on the held-out test (within the gate); its int8 ONNX model,
 *      which ONNX Runtime engines run, keeps the fp32 masks (−0.01 points).
 *
 *   tsx scripts/train_pets.ts [--data <spec>] [--from <trained model dir>] [--workers N]
 *
 * `--from` skips step 1 and ships an already trained version (its card must come from the config).
 */
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { printTrainResult, trainProgress } from '../cli/train_progress.js';
import { cliLogger } from '../cli/context.js';
import { convert } from '../converter/convert.js';
import { readCard, REGISTRY_FILE, setAlias } from '../core/node/registry.js';
import { PACKAGE_ROOT } from '../core/node/package_root.js';
import { train } from '../trainer/train.js';

const CONFIG = join(PACKAGE_ROOT, 'data', 'models', 'pets.train.json');
const SHIPPED = join(PACKAGE_ROOT, 'data', 'models');
const NAME = 'pets';
/** What of the trained root's run ships beside the variants (its fp32 weights do not). */
const TRAINING_REPORT = ['report.md', 'loss.svg', 'miou.svg', 'samples.png', 'metrics.jsonl', 'card.json'];

const { values } = parseArgs({ options: { data: { type: 'string' }, from: { type: 'string' }, workers: { type: 'string' } } });
const config = JSON.parse(readFileSync(CONFIG, 'utf8')) as Record<string, unknown>;
if (values.data) config.data = values.data;
if (values.workers) config.workers = Number(values.workers);
const data = String(config.data);
const out = resolve(String(config.out));
const log = cliLogger('train-pets');

let trained: { dir: string; version: string };
if (values.from) {
  trained = { dir: resolve(values.from), version: readCard(resolve(values.from)).version };
} else {
  console.log(`train-pets: ${config.model} ${JSON.stringify(config.modelConfig)} on ${data}, encoder from ${config.init}`);
  const result = await train(config, { log, onEvent: trainProgress() });
  printTrainResult(result);
  trained = result;
}

const gate = { eval: data, maxMiouDrop: 0.01, out, force: true, log, onProgress: (m: string) => console.log(`  ${m}`) };
console.log('fp16 variant (gate: at most 1 mIoU point below fp32)…');
const fp16 = await convert({ ...gate, model: trained.dir, precision: 'fp16' });
console.log('uint8 variant + int8 QDQ ONNX (same gate, calibrated on the training split)…');
const uint8 = await convert({ ...gate, model: trained.dir, precision: 'uint8', format: 'both' });

const target = join(SHIPPED, NAME);
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
for (const variant of [fp16, uint8]) cpSync(variant.dir, join(target, variant.card.version), { recursive: true });
mkdirSync(join(target, 'training'));
for (const file of TRAINING_REPORT) cpSync(join(trained.dir, file), join(target, 'training', file));
// The shipped registry holds this model only: a fresh file, champion = the fp16 variant.
rmSync(join(SHIPPED, REGISTRY_FILE), { force: true });
await setAlias(SHIPPED, NAME, 'champion', fp16.card.version, 'shipped by npm run train:pets');
for (const v of [fp16, uint8]) {
  const m = v.card.metrics!;
  console.log(`${NAME}/${v.card.version}: ${(v.card.bytes / 1e6).toFixed(2)} MB, held-out mIoU ${(100 * m.miou).toFixed(2)}%, fg IoU ${(100 * (m.foregroundIou ?? NaN)).toFixed(2)}%`);
}
console.log(`shipped: ${target} (champion ${fp16.card.version})`);
