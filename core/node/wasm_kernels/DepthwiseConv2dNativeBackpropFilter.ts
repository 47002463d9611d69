/**
 * DepthwiseConv2dNativeBackpropFilter for wasm, missing from the wasm backend.
 * dW[i, j, c, m] = Σ_{b,p,q} x[b, p·s + i·d − top, q·s + j·d − left, c] · dy[b, p, q, c·mult + m].
 *
 * With mult = 1 and C a multiple of 4 (every MobileNetV2 layer) it runs SIMD loops over runs of
 * pixels, x read with a stride of s·C floats and dy densely, f32x4 lanes over channels: for each
 * output row (b, p) and 3-wide filter row i, simd.ts's tapRow3 takes the columns q whose three
 * input columns all lie inside x, with the three taps' accumulators in registers (dy loaded once
 * per pixel for three multiply-adds); the border columns, and filters of other widths, take
 * mulAcc tap by tap (accumulator loaded and stored per pixel). Runs
 * accumulate in float32 within one image and in float64 across images, so no float32 sum spans
 * more than one image's outH·outW terms. The previous kernel, a JavaScript loop over the same sum
 * in float64, ran at ~0.4 GFLOP/s; it stays for channel multipliers and channel counts the SIMD
 * loop does not take.
 */
import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { KernelScope } from './kernel_scope.js';
import { simdLoops } from './simd.js';

interface Geometry {
  fh: number;
  fw: number;
  channels: number;
  mult: number;
  batch: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  top: number;
  left: number;
}

function geometryOf(x: TensorInfo, dy: TensorInfo, attrs: DepthwiseConv2dNativeBackpropFilterAttrs): Geometry {
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs;
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, true);
  const [fh, fw, channels, mult] = filterShape;
  const [batch, inH, inW] = x.shape;
  const [, outH, outW] = dy.shape;
  return { fh, fw, channels, mult, batch, inH, inW, outH, outW, sh: info.strideHeight, sw: info.strideWidth, dh: info.dilationHeight, dw: info.dilationWidth, top: info.padInfo.top, left: info.padInfo.left };
}

/** The SIMD route (mult = 1, C % 4 = 0). */
function viaSimd(s: KernelScope, x: TensorInfo, dy: TensorInfo, g: Geometry): TensorInfo {
  const { fh, fw, channels: c, batch, inH, inW, outH, outW, sh, sw, dh, dw, top, left } = g;
  const taps = fh * fw;
  const out = s.output([fh, fw, c, 1]);
  const partial = s.output([taps * c]);
  const loops = simdLoops(s.backend);
  const xp = s.ptr(x);
  const dyp = s.ptr(dy);
  const pp = s.ptr(partial);
  const cb = c * 4;
  // Per tap column: the run [q0, q1) of output columns whose input column is inside x.
  const q0 = new Int32Array(fw);
  const q1 = new Int32Array(fw);
  for (let j = 0; j < fw; j++) {
    q0[j] = Math.max(0, Math.ceil((left - j * dw) / sw));
    q1[j] = Math.min(outW, Math.floor((inW - 1 + left - j * dw) / sw) + 1);
  }
  const acc = new Float64Array(taps * c);
  const part = s.heap(partial);
  for (let b = 0; b < batch; b++) {
    part.fill(0);
    for (let p = 0; p < outH; p++) {
      const dyRow = dyp + (b * outH + p) * outW * cb;
      for (let i = 0; i < fh; i++) {
        const r = p * sh + i * dh - top;
        if (r < 0 || r >= inH) continue;
        const xRow = xp + (b * inH + r) * inW * cb;
        // Columns where all three taps of a 3-wide row are inside x: one tapRow3 run; the
        // columns at the borders (and other widths) tap by tap.
        const qa = fw === 3 ? Math.max(q0[0], q0[1], q0[2]) : 0;
        const qb = fw === 3 ? Math.min(q1[0], q1[1], q1[2]) : 0;
        if (qb > qa) loops.tapRow3(xRow + (qa * sw - left) * cb, sw * cb, dw * cb, dyRow + qa * cb, pp + i * fw * cb, cb, qb - qa);
        const split = qb > qa;
        for (let j = 0; j < fw; j++) {
          // The runs before and after tapRow3's columns (no array per row: this loop runs per pixel row).
          for (let piece = 0; piece < (split ? 2 : 1); piece++) {
            const from = split && piece === 1 ? qb : q0[j];
            const to = split && piece === 0 ? qa : q1[j];
            if (to > from) loops.mulAcc(xRow + (from * sw + j * dw - left) * cb, sw * cb, dyRow + from * cb, pp + (i * fw + j) * cb, cb, to - from);
          }
        }
      }
    }
    const view = s.heap(partial);
    for (let k = 0; k < acc.length; k++) acc[k] += view[k];
  }
  s.heap(out).set(acc);
  return out;
}

/** Any mult and channel count, in float64: the previous kernel. */
function viaLoop(s: KernelScope, x: TensorInfo, dy: TensorInfo, g: Geometry): TensorInfo {
  const { fh, fw, channels, mult, batch, inH, inW, outH, outW, sh, sw, dh, dw, top, left } = g;
  const cm = channels * mult;
  const out = s.output([fh, fw, channels, mult]);
  const xs = s.heap(x);
  const dys = s.heap(dy);
  const acc = new Float64Array(fh * fw * cm);
  for (let b = 0; b < batch; b++) {
    for (let p = 0; p < outH; p++) {
      for (let q = 0; q < outW; q++) {
        const dyBase = ((b * outH + p) * outW + q) * cm;
        for (let i = 0; i < fh; i++) {
          const r = p * sh + i * dh - top;
          if (r < 0 || r >= inH) continue;
          for (let j = 0; j < fw; j++) {
            const col = q * sw + j * dw - left;
            if (col < 0 || col >= inW) continue;
            const xBase = ((b * inH + r) * inW + col) * channels;
            const aBase = (i * fw + j) * cm;
            if (mult === 1) {
              for (let c = 0; c < channels; c++) acc[aBase + c] += xs[xBase + c] * dys[dyBase + c];
            } else {
              for (let c = 0; c < channels; c++) {
                const xv = xs[xBase + c];
                for (let m = 0; m < mult; m++) acc[aBase + c * mult + m] += xv * dys[dyBase + c * mult + m];
              }
            }
          }
        }
      }
    }
  }
  s.heap(out).set(acc);
  return out;
}

/** Whether the SIMD route takes this filter. */
export function depthwiseFilterSimdApplies(filterShape: readonly number[]): boolean {
  return filterShape[3] === 1 && filterShape[2] % 4 === 0;
}

const depthwiseConv2dNativeBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const g = geometryOf(x, dy, a);
  return KernelScope.use(backend, 'wasm', (s) => (depthwiseFilterSimdApplies(a.filterShape) ? viaSimd(s, x, dy, g) : viaLoop(s, x, dy, g)));
};

/** The previous kernel for any filter (the before/after benchmark's "before"). */
export const depthwiseConv2dNativeBackpropFilterAsLoop: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const g = geometryOf(x, dy, attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs);
  return KernelScope.use(backend, 'wasm', (s) => viaLoop(s, x, dy, g));
};

export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropFilter,
};
