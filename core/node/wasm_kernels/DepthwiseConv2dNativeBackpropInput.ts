/** DepthwiseConv2dNativeBackpropInput for wasm, missing from the wasm backend: see transposed_conv.ts. */
import {
  backend_util,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { KernelScope } from './kernel_scope.js';
import { transposedConv } from './transposed_conv.js';

const depthwiseConv2dNativeBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
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
    transposedConv(
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
};

export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropInput,
};
