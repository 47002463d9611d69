/**
 * Synchronised BatchNorm for data-parallel replicas. In training mode each BatchNorm layer of a
 * replica normalises with the statistics of the whole global batch, not of its own slice:
 *
 *   μ  = Σ_replicas Σ_{n,h,w} x / count
 *   σ² = Σ_replicas Σ_{n,h,w} (x − μ)² / count          (count = global batch × H × W)
 *
 * exactly what one thread computes over the whole batch (tf.moments), in the same two passes. The
 * all-reduce is a differentiable op whose gradient is again an all-reduce, so the backward pass
 * also sees every replica's share of ∂L/∂μ and ∂L/∂σ². The moving statistics are then updated
 * from the global μ and σ², identically in every replica: they stay combined by construction.
 *
 * Inference mode is left to the layer's own code.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { tf } from '../../core/node/tfjs.js';
import type { AllReduce } from './all_reduce.js';

/** The parts of tfjs-layers' BatchNormalization that its training branch reads. */
interface BatchNormLayer {
  name: string;
  momentum: number;
  epsilon: number;
  axis: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor } | null;
  beta: { read(): tf.Tensor } | null;
  movingMean: { read(): tf.Tensor; write(t: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(t: tf.Tensor): void };
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

/** Rows of the global batch every replica is training on in this step (for the divisor). */
export interface GlobalBatch {
  size: number;
}

/** A differentiable sum over replicas: forward all-reduces the value, backward the gradient. */
export function allReduceOp(group: AllReduce): (x: tf.Tensor) => tf.Tensor {
  const reduce = (t: tf.Tensor) => tf.tensor(group.sumOf(t.dataSync() as Float32Array), t.shape, 'float32');
  const op = (x: tf.Tensor) => ({ value: reduce(x), gradFunc: (dy: tf.Tensor) => reduce(dy) });
  return tf.customGrad(op as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
}

/**
 * Makes every BatchNormalization layer of `model` normalise over the global batch while training.
 * Returns how many layers were switched.
 */
export function synchroniseBatchNorm(model: LayersModel, group: AllReduce, batch: GlobalBatch): number {
  const allReduce = allReduceOp(group);
  let switched = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const bn = layer as unknown as BatchNormLayer;
    const own = bn.call.bind(bn);
    bn.call = (inputs, kwargs) => {
      if (!kwargs?.training) return own(inputs, kwargs);
      return tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
        const axis = bn.axis < 0 ? bn.axis + x.rank : bn.axis;
        if (x.rank !== 4 || axis !== 3) throw new Error(`synchronised BatchNorm supports channels-last 4-D inputs; ${bn.name} has rank ${x.rank}, axis ${bn.axis}`);
        const count = batch.size * x.shape[1] * x.shape[2];
        const mean = tf.div(allReduce(tf.sum(x, [0, 1, 2])), count);
        const variance = tf.div(allReduce(tf.sum(tf.square(tf.sub(x, mean)), [0, 1, 2])), count);
        const normed = tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, bn.center && bn.beta ? (bn.beta.read() as tf.Tensor1D) : undefined, bn.scale && bn.gamma ? (bn.gamma.read() as tf.Tensor1D) : undefined, bn.epsilon);
        // The layer's own update rule (tfjs-layers BatchNormalization), fed the global statistics.
        const decay = 1 - bn.momentum;
        for (const [variable, value] of [[bn.movingMean, mean], [bn.movingVariance, variance]] as const) {
          tf.tidy(() => {
            const old = variable.read();
            variable.write(tf.sub(old, tf.mul(tf.sub(old, value), decay)));
          });
        }
        return normed;
      });
    };
    switched++;
  }
  return switched;
}
