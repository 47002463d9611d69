/**
 * Reads an ImageNet MobileNetV2 TFLite graph (TF-slim's, as `mobilenet_v2_1.0_224_quant.tflite`)
 * into its weighted layers in execution order, by walking the graph from its input: the stem
 * convolution, then per inverted-residual block an optional 1×1 expansion, the 3×3 depthwise
 * convolution and the 1×1 projection (an ADD joining the block's input is the residual), then
 * the final 1×1 convolution to 1280 channels, the average pool and the 1×1 classifier. Nothing is
 * looked up by tensor name: the walk follows which operator consumes which tensor and checks op
 * kinds and shapes as it goes.
 *
 * Each layer's weights are dequantized and laid out for tfjs:
 *   CONV_2D filter            [O, H, W, I]   → tfjs conv2d kernel    [H, W, I, O]
 *   DEPTHWISE_CONV_2D filter  [1, H, W, C·M] → tfjs depthwise kernel [H, W, C, M]
 *     (element (h, w, c·M + m) is element (h, w, c, m): the same order, only the shape changes)
 *   the classifier's 1×1 filter [K, 1, 1, 1280] → tfjs dense kernel [1280, K]
 * and every convolution carries its bias: TFLite folded each BatchNorm into the preceding
 * convolution (`…/BatchNorm_Fold/bias`).
 */
import type { InputNormalization } from '../../core/index.js';
import { PretrainedWeightsError } from '../../core/errors.js';
import { dequantize, dequantizeBias, inputNormalizationOf, parseTflite, type TfliteModel } from '../../core/node/tflite/reader.js';
import { BUILTIN_OP, type TfliteConvOptions, type TfliteOperator, type TfliteTensor } from '../../core/node/tflite/schema.js';

export type ImportedLayerKind = 'conv' | 'depthwise' | 'dense';

/** One weighted layer of the TFLite graph, in tfjs layout. */
export interface ImportedLayer {
  kind: ImportedLayerKind;
  /** Role in the network, for messages: `stem`, `block 3 expand`, `head`, `classifier`. */
  role: string;
  /** Position of its operator in the TFLite graph. */
  op: number;
  /** Name of the TFLite weight tensor (for messages only). */
  source: string;
  kernel: Float32Array;
  kernelShape: number[];
  bias: Float32Array;
  strides: [number, number];
  padding: TfliteConvOptions['padding'];
  /** The activation TFLite fused into the op. */
  activation: TfliteConvOptions['activation'];
}

export interface MobilenetV2Weights {
  /** The file the weights came from, as given. */
  source: string;
  /** The input normalization the weights were trained with (from the input's quantization). */
  normalization: InputNormalization;
  /** Input side the graph was built for (224 for the ImageNet file). */
  inputSize: number;
  /** Every weighted layer in execution order: stem, 17 blocks, head, classifier. */
  layers: ImportedLayer[];
  /** Outputs of the classifier (1001: background + the 1000 ImageNet classes). */
  classes: number;
}

/** Inverted-residual blocks of MobileNetV2. */
const BLOCKS = 17;

class GraphWalk {
  private readonly consumers = new Map<number, TfliteOperator[]>();

  constructor(readonly model: TfliteModel) {
    for (const op of model.operators) {
      for (const t of op.inputs) if (t >= 0) this.consumers.set(t, [...(this.consumers.get(t) ?? []), op]);
    }
  }

  tensor(index: number, what: string): TfliteTensor {
    const t = this.model.tensors[index];
    if (!t) throw new PretrainedWeightsError('PRETRAINED_TENSOR_MISSING', `${this.model.source}: ${what} names tensor ${index}, the graph has ${this.model.tensors.length}`);
    return t;
  }

  /** The one operator of kind `op` reading `tensor` as its first input. */
  next(tensor: number, ops: readonly number[], role: string): TfliteOperator {
    const found = (this.consumers.get(tensor) ?? []).filter((o) => ops.includes(o.op) && o.inputs[0] === tensor);
    if (found.length !== 1) {
      throw new PretrainedWeightsError(
        'PRETRAINED_TENSOR_MISSING',
        `${this.model.source}: expected the ${role} (TFLite op ${ops.join('|')}) after tensor ${this.tensor(tensor, role).name}, found ${found.length}; is this a MobileNetV2 graph?`,
      );
    }
    return found[0];
  }

  /** An ADD joining `a` and `b` (a residual), if there is one. */
  residual(a: number, b: number): TfliteOperator | null {
    return (this.consumers.get(a) ?? []).find((o) => o.op === BUILTIN_OP.ADD && o.inputs.includes(b)) ?? null;
  }

