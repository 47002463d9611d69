/**
 * `npm start`: the main job. Trains the default U-Net on built-in synthetic data for a short,
 * bounded run, writes the versioned model with its card and report under models/ (champion if
 * there is none yet), converts it to a uint8 variant behind the accuracy gate, and ends by
 * serving the live demo with both on localhost.
 */
import { aliases, setAlias } from '../converter/registry.js';
import { printTrainResult, trainProgress } from '../cli/commands/train.js';
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
console.log('benchmarks (not run here): npm run bench:train, bench:convert, bench:stream, bench:web');
const demo = await serveDemo({ models: MODELS, port: 5173 }).catch(() => serveDemo({ models: MODELS, port: 0 }));
console.log(`demo: ${demo.url}?model=${encodeURIComponent(`/models/${result.card.name}/${result.version}/`)}  (Ctrl-C to stop)`);
