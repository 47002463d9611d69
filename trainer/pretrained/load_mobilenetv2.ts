/**
 * Puts imported MobileNetV2 weights (mobilenetv2_tflite.ts) into a tfjs model's layers.
 *
 * Matching is by order and topology, never by name: the model's Conv2D / DepthwiseConv2D / Dense
 * layers that `select` picks, in the model's topological order, pair one for one with the TFLite
 * graph's weighted layers in execution order (both are the same chain). Each pair must agree on
 * kind, kernel shape, strides, padding and activation, or the import stops with
 * PRETRAINED_SHAPE_MISMATCH naming the tfjs layer and the TFLite op.
 *
 * BatchNorm. TFLite folded every BatchNorm into its convolution: kernel W' = W·γ/σ and bias
 * b' = β − μ·γ/σ. Our layers keep their BatchNorm (so a model trained from scratch and an imported
 * one have the same architecture, the converter folds it the same way, and it stays trainable).
 * The convolution takes W' and the BatchNorm after it reproduces "+ b'":
 * - identity form: γ = 1, moving mean = 0, moving variance = 1 − ε (so √(var + ε) = 1), β = b'.
 *   Exact in inference mode — what the classifier check uses.
 * - calibrated form (`calibration` images given): for the BatchNorm's input statistics m, v
 *   (per channel, measured on those images), γ = √(v + ε), β = m + b', moving mean = m, moving
 *   variance = v. Inference computes (x − m)/√(v + ε)·√(v + ε) + m + b' = x + b', the same function;
 *   and in training mode, where tfjs normalises by the batch's own statistics, a batch like the
 *   calibration images also gets ≈ x + b'. The identity form would instead rescale every channel
 *   to unit variance as soon as training starts, discarding what the weights learnt.
 * A convolution with no BatchNorm after it takes b' as its bias when it has one; the U-Net's
 * `block_16_project` has neither (Keras' down stack taps the projection before its BatchNorm), so
 * it keeps W' alone: its output is Keras' pre-BatchNorm output scaled by γ/σ per channel, which
 * the decoder's own BatchNorm absorbs. Such layers are listed in the result.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { tf, tfl } from '../../core/node/tfjs.js';
import { PretrainedWeightsError } from '../../core/errors.js';
import type { ImportedLayer, ImportedLayerKind, MobilenetV2Weights } from './mobilenetv2_tflite.js';

type Layer = LayersModel['layers'][number];

const LAYER_KIND: Record<string, ImportedLayerKind> = { Conv2D: 'conv', DepthwiseConv2D: 'depthwise', Dense: 'dense' };

export interface LoadMobilenetV2Options {
  /** Which weighted layers of the model take imported weights (they must be the graph's first ones, in order). */
  select(layer: Layer): boolean;
  /** Input images [n, H, W, 3], normalised as the weights expect, to measure BatchNorm statistics on. */
  calibration?: tf.Tensor4D;
  /** Images per forward pass of the calibration. @default 4 */
  calibrationBatch?: number;
}

export interface LoadedMobilenetV2 {
  /** Layers that took weights, in order. */
  layers: string[];
  /** BatchNorm layers set from a folded bias. */
  batchNorms: string[];
  /** Layers with neither a BatchNorm after them nor a bias: their folded bias was not used. */
  biasDropped: string[];
  /** Images the BatchNorm statistics were measured on; 0 = identity form. */
  calibrationImages: number;
}

/** The one layer consuming `layer`'s output, if there is exactly one. */
function nextLayer(layer: Layer): Layer | null {
  const consumers = layer.outboundNodes.map((n) => n.outboundLayer);
  return consumers.length === 1 ? consumers[0] : null;
}

function mismatch(layer: Layer, source: ImportedLayer, what: string, file: string): PretrainedWeightsError {
  return new PretrainedWeightsError('PRETRAINED_SHAPE_MISMATCH', `layer ${layer.name}: ${what} (TFLite op ${source.op}, the ${source.role}, ${source.source} in ${file})`);
}

function write(layer: Layer, param: string, values: Float32Array, shape: number[]): void {
  const w = layer.weights.find((v) => v.originalName.endsWith(`/${param}`));
  if (!w) throw new PretrainedWeightsError('PRETRAINED_SHAPE_MISMATCH', `layer ${layer.name} has no ${param} weight`);
  const same = w.shape.length === shape.length && w.shape.every((d, i) => d === shape[i]);
  if (!same) throw new PretrainedWeightsError('PRETRAINED_SHAPE_MISMATCH', `layer ${layer.name}: ${param} is [${w.shape}], the imported one [${shape}]`);
  const t = tf.tensor(values, shape);
  w.write(t);
  t.dispose();
}

/** Checks that a tfjs layer can take a TFLite layer's weights as they are. */
function check(layer: Layer, source: ImportedLayer, file: string): void {
  const kind = LAYER_KIND[layer.getClassName()];
  if (kind !== source.kind) throw mismatch(layer, source, `is a ${layer.getClassName()}, the TFLite layer a ${source.kind} convolution`, file);
  const param = kind === 'depthwise' ? 'depthwise_kernel' : 'kernel';
  const w = layer.weights.find((v) => v.originalName.endsWith(`/${param}`));
  if (!w || w.shape.length !== source.kernelShape.length || w.shape.some((d, i) => d !== source.kernelShape[i])) {
    throw mismatch(layer, source, `kernel is [${w?.shape ?? 'missing'}], the imported kernel [${source.kernelShape}]`, file);
  }
  if (kind === 'dense') return;
  const config = layer.getConfig() as { strides: number[] | number; padding: string };
  const strides = Array.isArray(config.strides) ? config.strides : [config.strides, config.strides];
  if (strides[0] !== source.strides[0] || strides[1] !== source.strides[1]) throw mismatch(layer, source, `strides are [${strides}], TFLite's [${source.strides}]`, file);
  if (config.padding !== source.padding) throw mismatch(layer, source, `padding is '${config.padding}', TFLite's '${source.padding}'`, file);
}

