/**
 * DepthwiseConv2dNativeBackpropInput for wasm, missing from the wasm backend.
 * dx[b, p·s + i·d − top, q·s + j·d − left, c] += dy[b, p, q, c] · W[i, j, c]  (mult = 1).
 *
 * With mult = 1 and C a multiple of 4 (every MobileNetV2 layer) it works in place in f32x4 lanes
 * over channels. At stride 1 with a 3-wide filter, for each output row (b, p) and filter row i,
 * simd.ts's gatherRow3 sums the three taps into each dx pixel whose three dy columns exist
 * (weights in registers, dx loaded and stored once per pixel). Everything else, the border
 * columns, strided and other filters, is scattered with scaleAcc: for each tap (i, j), the run of
 * columns q whose input column lies inside dx is one call, dy read densely and dx written at a
 * stride of s·C floats.
 * Other filters take the sub-pixel route of transposed_conv.ts (one XNNPACK depthwise convolution
 * and a pixel shuffle), which measured ~3–4 GFLOP/s on MobileNetV2's layers.
 */
import {
  backend_util,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { KernelScope } from './kernel_scope.js';
import { simdLoops } from './simd.js';
import { transposedConv } from './transposed_conv.js';

/** Whether the SIMD route takes this filter [fh, fw, C, mult]. */
export function depthwiseInputSimdApplies(filterShape: readonly number[]): boolean {
  return filterShape[3] === 1 && filterShape[2] % 4 === 0;
}

function viaSimd(s: KernelScope, dy: TensorInfo, filter: TensorInfo, inputShape: number[], info: backend_util.Conv2DInfo): TensorInfo {
  const [batch, inH, inW, c] = inputShape;
  const [fh, fw] = filter.shape;
  const [, outH, outW] = dy.shape;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dx = s.output(inputShape);
  s.heap(dx).fill(0);
  const loops = simdLoops(s.backend);
  const [dyp, wp, dxp] = [s.ptr(dy), s.ptr(filter), s.ptr(dx)];
  const cb = c * 4;
  const q0 = new Int32Array(fw);
  const q1 = new Int32Array(fw);
  for (let j = 0; j < fw; j++) {
    q0[j] = Math.max(0, Math.ceil((left - j * dw) / sw));
    q1[j] = Math.min(outW, Math.floor((inW - 1 + left - j * dw) / sw) + 1);
  }
  // Stride 1, 3 wide: the dx columns [ca, ce) whose three dy columns q = col + left − j·dw all
  // exist are gathered per pixel; the rest, and other filters, scatter tap by tap.
  const ca = Math.max(0, 2 * dw - left);
  const ce = Math.min(inW, outW - left);
  const gather = sw === 1 && fw === 3 && ce > ca;
  for (let b = 0; b < batch; b++) {
    for (let p = 0; p < outH; p++) {
      const dyRow = dyp + (b * outH + p) * outW * cb;
      for (let i = 0; i < fh; i++) {
        const r = p * sh + i * dh - top;
        if (r < 0 || r >= inH) continue;
        const dxRow = dxp + (b * inH + r) * inW * cb;
        if (gather) loops.gatherRow3(dyRow + (ca + left) * cb, dw * cb, wp + i * fw * cb, dxRow + ca * cb, cb, ce - ca);
        for (let j = 0; j < fw; j++) {
          // The columns gatherRow3 took are dy columns [ca + left − j·dw, ce + left − j·dw) of tap j:
          // scatter the runs before and after them (no array per row: this loop runs per pixel row).
          const w = wp + (i * fw + j) * cb;
          for (let piece = 0; piece < (gather ? 2 : 1); piece++) {
            const from = gather && piece === 1 ? ce + left - j * dw : q0[j];
            const to = gather && piece === 0 ? ca + left - j * dw : q1[j];
            if (to > from) loops.scaleAcc(dyRow + from * cb, w, dxRow + (from * sw + j * dw - left) * cb, sw * cb, cb, to - from);
          }
        }
      }
    }
  }
  return dx;
}

function kernel({ inputs, backend, attrs }: Parameters<KernelFunc>[0], simd: boolean): TensorInfo {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  const info = backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  return KernelScope.use(backend, 'wasm', (s) =>
    simd && depthwiseInputSimdApplies(filter.shape)
      ? viaSimd(s, dy, filter, inputShape as number[], info)
      : transposedConv(
          s,
          dy,
          filter,
          {
            inputShape: inputShape as [number, number, number, number],
            strides: [info.strideHeight, info.strideWidth],
            dilations: [info.dilationHeight, info.dilationWidth],
            padTop: info.padInfo.top,
            padLeft: info.padInfo.left,
          },
          'depthwise',
        ),
  );
}

const depthwiseConv2dNativeBackpropInput: KernelFunc = (args) => kernel(args, true);

/** The previous kernel, the sub-pixel route for every filter (the before/after benchmark's "before"). */
export const depthwiseConv2dNativeBackpropInputAsSubPixel: KernelFunc = (args) => kernel(args, false);

export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropInput,
};
