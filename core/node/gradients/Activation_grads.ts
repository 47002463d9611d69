/**
 * Gradients of Relu and ClipByValue, replacing tfjs-core's: on wasm one fused kernel each
 * (core/node/wasm_kernels/ActivationGrads.ts, one pass instead of three and five); on every other
 * backend tfjs-core's own formulas, unchanged. Ops come from tfjs-core itself, as in
 * FusedBatchNorm_grad.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ClipByValue, Relu, type GradConfig, type NamedAttrMap, type Tensor } from '@tensorflow/tfjs-core';
import { CLIP_BY_VALUE_GRAD, RELU_GRAD } from '../wasm_kernels/ActivationGrads.js';

const fused = (dy: Tensor) => tf.getBackend() === 'wasm' && dy.dtype === 'float32';

export const reluGradConfig: GradConfig = {
  kernelName: Relu,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const g = dy as Tensor;
    const [x] = saved;
    return { x: () => (fused(g) && x.dtype === 'float32' ? (tf.engine().runKernel(RELU_GRAD, { x, dy: g }) as Tensor) : tf.mul(g, tf.cast(tf.step(x), 'float32'))) };
  },
};

export const clipByValueGradConfig: GradConfig = {
  kernelName: ClipByValue,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const g = dy as Tensor;
    const [x] = saved;
    const { clipValueMin, clipValueMax } = attrs as unknown as { clipValueMin: number; clipValueMax: number };
    return {
      x: () =>
        fused(g) && x.dtype === 'float32'
          ? (tf.engine().runKernel(CLIP_BY_VALUE_GRAD, { x, dy: g }, { clipValueMin, clipValueMax } as unknown as NamedAttrMap) as Tensor)
          : tf.where(tf.logicalAnd(tf.greaterEqual(x, clipValueMin), tf.lessEqual(x, clipValueMax)), g, tf.zerosLike(g)),
    };
  },
};
