/**
 * The filter gradient of a Conv2D as a matrix product over the output pixels:
 *
 *   dW[i, j, c, o] = Σ_n x_pad[b, p·sh + i, q·sw + j, c] · dy[n, o],   n = (b, p, q).
 *
 * Three routes, chosen by filterGemmRoute:
 *
 * - 'outer' (C a multiple of 4, O of 8: every layer of both U-Nets but the RGB stem): simd.ts's
 *   outerAcc, a hand-written 4 × 8 f32x4 micro-kernel that sums outer products x[n, c]·dy[n, o]
 *   straight out of the NHWC tensors — per output row and tap, one run of pixels, x at a stride
 *   of sw·C — with no im2col, transpose or packing. 40–60 GFLOP/s per layer of the U-Nets in
 *   isolation, ~40 over a training step's calls: at or above the forward convolutions' XNNPACK
 *   rate in the same step.
 * - 'shifted' and 'im2col' (the other channel counts) run XNNPACK's GEMM (the wasm backend's
 *   BatchMatMul). It reaches XNNPACK only with transposeA = transposeB = false (either
 *   transpose is a scalar loop at ~3 GFLOP/s), and packs B [K, N] on every call with a new B at
 *   ~3 ns a float, keeping the packing while the same B is reused. So the pixels are K: the A
 *   operand is transposed here in the wasm heap (~1.5 ns a float) and B is the operand with
 *   fewer floats per pixel, reused across as many GEMMs as possible.
 *   - 'shifted': one GEMM per tap, PT_t [C, G] × dy_g [G, O] → dW[i, j] [C, O]. The sh·sw phase
 *     images P[ry, rx][b, Y, X, c] = x_pad[b, Y·sh + ry, X·sw + rx, c] and dy are laid on one
 *     grid of Gh × Gw = (outH + U) × (outW + V) pixels per image (U = ⌈fh/sh⌉ − 1,
 *     V = ⌈fw/sw⌉ − 1; dy_g is 0 outside outH × outW), so that tap (i, j) reads phase
 *     (i mod sh, j mod sw) at the flat offset ⌊i/sh⌋·Gw + ⌊j/sw⌋. The phases are transposed once
 *     ([C, G], x's size in all); each tap's A is then C row copies (memcpy) out of them, and dy_g
 *     is packed once for all taps.
 *   - 'im2col': colT [KC, N] × dy [N, O] → [KC, O] = dW, KC = fh·fw·C, the im2col matrix built
 *     transposed. One GEMM of KC rows instead of fh·fw GEMMs of C rows: it wins for the RGB stem
 *     (C = 3), whose per-tap GEMMs would have 3 rows against a tile of 4–6.
 *   The grid (or N) is cut into chunks of a few MB; the chunks' products are summed in float32.
 *
 * The previous kernel (one XNNPACK convolution with dy as a filter of outH·outW taps of `batch`
 * channels) ran at 1.5–28 GFLOP/s on the same layers (bench/report.md has the before/after table).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelScope } from './kernel_scope.js';
import { simdLoops } from './simd.js';
import { scratchFloat32, scratchFloat64 } from './scratch.js';

/** The geometry of a Conv2D whose filter gradient is wanted (dilation 1, as Conv2DBackpropFilter has). */
export interface FilterGradGeometry {
  filterShape: [number, number, number, number];
  strides: [number, number];
  padTop: number;
  padLeft: number;
}

/** How the product is laid out (see the header). */
export type FilterGemmRoute = 'outer' | 'im2col' | 'shifted';

/** Floats of the largest operand built per chunk (16 MB). */
const CHUNK_FLOATS = 1 << 22;
/** Pixels per block of a transposing gather: the block's reads stay in L1 while each output row is written. */
const BLOCK = 512;
/** Input channels below which the per-tap GEMMs are too thin and 'im2col' runs instead. */
const SHIFTED_MIN_CHANNELS = 8;

