/**
 * `npm start`: the main job. Trains the default U-Net on built-in synthetic data for a short,
 * bounded run, writes the versioned model with its card and report under models/ (champion if
 * there is none yet), converts it to a uint8 variant behind the accuracy gate, and ends by
 * serving the live demo with both on localhost.
 */
import { randomBytes } from 'node:crypto';
import { aliases, setAlias } from '../core/node/registry.js';
import { printTrainResult, trainProgress } from '../cli/train_progress.js';
import { cliLogger } from '../cli/context.js';
import { train } from '../trainer/train.js';
import { convert } from '../converter/convert.js';
import { serveDemo } from './demo.js';

const MODELS = 'models';
const DATA = 'synthetic:count=400,size=128,seed=1';
const log = cliLogger('start');

console.log('edgeseg: training unet-small on synthetic pets scenes (a bounded run of 120 steps, ~4 min on 2 cores)');
const result = await train(
  {
    model: 'unet-small',
    data: DATA,
    epochs: 3,
    batchSize: 8,
    maxSteps: 120,
    learningRate: 3e-3,
    schedule: 'cosine',
    out: MODELS,
  },
  { log, onEvent: trainProgress() },
);
printTrainResult(result);
if (!aliases(MODELS, result.card.name).champion) {
  await setAlias(MODELS, result.card.name, 'champion', result.version);
  console.log(`champion: ${result.card.name}@${result.version}`);
}
console.log('converting to uint8 (gate: at most 1 mIoU point below fp32)…');
const variant = await convert({ model: result.dir, precision: 'uint8', eval: DATA, maxMiouDrop: 0.01, out: MODELS, force: true, log, onProgress: () => {} });
const delta = variant.comparison!.delta.miou;
console.log(`${variant.dir}: ${(variant.card.bytes / 1024).toFixed(0)} KiB (${(variant.card.bytes / variant.parentBytes).toFixed(2)}× fp32), mIoU ${delta >= 0 ? '+' : ''}${(100 * delta).toFixed(2)} points`);
console.log('also: npx edgeseg predict --model unet-small --input <image or folder> --out predictions/');
console.log('closed loop (feedback → retrain → gate → promote → hot-swap), a few minutes: npx edgeseg loop --demo');
console.log('benchmarks (not run here): npm run bench  (all of them; writes bench/report.md)');
const token = process.env.EDGESEG_FEEDBACK_TOKEN ?? randomBytes(12).toString('hex');
const feedback = { store: 'feedback', token };
const demo = await serveDemo({ models: MODELS, port: 5173, feedback }).catch(() => serveDemo({ models: MODELS, port: 0, feedback }));
console.log(`demo: ${demo.url}?model=${encodeURIComponent(`/models/${result.card.name}/${result.version}/`)}  (Ctrl-C to stop)`);
console.log(`feedback: the demo's "correct this frame" panel posts to ${new URL('/feedback', demo.url).href} with token ${token}; labels land in feedback/ (retrain with: npx edgeseg retrain --name ${result.card.name} --feedback feedback)`);
