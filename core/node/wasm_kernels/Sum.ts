/** Sum for wasm: leading-axis reductions in SIMD (leading_axes.ts), the rest by the backend's own Sum. */
import { Sum } from '@tensorflow/tfjs-core';
import { leadingAxesKernel } from './leading_axes.js';

export const sumKernel = leadingAxesKernel(Sum, () => 1);
