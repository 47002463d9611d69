/**
 * unet-mobilenetv2: the U-Net of "Deep Learning in Production" §2.6 — a MobileNetV2 encoder
 * (α = 1, include_top = false) tapped at five skips, and the pix2pix upsample decoder.
 *
 * The encoder (mobilenetv2_encoder.ts) reproduces Keras' MobileNetV2 layer names; trainer/pretrained
 * imports ImageNet weights into it.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { ConfigError, INPUT_CHANNELS, INPUT_NAME, INPUT_SIZE, NUM_CLASSES, OUTPUT_NAME } from '../../core/index.js';
import { tfl } from '../../core/node/tfjs.js';
import { isEncoderLayer, MOBILENETV2_BN, mobilenetV2Encoder } from './mobilenetv2_encoder.js';
import { resolveModelOptions } from './options.js';

export { isEncoderLayer };

export interface UnetMobilenetV2Options extends Record<string, unknown> {
  /**
   * Keep the encoder's weights fixed while training. Needs encoder weights to keep, so the
   * trainer accepts it only with `initFrom`. @default false
   */
  freezeEncoder: boolean;
  /**
   * Filters of the four pix2pix upsample blocks, deepest first. The book's decoder holds 4.7 M of
   * the model's 6.5 M parameters; `[96, 48, 32, 24]` keeps the pretrained encoder (1.84 M) and its
   * skips with a decoder of 0.68 M, 2.5 M in all (the shipped pets model). @default [512, 256, 128, 64]
   */
  decoderFilters: number[];
}

export const UNET_MOBILENETV2_DEFAULTS: UnetMobilenetV2Options = { freezeEncoder: false, decoderFilters: [512, 256, 128, 64] };

/** The book's skip outputs, shallowest first: 64², 32², 16², 8², 4² for a 128² input. */
export const MOBILENETV2_SKIPS = ['block_1_expand_relu', 'block_3_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu', 'block_16_project'] as const;

/** pix2pix `upsample(filters, 3)`: Conv2DTranspose (stride 2, no bias, N(0, 0.02)) → BatchNorm → ReLU. */
function upsample(x: SymbolicTensor, filters: number, prefix: string): SymbolicTensor {
  const init = tfl.initializers.randomNormal({ mean: 0, stddev: 0.02 });
  const y = tfl.layers.conv2dTranspose({ filters, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init, name: `${prefix}_conv` }).apply(x);
  const normed = tfl.layers.batchNormalization({ ...MOBILENETV2_BN, name: `${prefix}_bn` }).apply(y);
  return tfl.layers.reLU({ name: `${prefix}_relu` }).apply(normed) as SymbolicTensor;
}

export function buildUnetMobilenetV2(input: Record<string, unknown>): { model: LayersModel; config: UnetMobilenetV2Options } {
  const config = resolveModelOptions('unet-mobilenetv2', UNET_MOBILENETV2_DEFAULTS, input);
  const filters = config.decoderFilters;
  if (!Array.isArray(filters) || filters.length !== MOBILENETV2_SKIPS.length - 1 || !filters.every((f) => Number.isInteger(f) && f > 0)) {
    throw new ConfigError(`unet-mobilenetv2 option 'decoderFilters' must be ${MOBILENETV2_SKIPS.length - 1} positive integers, got ${JSON.stringify(filters)}`);
  }
  if (INPUT_SIZE % 32 !== 0) throw new ConfigError(`unet-mobilenetv2 needs an input side divisible by 32, the contract has ${INPUT_SIZE}`);
  const image = tfl.input({ shape: [INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS], name: INPUT_NAME });
  // Block 16, the last tapped, ends at its projection (no BN), as in Keras' down stack.
  const enc = mobilenetV2Encoder(image, { endAtLastProjection: true });
  const skips = MOBILENETV2_SKIPS.map((name) => enc.outputs.get(name)!);
  let x = skips[skips.length - 1];
  filters.forEach((f, i) => {
    const up = upsample(x, f, `up${i}`);
    x = tfl.layers.concatenate({ name: `up${i}_concat` }).apply([up, skips[skips.length - 2 - i]]) as SymbolicTensor;
  });
  const logits = tfl.layers.conv2dTranspose({ filters: NUM_CLASSES, kernelSize: 3, strides: 2, padding: 'same', name: OUTPUT_NAME }).apply(x) as SymbolicTensor;
  const model = tfl.model({ inputs: image, outputs: logits, name: 'unet_mobilenetv2' });
  if (config.freezeEncoder) for (const layer of model.layers) if (isEncoderLayer(layer.name)) layer.trainable = false;
  return { model, config };
}
