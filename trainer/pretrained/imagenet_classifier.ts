/**
 * MobileNetV2 with its ImageNet classifier head, in tfjs: the encoder the U-Net uses
 * (trainer/models/mobilenetv2_encoder.ts, every block complete), the 1×1 convolution to 1280
 * channels (`Conv_1` → `Conv_1_bn` → ReLU6, Keras' names), global average pooling and the
 * `Logits` dense layer. With imported weights it classifies photos as the TFLite model does,
 * which is how an import is checked end to end: a single mismapped weight breaks the ranking.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { type InputNormalization, type PixelImage } from '../../core/index.js';
import { PIXEL_SCALE } from '../../core/contract.js';
import { normalizeInput } from '../../core/preprocess.js';
import { tf, tfl } from '../../core/node/tfjs.js';
import { MOBILENETV2_BN, mobilenetV2Encoder } from '../models/mobilenetv2_encoder.js';
import { loadMobilenetV2Weights, type LoadedMobilenetV2 } from './load_mobilenetv2.js';
import type { MobilenetV2Weights } from './mobilenetv2_tflite.js';

/** Builds the classifier for `weights` (its input side and class count) and loads them (identity BatchNorm form). */
export function imagenetClassifier(weights: MobilenetV2Weights): { model: LayersModel; loaded: LoadedMobilenetV2 } {
  const size = weights.inputSize;
  const image = tfl.input({ shape: [size, size, 3], name: 'image' });
  const { output } = mobilenetV2Encoder(image);
  let x = tfl.layers.conv2d({ filters: 1280, kernelSize: 1, padding: 'same', useBias: false, name: 'Conv_1' }).apply(output);
  x = tfl.layers.batchNormalization({ ...MOBILENETV2_BN, name: 'Conv_1_bn' }).apply(x);
  x = tfl.layers.reLU({ maxValue: 6, name: 'out_relu' }).apply(x);
  x = tfl.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x);
  const logits = tfl.layers.dense({ units: weights.classes, name: 'Logits' }).apply(x);
  const model = tfl.model({ inputs: image, outputs: logits as SymbolicTensor, name: 'mobilenetv2_imagenet' });
  try {
    return { model, loaded: loadMobilenetV2Weights(model, weights, { select: () => true }) };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/**
 * A decoded photo → the classifier's input [size, size, 3]: core's resize (bilinear, half-pixel
 * centres) to the classifier's side instead of the U-Net's, × 1/255, then the weights' normalization.
 */
export function classifierInput(img: PixelImage, size: number, normalization: InputNormalization): tf.Tensor3D {
  return tf.tidy(() => {
    const pixels = tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, img.channels], 'int32');
    const rgb = img.channels === 3 ? pixels : tf.slice(pixels, [0, 0, 0], [-1, -1, 3]);
    const resized = tf.image.resizeBilinear(tf.cast(rgb, 'float32') as tf.Tensor3D, [size, size], false, true);
    return normalizeInput(tf.mul(resized, tf.scalar(PIXEL_SCALE)), normalization);
  });
}

/** Indices of the `k` largest logits of each row of [n, classes] logits, best first. */
export function topK(logits: tf.Tensor2D, k: number): number[][] {
  const { indices, values } = tf.topk(logits, k);
  try {
    return indices.arraySync();
  } finally {
    tf.dispose([indices, values]);
  }
}
