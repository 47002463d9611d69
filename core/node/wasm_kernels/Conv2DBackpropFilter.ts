/**
 * Conv2DBackpropFilter for wasm, missing from the wasm backend.
 * dW[i, j, c, o] = Σ_{b,p,q} x_pad[b, p·s + i, q·s + j, c] · dy[b, p, q, o].
 *
 * Runs filter_gemm.ts: SIMD outer products in place for aligned channel counts, XNNPACK GEMMs
 * otherwise. `conv2DBackpropFilterAsConv` is the previous kernel, kept for the before/after
 * benchmark: with batch and channels of x swapped ([c, H, W, b]) and dy as the filter
 * ([p, q, b, o]), the stride becomes a dilation and the output [c, fh, fw, o] is dW up to a
 * transpose, one XNNPACK convolution with outH·outW taps of `batch` channels each.
 */
import { backend_util, Conv2DBackpropFilter, type Conv2DBackpropFilterAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { filterGradGemm } from './filter_gemm.js';
import { KernelScope } from './kernel_scope.js';

function geometry(x: TensorInfo, attrs: Conv2DBackpropFilterAttrs) {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') {
    throw new Error(`wasm Conv2DBackpropFilter supports dataFormat NHWC only, got ${dataFormat}`);
  }
  return backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape as [number, number, number, number], strides, 1, pad, dimRoundingMode);
}

const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropFilterAttrs;
  const info = geometry(x, a);
  return KernelScope.use(backend, 'wasm', (s) =>
    filterGradGemm(s, x, dy, {
      filterShape: a.filterShape as [number, number, number, number],
      strides: [info.strideHeight, info.strideWidth],
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
    }),
  );
};

/** The previous kernel: the filter gradient as one XNNPACK convolution (see the header). */
export const conv2DBackpropFilterAsConv: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropFilterAttrs;
  const info = geometry(x, a);
  const [fh, fw, inC, outC] = a.filterShape;
  const [, inH, inW] = x.shape;
  const [, outH, outW] = dy.shape;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Enough bottom/right padding that the dilated dy fits fh × fw times; extra rows are cut below.
  const bottom = Math.max(0, fh + sh * (outH - 1) - inH - top);
  const right = Math.max(0, fw + sw * (outW - 1) - inW - left);
  return KernelScope.use(backend, 'wasm', (s) => {
    const xT = s.transpose(x, [3, 1, 2, 0]);
    const dyT = s.transpose(dy, [1, 2, 0, 3]);
    let out = s.run('Conv2D', { x: xT, filter: dyT }, {
      strides: [1, 1],
      dilations: [sh, sw],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
    } as never);
    if (out.shape[1] !== fh || out.shape[2] !== fw) out = s.slice(out, [0, 0, 0, 0], [inC, fh, fw, outC]);
    return s.transpose(out, [1, 2, 0, 3]);
  });
};

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter,
};
