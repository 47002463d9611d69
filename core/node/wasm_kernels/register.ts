/**
 * Registers edgeseg's wasm training kernels. Idempotent.
 * - The three the wasm backend lacks: Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter,
 *   DepthwiseConv2dNativeBackpropInput.
 * - Replacements for slow ones: Conv2DBackpropInput (sub-pixel, not a scalar loop), SplitV (the
 *   Concatenate gradient).
 * - Fused gradients: ReLU and ClipByValue (ActivationGrads.ts), BatchNorm's gradient sums in one pass
 *   (BatchNormGradSums.ts), the row broadcast of the Sum and Mean gradients (TileRows.ts), the
 *   per-channel sum and centred sum of squares of BatchNorm's statistics with its gradient
 *   (ChannelMoments.ts).
 * - Kernels that take some calls of the backend's own and pass the rest on to it
 *   (backend_fallback.ts): Sum and Mean over leading axes, a Concat that copies whole runs, an
 *   Identity (and same-dtype Cast) that shares its input's buffer, BatchNorm's normalisation in one
 *   SIMD pass, and a MaxPoolGrad that reads the pooled maximum instead of searching for it again.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { clipByValueGradConfig, reluGradConfig } from './ActivationGrads.js';
import { batchNormGradSumsConfig } from './BatchNormGradSums.js';
import { channelMomentsConfig, channelMomentsGradConfig } from './ChannelMoments.js';
import { concatKernel } from './Concat.js';
import { fusedBatchNormKernel } from './FusedBatchNorm.js';
import { maxPoolGradKernel } from './MaxPoolGrad.js';
import { castKernel, identityKernel } from './Identity.js';
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './DepthwiseConv2dNativeBackpropFilter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './DepthwiseConv2dNativeBackpropInput.js';
import { splitVConfig } from './SplitV.js';
import { tileRowsConfig } from './TileRows.js';
import { meanKernel } from './Mean.js';
import { sumKernel } from './Sum.js';

/** edgeseg's kernels that take some calls of a backend kernel and pass the rest on to it (backend_fallback.ts). */
const OVERRIDING = [sumKernel, meanKernel, concatKernel, identityKernel, castKernel, fusedBatchNormKernel, maxPoolGradKernel];

/** Gradient kernels edgeseg adds to tfjs' wasm backend (it has none for these ops), and faster ones for some it has. */
export const WASM_GRADIENT_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  splitVConfig,
  reluGradConfig,
  clipByValueGradConfig,
  batchNormGradSumsConfig,
  tileRowsConfig,
  channelMomentsConfig,
  channelMomentsGradConfig,
  ...OVERRIDING.map((k) => k.config),
];

/** Registers WASM_GRADIENT_KERNELS with tfjs, replacing any other registration of the same kernels (calling it again changes nothing). */
export function registerWasmGradientKernels(): void {
  // Those that pass calls on remember the backend's own kernels before replacing them.
  for (const kernel of OVERRIDING) kernel.keepBackendKernel();
  for (const config of WASM_GRADIENT_KERNELS) {
    const existing = getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing) unregisterKernel(config.kernelName, config.backendName);
    registerKernel(config);
  }
}
