/**
 * Builds the stacked filter of the sub-pixel decomposition (see transposed_conv.ts) in one pass
 * over the wasm heap. Written with kernels it took a strided slice, pad, reverse and concat per
 * phase, and the wasm backend's strided StridedSlice and Reverse are scalar loops (~100 ms for a
 * 3×3×1088×256 filter); this loop is a few milliseconds.
 *
 * Phase (ry, rx) tap (a, b) of the reversed, zero-padded sub-filter is
 * W[ry + sh·(mh−1−a), rx + sw·(mw−1−b)], or 0 where that falls outside the filter.
 * - conv: W [fh, fw, ci, co] → [mh, mw, co, phases·ci], channel phase·ci + c.
 * - depthwise: W [fh, fw, c, mult] → [mh, mw, c·mult, phases], channel (c·mult + m)·phases + phase.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelScope } from './kernel_scope.js';

export function subPixelFilter(s: KernelScope, filter: TensorInfo, sh: number, sw: number, kind: 'conv' | 'depthwise'): TensorInfo {
  const [fh, fw, c1, c2] = filter.shape;
  const mh = Math.ceil(fh / sh);
  const mw = Math.ceil(fw / sw);
  const phases = sh * sw;
  const out = s.output(kind === 'conv' ? [mh, mw, c2, phases * c1] : [mh, mw, c1 * c2, phases]);
  const src = s.heap(filter);
  const dst = s.heap(out);
  const tap = c1 * c2;
  for (let a = 0; a < mh; a++) {
    for (let b = 0; b < mw; b++) {
      const outTap = (a * mw + b) * tap * phases;
      for (let ry = 0; ry < sh; ry++) {
        const i = ry + sh * (mh - 1 - a);
        for (let rx = 0; rx < sw; rx++) {
          const j = rx + sw * (mw - 1 - b);
          const phase = ry * sw + rx;
          const inside = i < fh && j < fw;
          const srcTap = (i * fw + j) * tap;
          if (kind === 'conv') {
            // dst[a, b, o, phase·ci + c] = src[i, j, c, o]
            for (let o = 0; o < c2; o++) {
              const row = outTap + o * phases * c1 + phase * c1;
              for (let c = 0; c < c1; c++) dst[row + c] = inside ? src[srcTap + c * c2 + o] : 0;
            }
          } else {
            // dst[a, b, k, phase] = src[i, j, k] with k = c·mult + m
            for (let k = 0; k < tap; k++) dst[outTap + k * phases + phase] = inside ? src[srcTap + k] : 0;
          }
        }
      }
    }
  }
  return out;
}
