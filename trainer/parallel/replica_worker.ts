/**
 * One replica of a data-parallel training run, in its own worker thread with its own tfjs backend
 * (single-threaded kernels). Per step it trains on its slice of the shared global batch: forward
 * with synchronised BatchNorm, gradients of its share of the global mean loss, one all-reduce of
 * the flattened gradients, and the same Adam step as every other replica — the sums are
 * identical bits everywhere, so the weights stay identical without ever being sent.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { parentPort } from 'node:worker_threads';
import { INPUT_CHANNELS, INPUT_SIZE } from '../../core/index.js';
import { selectBackend } from '../../core/node/backends/select.js';
import { threadCpuMs } from '../../core/node/thread_cpu.js';
import { tf, tfl } from '../../core/node/tfjs.js';
import { serveWorker } from '../../core/node/worker_pool.js';
import { adam } from '../fused_adam.js';
import { trainingLoss } from '../loss.js';
import { ReplicaAbortedError } from '../../core/errors.js';
import { AllReduce } from './all_reduce.js';
import { sliceOf, type ReplicaInit, type ReplicaRequest, type ReplicaResponse } from './protocol.js';
import { readSharedBatch, type SharedBatchBuffers } from './shared_batch.js';
import { synchroniseBatchNorm, type GlobalBatch } from './sync_batch_norm.js';
import { fromTensorData, readNow, replaceOptimizerState, toTensorData } from './tensor_data.js';

interface Replica {
  model: LayersModel;
  optimizer: tf.AdamOptimizer;
  vars: tf.Variable[];
  sizes: number[];
  total: number;
  group: AllReduce;
  batch: SharedBatchBuffers;
  globalBatch: GlobalBatch;
  loss: (logits: tf.Tensor4D, labels: tf.Tensor3D) => tf.Scalar;
}

let replica: Replica | null = null;

async function init(m: ReplicaInit): Promise<Replica> {
  await selectBackend(m.backend);
  const group = new AllReduce(m.allReduce);
  const model = await tfl.models.modelFromJSON({ modelTopology: JSON.parse(m.topology) });
  const frozen = new Set(m.frozenLayers);
  for (const layer of model.layers) if (frozen.has(layer.name)) layer.trainable = false;
  const weights = fromTensorData(m.weights);
  model.setWeights(weights.map((w) => w.tensor));
  tf.dispose(weights.map((w) => w.tensor));
  const globalBatch: GlobalBatch = { size: 0 };
  synchroniseBatchNorm(model, group, globalBatch);
  const optimizer = adam(m.learningRate);
  if (m.optimizer) await replaceOptimizerState(optimizer, m.optimizer);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const sizes = vars.map((v) => v.size);
  const total = sizes.reduce((a, b) => a + b, 0);
  return { model, optimizer, vars, sizes, total, group, batch: m.batch, globalBatch, loss: trainingLoss(m.loss) };
}

function step(r: Replica, size: number, learningRate: number): number {
  const { lo, hi } = sliceOf(r.group.rank, r.group.world, size);
  r.globalBatch.size = size;
  (r.optimizer as unknown as { learningRate: number }).learningRate = learningRate;
  const rows = readSharedBatch(r.batch, lo, hi);
  const xs = tf.tensor4d(rows.images, [hi - lo, INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS]);
  const ys = tf.tensor3d(rows.masks, [hi - lo, INPUT_SIZE, INPUT_SIZE], 'int32');
  // This slice's mean loss weighted by its share of the batch: the shares' sum is the global
  // mean loss, and the sum of their gradients is its gradient.
  const share = (hi - lo) / size;
  const { value, grads } = tf.variableGrads(() => tf.mul(r.loss(r.model.apply(xs, { training: true }) as tf.Tensor4D, ys), share) as tf.Scalar, r.vars);
  const loss = value.dataSync()[0];
  const missing = r.vars.map((v) => !grads[v.name]);
  const summed = r.group.sum(r.total, (row) => {
    let offset = 0;
    r.vars.forEach((v, i) => {
      if (missing[i]) row.fill(0, offset, offset + r.sizes[i]);
      else row.set(readNow(grads[v.name]), offset);
      offset += r.sizes[i];
    });
  });
  tf.dispose([value, xs, ys, ...Object.values(grads)]);
  let offset = 0;
  // A variable the loss does not reach gets no update, as in Optimizer.minimize.
  const reduced = r.vars.map((v, i) => {
    const values = summed.subarray(offset, offset + r.sizes[i]);
    // The wasm backend copies into its heap; the cpu backend keeps the array, which the next step overwrites.
    const tensor = missing[i] ? null : tf.tensor(tf.getBackend() === 'wasm' ? values : values.slice(), v.shape, 'float32');
    offset += r.sizes[i];
    return { name: v.name, tensor: tensor as tf.Tensor };
  });
  r.optimizer.applyGradients(reduced);
  tf.dispose(reduced.map((g) => g.tensor).filter(Boolean));
  return loss;
}

serveWorker<ReplicaRequest, ReplicaResponse>(parentPort!, async (m) => {
  if (m.type === 'init') {
    replica = await init(m);
    return { result: { type: 'ready', rank: replica.group.rank, trainableWeights: replica.vars.length } };
  }
  if (!replica) throw new Error(`replica got '${m.type}' before 'init'`);
  const r = replica;
  if (m.type === 'step') {
    try {
      const start = performance.now();
      const cpu0 = threadCpuMs();
      const loss = step(r, m.size, m.learningRate);
      const cpu1 = threadCpuMs();
      return { result: { type: 'stepped', rank: r.group.rank, loss, ms: performance.now() - start, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0, ...r.group.takeWaitStats() } };
    } catch (err) {
      // Woken by another replica's failure: that replica (or the coordinator) reports the cause.
      if (err instanceof ReplicaAbortedError && !r.group.timedOut) return { result: { type: 'aborted', rank: r.group.rank } };
      r.group.abort();
      throw err;
    }
  }
  if (r.group.rank !== 0) return { result: { type: 'none', rank: r.group.rank } };
  const weights = toTensorData(r.model.weights.map((w) => ({ name: w.originalName, tensor: w.read() })));
  const optimizerWeights = await r.optimizer.getWeights();
  const optimizer = toTensorData(optimizerWeights);
  // getWeights makes a fresh iteration scalar; the moments are the optimizer's own variables.
  optimizerWeights[0].tensor.dispose();
  return { result: { type: 'state', rank: 0, weights, optimizer }, transfer: [...weights, ...optimizer].map((t) => t.data.buffer as ArrayBuffer) };
});