/** The route for a filter [fh, fw, C, O] (see the header). */
export function filterGemmRoute(filterShape: readonly number[]): FilterGemmRoute {
  const [fh, fw, c, o] = filterShape;
  if (c % 4 === 0 && o % 8 === 0) return 'outer';
  return c < SHIFTED_MIN_CHANNELS && fh * fw > 1 ? 'im2col' : 'shifted';
}

/** How filterGradGemm runs; the defaults are what the kernel uses, tests force the others. */
export interface FilterGemmOptions {
  /** @default filterGemmRoute(filterShape) */
  route?: FilterGemmRoute;
  /** Floats of the largest operand built per chunk ('outer': output pixels per float32 partial sum, this / max(C, O)). @default CHUNK_FLOATS (16 MB); 'outer': FLUSH_PIXELS */
  chunkFloats?: number;
}

/** dW [fh, fw, C, O] of Conv2D for input x [b, H, W, C] and output gradient dy [b, outH, outW, O]. */
export function filterGradGemm(s: KernelScope, x: TensorInfo, dy: TensorInfo, geo: FilterGradGeometry, options: FilterGemmOptions = {}): TensorInfo {
  const route = options.route ?? filterGemmRoute(geo.filterShape);
  const chunkFloats = options.chunkFloats ?? CHUNK_FLOATS;
  if (route === 'outer') return viaOuterProducts(s, x, dy, geo, options.chunkFloats === undefined ? FLUSH_PIXELS : Math.max(1, Math.floor(options.chunkFloats / Math.max(geo.filterShape[2], geo.filterShape[3]))));
  return route === 'im2col' ? viaIm2col(s, x, dy, geo, chunkFloats) : viaShiftedTaps(s, x, dy, geo, chunkFloats);
}

/** Pixels per outerAcc call: a block of x and dy rows that stays in L1 while every 4 × 8 tile passes over it. */
const OUTER_BLOCK = 128;
/**
 * Output pixels summed in float32 before the partial dW joins the float64 total. Each flush adds
 * the whole dW once in JavaScript, so at 4096 pixels it costs well under 1% of the products.
 */
const FLUSH_PIXELS = 4096;

/**
 * 'outer': simd.ts's outerAcc over runs of output pixels, in place. For each output row (b, p)
 * and tap (i, j), the run of columns q whose input column is inside x is x read with a stride of
 * sw·C floats against dy read densely, accumulated into the tap's [C, O] block of dW. Sums run in
 * float32 over about `flushRows` output pixels (whole rows), then in float64.
 */
function viaOuterProducts(s: KernelScope, x: TensorInfo, dy: TensorInfo, geo: FilterGradGeometry, flushRows: number): TensorInfo {
  const [fh, fw, inC, outC] = geo.filterShape;
  const [batch, inH, inW] = x.shape;
  const [, outH, outW] = dy.shape;
  const [sh, sw] = geo.strides;
  const taps = fh * fw;
  const tap = inC * outC;
  const out = s.output([fh, fw, inC, outC]);
  const partial = s.output([taps * tap]);
  const loops = simdLoops(s.backend);
  const xp = s.ptr(x);
  const dyp = s.ptr(dy);
  const pp = s.ptr(partial);
  const cb = inC * 4;
  const ob = outC * 4;
  const q0 = new Int32Array(fw);
  const q1 = new Int32Array(fw);
  for (let j = 0; j < fw; j++) {
    q0[j] = Math.max(0, Math.ceil((geo.padLeft - j) / sw));
    q1[j] = Math.min(outW, Math.floor((inW - 1 + geo.padLeft - j) / sw) + 1);
  }
  const acc = scratchFloat64('filter-gemm-outer', taps * tap);
  let pending = 0;
  const flush = () => {
    const view = s.heap(partial);
    for (let k = 0; k < acc.length; k++) acc[k] += view[k];
    view.fill(0);
    pending = 0;
  };
  s.heap(partial).fill(0);
  for (let b = 0; b < batch; b++) {
    for (let p = 0; p < outH; p++) {
      const dyRow = dyp + (b * outH + p) * outW * ob;
      for (let i = 0; i < fh; i++) {
        const r = p * sh + i - geo.padTop;
        if (r < 0 || r >= inH) continue;
        const xRow = xp + (b * inH + r) * inW * cb;
        for (let j = 0; j < fw; j++) {
          const accAt = pp + (i * fw + j) * tap * 4;
          for (let qa = q0[j]; qa < q1[j]; qa += OUTER_BLOCK) {
            const n = Math.min(OUTER_BLOCK, q1[j] - qa);
            loops.outerAcc(xRow + (qa * sw + j - geo.padLeft) * cb, sw * cb, dyRow + qa * ob, ob, accAt, inC, outC, n);
          }
        }
      }
      pending += outW;
      if (pending >= flushRows) flush();
    }
  }
  if (pending > 0) flush();
  s.heap(out).set(acc);
  s.release(partial);
  return out;
}

