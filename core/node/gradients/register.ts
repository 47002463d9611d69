/** Registers edgeseg's replacements for tfjs-core gradients (every backend uses them). */
import { registerGradient, type GradConfig } from '@tensorflow/tfjs-core';
import { clipByValueGradConfig, reluGradConfig } from './Activation_grads.js';
import { fusedBatchNormGradConfig } from './FusedBatchNorm_grad.js';
import { meanGradConfig, sumGradConfig } from './Reduction_grads.js';

export const GRADIENTS: readonly GradConfig[] = [fusedBatchNormGradConfig, reluGradConfig, clipByValueGradConfig, sumGradConfig, meanGradConfig];

export function registerGradients(): void {
  for (const config of GRADIENTS) registerGradient(config);
}
