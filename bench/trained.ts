/** The trained parents of the benchmarks that need real accuracy: fixed steps on synthetic data, wasm. */
import type { Logger } from '../core/index.js';
import { train } from '../trainer/train.js';
import { benchOut, SMOKE } from './helpers/smoke.js';

export const BENCH_ROOT = benchOut('models');
/** The benches' data; a smoke run's is the smallest with a held-out split. */
export const BENCH_DATA = SMOKE ? 'synthetic:count=24,size=128,seed=1' : 'synthetic:count=400,size=128,seed=1';

/** Trains `model` for `steps` steps (one in a smoke run; batch `batch`) into bench/out/models and returns its directory. */
export async function trainedBenchModel(model: 'unet-small' | 'unet-mobilenetv2', requestedSteps: number, batch: number, log: Logger): Promise<string> {
  const steps = SMOKE ? 1 : requestedSteps;
  console.log(`training ${model} for ${steps} steps (batch ${batch}) on ${BENCH_DATA}…`);
  const t0 = Date.now();
  const r = await train(
    { model, name: `bench-${model}`, data: BENCH_DATA, epochs: 100, maxSteps: steps, batchSize: batch, learningRate: model === 'unet-small' ? 3e-3 : 1e-3, schedule: 'cosine', backend: 'wasm', models: BENCH_ROOT, patience: 0, reportSamples: 0 },
    { log, print: () => {} },
  );
  console.log(`  ${r.dir}: held-out mIoU ${(100 * r.card.metrics!.miou).toFixed(2)}% in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return r.dir;
}
