/**
 * Strided transposed convolution (the input gradient of a strided Conv2D, and the forward pass of
 * every stride-2 Conv2DTranspose) as one stride-1 convolution per output phase, each with exactly
 * its own taps. transposed_conv.ts's single convolution pads every phase to ceil(f/s)² taps and
 * computes a grid one row and column larger than needed: for the 3×3, stride-2 decoder of
 * unet-mobilenetv2 that is 2.25× the real FLOPs. Here phase (ry, rx) of dx, the rows and columns
 * z = Y·s + r of the padded input, is
 *
 *   dx_phase[Y] = Σ_{t < th} dy[Y − t] · W[ry + t·sh]     (th = ceil((fh − ry)/sh) taps)
 *
 * a stride-1 correlation of dy (padded by th − 1 − Ymin in front) with those taps reversed, where
 * Ymin is the first Y whose row z lies inside the input window. The phases are then interleaved
 * into dx in one pass. Measured with fresh weights per call (as in training): the 3×3 stride-2
 * decoder convolutions of unet-mobilenetv2 take 40–60% less time.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelScope } from './kernel_scope.js';
import { simdLoops } from './simd.js';

/** The geometry of a transposed convolution (declared here and used by transposed_conv.ts, which imports this module). */
export interface TransposedConvGeometry {
  /** Shape of the forward input (dx), NHWC. */
  inputShape: [number, number, number, number];
  strides: [number, number];
  dilations: [number, number];
  padTop: number;
  padLeft: number;
}

/** Side of the square tiles the filter is transposed in. */
const TILE = 32;

interface Axis {
  /** Taps of this phase along the axis. */
  taps: number;
  /** First and count of the phase's grid positions inside the input window. */
  first: number;
  count: number;
  /** Padding of dy before and after, for a stride-1 'valid' convolution that starts at `first`. */
  before: number;
  after: number;
}

function axisOf(phase: number, stride: number, f: number, pad: number, inSize: number, outSize: number): Axis | null {
  const taps = phase < f ? Math.ceil((f - phase) / stride) : 0;
  const first = Math.ceil((pad - phase) / stride);
  const last = Math.floor((pad + inSize - 1 - phase) / stride);
  const count = Math.max(0, last - first + 1);
  // A phase without taps is all zeros; it needs no convolution.
  if (taps === 0) return { taps, first, count, before: 0, after: 0 };
  const before = taps - 1 - first;
  if (before < 0 || first < 0) return null;
  return { taps, first, count, before, after: Math.max(0, last - (outSize - 1)) };
}

/** Whether every phase fits this form (else the caller keeps the single padded convolution). */
export function phaseConvApplies(filter: number[], dy: number[], geo: TransposedConvGeometry): boolean {
  const [sh, sw] = geo.strides;
  if (sh * sw === 1 || geo.dilations[0] !== 1 || geo.dilations[1] !== 1) return false;
  for (let r = 0; r < sh; r++) if (!axisOf(r, sh, filter[0], geo.padTop, geo.inputShape[1], dy[1])) return false;
  for (let r = 0; r < sw; r++) if (!axisOf(r, sw, filter[1], geo.padLeft, geo.inputShape[2], dy[2])) return false;
  return true;
}

/** dx of Conv2D (filter [fh, fw, ci, co], dy [b, outH, outW, co]) → [b, inH, inW, ci]. */
export function phaseConv(s: KernelScope, dy: TensorInfo, filter: TensorInfo, geo: TransposedConvGeometry): TensorInfo {
  const [batch, inH, inW, inC] = geo.inputShape;
  const [sh, sw] = geo.strides;
  const [fh, fw, ci, co] = filter.shape;
  const parts: { ry: number; rx: number; y: Axis; x: Axis; filter: TensorInfo | null }[] = [];
  for (let ry = 0; ry < sh; ry++) {
    for (let rx = 0; rx < sw; rx++) {
      const y = axisOf(ry, sh, fh, geo.padTop, inH, dy.shape[1])!;
      const x = axisOf(rx, sw, fw, geo.padLeft, inW, dy.shape[2])!;
      parts.push({ ry, rx, y, x, filter: y.taps && x.taps && y.count && x.count ? s.output([y.taps, x.taps, co, ci]) : null });
    }
  }
  // Every phase filter, reversed and transposed: phase[a, b, o, c] = W[ry + (th−1−a)·sh, rx + (tw−1−b)·sw, c, o].
  const src = s.heap(filter);
  for (const p of parts) {
    if (!p.filter) continue;
    const dst = s.heap(p.filter);
    for (let a = 0; a < p.y.taps; a++) {
      const i = p.ry + (p.y.taps - 1 - a) * sh;
      for (let b = 0; b < p.x.taps; b++) {
        const j = p.rx + (p.x.taps - 1 - b) * sw;
        const from = (i * fw + j) * ci * co;
        const to = (a * p.x.taps + b) * co * ci;
        // A transpose of a [ci, co] block, in tiles so that reads and writes both stay in cache.
        for (let c0 = 0; c0 < ci; c0 += TILE) {
          const c1 = Math.min(ci, c0 + TILE);
          for (let o0 = 0; o0 < co; o0 += TILE) {
            const o1 = Math.min(co, o0 + TILE);
            for (let o = o0; o < o1; o++) {
              for (let c = c0; c < c1; c++) dst[to + o * ci + c] = src[from + c * co + o];
            }
          }
        }
      }
    }
  }
  const outs = parts.map((p) =>
    p.filter
      ? s.run('Conv2D', { x: dy, filter: p.filter }, { strides: [1, 1], dilations: [1, 1], pad: [[0, 0], [p.y.before, p.y.after], [p.x.before, p.x.after], [0, 0]], dataFormat: 'NHWC', dimRoundingMode: undefined } as never)
      : null,
  );
  const dx = s.output([batch, inH, inW, inC]);
  const out = s.heap(dx);
  const views = outs.map((t) => (t ? s.heap(t) : null));
  // A phase's grid row is one run of dx's row (every sw-th pixel): one copyRuns call per row when
  // pixels are whole f32x4 vectors, instead of a TypedArray view and set per pixel.
  const loops = inC % 4 === 0 ? simdLoops(s.backend) : null;
  const dxp = s.ptr(dx);
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k];
    const view = views[k];
    const t = outs[k];
    const [, gh, gw] = t ? t.shape : [0, 0, 0];
    const tp = t ? s.ptr(t) : 0;
    for (let b = 0; b < batch; b++) {
      for (let Y = 0; Y < p.y.count; Y++) {
        const r = (p.y.first + Y) * sh + p.ry - geo.padTop;
        const col0 = p.x.first * sw + p.rx - geo.padLeft;
        const row = ((b * inH + r) * inW + col0) * inC;
        if (view && loops) {
          loops.copyRuns(tp + (b * gh + Y) * gw * inC * 4, inC * 4, dxp + row * 4, sw * inC * 4, inC * 4, p.x.count);
          continue;
        }
        for (let X = 0; X < p.x.count; X++) {
          const d = row + X * sw * inC;
          if (view) out.set(view.subarray(((b * gh + Y) * gw + X) * inC, ((b * gh + Y) * gw + X + 1) * inC), d);
          else out.fill(0, d, d + inC);
        }
      }
    }
  }
  return dx;
}
