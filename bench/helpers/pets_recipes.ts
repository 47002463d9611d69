/**
 * bench:pets `recipes` part: which distillation recipe wins, under one step budget. Each arm
 * fine-tunes the shipped parent (`pets@1-fp16`) with the recipe of `data/models/pets.distill.json`
 * (learning rate, schedule, seed) for the same number of steps on:
 *   - the real labels alone (the labelled trainval);
 *   - the real labels (weighted as in the recipe) + the teacher's labels, hard targets only;
 *   - the same + the teacher's soft targets (the recipe's weight and temperature).
 * Scored on the labelled held-out (test) split, from each version's card.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger, SegmentationMetrics } from '../../core/index.js';
import { PACKAGE_ROOT } from '../../core/node/package_root.js';
import { trainProgress } from '../../cli/train_progress.js';
import { train } from '../../trainer/train.js';

export interface RecipeArm {
  arm: string;
  data: string;
  softTargets: number;
  temperature: number;
  steps: number;
  seconds: number;
  heldOut: Pick<SegmentationMetrics, 'pixelAccuracy' | 'miou' | 'foregroundIou'> & { perClassIou: number[] };
}

export async function compareRecipes(o: { labelled: string; teacherLabels: string; root: string; steps: number; batch: number; workers: number; log: Logger }): Promise<{ arms: RecipeArm[]; ratios: Record<string, number> }> {
  const recipe = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'data', 'models', 'pets.distill.json'), 'utf8')) as { realWeight: number; train: Record<string, unknown> & { softTargets: number; temperature: number } };
  if (!existsSync(join(o.teacherLabels, 'labels.jsonl'))) throw new Error(`${o.teacherLabels} holds no teacher labels: run npm run train:pets (or edgeseg label) first, or pass --teacher-labels`);
  rmSync(o.root, { recursive: true, force: true });
  mkdirSync(join(o.root, 'pets'), { recursive: true });
  cpSync(join(PACKAGE_ROOT, 'data', 'models', 'pets', '1-fp16'), join(o.root, 'pets', '1-fp16'), { recursive: true });
  const real = `oxford:${o.labelled}`;
  const both = `${real}*${recipe.realWeight}+oxford:${o.teacherLabels}`;
  const plans = [
    { arm: 'real labels only', data: real, softTargets: 0 },
    { arm: 'real + teacher, hard targets', data: both, softTargets: 0 },
    { arm: `real + teacher, soft targets ${recipe.train.softTargets} (T ${recipe.train.temperature})`, data: both, softTargets: recipe.train.softTargets },
  ];
  const arms: RecipeArm[] = [];
  for (const p of plans) {
    console.log(`\nrecipe '${p.arm}': fine-tune pets@1-fp16 for ${o.steps} steps of batch ${o.batch} on ${p.data}`);
    const r = await train(
      {
        ...recipe.train,
        name: 'pets',
        initFrom: 'pets@1-fp16',
        data: p.data,
        epochs: o.steps,
        maxSteps: o.steps,
        batchSize: o.batch,
        workers: o.workers,
        backend: 'wasm',
        out: o.root,
        softTargets: p.softTargets,
        patience: 0,
        restoreBest: false,
        checkpointEvery: o.steps + 1,
        reportSamples: 0,
      },
      { log: o.log, print: (line) => console.log(line), onEvent: trainProgress() },
    );
    const m = r.card.metrics!;
    const t = r.card.training as { steps: number; seconds: number };
    arms.push({ arm: p.arm, data: p.data, softTargets: p.softTargets, temperature: recipe.train.temperature, steps: t.steps, seconds: t.seconds, heldOut: { pixelAccuracy: m.pixelAccuracy, miou: m.miou, foregroundIou: m.foregroundIou ?? NaN, perClassIou: m.perClassIou } });
    console.log(`  held-out mIoU ${(100 * m.miou).toFixed(2)}%, fg IoU ${(100 * (m.foregroundIou ?? NaN)).toFixed(2)}% after ${t.steps} steps in ${t.seconds.toFixed(0)} s`);
  }
  rmSync(o.root, { recursive: true, force: true });
  const [realOnly, hard, soft] = arms;
  return {
    arms,
    ratios: {
      'teacher labels (hard) / real only, held-out fg IoU': hard.heldOut.foregroundIou / realOnly.heldOut.foregroundIou,
      'soft / hard targets, held-out mIoU': soft.heldOut.miou / hard.heldOut.miou,
      'soft / hard targets, held-out fg IoU': soft.heldOut.foregroundIou / hard.heldOut.foregroundIou,
    },
  };
}
