/**
 * unet-small: a classic U-Net for fast CPU work. `depth` levels; each encoder level is two
 * 3×3 conv → BatchNorm → ReLU blocks and a 2×2 max-pool (the deepest level is the bottleneck,
 * unpooled); each decoder level is a 2×2 stride-2 transposed conv → BN → ReLU, a concatenation
 * with the encoder skip of the same size, and one 3×3 conv → BN → ReLU. A 1×1 conv gives the
 * logits. Filters double per level from `baseFilters`.
 *
 * Layer names are stable (`enc<i>_a_conv`, `up<i>_bn`, `dec<i>_relu`, …): the converter's
 * per-block grouping and the tests address weights by them.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { ConfigError, INPUT_CHANNELS, INPUT_NAME, INPUT_SIZE, NUM_CLASSES, OUTPUT_NAME } from '../../core/index.js';
import { tfl } from '../../core/node/tfjs.js';
import { resolveModelOptions } from './options.js';

export interface UnetSmallOptions extends Record<string, unknown> {
  /** Filters of the first level; each deeper level doubles them. @default 16 */
  baseFilters: number;
  /** Number of resolution levels, the bottleneck included (`depth − 1` poolings). @default 4 */
  depth: number;
}

export const UNET_SMALL_DEFAULTS: UnetSmallOptions = { baseFilters: 16, depth: 4 };
/** Deepest level whose feature map is still ≥ 4×4 at the contract's input size. */
/**
 * Moving-statistics momentum of every BatchNorm. Lower than Keras' 0.99 so the inference-time
 * statistics catch up within the few hundred steps of a CPU run (0.9¹⁰⁰ ≈ 3e-5; 0.99¹⁰⁰ ≈ 0.37).
 */
const BN_MOMENTUM = 0.9;
const MAX_DEPTH = Math.log2(INPUT_SIZE / 4) + 1;

function convBnRelu(x: SymbolicTensor, filters: number, kernelSize: number, prefix: string, transposed = false): SymbolicTensor {
  const conv = transposed
    ? tfl.layers.conv2dTranspose({ filters, kernelSize, strides: 2, padding: 'same', useBias: false, kernelInitializer: 'heNormal', name: `${prefix}_conv` })
    : tfl.layers.conv2d({ filters, kernelSize, padding: 'same', useBias: false, kernelInitializer: 'heNormal', name: `${prefix}_conv` });
  const y = conv.apply(x) as SymbolicTensor;
  const bn = tfl.layers.batchNormalization({ momentum: BN_MOMENTUM, name: `${prefix}_bn` }).apply(y) as SymbolicTensor;
  return tfl.layers.reLU({ name: `${prefix}_relu` }).apply(bn) as SymbolicTensor;
}

export function buildUnetSmall(input: Record<string, unknown>): { model: LayersModel; config: UnetSmallOptions } {
  const config = resolveModelOptions('unet-small', UNET_SMALL_DEFAULTS, input);
  const { baseFilters, depth } = config;
  if (!Number.isInteger(baseFilters) || baseFilters < 1 || baseFilters > 256) throw new ConfigError(`unet-small baseFilters must be an integer 1–256, got ${baseFilters}`);
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH) throw new ConfigError(`unet-small depth must be an integer 1–${MAX_DEPTH}, got ${depth}`);

  const image = tfl.input({ shape: [INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS], name: INPUT_NAME });
  const skips: SymbolicTensor[] = [];
  let x = image;
  for (let level = 0; level < depth; level++) {
    const filters = baseFilters * 2 ** level;
    x = convBnRelu(x, filters, 3, `enc${level}_a`);
    x = convBnRelu(x, filters, 3, `enc${level}_b`);
    if (level < depth - 1) {
      skips.push(x);
      x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `enc${level}_pool` }).apply(x) as SymbolicTensor;
    }
  }
  for (let level = depth - 2; level >= 0; level--) {
    const filters = baseFilters * 2 ** level;
    x = convBnRelu(x, filters, 2, `up${level}`, true);
    x = tfl.layers.concatenate({ name: `dec${level}_concat` }).apply([x, skips[level]]) as SymbolicTensor;
    x = convBnRelu(x, filters, 3, `dec${level}`);
  }
  const logits = tfl.layers.conv2d({ filters: NUM_CLASSES, kernelSize: 1, name: OUTPUT_NAME }).apply(x) as SymbolicTensor;
  return { model: tfl.model({ inputs: image, outputs: logits, name: 'unet_small' }), config };
}
