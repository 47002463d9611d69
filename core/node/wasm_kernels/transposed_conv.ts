/**
 * Gradient of a (depthwise) convolution with respect to its input, as ONE stride-1 forward
 * convolution plus a pixel shuffle — the sub-pixel decomposition — so the work lands in the
 * wasm backend's XNNPACK convolution instead of a scalar loop.
 *
 * For stride s, output row z = y + padTop of the padded input receives dy[p]·W[i] for every
 * z = p·s + i. Rows with the same phase r = z mod s use the taps i = r, r+s, r+2s, …; phase r at
 * row Y = (z − r)/s is a stride-1 correlation of dy with those taps reversed. Padding every phase
 * to M = ceil(fh/s) taps (zeros in front) makes all phases one convolution with s_h·s_w times the
 * output channels (the filter is built by sub_pixel_filter.ts); a reshape/transpose then interleaves the phases back into rows and columns.
 * With stride 1 the same code is the classic "convolve with the flipped filter", dilation allowed.
 * Strided Conv2D gradients take phase_conv.ts instead (one exact convolution per phase, no zero taps).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelScope } from './kernel_scope.js';
import { phaseConv, phaseConvApplies, type TransposedConvGeometry } from './phase_conv.js';
import { simdLoops } from './simd.js';
import { subPixelFilter } from './sub_pixel_filter.js';

/** Fewest output channels for which per-phase convolutions beat one padded convolution (measured: 3 loses, 64 wins). */
const PHASE_CONV_MIN_CHANNELS = 8;

/**
 * dx for `Conv2D` (filter [fh, fw, ci, co], dy [..., co]) or `DepthwiseConv2dNative`
 * (filter [fh, fw, c, mult], dy [..., c·mult]).
 */
export function transposedConv(
  s: KernelScope,
  dy: TensorInfo,
  filter: TensorInfo,
  geo: TransposedConvGeometry,
  kind: 'conv' | 'depthwise',
): TensorInfo {
  const [batch, inH, inW, inC] = geo.inputShape;
  const [sh, sw] = geo.strides;
  const [dh, dw] = geo.dilations;
  if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1)) {
    throw new Error('transposed convolution with both strides and dilations above 1 is not supported');
  }
  const [fh, fw, , fOut] = filter.shape;
  const [, outH, outW] = dy.shape;
  // Taps per phase, padded to the same count for every phase.
  const mh = Math.ceil(fh / sh);
  const mw = Math.ceil(fw / sw);
  // Rows of the padded-input space to produce, per phase: z = Y·s + r covers [0, padTop + inH).
  const rowsP = Math.ceil((geo.padTop + inH) / sh);
  const colsP = Math.ceil((geo.padLeft + inW) / sw);
  const phases = sh * sw;

  const effH = (mh - 1) * dh;
  const effW = (mw - 1) * dw;
  // Stride 1: pad so the convolution's output is exactly the input window, no crop needed.
  const direct = phases === 1 && effH >= geo.padTop && effW >= geo.padLeft;
  const padTop = direct ? effH - geo.padTop : effH;
  const padLeft = direct ? effW - geo.padLeft : effW;
  const padded: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [padTop, Math.max(0, (direct ? inH : rowsP) + effH - padTop - outH)],
    [padLeft, Math.max(0, (direct ? inW : colsP) + effW - padLeft - outW)],
    [0, 0],
  ];

  // Per-phase convolutions pay where the single one would carry zero taps (f not a multiple of s),
  // unless the output has so few channels that four small convolutions cost more than one.
  const zeroTaps = fh % sh !== 0 || fw % sw !== 0;
  if (kind === 'conv' && zeroTaps && geo.inputShape[3] >= PHASE_CONV_MIN_CHANNELS && phaseConvApplies(filter.shape, dy.shape, geo)) return phaseConv(s, dy, filter, geo);
  let y: TensorInfo;
  if (kind === 'conv') {
    y = s.run('Conv2D', { x: dy, filter: subPixelFilter(s, filter, sh, sw, 'conv') }, { strides: [1, 1], dilations: [dh, dw], pad: padded, dataFormat: 'NHWC', dimRoundingMode: undefined } as never);
  } else {
    const mult = fOut;
    y = s.run('DepthwiseConv2dNative', { x: dy, filter: subPixelFilter(s, filter, sh, sw, 'depthwise') }, { strides: [1, 1], dilations: [dh, dw], pad: padded, dataFormat: 'NHWC', dimRoundingMode: undefined } as never);
    // Channels come out as ((c·mult + m)·phases + phase): sum over m; the interleave reads phase-minor.
    if (mult > 1) {
      const [, yh, yw] = y.shape;
      y = s.reshape(s.sum(s.reshape(y, [batch * yh * yw, inC, mult, phases]), [2]), [batch, yh, yw, inC * phases]);
    }
  }
  if (direct) return y.shape[1] === inH && y.shape[2] === inW ? y : s.slice(y, [0, 0, 0, 0], [batch, inH, inW, inC]);
  return interleavePhases(s, y, geo, kind === 'conv' ? 'phase-major' : 'phase-minor');
}

/**
 * Writes the per-phase grid y [b, Y, X, phases·c] into dx [b, H, W, c], where dx row
 * r = Y·sh + ry − padTop (and likewise for columns) comes from phase (ry, rx): one pass over dx.
 * Channel order of y: 'phase-major' = phase·c + ch, 'phase-minor' = ch·phases + phase.
 */
function interleavePhases(s: KernelScope, y: TensorInfo, geo: TransposedConvGeometry, order: 'phase-major' | 'phase-minor'): TensorInfo {
  const [batch, inH, inW, inC] = geo.inputShape;
  const [sh, sw] = geo.strides;
  const phases = sh * sw;
  const [, yh, yw, yc] = y.shape;
  const out = s.output([batch, inH, inW, inC]);
  // The columns of one phase rx = (col + padLeft) mod sw are every sw-th column of dx and
  // consecutive grid columns X of y: one run per (image, row, rx). Phase-major runs of whole
  // f32x4 vectors are one simd.ts copyRuns call (a TypedArray view per pixel made 100,000
  // short-lived objects per step); the rest (3-channel last layers, depthwise phase-minor
  // channels) are copied value by value.
  const vectors = order === 'phase-major' && inC % 4 === 0;
  const loops = vectors ? simdLoops(s.backend) : null;
  const [yp, outp] = [s.ptr(y), s.ptr(out)];
  const src = vectors ? null : s.heap(y);
  const dst = vectors ? null : s.heap(out);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < inH; r++) {
      const z = r + geo.padTop;
      const Y = Math.floor(z / sh);
      const ry = z - Y * sh;
      for (let col0 = 0; col0 < Math.min(sw, inW); col0++) {
        const zc = col0 + geo.padLeft;
        const X = Math.floor(zc / sw);
        const phase = ry * sw + (zc - X * sw);
        const count = Math.ceil((inW - col0) / sw);
        const d = ((b * inH + r) * inW + col0) * inC;
        const base = ((b * yh + Y) * yw + X) * yc;
        if (loops) {
          loops.copyRuns(yp + (base + phase * inC) * 4, yc * 4, outp + d * 4, sw * inC * 4, inC * 4, count);
          continue;
        }
        for (let k = 0; k < count; k++) {
          const to = d + k * sw * inC;
          const from = base + k * yc;
          if (order === 'phase-major') for (let c = 0; c < inC; c++) dst![to + c] = src![from + phase * inC + c];
          else for (let c = 0; c < inC; c++) dst![to + c] = src![from + c * phases + phase];
        }
      }
    }
  }
  return out;
}
