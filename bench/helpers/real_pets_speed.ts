/**
 * The training step of the shipped pets model's architecture (data/models/pets.train.json: model
 * and modelConfig) as the real training command runs it: `train()` on labelled Oxford photos,
 * batch 8, its data pipeline, replicas and checkpoints, in a temporary models folder. Median wall
 * time between step events after the first `warmup` (kernels, onnxruntime sessions and V8's
 * optimising compiler settle), per worker count, the counts alternating round by round.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../core/node/package_root.js';
import { train } from '../../trainer/train.js';

export interface RealPetsRow {
  workers: number;
  steps: number;
  msPerStep: number;
  imagesPerSecond: number;
}

export async function realPetsSpeed(o: { data: string; workers: number[]; steps: number; warmup: number; rounds: number; batch: number }): Promise<{ model: string; modelConfig: unknown; rows: RealPetsRow[] }> {
  const recipe = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'data', 'models', 'pets.train.json'), 'utf8')) as { model: string; modelConfig: unknown };
  const times = new Map<number, number[]>(o.workers.map((w) => [w, []]));
  for (let round = 0; round < o.rounds; round++) {
    for (const workers of round % 2 ? [...o.workers].reverse() : o.workers) {
      const dir = mkdtempSync(join(tmpdir(), 'edgeseg-bench-pets-'));
      let last = 0;
      try {
        await train(
          { model: recipe.model, modelConfig: recipe.modelConfig, name: 'speed', data: `oxford:${o.data}`, epochs: 1, batchSize: o.batch, learningRate: 1e-3, patience: 0, seed: 1, maxSteps: o.steps + o.warmup, workers, models: join(dir, 'models'), backend: 'wasm' } as never,
          {
            onEvent: (e) => {
              if (e.type !== 'step') return;
              const now = performance.now();
              if (e.step > o.warmup) times.get(workers)!.push(now - last);
              last = now;
            },
          },
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      process.stderr.write(`  pets model on real photos, ${workers} worker(s) round ${round + 1}: ${median(times.get(workers)!).toFixed(0)} ms per step\n`);
    }
  }
  return {
    model: recipe.model,
    modelConfig: recipe.modelConfig,
    rows: o.workers.map((workers) => {
      const ms = median(times.get(workers)!);
      return { workers, steps: times.get(workers)!.length, msPerStep: ms, imagesPerSecond: (o.batch * 1000) / ms };
    }),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}
