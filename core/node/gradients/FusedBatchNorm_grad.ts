/**
 * Gradient of FusedBatchNorm, replacing tfjs-core's. Same mathematics; tfjs' version tiles the
 * per-channel 1/σ to the full activation size before multiplying (the wasm backend's Tile made it
 * a quarter of a U-Net training step) and reduces three full-size products separately. Here
 * everything broadcasts, and the two reductions every derivative needs — Σdy and Σ(x−μ)·dy —
 * are computed once (on wasm both in one pass, wasm_kernels/BatchNormGradSums.ts). Ops come from
 * tfjs-core itself, not core/node/tfjs.ts (which registers this gradient), so the modules form no
 * import circle.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, FusedBatchNorm, type GradConfig, type NamedAttrMap, type Tensor } from '@tensorflow/tfjs-core';
import { BATCH_NORM_GRAD_SUMS, batchNormGradSumsApplies } from '../wasm_kernels/BatchNormGradSums.js';

export const fusedBatchNormGradConfig: GradConfig = {
  kernelName: FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved;
    const g = dy as Tensor;
    const axes = backend_util.getReductionAxes(mean.shape, x.shape);
    const reduce = (t: Tensor) => tf.reshape(axes.length ? tf.sum(t, axes) : t, mean.shape);
    const gamma = scale ?? tf.scalar(1);
    const invStd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const channels = x.shape[x.rank - 1];
    // On wasm both sums come from one pass (BatchNormGradSums.ts) when the mean is per channel.
    const fused = tf.getBackend() === 'wasm' && x.dtype === 'float32' && mean.size === channels && batchNormGradSumsApplies(channels);
    const sums = fused ? (tf.engine().runKernel(BATCH_NORM_GRAD_SUMS, { x, dy: g, mean }) as Tensor) : null;
    const sumDy = sums ? tf.reshape(tf.slice(sums, [0, 0], [1, channels]), mean.shape) : reduce(g);
    const sumCenteredDy = sums ? tf.reshape(tf.slice(sums, [1, 0], [1, channels]), mean.shape) : reduce(tf.mul(tf.sub(x, mean), g));
    return {
      x: () => tf.mul(g, tf.mul(invStd, gamma)),
      mean: () => tf.neg(tf.mul(tf.mul(invStd, gamma), sumDy)),
      variance: () => tf.mul(tf.mul(tf.mul(tf.pow(invStd, tf.scalar(3)), tf.scalar(-0.5)), gamma), sumCenteredDy),
      scale: () => tf.mul(invStd, sumCenteredDy),
      offset: () => sumDy,
    };
  },
};