/** Checks the activation TFLite fused into the op against the layer chain after the convolution. */
function checkActivation(layer: Layer, after: Layer | null, source: ImportedLayer, file: string): void {
  const relu = after?.getClassName() === 'ReLU' ? (after.getConfig() as { maxValue?: number | null }) : null;
  const ours = relu ? (relu.maxValue === 6 ? 'relu6' : 'relu') : 'none';
  if (source.kind !== 'dense' && ours !== source.activation) throw mismatch(layer, source, `is followed by activation '${ours}', TFLite fused '${source.activation}'`, file);
}

interface FoldedBatchNorm {
  layer: Layer;
  bias: Float32Array;
}

function setIdentity(bn: FoldedBatchNorm): void {
  const n = bn.bias.length;
  const eps = (bn.layer.getConfig() as { epsilon: number }).epsilon;
  write(bn.layer, 'gamma', new Float32Array(n).fill(1), [n]);
  write(bn.layer, 'beta', bn.bias, [n]);
  write(bn.layer, 'moving_mean', new Float32Array(n), [n]);
  write(bn.layer, 'moving_variance', new Float32Array(n).fill(1 - eps), [n]);
}

/** Per-channel mean and variance of every BatchNorm's input over the calibration images (inference mode). */
function measure(model: LayersModel, norms: FoldedBatchNorm[], images: tf.Tensor4D, batch: number): { mean: Float64Array; variance: Float64Array }[] {
  const probe = tfl.model({ inputs: model.inputs, outputs: norms.map((bn) => bn.layer.input as SymbolicTensor) });
  const sums = norms.map((bn) => ({ s: new Float64Array(bn.bias.length), q: new Float64Array(bn.bias.length), n: 0 }));
  for (let start = 0; start < images.shape[0]; start += batch) {
    const outs = tf.tidy(() => {
      const x = tf.slice(images, [start, 0, 0, 0], [Math.min(batch, images.shape[0] - start), -1, -1, -1]);
      const y = probe.predict(x);
      return Array.isArray(y) ? y : [y];
    });
    outs.forEach((t, k) => {
      const data = t.dataSync();
      const c = sums[k].s.length;
      for (let i = 0; i < data.length; i++) {
        sums[k].s[i % c] += data[i];
        sums[k].q[i % c] += data[i] * data[i];
      }
      sums[k].n += data.length / c;
    });
    tf.dispose(outs);
  }
  return sums.map(({ s, q, n }) => {
    const mean = s.map((v) => v / n);
    return { mean, variance: q.map((v, i) => Math.max(0, v / n - mean[i] * mean[i])) };
  });
}

function setCalibrated(bn: FoldedBatchNorm, stats: { mean: Float64Array; variance: Float64Array }): void {
  const n = bn.bias.length;
  const eps = (bn.layer.getConfig() as { epsilon: number }).epsilon;
  write(bn.layer, 'gamma', Float32Array.from(stats.variance, (v) => Math.sqrt(v + eps)), [n]);
  write(bn.layer, 'beta', Float32Array.from(stats.mean, (m, c) => m + bn.bias[c]), [n]);
  write(bn.layer, 'moving_mean', Float32Array.from(stats.mean), [n]);
  write(bn.layer, 'moving_variance', Float32Array.from(stats.variance), [n]);
}

/** Loads imported weights into the selected layers of `model`. */
export function loadMobilenetV2Weights(model: LayersModel, weights: MobilenetV2Weights, options: LoadMobilenetV2Options): LoadedMobilenetV2 {
  const targets = model.layers.filter((l) => LAYER_KIND[l.getClassName()] && options.select(l));
  if (targets.length === 0) throw new PretrainedWeightsError('PRETRAINED_SHAPE_MISMATCH', `model ${model.name} has no layer to take the weights of ${weights.source}`);
  if (targets.length > weights.layers.length) {
    throw new PretrainedWeightsError(
      'PRETRAINED_TENSOR_MISSING',
      `model ${model.name} has ${targets.length} layers to import into, ${weights.source} has ${weights.layers.length} weighted layers; layer ${targets[weights.layers.length].name} gets none`,
    );
  }
  const result: LoadedMobilenetV2 = { layers: [], batchNorms: [], biasDropped: [], calibrationImages: 0 };
  const norms: FoldedBatchNorm[] = [];
  targets.forEach((layer, i) => {
    const source = weights.layers[i];
    check(layer, source, weights.source);
    const after = nextLayer(layer);
    const bn = after?.getClassName() === 'BatchNormalization' ? after : null;
    checkActivation(layer, bn ? nextLayer(bn) : after, source, weights.source);
    write(layer, source.kind === 'depthwise' ? 'depthwise_kernel' : 'kernel', source.kernel, source.kernelShape);
    const hasBias = layer.weights.some((w) => w.originalName.endsWith('/bias'));
    if (bn) {
      norms.push({ layer: bn, bias: source.bias });
      result.batchNorms.push(bn.name);
    } else if (hasBias) {
      write(layer, 'bias', source.bias, [source.bias.length]);
    } else {
      result.biasDropped.push(layer.name);
    }
    result.layers.push(layer.name);
  });
  norms.forEach(setIdentity);
  if (options.calibration && options.calibration.shape[0] > 0) {
    const stats = measure(model, norms, options.calibration, options.calibrationBatch ?? 4);
    norms.forEach((bn, k) => setCalibrated(bn, stats[k]));
    result.calibrationImages = options.calibration.shape[0];
  }
  return result;
}