function viaIm2col(s: KernelScope, x: TensorInfo, dy: TensorInfo, geo: FilterGradGeometry, chunkFloats: number): TensorInfo {
  const [fh, fw, inC, outC] = geo.filterShape;
  const [batch, inH, inW] = x.shape;
  const [, outH, outW] = dy.shape;
  const [sh, sw] = geo.strides;
  const kc = fh * fw * inC;
  const n = batch * outH * outW;
  const chunk = Math.max(1, Math.min(n, Math.floor(chunkFloats / kc)));
  const whole = chunk === n;
  const offs = new Int32Array(BLOCK);
  const acc = whole ? null : scratchFloat32('filter-gemm-im2col', kc * outC);
  for (let n0 = 0; n0 < n; n0 += chunk) {
    const rows = Math.min(chunk, n - n0);
    const a = s.output([kc, rows]);
    const b = whole ? s.reshape(dy, [n, outC]) : s.output([rows, outC]);
    const xs = s.heap(x);
    const colT = s.heap(a);
    if (!whole) s.heap(b).set(s.heap(dy).subarray(n0 * outC, (n0 + rows) * outC));
    for (let k0 = 0; k0 < rows; k0 += BLOCK) {
      const count = Math.min(BLOCK, rows - k0);
      for (let i = 0; i < fh; i++) {
        for (let j = 0; j < fw; j++) {
          for (let k = 0; k < count; k++) {
            const nIdx = n0 + k0 + k;
            const q = nIdx % outW;
            const bp = (nIdx - q) / outW;
            const p = bp % outH;
            const r = p * sh + i - geo.padTop;
            const col = q * sw + j - geo.padLeft;
            offs[k] = r < 0 || r >= inH || col < 0 || col >= inW ? -1 : ((((bp - p) / outH) * inH + r) * inW + col) * inC;
          }
          gatherTransposed(xs, offs, count, inC, colT, rows, (i * fw + j) * inC, k0);
        }
      }
    }
    const product = s.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
    if (whole) return product.shape.length === 4 ? product : s.reshape(product, [fh, fw, inC, outC]);
    const p = s.heap(product);
    for (let k = 0; k < acc!.length; k++) acc![k] += p[k];
    s.release(a, b, product);
  }
  const out = s.output([fh, fw, inC, outC]);
  s.heap(out).set(acc!);
  return out;
}

