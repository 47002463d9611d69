import type { Command } from 'commander';
import { ConfigError, geometryOf } from '../../core/index.js';
import { normalizationOf } from '../../core/contract.js';
import type { TrainingBackend } from '../../core/node/backends/select.js';
import { openDataset, type SampleSet, type SplitChoice } from '../../datasets/dataset.js';
import { SPLITS } from '../../datasets/sample_types.js';
import { evaluate } from '../../datasets/evaluate.js';
import { cliLogger, numberOption, type GlobalOptions } from '../context.js';
import { ProgressBar } from '../progress.js';
import { openRunner } from '../open_model.js';
import { DEFAULT_MODELS_ROOT } from '../../core/node/registry.js';

interface EvalFlags extends GlobalOptions {
  model: string;
  data: string;
  split: SplitChoice | 'all';
  backend?: TrainingBackend;
  batch: number;
  json?: boolean;
  models: string;
}

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(2)}%` : 'n/a');

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('pixel accuracy, per-class IoU, mIoU, foreground IoU (pet vs the rest, border ignored) and Dice of a model on a dataset')
    .requiredOption('--model <model>', 'model directory or registry ref')
    .requiredOption('--data <spec>', 'dataset spec')
    .option('--split <split>', 'held-out (the test split when the data has one, else val) | test | val | train | all', 'held-out')
    .option('--backend <name>', 'auto | tensorflow | webgpu | wasm | cpu', 'auto')
    .option('--batch <n>', 'batch size', numberOption('batch', 1, true), 16)
    .option('--json', 'print the result as JSON')
    .option('--models <dir>', 'registry root', DEFAULT_MODELS_ROOT)
    .action(async (flags: EvalFlags, cmd: Command) => {
      const log = cliLogger('eval', cmd.optsWithGlobals());
      const choices: readonly SplitChoice[] = ['held-out', ...SPLITS];
      if (flags.split !== 'all' && !choices.includes(flags.split)) throw new ConfigError(`--split must be held-out, test, val, train or all, got '${flags.split}'`);
      const splits: SplitChoice[] = flags.split === 'all' ? [...SPLITS] : [flags.split];
      const { runner: model, card } = await openRunner(flags.model, { backend: flags.backend, models: flags.models, log });
      // The samples are prepared for this model: its input size, its class count (mask values must be below it).
      const geometry = geometryOf(card);
      let bar: ProgressBar | null = null;
      const dataset = await openDataset(flags.data, {
        splits,
        log: log.child('data'),
        onProgress: (d, total) => (bar ??= new ProgressBar({ label: 'decode', total })).update(d),
        normalization: normalizationOf(card),
        geometry,
      });
      (bar as ProgressBar | null)?.done();
      try {
        const set = flags.split === 'all' ? concatSets(SPLITS.map((s) => dataset[s])) : flags.split === 'held-out' ? dataset.heldOut : dataset[flags.split];
        const splitName = flags.split === 'held-out' ? dataset.heldOutSplit : flags.split;
        if (set.size === 0) throw new ConfigError(`dataset ${dataset.spec} has no ${splitName} samples`);
        const evalBar = new ProgressBar({ label: 'eval', total: set.size });
        const result = await evaluate(model, set, { batchSize: flags.batch, onProgress: (d) => evalBar.update(d), geometry });
        evalBar.done();
        const m = result.metrics;
        if (flags.json) {
          console.log(JSON.stringify({ model: `${card.name}@${card.version}`, data: dataset.spec, split: splitName, samples: set.size, classes: card.contract.classes, loss: result.loss, ...m }));
          return;
        }
        console.log(`model ${card.name} ${card.version} (${card.precision}) on ${dataset.spec} [${splitName}, ${set.size} images]`);
        console.log(`pixel accuracy ${pct(m.pixelAccuracy)}   mIoU ${pct(m.miou)}   foreground IoU ${pct(m.foregroundIou)}   Dice ${pct(m.dice)}   loss ${result.loss.toFixed(4)}`);
        console.log(`${'class'.padEnd(12)}${'IoU'.padStart(9)}${'Dice'.padStart(9)}`);
        card.contract.classes.forEach((n, i) => console.log(`${n.padEnd(12)}${pct(m.perClassIou[i]).padStart(9)}${pct(m.perClassDice[i]).padStart(9)}`));
      } finally {
        await dataset.close();
        await model.dispose();
      }
    });
}

/** Several sample sets read as one, in order. */
function concatSets(sets: SampleSet[]): SampleSet {
  return {
    ids: sets.flatMap((s) => [...s.ids]),
    size: sets.reduce((n, s) => n + s.size, 0),
    get(index: number) {
      let i = index;
      for (const s of sets) {
        if (i < s.size) return s.get(i);
        i -= s.size;
      }
      throw new RangeError(`sample index ${index} out of range`);
    },
  };
}
