/**
 * Where a training step runs. The loop hands each global batch to a StepRunner and gets the
 * batch's mean loss back; the runner owns how: on the loop's own thread (`inProcessSteps`, every
 * backend) or split over data-parallel replicas in worker threads (trainer/parallel/). Either way
 * the loop's model and optimizer hold the current weights and state after `sync()`, which it
 * calls before validating, checkpointing and finishing.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { INPUT_CHANNELS, INPUT_SIZE } from '../core/index.js';
import { tf } from '../core/node/tfjs.js';
import type { Batch } from '../datasets/pipeline.js';
import { trainingLoss, type LossOptions } from './loss.js';
import { fastBatchNormStatistics } from './parallel/sync_batch_norm.js';

export interface StepRunner {
  /** Threads training (1: the loop's own). */
  readonly workers: number;
  /** One optimizer step on `batch`; resolves to the batch's mean loss. */
  step(batch: Batch, learningRate: number): Promise<number>;
  /** Brings the loop's model and optimizer up to date with the training threads. */
  sync(): Promise<void>;
  /** Stops the training threads (the loop's model and optimizer stay). */
  close(): Promise<void>;
}

/** Steps on the calling thread with the model and optimizer themselves. */
export function inProcessSteps(model: LayersModel, optimizer: tf.Optimizer, loss?: LossOptions): StepRunner {
  // BatchNorm's batch statistics from one SIMD kernel each way (the replicas' own route, without the exchange).
  if (tf.getBackend() === 'wasm') fastBatchNormStatistics(model);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const lossOf = trainingLoss(loss);
  return {
    workers: 1,
    async step(batch, learningRate) {
      (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
      const xs = tf.tensor4d(batch.images, [batch.size, INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS]);
      const ys = tf.tensor3d(batch.masks, [batch.size, INPUT_SIZE, INPUT_SIZE], 'int32');
      const lossTensor = optimizer.minimize(() => lossOf(model.apply(xs, { training: true }) as tf.Tensor4D, ys), true, vars)!;
      const loss = (await lossTensor.data())[0];
      tf.dispose([xs, ys, lossTensor]);
      return loss;
    },
    async sync() {},
    async close() {},
  };
}
