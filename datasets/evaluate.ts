/** Evaluation without gradients: loss and segmentation metrics over a sample set, in batches. */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ConfusionMatrix, INPUT_CHANNELS, type InputSize, type ModelGeometry, type SegmentationMetrics } from '../core/index.js';
import { DEFAULT_GEOMETRY } from '../core/contract.js';
import { type ModelRunner } from '../core/engine.js';
import type { SampleSet } from './dataset.js';
import { batches } from './pipeline.js';
import { sparseCrossEntropy } from './cross_entropy.js';
import { tf } from '../core/node/tfjs.js';

/** Metrics of a model on a set, with per-sample masks when asked. */
export interface Evaluation {
  loss: number;
  metrics: SegmentationMetrics;
  confusion: ConfusionMatrix;
}

/** Batch size and progress of an evaluation. */
export interface EvaluateOptions {
  batchSize?: number;
  onProgress?(done: number, total: number): void;
  /** Called with each batch's ids and predicted masks (class ids, n×H×W). */
  onMasks?(ids: string[], masks: Uint8Array): void;
  /**
   * The model's input size and class count (`geometryOf(card)`); the set must have been opened
   * with it. @default edgeseg's own U-Nets' (128×128, 3 classes)
   */
  geometry?: ModelGeometry;
}

/** Runs the model on a batch [n, H, W, 3] in inference mode and returns its logits [n, H, W, classes]. */
export function predictLogits(model: LayersModel, images: Float32Array, n: number, size: InputSize = DEFAULT_GEOMETRY): tf.Tensor4D {
  return tf.tidy(() => model.predict(tf.tensor4d(images, [n, size.height, size.width, INPUT_CHANNELS])) as tf.Tensor4D);
}

/** `predictLogits` through an engine runner at the model's geometry (ONNX Runtime reads its logits back to memory). */
async function runnerLogits(runner: ModelRunner, images: Float32Array, n: number, g: ModelGeometry): Promise<tf.Tensor4D> {
  const input = tf.tensor4d(images, [n, g.height, g.width, INPUT_CHANNELS]);
  try {
    const out = await runner.predict(input);
    return out instanceof Float32Array ? tf.tensor4d(out, [n, g.height, g.width, g.classes]) : out;
  } finally {
    input.dispose();
  }
}

/** Loss and metrics of a tfjs model, or of any engine's runner (an imported ONNX model on ONNX Runtime). */
export async function evaluate(model: LayersModel | ModelRunner, set: SampleSet, options: EvaluateOptions = {}): Promise<Evaluation> {
  const { batchSize = 8, onProgress, onMasks, geometry = DEFAULT_GEOMETRY } = options;
  const confusion = new ConfusionMatrix(geometry.classes);
  let lossSum = 0;
  let pixels = 0;
  let done = 0;
  for await (const batch of batches(set, { batchSize, size: geometry })) {
    const logits = 'engine' in model ? await runnerLogits(model, batch.images, batch.size, geometry) : predictLogits(model, batch.images, batch.size, geometry);
    const [loss, ids] = tf.tidy(() => {
      const labels = tf.tensor3d(batch.masks, [batch.size, geometry.height, geometry.width], 'int32');
      return [sparseCrossEntropy(logits, labels), tf.argMax(logits, -1)];
    });
    logits.dispose();
    const [lossValue, predicted] = await Promise.all([loss.data(), ids.data()]);
    tf.dispose([loss, ids]);
    lossSum += lossValue[0] * batch.size;
    pixels += batch.size;
    confusion.accumulate(batch.masks, predicted);
    onMasks?.(batch.ids, Uint8Array.from(predicted));
    done += batch.size;
    onProgress?.(done, set.size);
  }
  return { loss: lossSum / Math.max(1, pixels), metrics: confusion.metrics(), confusion };
}
