/**
 * `npm start`: the main job, as far as it exists. Trains the default U-Net on built-in synthetic
 * data for a short, bounded run, writes the versioned model with its card and report under
 * models/, and makes it the champion if there is none yet.
 */
import { aliases, setAlias } from '../converter/registry.js';
import { printTrainResult, trainProgress } from '../cli/commands/train.js';
import { cliLogger } from '../cli/context.js';
import { train } from '../trainer/train.js';

const MODELS = 'models';
const log = cliLogger('start');

console.log('edgeseg: training unet-small on synthetic pets scenes (a bounded run of 120 steps, ~4 min on 2 cores)');
const result = await train(
  {
    model: 'unet-small',
    data: 'synthetic:count=400,size=128,seed=1',
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
console.log('next: npx edgeseg predict --model unet-small --input <image or folder> --out predictions/');
