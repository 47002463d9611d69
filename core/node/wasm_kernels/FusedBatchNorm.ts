/**
 * FusedBatchNorm (every BatchNormalization layer's normalisation) for wasm, channels last:
 *
 *   y[n, c] = offset_c + (x[n, c] − mean_c) · b_c,   b_c = scale_c / √(variance_c + ε)
 *
 * b is computed once per channel here (in float64, rounded to float32), then one simd.ts
 * affineCentred pass writes y. The backend's kernel divides by a square root per element, in a
 * scalar loop: about 90 ms of a 600 ms unet-mobilenetv2 training step. Float32 tensors with C a
 * multiple of 4 and per-channel (size C) statistics take this path; anything else (broadcast
 * statistics, other channel counts) goes to the backend's own kernel, remembered when this one is
 * registered.
 */
import { FusedBatchNorm, util, type FusedBatchNormAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import { overridingKernel } from './backend_fallback.js';
import { KernelScope } from './kernel_scope.js';
import { simdLoops } from './simd.js';

export const fusedBatchNormKernel = overridingKernel(FusedBatchNorm, (args) => {
  const { x, mean, variance, offset, scale } = args.inputs as { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo };
  const channels = x.shape[x.shape.length - 1] ?? 0;
  const perChannel = (t: TensorInfo | undefined) => t === undefined || (t.dtype === 'float32' && util.sizeFromShape(t.shape) === channels);
  if (x.dtype !== 'float32' || channels === 0 || channels % 4 !== 0 || ![mean, variance, offset, scale].every(perChannel)) return null;
  const { varianceEpsilon } = args.attrs as unknown as FusedBatchNormAttrs;
  return KernelScope.use(args.backend, 'wasm', (s) => {
    const y = s.output(x.shape);
    const coefficients = s.output([2, channels]);
    const k = s.heap(coefficients);
    const v = s.heap(variance);
    const o = offset ? s.heap(offset) : null;
    const g = scale ? s.heap(scale) : null;
    for (let c = 0; c < channels; c++) {
      k[c] = o ? o[c] : 0;
      k[channels + c] = (g ? g[c] : 1) / Math.sqrt(v[c] + varianceEpsilon);
    }
    const kp = s.ptr(coefficients);
    const cb = channels * 4;
    simdLoops(s.backend).affineCentred(s.ptr(x), s.ptr(mean), kp, kp + cb, s.ptr(y), cb, util.sizeFromShape(x.shape) / channels);
    return y;
  });
});
