/**
 * The two per-channel reductions of BatchNorm's gradient, for wasm, in one pass over x and dy:
 *
 *   out[0, c] = Σ_n dy[n, c],   out[1, c] = Σ_n (x[n, c] − μ[c]) · dy[n, c]
 *
 * (n over every leading axis; C a multiple of 4). tfjs ops take a full-size subtraction, a
 * full-size product and two reductions for the same numbers. simd.ts's bnGradSums adds rows in
 * f32x4 lanes, in blocks of BLOCK rows whose float32 partial sums are added in float64. Used by
 * core/node/gradients/FusedBatchNorm_grad.ts on wasm.
 */
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope } from './kernel_scope.js';
import { simdLoops } from './simd.js';

/** Kernel name (registered for wasm only). */
export const BATCH_NORM_GRAD_SUMS = 'EdgesegBatchNormGradSums';

/** Rows summed in float32 before the partial sums join the float64 totals. */
const BLOCK = 1024;

/** Whether the kernel takes x with this many channels (its last axis). */
export function batchNormGradSumsApplies(channels: number): boolean {
  return channels % 4 === 0 && channels > 0;
}

const batchNormGradSums: KernelFunc = ({ inputs, backend }) => {
  const { x, dy, mean } = inputs as { x: TensorInfo; dy: TensorInfo; mean: TensorInfo };
  const channels = x.shape[x.shape.length - 1];
  const rows = util.sizeFromShape(x.shape) / channels;
  if (!batchNormGradSumsApplies(channels) || util.sizeFromShape(mean.shape) !== channels) {
    throw new Error(`${BATCH_NORM_GRAD_SUMS} takes channels-last x with a multiple of 4 channels and a per-channel mean; got x ${x.shape}, mean ${mean.shape}`);
  }
  return KernelScope.use(backend, 'wasm', (s) => {
    const out = s.output([2, channels]);
    const partial = s.output([2, channels]);
    const loops = simdLoops(s.backend);
    const [xp, dyp, mp, pp] = [s.ptr(x), s.ptr(dy), s.ptr(mean), s.ptr(partial)];
    const cb = channels * 4;
    const acc = new Float64Array(2 * channels);
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const part = s.heap(partial);
      part.fill(0);
      loops.bnGradSums(xp + r0 * cb, dyp + r0 * cb, mp, pp, pp + cb, cb, Math.min(BLOCK, rows - r0));
      for (let k = 0; k < acc.length; k++) acc[k] += part[k];
    }
    s.heap(out).set(acc);
    return out;
  });
};

export const batchNormGradSumsConfig: KernelConfig = { kernelName: BATCH_NORM_GRAD_SUMS, backendName: 'wasm', kernelFunc: batchNormGradSums };
