/**
 * The MobileNetV2 feature extractor (α = 1), shared by the U-Net's encoder and the ImageNet
 * classifier that checks imported weights (trainer/pretrained). Layer names are Keras'
 * (`Conv1`, `bn_Conv1`, `expanded_conv_*`, `block_<i>_expand_relu`, …), so Keras/ImageNet weights
 * map onto it by name when they are available. Stride-2 convolutions use 'same' padding, which
 * for even feature maps pads exactly as Keras' explicit ZeroPadding2D does (0 before, 1 after)
 * and as TFLite's SAME does.
 */
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { tfl } from '../../core/node/tfjs.js';

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
export const MOBILENETV2_BN = { epsilon: 1e-3, momentum: 0.9 };

/** Whether a layer belongs to the MobileNetV2 encoder (what `freezeEncoder` freezes). */
export function isEncoderLayer(name: string): boolean {
  return /^(Conv1|bn_Conv1|Conv1_relu|expanded_conv_|block_\d+_)/.test(name);
}

export interface MobilenetV2EncoderOptions {
  /**
   * End block 16 at its projection, before its BatchNorm, as the U-Net's down stack (Keras'
   * `block_16_project` output) does; the classifier keeps `block_16_project_BN`. @default false
   */
  endAtLastProjection?: boolean;
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
    return this.apply(tfl.layers.batchNormalization({ ...MOBILENETV2_BN, name }), x);
  }

  relu6(x: SymbolicTensor, name: string): SymbolicTensor {
    return this.apply(tfl.layers.reLU({ maxValue: 6, name }), x);
  }

  invertedResidual(x: SymbolicTensor, expansion: number, filters: number, stride: number, block: number, endAtProjection: boolean): SymbolicTensor {
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
    if (endAtProjection) return y;
    y = this.bn(y, `${prefix}project_BN`);
    if (stride === 1 && inChannels === filters) y = this.apply(tfl.layers.add({ name: `${prefix}add` }), [x, y]);
    return y;
  }
}

/**
 * Applies the MobileNetV2 encoder (stem + 17 inverted-residual blocks) to `image`. Returns the
 * last block's output and every layer's output by name.
 */
export function mobilenetV2Encoder(image: SymbolicTensor, options: MobilenetV2EncoderOptions = {}): { output: SymbolicTensor; outputs: Map<string, SymbolicTensor> } {
  const enc = new EncoderBuilder();
  let x = enc.apply(tfl.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }), image);
  x = enc.relu6(enc.bn(x, 'bn_Conv1'), 'Conv1_relu');
  const blocks = BLOCKS.reduce((n, [, , repeats]) => n + repeats, 0);
  let block = 0;
  for (const [t, c, n, s] of BLOCKS) {
    for (let i = 0; i < n; i++, block++) {
      x = enc.invertedResidual(x, t, c, i === 0 ? s : 1, block, options.endAtLastProjection === true && block === blocks - 1);
    }
  }
  return { output: x, outputs: enc.outputs };
}