  /** Reads a CONV_2D or DEPTHWISE_CONV_2D operator's weights into tfjs layout. */
  layer(op: TfliteOperator, role: string, kind: ImportedLayerKind): ImportedLayer {
    const [inIdx, wIdx, bIdx] = op.inputs;
    if (wIdx === undefined || wIdx < 0 || bIdx === undefined || bIdx < 0 || !op.conv) {
      throw new PretrainedWeightsError('PRETRAINED_TENSOR_MISSING', `${this.model.source}: the ${role} convolution (op ${op.index}) has no weights, bias or options`);
    }
    const input = this.tensor(inIdx, role);
    const w = this.tensor(wIdx, role);
    const b = this.tensor(bIdx, role);
    const values = dequantize(this.model, w);
    const bias = dequantizeBias(this.model, b, input, w);
    let kernel: Float32Array;
    let kernelShape: number[];
    if (w.shape.length !== 4) throw new PretrainedWeightsError('PRETRAINED_SHAPE_MISMATCH', `${this.model.source}: the ${role} weights ${w.name} are [${w.shape}], not 4-D`);
    if (op.op === BUILTIN_OP.DEPTHWISE_CONV_2D) {
      const [one, h, wd, cm] = w.shape;
      const m = op.conv.depthMultiplier || 1;
      if (one !== 1 || cm % m !== 0) throw new PretrainedWeightsError('PRETRAINED_SHAPE_MISMATCH', `${this.model.source}: depthwise weights ${w.name} are [${w.shape}], expected [1, H, W, C·${m}]`);
      kernel = values;
      kernelShape = [h, wd, cm / m, m];
    } else {
      const [o, h, wd, i] = w.shape;
      kernel = transposeOhwiToHwio(values, o, h, wd, i);
      kernelShape = kind === 'dense' ? [h * wd * i, o] : [h, wd, i, o];
      if (kind === 'dense' && (h !== 1 || wd !== 1)) {
        throw new PretrainedWeightsError('PRETRAINED_SHAPE_MISMATCH', `${this.model.source}: the classifier weights ${w.name} are [${w.shape}], not a 1×1 convolution`);
      }
    }
    if (bias.length !== kernelShape[kernelShape.length - 1] * (kind === 'depthwise' ? kernelShape[2] : 1)) {
      throw new PretrainedWeightsError('PRETRAINED_SHAPE_MISMATCH', `${this.model.source}: the ${role} bias ${b.name} has ${bias.length} values for weights [${w.shape}]`);
    }
    return { kind, role, op: op.index, source: w.name, kernel, kernelShape, bias, strides: op.conv.strides, padding: op.conv.padding, activation: op.conv.activation };
  }
}

function transposeOhwiToHwio(values: Float32Array, o: number, h: number, w: number, i: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let a = 0; a < o; a++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < i; c++) out[((y * w + x) * i + c) * o + a] = values[((a * h + y) * w + x) * i + c];
      }
    }
  }
  return out;
}

/** Walks a parsed MobileNetV2 TFLite graph into its weighted layers. */
export function mobilenetV2Layers(model: TfliteModel): MobilenetV2Weights {
  const walk = new GraphWalk(model);
  const input = model.inputs[0];
  if (input === undefined || model.inputs.length !== 1) throw new PretrainedWeightsError('PRETRAINED_TENSOR_MISSING', `${model.source}: expected one input, the graph has ${model.inputs.length}`);
  const inputShape = walk.tensor(input, 'input').shape;
  const layers: ImportedLayer[] = [];
  const conv = (from: number, role: string) => {
    const op = walk.next(from, [BUILTIN_OP.CONV_2D], role);
    layers.push(walk.layer(op, role, 'conv'));
    return op.outputs[0];
  };
  let x = conv(input, 'stem');
  for (let block = 0; block < BLOCKS; block++) {
    const blockInput = x;
    // Block 0 has expansion factor 1: no expansion convolution, the depthwise reads the stem.
    if (block > 0) x = conv(x, `block ${block} expand`);
    const dw = walk.next(x, [BUILTIN_OP.DEPTHWISE_CONV_2D], `block ${block} depthwise`);
    layers.push(walk.layer(dw, `block ${block} depthwise`, 'depthwise'));
    x = conv(dw.outputs[0], `block ${block} project`);
    const add = walk.residual(x, blockInput);
    if (add) x = add.outputs[0];
  }
  x = conv(x, 'head');
  const pool = walk.next(x, [BUILTIN_OP.AVERAGE_POOL_2D, BUILTIN_OP.MEAN], 'global average pool');
  const logits = walk.next(pool.outputs[0], [BUILTIN_OP.CONV_2D], 'classifier');
  const classifier = walk.layer(logits, 'classifier', 'dense');
  layers.push(classifier);
  return { source: model.source, normalization: inputNormalizationOf(model), inputSize: inputShape[1], layers, classes: classifier.bias.length };
}

/** Parses TFLite bytes and walks them into MobileNetV2 layers. */
export function readMobilenetV2Tflite(bytes: Uint8Array, source: string): MobilenetV2Weights {
  return mobilenetV2Layers(parseTflite(bytes, source));
}
