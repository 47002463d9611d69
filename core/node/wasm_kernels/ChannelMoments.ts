/**
 * A slice's per-channel statistics for synchronised BatchNorm (trainer/parallel/sync_batch_norm.ts),
 * for wasm, channels last with C a multiple of 4, x seen as [n, C]:
 *
 *   forward:  out[0, c] = s_c = Σ_n x[n, c],   out[1, c] = q_c = Σ_n (x[n, c] − m_c)²,  m_c = s_c / n
 *   backward: dx[n, c] = ds_c + 2·(x[n, c] − m_c)·dq_c
 *
 * (the term of q through m vanishes: Σ_n (x − m) = 0). The tfjs ops for the same pair are a sum, a
 * division, a full-size subtraction and square and a second sum forward, and about six full-size
 * passes backward; here forward is two passes (simd.ts colSum, then centredSquares, each in blocks
 * of BLOCK rows whose float32 partial sums are added in float64, as leading_axes.ts does) and
 * backward one (affineCentred).
 */
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope } from './kernel_scope.js';
import { scratchFloat64 } from './scratch.js';
import { simdLoops } from './simd.js';

/** Kernel names (registered for wasm only). */
export const CHANNEL_MOMENTS = 'EdgesegChannelMoments';
export const CHANNEL_MOMENTS_GRAD = 'EdgesegChannelMomentsGrad';

/** Rows summed in float32 before the partial sums join the float64 totals. */
const BLOCK = 1024;

/** Whether the kernels take a channels-last tensor with this many channels. */
export function channelMomentsApply(channels: number): boolean {
  return channels > 0 && channels % 4 === 0;
}

function check(x: TensorInfo, name: string): { channels: number; rows: number } {
  const channels = x.shape[x.shape.length - 1];
  if (x.dtype !== 'float32' || !channelMomentsApply(channels)) throw new Error(`${name} takes float32 channels-last x with a multiple of 4 channels; got ${x.dtype} ${x.shape}`);
  return { channels, rows: util.sizeFromShape(x.shape) / channels };
}

const channelMoments: KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const { channels, rows } = check(x, CHANNEL_MOMENTS);
  return KernelScope.use(backend, 'wasm', (s) => {
    const out = s.output([2, channels]);
    const partial = s.output([channels]);
    const mean = s.output([channels]);
    const loops = simdLoops(s.backend);
    const [xp, pp, mp] = [s.ptr(x), s.ptr(partial), s.ptr(mean)];
    const cb = channels * 4;
    const blocks = (pass: (from: number, count: number) => void) => {
      const acc = scratchFloat64('channel-moments', channels);
      for (let r0 = 0; r0 < rows; r0 += BLOCK) {
        const part = s.heap(partial);
        part.fill(0);
        pass(r0, Math.min(BLOCK, rows - r0));
        for (let c = 0; c < channels; c++) acc[c] += part[c];
      }
      return acc;
    };
    const sums = blocks((from, count) => loops.colSum(xp + from * cb, pp, cb, count));
    const o = s.heap(out);
    const m = s.heap(mean);
    for (let c = 0; c < channels; c++) {
      o[c] = sums[c];
      // The float32 mean, as tf.div(sum, n) gives it.
      m[c] = Math.fround(o[c] / Math.max(rows, 1));
    }
    const squares = blocks((from, count) => loops.centredSquares(xp + from * cb, mp, pp, cb, count));
    const o2 = s.heap(out);
    for (let c = 0; c < channels; c++) o2[channels + c] = squares[c];
    return out;
  });
};

const channelMomentsGrad: KernelFunc = ({ inputs, backend }) => {
  const { x, moments, dy } = inputs as { x: TensorInfo; moments: TensorInfo; dy: TensorInfo };
  const { channels, rows } = check(x, CHANNEL_MOMENTS_GRAD);
  if (util.sizeFromShape(dy.shape) !== 2 * channels || util.sizeFromShape(moments.shape) !== 2 * channels) {
    throw new Error(`${CHANNEL_MOMENTS_GRAD}: dy and moments must be [2, ${channels}]; got ${dy.shape} and ${moments.shape}`);
  }
  return KernelScope.use(backend, 'wasm', (s) => {
    const dx = s.output(x.shape);
    const coefficients = s.output([3, channels]);
    const k = s.heap(coefficients);
    const d = s.heap(dy);
    const mo = s.heap(moments);
    for (let c = 0; c < channels; c++) {
      k[c] = Math.fround(mo[c] / Math.max(rows, 1));
      k[channels + c] = d[c];
      k[2 * channels + c] = Math.fround(2 * d[channels + c]);
    }
    const kp = s.ptr(coefficients);
    const cb = channels * 4;
    simdLoops(s.backend).affineCentred(s.ptr(x), kp, kp + cb, kp + 2 * cb, s.ptr(dx), cb, rows);
    return dx;
  });
};

export const channelMomentsConfig: KernelConfig = { kernelName: CHANNEL_MOMENTS, backendName: 'wasm', kernelFunc: channelMoments };
export const channelMomentsGradConfig: KernelConfig = { kernelName: CHANNEL_MOMENTS_GRAD, backendName: 'wasm', kernelFunc: channelMomentsGrad };
