/**
 * Registers edgeseg's wasm gradient kernels: the three the wasm backend lacks
 * (Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput),
 * a replacement for its scalar-loop Conv2DBackpropInput, a faster SplitV (the gradient of
 * Concatenate), the fused ReLU and ClipByValue gradients (ActivationGrads.ts) and a Sum over
 * leading axes (every bias and BatchNorm gradient). Idempotent.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { clipByValueGradConfig, reluGradConfig } from './ActivationGrads.js';
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './DepthwiseConv2dNativeBackpropFilter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './DepthwiseConv2dNativeBackpropInput.js';
import { splitVConfig } from './SplitV.js';
import { keepBackendSum, sumConfig } from './Sum.js';

/** Gradient kernels edgeseg adds to tfjs' wasm backend (it has none for these ops). */
export const WASM_GRADIENT_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  splitVConfig,
  reluGradConfig,
  clipByValueGradConfig,
  sumConfig,
];

/** Registers WASM_GRADIENT_KERNELS with tfjs, replacing any other registration of the same kernels (calling it again changes nothing). */
export function registerWasmGradientKernels(): void {
  keepBackendSum();
  for (const config of WASM_GRADIENT_KERNELS) {
    const existing = getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing) unregisterKernel(config.kernelName, config.backendName);
    registerKernel(config);
  }
}
