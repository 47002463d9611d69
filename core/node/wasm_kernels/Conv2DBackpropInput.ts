/**
 * Conv2DBackpropInput for wasm (also the forward pass of every Conv2DTranspose layer). The wasm
 * backend ships this kernel as a scalar loop; this one runs as one XNNPACK convolution through
 * the sub-pixel decomposition in transposed_conv.ts.
 */
import { backend_util, Conv2DBackpropInput, type Conv2DBackpropInputAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope } from './kernel_scope.js';
import { transposedConv } from './transposed_conv.js';

const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs;
  if (backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') {
    throw new Error(`wasm Conv2DBackpropInput supports dataFormat NHWC only, got ${dataFormat}`);
  }
  const info = backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  return KernelScope.use(backend, 'wasm', (s) =>
    transposedConv(
      s,
      dy,
      filter,
      {
        inputShape: inputShape as [number, number, number, number],
        strides: [info.strideHeight, info.strideWidth],
        dilations: [1, 1],
        padTop: info.padInfo.top,
        padLeft: info.padInfo.left,
      },
      'conv',
    ),
  );
};

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput,
};
