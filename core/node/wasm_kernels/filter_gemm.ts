/**
 * The filter gradient of a Conv2D as matrix products on XNNPACK's GEMM (the wasm backend's
 * BatchMatMul with both operands untransposed), at the forward convolution's rate:
 *
 *   dW[i, j, c, o] = Σ_n x_pad[b, p·sh + i, q·sw + j, c] · dy[n, o],   n = (b, p, q).
 *
 * What the wasm backend allows decides the layout. BatchMatMul reaches XNNPACK only with
 * transposeA = transposeB = false (either transpose runs a scalar loop at ~3 GFLOP/s against
 * 30–40). XNNPACK packs B [K, N] on every call with a new B, at ~3 ns a float (more than the GEMM
 * itself when N is wide), and keeps the packing while the same B is reused. So the reduction
 * axis (pixels) is K: the A operand is transposed here, in the wasm heap (~1.5 ns a float), and B
 * is the operand with fewer floats per pixel, reused across as many GEMMs as possible.
 *
 * - 'shifted' (the default): one GEMM per tap, PT_t [C, G] × dy_g [G, O] → dW[i, j] [C, O].
 *   The sh·sw phase images P[ry, rx][b, Y, X, c] = x_pad[b, Y·sh + ry, X·sw + rx, c] and dy are
 *   laid on one grid of Gh × Gw = (outH + U) × (outW + V) pixels per image (U = ⌈fh/sh⌉ − 1,
 *   V = ⌈fw/sw⌉ − 1; dy_g is 0 outside outH × outW), so that tap (i, j) reads phase
 *   (i mod sh, j mod sw) at the flat offset ⌊i/sh⌋·Gw + ⌊j/sw⌋. The phases are transposed once
 *   ([C, G], x's size in all); each tap's A is then C row copies (memcpy) out of them, and dy_g is
 *   packed once for all taps. No fh·fw-times im2col matrix is transposed.
 * - 'im2col': colT [KC, N] × dy [N, O] → [KC, O] = dW, KC = fh·fw·C, the im2col matrix built
 *   transposed. One GEMM of KC rows instead of fh·fw GEMMs of C rows: it wins for the RGB stem
 *   (C = 3), whose per-tap GEMMs have 3 rows against a tile of 4–6.
 *
 * The grid (or N) is cut into chunks of a few MB; the chunks' products are summed in float32, as
 * the GEMM sums within a chunk. Measured against the previous kernel (one XNNPACK convolution
 * with dy as a filter of outH·outW taps): 1.5–20 GFLOP/s before, 13–34 after, on the layers of
 * unet-small and unet-mobilenetv2 (see bench/report.md).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelScope } from './kernel_scope.js';

/** The geometry of a Conv2D whose filter gradient is wanted (dilation 1, as Conv2DBackpropFilter has). */
export interface FilterGradGeometry {
  filterShape: [number, number, number, number];
  strides: [number, number];
  padTop: number;
  padLeft: number;
}

/** How the product is laid out (see the header). */
export type FilterGemmRoute = 'im2col' | 'shifted';

/** Floats of the largest operand built per chunk (16 MB). */
const CHUNK_FLOATS = 1 << 22;
/** Pixels per block of a transposing gather: the block's reads stay in L1 while each output row is written. */
const BLOCK = 512;
/** Input channels below which the per-tap GEMMs are too thin and 'im2col' runs instead. */
const SHIFTED_MIN_CHANNELS = 8;

/** The route for a filter [fh, fw, C, O] (see the header). */
export function filterGemmRoute(filterShape: readonly number[]): FilterGemmRoute {
  const [fh, fw, c] = filterShape;
  return c < SHIFTED_MIN_CHANNELS && fh * fw > 1 ? 'im2col' : 'shifted';
}

/** How filterGradGemm runs; the defaults are what the kernel uses, tests force the others. */
export interface FilterGemmOptions {
  /** @default filterGemmRoute(filterShape) */
  route?: FilterGemmRoute;
  /** Floats of the largest operand built per chunk. @default CHUNK_FLOATS (16 MB) */
  chunkFloats?: number;
}

/** dW [fh, fw, C, O] of Conv2D for input x [b, H, W, C] and output gradient dy [b, outH, outW, O]. */
export function filterGradGemm(s: KernelScope, x: TensorInfo, dy: TensorInfo, geo: FilterGradGeometry, options: FilterGemmOptions = {}): TensorInfo {
  const route = options.route ?? filterGemmRoute(geo.filterShape);
  const chunkFloats = options.chunkFloats ?? CHUNK_FLOATS;
  return route === 'im2col' ? viaIm2col(s, x, dy, geo, chunkFloats) : viaShiftedTaps(s, x, dy, geo, chunkFloats);
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
  const acc = whole ? null : new Float32Array(kc * outC);
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
