/**
 * MaxPoolGrad (every MaxPooling2D layer's backward pass: the encoder of unet-small) for wasm,
 * channels last. Each output pixel's gradient goes to the first input position of its window, in
 * row-major window order, that holds the pooled maximum (the cpu backend's rule):
 *
 *   dx[n, y·s + i − top, x·s + j − left, c] += dy[n, y, x, c]   for the first (i, j) with x[…] = y[n, y, x, c]
 *
 * The forward output y is an input of the kernel, so the maximum is not searched for again: each
 * window position is one comparison, channels innermost (contiguous), with a per-channel "taken"
 * flag; the U-Net encoders' 2×2 stride-2 pooling has its own loop over the four candidates. The
 * backend's kernel recomputes every window's maximum and its position in a scalar loop: 55 ms of a
 * unet-small step. Float32 4-D inputs take this path; anything else goes to the backend's own
 * kernel (backend_fallback.ts).
 */
import { backend_util, MaxPoolGrad, type MaxPoolGradAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import { overridingKernel } from './backend_fallback.js';
import { KernelScope } from './kernel_scope.js';

let taken = new Uint8Array(0);

export const maxPoolGradKernel = overridingKernel(MaxPoolGrad, (args) => {
  const { dy, input, output } = args.inputs as { dy: TensorInfo; input: TensorInfo; output?: TensorInfo };
  if (input.dtype !== 'float32' || input.shape.length !== 4 || !output) return null;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as MaxPoolGradAttrs;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  return KernelScope.use(args.backend, 'wasm', (s) => {
    const dx = s.output(input.shape);
    const [X, Y, DY, DX] = [s.heap(input), s.heap(output), s.heap(dy), s.heap(dx)];
    DX.fill(0);
    const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
    const { top, left } = info.padInfo;
    if (filterHeight === 2 && filterWidth === 2 && strideHeight === 2 && strideWidth === 2 && top === 0 && left === 0 && 2 * outHeight <= inHeight && 2 * outWidth <= inWidth) {
      pool2x2(X, Y, DY, DX, batchSize, inHeight, inWidth, c, outHeight, outWidth);
      return dx;
    }
    if (taken.length < c) taken = new Uint8Array(c);
    for (let n = 0; n < batchSize; n++) {
      for (let oy = 0; oy < outHeight; oy++) {
        for (let ox = 0; ox < outWidth; ox++) routeWindow(X, Y, DY, DX, info, n, oy, ox);
      }
    }
    return dx;
  });
});

/** Adds output pixel (n, oy, ox)'s dy, per channel, to the first position of its window holding the maximum. */
function routeWindow(X: Float32Array, Y: Float32Array, DY: Float32Array, DX: Float32Array, info: backend_util.Conv2DInfo, n: number, oy: number, ox: number): void {
  const { inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const o = ((n * outHeight + oy) * outWidth + ox) * c;
  taken.fill(0, 0, c);
  let remaining = c;
  for (let i = 0; i < filterHeight && remaining > 0; i++) {
    const iy = oy * strideHeight + i - top;
    if (iy < 0 || iy >= inHeight) continue;
    for (let j = 0; j < filterWidth && remaining > 0; j++) {
      const ix = ox * strideWidth + j - left;
      if (ix < 0 || ix >= inWidth) continue;
      const p = ((n * inHeight + iy) * inWidth + ix) * c;
      for (let k = 0; k < c; k++) {
        if (taken[k] === 0 && X[p + k] === Y[o + k]) {
          taken[k] = 1;
          DX[p + k] += DY[o + k];
          remaining--;
        }
      }
    }
  }
}

/** The 2×2, stride-2, unpadded pooling of the U-Net encoders: four candidates per value, first match wins. */
function pool2x2(X: Float32Array, Y: Float32Array, DY: Float32Array, DX: Float32Array, batch: number, inH: number, inW: number, c: number, outH: number, outW: number): void {
  const row = inW * c;
  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const o = ((n * outH + oy) * outW + ox) * c;
        const p00 = ((n * inH + 2 * oy) * inW + 2 * ox) * c;
        const p01 = p00 + c;
        const p10 = p00 + row;
        const p11 = p10 + c;
        for (let k = 0; k < c; k++) {
          const m = Y[o + k];
          const g = DY[o + k];
          if (X[p00 + k] === m) DX[p00 + k] = g;
          else if (X[p01 + k] === m) DX[p01 + k] = g;
          else if (X[p10 + k] === m) DX[p10 + k] = g;
          else if (X[p11 + k] === m) DX[p11 + k] = g;
        }
      }
    }
  }
}
