/**
 * Registers edgeseg's wasm gradient kernels: the three the wasm backend lacks
 * (Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput),
 * a replacement for its scalar-loop Conv2DBackpropInput, a faster SplitV (the gradient of
 * Concatenate), the fused ReLU and ClipByValue gradients (ActivationGrads.ts) and Sum and Mean
 * over leading axes (every bias and BatchNorm gradient, BatchNorm's moments), and BatchNorm's
 * gradient sums in one pass (BatchNormGradSums.ts), a Concat that copies whole runs (Concat.ts), the row broadcast of the Sum and Mean gradients (TileRows.ts), and an Identity (and same-dtype Cast) that shares its input's buffer instead of copying it (Identity.ts), the per-channel sum and centred sum of squares of synchronised BatchNorm with its gradient (ChannelMoments.ts), BatchNorm's normalisation in one SIMD pass (FusedBatchNorm.ts), and a MaxPoolGrad that reads the pooled maximum instead of searching for it again (MaxPoolGrad.ts). Idempotent.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { clipByValueGradConfig, reluGradConfig } from './ActivationGrads.js';
import { batchNormGradSumsConfig } from './BatchNormGradSums.js';
import { channelMomentsConfig, channelMomentsGradConfig } from './ChannelMoments.js';
import { concatConfig, keepBackendConcat } from './Concat.js';
import { fusedBatchNormConfig, keepBackendFusedBatchNorm } from './FusedBatchNorm.js';
import { keepBackendMaxPoolGrad, maxPoolGradConfig } from './MaxPoolGrad.js';
import { castConfig, identityConfig, keepBackendIdentity } from './Identity.js';
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './DepthwiseConv2dNativeBackpropFilter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './DepthwiseConv2dNativeBackpropInput.js';
import { splitVConfig } from './SplitV.js';
import { tileRowsConfig } from './TileRows.js';
import { meanKernel } from './Mean.js';
import { sumKernel } from './Sum.js';

/** Gradient kernels edgeseg adds to tfjs' wasm backend (it has none for these ops). */
export const WASM_GRADIENT_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  splitVConfig,
  reluGradConfig,
  clipByValueGradConfig,
  sumKernel.config,
  meanKernel.config,
  batchNormGradSumsConfig,
  concatConfig,
  tileRowsConfig,
  identityConfig,
  castConfig,
  channelMomentsConfig,
  channelMomentsGradConfig,
  fusedBatchNormConfig,
  maxPoolGradConfig,
];

/** Registers WASM_GRADIENT_KERNELS with tfjs, replacing any other registration of the same kernels (calling it again changes nothing). */
export function registerWasmGradientKernels(): void {
  // Sum and Mean pass the reductions they do not take on to the backend's own kernels.
  sumKernel.keepBackendKernel();
  meanKernel.keepBackendKernel();
  keepBackendConcat();
  keepBackendIdentity();
  keepBackendFusedBatchNorm();
  keepBackendMaxPoolGrad();
  for (const config of WASM_GRADIENT_KERNELS) {
    const existing = getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing) unregisterKernel(config.kernelName, config.backendName);
    registerKernel(config);
  }
}
