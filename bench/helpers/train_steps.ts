/** Runs a few identical training steps of a tiny U-Net on one backend, for cross-backend parity tests. */
import { syntheticSample } from '../../core/index.js';
import { imageToInputData, maskToTarget } from '../../core/preprocess.js';
import { sparseCrossEntropy } from '../../datasets/cross_entropy.js';
import { buildModel } from '../../trainer/models/index.js';
import { seedWeights } from '../../trainer/models/seeded_weights.js';
import { tf } from '../../core/node/tfjs.js';

export interface StepTrace {
  losses: number[];
  /** Gradients of the first step, per trainable weight. */
  firstGrads: Float32Array[];
}

export function tinyBatch(n: number): { images: Float32Array; masks: Int32Array } {
  const images = new Float32Array(n * 128 * 128 * 3);
  const masks = new Int32Array(n * 128 * 128);
  for (let i = 0; i < n; i++) {
    const s = syntheticSample(i, { size: 128, seed: 21 });
    images.set(imageToInputData(s.image), i * 128 * 128 * 3);
    masks.set(maskToTarget(s.mask), i * 128 * 128);
  }
  return { images, masks };
}

/** `steps` Adam steps of unet-small (base 4, depth 2, seed 3) on the active backend. */
export async function traceSteps(steps: number, batch: { images: Float32Array; masks: Int32Array }, n: number): Promise<StepTrace> {
  const { model } = buildModel('unet-small', { baseFilters: 4, depth: 2 });
  seedWeights(model, 3);
  const xs = tf.tensor4d(batch.images, [n, 128, 128, 3]);
  const ys = tf.tensor3d(batch.masks, [n, 128, 128], 'int32');
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const lossFn = () => sparseCrossEntropy(model.apply(xs, { training: true }) as tf.Tensor4D, ys);
  const { grads, value } = tf.variableGrads(lossFn, vars);
  const firstGrads = await Promise.all(vars.map((v) => grads[v.name].data() as Promise<Float32Array>));
  tf.dispose([value, ...Object.values(grads)]);
  const optimizer = tf.train.adam(1e-3);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const loss = optimizer.minimize(lossFn, true, vars)!;
    losses.push((await loss.data())[0]);
    loss.dispose();
  }
  tf.dispose([xs, ys]);
  optimizer.dispose();
  model.dispose();
  return { losses, firstGrads };
}
