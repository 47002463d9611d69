/** Evaluation without gradients: loss and segmentation metrics over a sample set, in batches. */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ConfusionMatrix, INPUT_CHANNELS, INPUT_SIZE, NUM_CLASSES, type ModelRunner, type SegmentationMetrics } from '../core/index.js';
import type { SampleSet } from './data/dataset.js';
import { batches } from './data/pipeline.js';
import { sparseCrossEntropy } from './loss.js';
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
  /** Called with each batch's ids and predicted masks (class ids, n×128×128). */
  onMasks?(ids: string[], masks: Uint8Array): void;
}

/** Runs the model on a batch in inference mode and returns [n, 128, 128, 3] logits. */
export function predictLogits(model: LayersModel, images: Float32Array, n: number): tf.Tensor4D {
  return tf.tidy(() => model.predict(tf.tensor4d(images, [n, INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS])) as tf.Tensor4D);
}

/** `predictLogits` through an engine runner (ONNX Runtime reads its logits back to memory). */
async function runnerLogits(runner: ModelRunner, images: Float32Array, n: number): Promise<tf.Tensor4D> {
  const input = tf.tensor4d(images, [n, INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS]);
  try {
    const out = await runner.predict(input);
    return out instanceof Float32Array ? tf.tensor4d(out, [n, INPUT_SIZE, INPUT_SIZE, NUM_CLASSES]) : out;
  } finally {
    input.dispose();
  }
}

/** Loss and metrics of a tfjs model, or of any engine's runner (an imported ONNX model on ONNX Runtime). */
export async function evaluate(model: LayersModel | ModelRunner, set: SampleSet, options: EvaluateOptions = {}): Promise<Evaluation> {
  const { batchSize = 8, onProgress, onMasks } = options;
  const confusion = new ConfusionMatrix();
  let lossSum = 0;
  let pixels = 0;
  let done = 0;
  for await (const batch of batches(set, { batchSize })) {
    const logits = 'engine' in model ? await runnerLogits(model, batch.images, batch.size) : predictLogits(model, batch.images, batch.size);
    const [loss, ids] = tf.tidy(() => {
      const labels = tf.tensor3d(batch.masks, [batch.size, INPUT_SIZE, INPUT_SIZE], 'int32');
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