function viaShiftedTaps(s: KernelScope, x: TensorInfo, dy: TensorInfo, geo: FilterGradGeometry, chunkFloats: number): TensorInfo {
  const [fh, fw, inC, outC] = geo.filterShape;
  const [batch, inH, inW] = x.shape;
  const [, outH, outW] = dy.shape;
  const [sh, sw] = geo.strides;
  const gh = outH + Math.ceil(fh / sh) - 1;
  const gw = outW + Math.ceil(fw / sw) - 1;
  const g = batch * gh * gw;
  const span = g + (Math.ceil(fh / sh) - 1) * gw + Math.ceil(fw / sw) - 1;
  const phaseW = Math.min(sw, fw);
  // Transposed phase images PT[c, n] = P[n, c], built once per call.
  const phases: TensorInfo[] = [];
  for (let k = 0; k < Math.min(sh, fh) * phaseW; k++) phases.push(s.output([inC, span]));
  const offs = new Int32Array(BLOCK);
  phases.forEach((ph, k) => {
    const ry = Math.floor(k / phaseW);
    const rx = k % phaseW;
    const xs = s.heap(x);
    const pt = s.heap(ph);
    for (let k0 = 0; k0 < span; k0 += BLOCK) {
      const count = Math.min(BLOCK, span - k0);
      for (let m = 0; m < count; m++) {
        const nIdx = k0 + m;
        const X = nIdx % gw;
        const bY = (nIdx - X) / gw;
        const Y = bY % gh;
        const b = (bY - Y) / gh;
        const r = Y * sh + ry - geo.padTop;
        const col = X * sw + rx - geo.padLeft;
        offs[m] = b >= batch || r < 0 || r >= inH || col < 0 || col >= inW ? -1 : ((b * inH + r) * inW + col) * inC;
      }
      gatherTransposed(xs, offs, count, inC, pt, span, 0, k0);
    }
  });
  const onGrid = gh === outH && gw === outW;
  const chunk = Math.max(1, Math.min(g, Math.floor(chunkFloats / Math.max(inC, outC))));
  const whole = chunk === g;
  const out = s.output([fh, fw, inC, outC]);
  const tap = inC * outC;
  for (let n0 = 0; n0 < g; n0 += chunk) {
    const rows = Math.min(chunk, g - n0);
    // dy on the grid (0 outside outH × outW), packed by XNNPACK once for all taps of the chunk.
    const b = whole && onGrid ? s.reshape(dy, [g, outC]) : s.output([rows, outC]);
    if (!(whole && onGrid)) {
      const dys = s.heap(dy);
      const dst = s.heap(b);
      dst.fill(0);
      for (let n = n0; n < n0 + rows; ) {
        const X = n % gw;
        const bY = (n - X) / gw;
        const Y = bY % gh;
        const run = Math.min(gw - X, n0 + rows - n);
        const valid = Y < outH ? Math.max(0, Math.min(run, outW - X)) : 0;
        if (valid > 0) {
          const src = ((((bY - Y) / gh) * outH + Y) * outW + X) * outC;
          dst.set(dys.subarray(src, src + valid * outC), (n - n0) * outC);
        }
        n += run;
      }
    }
    const a = s.output([inC, rows]);
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        const pt = s.heap(phases[(i % sh) * phaseW + (j % sw)]);
        const at = s.heap(a);
        const from = n0 + Math.floor(i / sh) * gw + Math.floor(j / sw);
        for (let c = 0; c < inC; c++) at.set(pt.subarray(c * span + from, c * span + from + rows), c * rows);
        const product = s.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
        const p = s.heap(product);
        const dst = s.heap(out);
        const t = (i * fw + j) * tap;
        if (n0 === 0) dst.set(p, t);
        else for (let k = 0; k < tap; k++) dst[t + k] += p[k];
        s.release(product);
      }
    }
    s.release(a, b);
  }
  s.release(...phases);
  return out;
}

/**
 * dst[(row0 + c)·stride + k0 + k] = src[offs[k] + c] (0 where offs[k] < 0), for k < count and
 * c < channels: a transposing gather, written row by row so that writes are sequential.
 */
function gatherTransposed(src: Float32Array, offs: Int32Array, count: number, channels: number, dst: Float32Array, stride: number, row0: number, k0: number): void {
  for (let c = 0; c < channels; c++) {
    const d = (row0 + c) * stride + k0;
    for (let k = 0; k < count; k++) {
      const o = offs[k];
      dst[d + k] = o < 0 ? 0 : src[o + c];
    }
  }
}
