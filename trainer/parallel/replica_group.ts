/**
 * The coordinator's side of data-parallel training: starts one replica per worker thread, hands
 * each a copy of the model, its weights and the optimizer state, then per step writes the global
 * batch into shared memory and waits for every replica's share of the loss. Weights come back
 * only on `sync()` (validation, checkpoints, the end), from replica 0, since all are identical.
 */
import { LOSS_DEFAULTS, type LossOptions } from '../loss.js';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { EdgesegError, type Logger } from '../../core/index.js';
import { tf } from '../../core/node/tfjs.js';
import { WorkerPool } from '../../core/node/worker_pool.js';
import type { StepRunner } from '../step_runner.js';
import { abortAllReduce, createAllReduceBuffers, type AllReduceBuffers } from './all_reduce.js';
import type { ReplicaRequest, ReplicaResponse } from './protocol.js';
import { createSharedBatch, writeSharedBatch, type SharedBatchBuffers } from './shared_batch.js';
import { fromTensorData, replaceOptimizerState, toTensorData } from './tensor_data.js';

export interface ReplicaGroupOptions {
  /** Replicas (worker threads), ≥ 2. */
  workers: number;
  /** Every replica's backend. */
  backend: 'wasm' | 'cpu';
  /** The loop's model and optimizer: the replicas start from them, and `sync()` writes back into them. */
  model: LayersModel;
  optimizer: tf.Optimizer;
  learningRate: number;
  /** Largest global batch of the run. */
  batchSize: number;
  /** The loss to differentiate. @default LOSS_DEFAULTS (hard labels) */
  loss?: LossOptions;
  log?: Logger;
}

export interface ReplicaStepStats {
  rank: number;
  ms: number;
  waitedMs: number;
  barriers: number;
}

/** Starts the replicas; resolves once every one has built its model. */
export async function startReplicas(o: ReplicaGroupOptions): Promise<StepRunner & { readonly lastStep: ReplicaStepStats[] }> {
  const trainable = o.model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b as number), 1), 0);
  // The same buffers carry the gradients and every BatchNorm's per-channel sums.
  const channels = Math.max(0, ...o.model.weights.filter((w) => w.originalName.endsWith('moving_mean')).map((w) => w.shape[0] as number));
  const allReduce = createAllReduceBuffers(o.workers, Math.max(trainable, channels, 1), channels);
  const batch = createSharedBatch(o.batchSize);
  const pool = new WorkerPool<ReplicaRequest, ReplicaResponse>(new URL('./replica_worker.js', import.meta.url), o.workers);
  const group = new ReplicaGroup(pool, allReduce, batch, o);
  try {
    const optimizerState = await o.optimizer.getWeights();
    const init: ReplicaRequest = {
      type: 'init',
      backend: o.backend,
      topology: o.model.toJSON(undefined, true) as string,
      weights: toTensorData(o.model.weights.map((w) => ({ name: w.originalName, tensor: w.read() }))),
      frozenLayers: o.model.layers.filter((l) => !l.trainable).map((l) => l.name),
      learningRate: o.learningRate,
      loss: o.loss ?? LOSS_DEFAULTS,
      optimizer: toTensorData(optimizerState),
      allReduce,
      batch,
    };
    optimizerState[0].tensor.dispose(); // the fresh iteration scalar; the rest are the optimizer's own
    const ready = await group.all(init);
    const expected = o.model.trainableWeights.length;
    for (const r of ready) {
      if (r.type !== 'ready' || r.trainableWeights !== expected) throw new EdgesegError('REPLICA_MISMATCH', `replica ${r.rank} has ${r.type === 'ready' ? r.trainableWeights : '?'} trainable weights, the model ${expected}`);
    }
    o.log?.info('replicas ready', { workers: o.workers, backend: o.backend, trainableValues: trainable });
    return group;
  } catch (err) {
    await group.close();
    throw err;
  }
}

class ReplicaGroup implements StepRunner {
  readonly workers: number;
  /** Per replica: the last step's time, of it the time blocked in barriers, and the barriers passed. */
  lastStep: ReplicaStepStats[] = [];
  /** The loop's model already holds the replicas' weights (no step since the last sync). */
  private synced = true;

  constructor(
    private readonly pool: WorkerPool<ReplicaRequest, ReplicaResponse>,
    private readonly allReduce: AllReduceBuffers,
    private readonly batch: SharedBatchBuffers,
    private readonly o: ReplicaGroupOptions,
  ) {
    this.workers = o.workers;
  }

  /** One request to every replica. On the first failure the others are woken from their barriers. */
  async all(request: ReplicaRequest): Promise<ReplicaResponse[]> {
    try {
      const responses = await this.pool.broadcast(request);
      const aborted = responses.filter((r) => r.type === 'aborted');
      if (aborted.length) throw new EdgesegError('REPLICA_ABORTED', `replicas ${aborted.map((r) => r.rank).join(', ')} abandoned the step`);
      return responses.sort((a, b) => a.rank - b.rank);
    } catch (err) {
      abortAllReduce(this.allReduce);
      throw err;
    }
  }

  async step(batch: { images: Float32Array; masks: Int32Array; size: number }, learningRate: number): Promise<number> {
    if (batch.size < this.workers) throw new RangeError(`a batch of ${batch.size} cannot be split over ${this.workers} replicas`);
    writeSharedBatch(this.batch, batch.images, batch.masks, batch.size);
    this.synced = false;
    const responses = await this.all({ type: 'step', size: batch.size, learningRate });
    this.lastStep = responses.map((r) => (r.type === 'stepped' ? { rank: r.rank, ms: r.ms, waitedMs: r.waitedMs, barriers: r.barriers } : { rank: r.rank, ms: NaN, waitedMs: NaN, barriers: 0 }));
    // Summed in rank order: the same loss for the same batch however the replicas finished.
    return responses.reduce((sum, r) => sum + (r.type === 'stepped' ? r.loss : NaN), 0);
  }

  async sync(): Promise<void> {
    if (this.synced) return;
    const state = (await this.all({ type: 'pull' })).find((r) => r.type === 'state');
    if (!state || state.type !== 'state') throw new EdgesegError('REPLICA_MISMATCH', 'replica 0 did not send its state');
    const weights = fromTensorData(state.weights);
    this.o.model.setWeights(weights.map((w) => w.tensor));
    tf.dispose(weights.map((w) => w.tensor));
    await replaceOptimizerState(this.o.optimizer, state.optimizer);
    this.synced = true;
  }

  async close(): Promise<void> {
    abortAllReduce(this.allReduce);
    await this.pool.close();
  }
}
