/**
 * unet-mobilenetv2: the U-Net of "Deep Learning in Production" §2.6 — a MobileNetV2 encoder
 * (α = 1, include_top = false) tapped at five skips, and the pix2pix upsample decoder.
 *
 * The encoder reproduces Keras' MobileNetV2 layer names (`Conv1`, `expanded_conv_*`,
 * `block_<i>_expand_relu`, …) so that Keras/ImageNet weights map onto it by name when they are
 * available. Stride-2 depthwise convolutions use 'same' padding, which for the even feature maps
 * of a 128² input pads exactly as Keras' explicit ZeroPadding2D does (0 before, 1 after).
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { ConfigError, INPUT_CHANNELS, INPUT_NAME, INPUT_SIZE, NUM_CLASSES, OUTPUT_NAME } from '../../core/index.js';
import { tfl } from '../../core/node/tfjs.js';
import { resolveModelOptions } from './options.js';

export interface UnetMobilenetV2Options extends Record<string, unknown> {
  /**
   * Keep the encoder's weights fixed while training. Needs encoder weights to keep, so the
   * trainer accepts it only with `initFrom`. @default false
   */
  freezeEncoder: boolean;
}

export const UNET_MOBILENETV2_DEFAULTS: UnetMobilenetV2Options = { freezeEncoder: false };

/** The book's skip outputs, shallowest first: 64², 32², 16², 8², 4² for a 128² input. */
export const MOBILENETV2_SKIPS = ['block_1_expand_relu', 'block_3_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu', 'block_16_project'] as const;

/** pix2pix decoder filters, deepest first (book: upsample(512, 3) … upsample(64, 3)). */
const DECODER_FILTERS = [512, 256, 128, 64];

/** MobileNetV2 inverted-residual settings after the stem: [expansion t, channels c, repeats n, first stride s]. */
const BLOCKS: [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/**
 * BatchNorm: Keras' MobileNetV2 epsilon, but a moving-statistics momentum of 0.9 instead of its
 * 0.999. Keras' value suits fine-tuning from ImageNet statistics; trained from scratch, 0.999
 * leaves the inference statistics ~85% at their initial values after 160 steps, and the
 * held-out masks collapse to one class.
 */
const BN = { epsilon: 1e-3, momentum: 0.9 };

/** Whether a layer belongs to the MobileNetV2 encoder (what `freezeEncoder` freezes). */
export function isEncoderLayer(name: string): boolean {
  return /^(Conv1|bn_Conv1|Conv1_relu|expanded_conv_|block_\d+_)/.test(name);
}

/** Builds the encoder layer by layer, remembering every output by layer name for the skips. */
class EncoderBuilder {
  readonly outputs = new Map<string, SymbolicTensor>();

  apply(layer: { name: string; apply(x: SymbolicTensor | SymbolicTensor[]): unknown }, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
    const y = layer.apply(x) as SymbolicTensor;
    this.outputs.set(layer.name, y);
    return y;
  }

  bn(x: SymbolicTensor, name: string): SymbolicTensor {
    return this.apply(tfl.layers.batchNormalization({ ...BN, name }), x);
  }

  relu6(x: SymbolicTensor, name: string): SymbolicTensor {
    return this.apply(tfl.layers.reLU({ maxValue: 6, name }), x);
  }

  /** One inverted-residual block; block 16, the last tapped, ends at its projection (no BN), as in Keras' down stack. */
  invertedResidual(x: SymbolicTensor, expansion: number, filters: number, stride: number, block: number, last: boolean): SymbolicTensor {
    const inChannels = x.shape[3] as number;
    const prefix = block === 0 ? 'expanded_conv_' : `block_${block}_`;
    let y = x;
    if (block > 0) {
      y = this.apply(tfl.layers.conv2d({ filters: inChannels * expansion, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}expand` }), y);
      y = this.relu6(this.bn(y, `${prefix}expand_BN`), `${prefix}expand_relu`);
    }
    y = this.apply(tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', useBias: false, name: `${prefix}depthwise` }), y);
    y = this.relu6(this.bn(y, `${prefix}depthwise_BN`), `${prefix}depthwise_relu`);
    y = this.apply(tfl.layers.conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project` }), y);
    if (last) return y;
    y = this.bn(y, `${prefix}project_BN`);
    if (stride === 1 && inChannels === filters) y = this.apply(tfl.layers.add({ name: `${prefix}add` }), [x, y]);
    return y;
  }
}

/** pix2pix `upsample(filters, 3)`: Conv2DTranspose (stride 2, no bias, N(0, 0.02)) → BatchNorm → ReLU. */
function upsample(x: SymbolicTensor, filters: number, prefix: string): SymbolicTensor {
  const init = tfl.initializers.randomNormal({ mean: 0, stddev: 0.02 });
  const y = tfl.layers.conv2dTranspose({ filters, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init, name: `${prefix}_conv` }).apply(x);
  const normed = tfl.layers.batchNormalization({ ...BN, name: `${prefix}_bn` }).apply(y);
  return tfl.layers.reLU({ name: `${prefix}_relu` }).apply(normed) as SymbolicTensor;
}

export function buildUnetMobilenetV2(input: Record<string, unknown>): { model: LayersModel; config: UnetMobilenetV2Options } {
  const config = resolveModelOptions('unet-mobilenetv2', UNET_MOBILENETV2_DEFAULTS, input);
  if (INPUT_SIZE % 32 !== 0) throw new ConfigError(`unet-mobilenetv2 needs an input side divisible by 32, the contract has ${INPUT_SIZE}`);
  const image = tfl.input({ shape: [INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS], name: INPUT_NAME });
  const enc = new EncoderBuilder();
  let x = enc.apply(tfl.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }), image);
  x = enc.relu6(enc.bn(x, 'bn_Conv1'), 'Conv1_relu');
  const blocks = BLOCKS.reduce((n, [, , repeats]) => n + repeats, 0);
  let block = 0;
  for (const [t, c, n, s] of BLOCKS) {
    for (let i = 0; i < n; i++, block++) x = enc.invertedResidual(x, t, c, i === 0 ? s : 1, block, block === blocks - 1);
  }
  const skips = MOBILENETV2_SKIPS.map((name) => enc.outputs.get(name)!);
  x = skips[skips.length - 1];
  DECODER_FILTERS.forEach((filters, i) => {
    const up = upsample(x, filters, `up${i}`);
    x = tfl.layers.concatenate({ name: `up${i}_concat` }).apply([up, skips[skips.length - 2 - i]]) as SymbolicTensor;
  });
  const logits = tfl.layers.conv2dTranspose({ filters: NUM_CLASSES, kernelSize: 3, strides: 2, padding: 'same', name: OUTPUT_NAME }).apply(x) as SymbolicTensor;
  const model = tfl.model({ inputs: image, outputs: logits, name: 'unet_mobilenetv2' });
  if (config.freezeEncoder) for (const layer of model.layers) if (isEncoderLayer(layer.name)) layer.trainable = false;
  return { model, config };
}
