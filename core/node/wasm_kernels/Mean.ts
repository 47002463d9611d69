/**
 * Mean for wasm (BatchNorm's batch moments): leading-axis reductions in SIMD (leading_axes.ts),
 * the float64 total divided by the row count; the rest by the backend's own Mean.
 */
import { Mean } from '@tensorflow/tfjs-core';
import { leadingAxesKernel } from './leading_axes.js';

export const meanKernel = leadingAxesKernel(Mean, (rows) => 1 / rows);
