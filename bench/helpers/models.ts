/** Model directories for tests and benchmarks: untrained, seeded (reproducible) weights with a minimal card. */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { saveLayersModel, type CardDraft } from '../../core/node/artifact_fs.js';
import { tf } from '../../core/node/tfjs.js';
import { countFlops } from '../../trainer/models/flops.js';
import { buildModel } from '../../trainer/models/index.js';
import { seedWeights } from '../../trainer/models/seeded_weights.js';

/** A card for a model that was not trained (no metrics, data or training record). */
export function untrainedCard(name: string, version: string, architecture: string, config: Record<string, unknown>): CardDraft {
  return {
    name,
    version,
    parentVersion: null,
    created: new Date().toISOString(),
    architecture: { name: architecture, config },
    precision: 'fp32',
    metrics: null,
    dataset: null,
    evaluation: null,
    training: null,
    backend: null,
    codeRevision: 'test',
  };
}

/** Builds `architecture` with `config`, seeds its weights and writes it as `<name>@<version>` in `dir`. */
export async function seededModel(dir: string, o: { name: string; version: string; seed: number; architecture?: string; config?: Record<string, unknown> }): Promise<string> {
  const architecture = o.architecture ?? 'unet-small';
  const config = o.config ?? {};
  const { model } = buildModel(architecture, config);
  seedWeights(model, o.seed);
  await saveLayersModel(model, dir, untrainedCard(o.name, o.version, architecture, config));
  model.dispose();
  return dir;
}

/** The unet-small of every benchmark (0.93 GFLOP per 128² frame). */
export const BENCH_MODEL = { baseFilters: 16, depth: 4 };

/** Forward GFLOP per frame of an architecture and config. */
export function gflopOf(architecture: string, config: Record<string, unknown>): number {
  const { model } = buildModel(architecture, config);
  const gflop = countFlops(model) / 1e9;
  model.dispose();
  return gflop;
}

/** Gives every BatchNorm non-trivial statistics and affine parameters. */
export function randomizeBatchNorm(model: LayersModel): void {
  let seed = 100;
  for (const w of model.weights) {
    const name = w.originalName;
    const n = w.shape.reduce((a, b) => a! * b!, 1) as number;
    const r = tf.randomUniform([n], 0, 1, 'float32', seed++).dataSync();
    const v = name.endsWith('moving_variance') ? r.map((x) => 0.2 + 2 * x) : name.endsWith('moving_mean') ? r.map((x) => x - 0.5) : name.endsWith('gamma') ? r.map((x) => 0.5 + x) : name.endsWith('beta') ? r.map((x) => 0.4 * x - 0.2) : null;
    if (v) w.write(tf.tensor(v, w.shape as number[]));
  }
}
