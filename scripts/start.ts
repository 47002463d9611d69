/**
 * `npm start`: the main job, on real pets.
 *
 *   1. installs the pets model the repository ships (data/models/pets: unet-mobilenetv2 with an
 *      ImageNet MobileNetV2 encoder, trained on Oxford-IIIT Pet) into models/, verified against
 *      its SHA256SUMS, as the champion when there is none;
 *   2. fine-tunes it briefly on the real sample shipped in data/oxford-pets-sample (Oxford-IIIT
 *      Pet, CC BY-SA 4.0) and writes the new version with its card and report;
 *   3. converts that version to uint8 behind the accuracy gate (held-out: the sample's official
 *      test images);
 *   4. serves the live demo (camera or photo) with every version on localhost, the shipped model
 *      first.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { printTrainResult, trainProgress } from '../cli/train_progress.js';
import { cliLogger } from '../cli/context.js';
import { convert } from '../converter/convert.js';
import { readModelDir } from '../core/node/artifact_fs.js';
import { PACKAGE_ROOT } from '../core/node/package_root.js';
import { aliases, setAlias } from '../core/node/registry.js';
import { train } from '../trainer/train.js';
import { serveDemo } from './demo.js';

const MODELS = 'models';
const SHIPPED = join(PACKAGE_ROOT, 'data', 'models');
const NAME = 'pets';
const DATA = `oxford:${join(PACKAGE_ROOT, 'data', 'oxford-pets-sample')}`;
const log = cliLogger('start');
const pct = (x: number | undefined) => `${(100 * (x ?? NaN)).toFixed(1)}%`;

const shipped = aliases(SHIPPED, NAME).champion;
{
  const version = shipped;
  const into = join(MODELS, NAME, version);
  if (!existsSync(into)) {
    // Verified before it is copied: a corrupt checkout is refused here, not in the demo.
    await readModelDir(join(SHIPPED, NAME, version));
    cpSync(join(SHIPPED, NAME, version), into, { recursive: true });
  }
}
if (!aliases(MODELS, NAME).champion) await setAlias(MODELS, NAME, 'champion', shipped, 'the model edgeseg ships');
const champion = (await readModelDir(join(MODELS, NAME, shipped))).card;
console.log(`edgeseg: shipped model ${NAME}@${shipped} (${(champion.bytes / 1e6).toFixed(1)} MB, held-out fg IoU ${pct(champion.metrics?.foregroundIou)}, mIoU ${pct(champion.metrics?.miou)}) installed in ${MODELS}/`);

console.log(`fine-tuning ${NAME}@${shipped} on the real Oxford-IIIT Pet sample in data/oxford-pets-sample (3 short epochs, a few minutes on 2 cores)`);
const result = await train(
  {
    model: 'unet-mobilenetv2',
    name: NAME,
    initFrom: join(MODELS, NAME, shipped),
    data: DATA,
    epochs: 3,
    batchSize: 8,
    maxSteps: 24,
    learningRate: 1e-4,
    models: MODELS,
  },
  { log, onEvent: trainProgress() },
);
printTrainResult(result);
console.log('converting to uint8 (gate: at most 1 mIoU point below fp32 on the held-out test photos)…');
const variant = await convert({ model: result.dir, precision: 'uint8', eval: DATA, maxMiouDrop: 0.01, models: MODELS, force: true, log, onProgress: () => {} });
const delta = variant.comparison!.delta.miou;
console.log(`${variant.dir}: ${(variant.card.bytes / 1e6).toFixed(1)} MB (${(variant.card.bytes / variant.parentBytes).toFixed(2)}× fp32), mIoU ${delta >= 0 ? '+' : ''}${(100 * delta).toFixed(2)} points`);
console.log(`also: npx edgeseg predict --model ${NAME} --input <photo or folder> --out predictions/   (masks + overlays)`);
console.log('closed loop (feedback → retrain → gate → promote → hot-swap), a few minutes: npx edgeseg loop --demo');
console.log('benchmarks (not run here): npm run bench  (all of them; writes bench/report.md)');
const token = process.env.EDGESEG_FEEDBACK_TOKEN ?? randomBytes(12).toString('hex');
const feedback = { store: 'feedback', token };
const demo = await serveDemo({ models: MODELS, port: 5173, feedback }).catch(() => serveDemo({ models: MODELS, port: 0, feedback }));
console.log(`demo: ${demo.url}?model=${encodeURIComponent(`/models/${NAME}/${shipped}/`)}  (camera, or pick a photo of a pet; Ctrl-C to stop)`);
console.log(`feedback: the demo's "correct this frame" panel posts to ${new URL('/feedback', demo.url).href} with token ${token}; labels land in feedback/ (retrain with: npx edgeseg retrain --name ${NAME} --feedback feedback)`);
