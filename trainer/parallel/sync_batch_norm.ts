/**
 * Synchronised BatchNorm for data-parallel replicas. In training mode each BatchNorm layer of a
 * replica normalises with the statistics of the whole global batch, not of its own slice:
 *
 *   μ  = Σ_replicas Σ_{n,h,w} x / N
 *   σ² = Σ_replicas Σ_{n,h,w} (x − μ)² / N          (N = global batch × H × W)
 *
 * in ONE exchange per layer and direction. Each replica r computes its slice's sum s_r, its
 * centred sum of squares q_r = Σ(x − s_r/n_r)² (two passes over its own slice, as tf.moments) and
 * its count n_r, and all-gathers [s_r, q_r, n_r]; every replica then combines them the same way
 * (Chan et al.'s parallel variance, in float64, rank order, so the same bits everywhere):
 *
 *   μ = Σ s_r / N,   σ² = (Σ q_r + Σ n_r (m_r − μ)²) / N,   m_r = s_r / n_r.
 *
 * The previous scheme all-reduced Σx, then Σ(x − μ)² (two exchanges forward, two backward); the
 * statistics are the same up to float rounding. Backward, with Dμ and Dσ² the gradients summed
 * over replicas (one all-reduce of 2C values), ∂σ²/∂s_r = 2(m_r − μ)/N (the Σ_k n_k (m_k − μ) = 0
 * term vanishes) and ∂σ²/∂q_r = 1/N, so every replica's share of ∂L/∂μ and ∂L/∂σ² reaches x.
 * The moving statistics are then updated from the global μ and σ², identically in every replica:
 * they stay combined by construction.
 *
 * Inference mode is left to the layer's own code. The loop's own thread takes the same one-pass
 * statistics without the exchange (fastBatchNormStatistics).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { tf } from '../../core/node/tfjs.js';
import { CHANNEL_MOMENTS, CHANNEL_MOMENTS_GRAD, channelMomentsApply } from '../../core/node/wasm_kernels/ChannelMoments.js';
import type { AllReduce } from './all_reduce.js';

/** The parts of tfjs-layers' BatchNormalization that its training branch reads. */
interface BatchNormLayer {
  name: string;
  momentum: number;
  epsilon: number;
  axis: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor } | null;
  beta: { read(): tf.Tensor } | null;
  movingMean: { read(): tf.Tensor; write(t: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(t: tf.Tensor): void };
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

/** Rows of the global batch every replica is training on in this step (for the divisor). */
export interface GlobalBatch {
  size: number;
}

/**
 * The global (μ, σ²) of the replicas' slices from this replica's (s_r, q_r) [C] each and its
 * count n_r, as one [2, C] tensor; differentiable with respect to s_r and q_r (see the header).
 * `expectedTotal` (global batch × H × W) checks that the slices cover the global batch once.
 */
export function globalMomentsOp(group: AllReduce): (s: tf.Tensor, q: tf.Tensor, count: number, expectedTotal: number) => tf.Tensor {
  return (s, q, count, expectedTotal) => {
    const channels = s.size;
    const op = (sr: tf.Tensor, qr: tf.Tensor) => {
      const mine = [sr.dataSync() as Float32Array, qr.dataSync() as Float32Array];
      const width = 2 * channels + 1;
      const rows = group.gather(width, (row) => {
        row.set(mine[0], 0);
        row.set(mine[1], channels);
        row[2 * channels] = count;
      });
      let total = 0;
      for (let r = 0; r < group.world; r++) total += rows[r * width + 2 * channels];
      if (total !== expectedTotal) throw new Error(`synchronised BatchNorm: the replicas' slices hold ${total} values per channel, the global batch ${expectedTotal}`);
      const mean = new Float64Array(channels);
      for (let r = 0; r < group.world; r++) for (let c = 0; c < channels; c++) mean[c] += rows[r * width + c];
      for (let c = 0; c < channels; c++) mean[c] /= total;
      const m2 = new Float64Array(channels);
      for (let r = 0; r < group.world; r++) {
        const n = rows[r * width + 2 * channels];
        for (let c = 0; c < channels; c++) {
          m2[c] += rows[r * width + channels + c];
          if (n > 0) m2[c] += n * (rows[r * width + c] / n - mean[c]) ** 2;
        }
      }
      const value = new Float32Array(2 * channels);
      for (let c = 0; c < channels; c++) {
        value[c] = mean[c];
        value[channels + c] = m2[c] / total;
      }
      // ∂σ²/∂s_r = 2(m_r − μ)/N: this replica's own mean against the global one.
      const spread = new Float32Array(channels);
      for (let c = 0; c < channels; c++) spread[c] = count > 0 ? (2 * (mine[0][c] / count - mean[c])) / total : 0;
      const gradFunc = (dy: tf.Tensor) => {
        const d = group.sumOf(dy.dataSync() as Float32Array);
        const ds = new Float32Array(channels);
        const dq = new Float32Array(channels);
        for (let c = 0; c < channels; c++) {
          ds[c] = d[c] / total + d[channels + c] * spread[c];
          dq[c] = d[channels + c] / total;
        }
        return [tf.tensor(ds, sr.shape, 'float32'), tf.tensor(dq, qr.shape, 'float32')];
      };
      return { value: tf.tensor(value, [2, channels], 'float32'), gradFunc };
    };
    return (tf.customGrad(op as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor)(s, q);
  };
}

/** The wasm kernels' (s, q) pair as one differentiable op (core/node/wasm_kernels/ChannelMoments.ts). */
const channelMoments = tf.customGrad(((x: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
  const value = tf.engine().runKernel(CHANNEL_MOMENTS, { x }) as tf.Tensor;
  save([x, value]);
  return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.engine().runKernel(CHANNEL_MOMENTS_GRAD, { x: saved[0], moments: saved[1], dy }) as tf.Tensor };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/**
 * A slice's per-channel sum s and centred sum of squares q = Σ(x − s/n)² over batch, rows and
 * columns of channels-last x, as one differentiable [2, C] tensor (s, q): on wasm with C a multiple
 * of 4 one kernel each way (two passes forward, one backward), elsewhere tfjs ops.
 */
function momentsPair(x: tf.Tensor4D): tf.Tensor {
  if (tf.getBackend() === 'wasm' && x.dtype === 'float32' && channelMomentsApply(x.shape[3])) return channelMoments(x);
  const count = x.shape[0] * x.shape[1] * x.shape[2];
  const sum = tf.sum(x, [0, 1, 2]);
  return tf.stack([sum, tf.sum(tf.square(tf.sub(x, tf.div(sum, Math.max(count, 1)))), [0, 1, 2])]);
}

/** momentsPair's s and q, each [C] and differentiable. */
export function sliceMoments(x: tf.Tensor4D): { sum: tf.Tensor; centred: tf.Tensor } {
  const [sum, centred] = tf.unstack(momentsPair(x));
  return { sum, centred };
}

/** The [2, C] (μ, σ²) a layer normalises its channels-last input with. */
type BatchStatistics = (x: tf.Tensor4D) => tf.Tensor;

/** Layers whose training branch this module already replaced (a model is patched once). */
const patched = new WeakSet<object>();

/**
 * Replaces the training branch of every BatchNormalization layer of `model`: (μ, σ²) from
 * `statistics`, then tfjs' batchNorm and the layer's own moving-average rule. Inference mode is
 * left to the layer's own code. Returns how many layers were switched (0 for a model patched
 * before).
 */
function replaceTrainingStatistics(model: LayersModel, statistics: BatchStatistics): number {
  let switched = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization' || patched.has(layer)) continue;
    patched.add(layer);
    const bn = layer as unknown as BatchNormLayer;
    const own = bn.call.bind(bn);
    bn.call = (inputs, kwargs) => {
      if (!kwargs?.training) return own(inputs, kwargs);
      return tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
        const axis = bn.axis < 0 ? bn.axis + x.rank : bn.axis;
        if (x.rank !== 4 || axis !== 3) throw new Error(`edgeseg's BatchNorm statistics take channels-last 4-D inputs; ${bn.name} has rank ${x.rank}, axis ${bn.axis}`);
        const [mean, variance] = tf.unstack(statistics(x)) as [tf.Tensor1D, tf.Tensor1D];
        const normed = tf.batchNorm4d(x, mean, variance, bn.center && bn.beta ? (bn.beta.read() as tf.Tensor1D) : undefined, bn.scale && bn.gamma ? (bn.gamma.read() as tf.Tensor1D) : undefined, bn.epsilon);
        // The layer's own update rule (tfjs-layers BatchNormalization), fed these statistics.
        const decay = 1 - bn.momentum;
        for (const [variable, value] of [[bn.movingMean, mean], [bn.movingVariance, variance]] as const) {
          tf.tidy(() => {
            const old = variable.read();
            variable.write(tf.sub(old, tf.mul(tf.sub(old, value), decay)));
          });
        }
        return normed;
      });
    };
    switched++;
  }
  return switched;
}

/**
 * Makes every BatchNormalization layer of `model` normalise over the global batch while training.
 * Returns how many layers were switched.
 */
export function synchroniseBatchNorm(model: LayersModel, group: AllReduce, batch: GlobalBatch): number {
  const globalMoments = globalMomentsOp(group);
  return replaceTrainingStatistics(model, (x) => {
    const { sum, centred } = sliceMoments(x);
    return globalMoments(sum, centred, x.shape[0] * x.shape[1] * x.shape[2], batch.size * x.shape[1] * x.shape[2]);
  });
}

/**
 * The same statistics for one training thread: μ = s / n, σ² = q / n of the batch itself (what
 * tf.moments gives), from the one-pass kernels instead of tfjs-layers' mean, subtraction, square
 * and second mean (and their gradients). Used by the loop's own thread on wasm.
 */
export function fastBatchNormStatistics(model: LayersModel): number {
  return replaceTrainingStatistics(model, (x) => tf.div(momentsPair(x), Math.max(x.shape[0] * x.shape[1] * x.shape[2], 1)));
}
