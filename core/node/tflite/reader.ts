/**
 * A TFLite model as float weights: parses the flatbuffer (schema.ts), checks it is one, and
 * dequantizes constant tensors, per tensor or per channel:
 *
 *   real = scale[c] × (q − zero_point[c]),  c = the index along `quantized_dimension`
 *
 * (one scale/zero point means per-tensor). Biases of quantized convolutions are int32 with zero
 * point 0 and scale = input scale × weight scale (per output channel for per-channel weights);
 * `dequantizeBias` computes that scale and checks it against the one the file stores.
 */
import type { InputNormalization } from '../../index.js';
import { PretrainedWeightsError } from '../../errors.js';
import { hasTfliteIdentifier, readTfliteGraph, TENSOR_TYPE, type TfliteGraph, type TfliteTensor } from './schema.js';

export interface TfliteModel extends TfliteGraph {
  /** Where the bytes came from, for messages. */
  source: string;
}

/** Parses TFLite bytes; throws PRETRAINED_NOT_TFLITE for anything else. */
export function parseTflite(bytes: Uint8Array, source = 'model'): TfliteModel {
  if (!hasTfliteIdentifier(bytes)) {
    throw new PretrainedWeightsError('PRETRAINED_NOT_TFLITE', `${source} is not a TFLite model (no 'TFL3' file identifier at byte 4; ${bytes.length} bytes)`);
  }
  try {
    return { ...readTfliteGraph(bytes), source };
  } catch (err) {
    throw new PretrainedWeightsError('PRETRAINED_NOT_TFLITE', `${source} has a TFLite identifier but does not parse: ${(err as Error).message}`, { cause: err });
  }
}

function readRaw(t: TfliteTensor, source: string): ArrayLike<number> {
  const { data } = t;
  const count = t.shape.reduce((a, b) => a * b, 1);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const read = (bytes: number, get: (i: number) => number): number[] => {
    if (data.byteLength !== count * bytes) {
      throw new PretrainedWeightsError('PRETRAINED_TENSOR_MISSING', `${source}: tensor ${t.name} [${t.shape}] has ${data.byteLength} data bytes, expected ${count * bytes}`);
    }
    return Array.from({ length: count }, (_, i) => get(i));
  };
  switch (t.type) {
    case TENSOR_TYPE.UINT8:
      return read(1, (i) => view.getUint8(i));
    case TENSOR_TYPE.INT8:
      return read(1, (i) => view.getInt8(i));
    case TENSOR_TYPE.INT32:
      return read(4, (i) => view.getInt32(4 * i, true));
    case TENSOR_TYPE.FLOAT32:
      return read(4, (i) => view.getFloat32(4 * i, true));
    default:
      throw new PretrainedWeightsError('PRETRAINED_UNSUPPORTED', `${source}: tensor ${t.name} has TFLite type ${t.type}; weights must be float32, uint8, int8 or int32`);
  }
}

/** Per-element (scale, zero point) lookup of a tensor's quantization, per tensor or per channel. */
function channelOf(t: TfliteTensor, scales: number[], source: string): (i: number) => number {
  if (scales.length === 1) return () => 0;
  const q = t.quantization!;
  const axis = q.quantizedDimension;
  if (t.shape[axis] !== scales.length) {
    throw new PretrainedWeightsError('PRETRAINED_UNSUPPORTED', `${source}: tensor ${t.name} [${t.shape}] has ${scales.length} scales along dimension ${axis}`);
  }
  const inner = t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return (i) => Math.floor(i / inner) % scales.length;
}

/** Constant tensor → float32 values in its own layout. Float tensors are copied as they are. */
export function dequantize(model: TfliteModel, t: TfliteTensor): Float32Array {
  if (t.data.length === 0) throw new PretrainedWeightsError('PRETRAINED_TENSOR_MISSING', `${model.source}: tensor ${t.name} has no constant data`);
  const raw = readRaw(t, model.source);
  if (t.type === TENSOR_TYPE.FLOAT32) return Float32Array.from(raw);
  const q = t.quantization;
  if (!q) throw new PretrainedWeightsError('PRETRAINED_TENSOR_MISSING', `${model.source}: quantized tensor ${t.name} has no scale`);
  const channel = channelOf(t, q.scale, model.source);
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const c = channel(i);
    out[i] = q.scale[c] * (raw[i] - (q.zeroPoint[c] ?? q.zeroPoint[0] ?? 0));
  }
  return out;
}

/** Relative difference that still counts as the same scale (the file stores float32 products). */
const SCALE_TOLERANCE = 1e-3;

/**
 * An int32 bias → float32: scale = input scale × weight scale[c], zero point 0. Checks the scale
 * the file stores, when it stores one, against that product. A float bias is copied.
 */
export function dequantizeBias(model: TfliteModel, bias: TfliteTensor, input: TfliteTensor, weights: TfliteTensor): Float32Array {
  if (bias.type === TENSOR_TYPE.FLOAT32) return dequantize(model, bias);
  if (bias.type !== TENSOR_TYPE.INT32) {
    throw new PretrainedWeightsError('PRETRAINED_UNSUPPORTED', `${model.source}: bias ${bias.name} has TFLite type ${bias.type}; quantized biases must be int32`);
  }
  const inScale = input.quantization?.scale;
  const wScale = weights.quantization?.scale;
  if (!inScale || inScale.length !== 1 || !wScale) {
    throw new PretrainedWeightsError('PRETRAINED_TENSOR_MISSING', `${model.source}: bias ${bias.name} needs a per-tensor input scale and weight scales to dequantize`);
  }
  const raw = readRaw(bias, model.source);
  const channels = raw.length;
  if (wScale.length !== 1 && wScale.length !== channels) {
    throw new PretrainedWeightsError('PRETRAINED_SHAPE_MISMATCH', `${model.source}: bias ${bias.name} has ${channels} values but weights ${weights.name} have ${wScale.length} scales`);
  }
  const stored = bias.quantization?.scale;
  const out = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const scale = inScale[0] * wScale[wScale.length === 1 ? 0 : c];
    const kept = stored?.[stored.length === 1 ? 0 : c];
    if (kept !== undefined && Math.abs(kept - scale) > SCALE_TOLERANCE * scale) {
      throw new PretrainedWeightsError(
        'PRETRAINED_UNSUPPORTED',
        `${model.source}: bias ${bias.name} channel ${c} stores scale ${kept}, but input × weight scale is ${scale}; the file does not follow TFLite's bias quantization`,
      );
    }
    out[c] = scale * raw[c];
  }
  return out;
}

/**
 * The input normalization a quantized model was trained with, read from its input tensor's
 * quantization: the real values of pixel 0 and 255 must be ≈ 0 and 1 (`unit`) or ≈ −1 and 1
 * (`symmetric`). A float input carries no range and is refused: its normalization is unknowable
 * from the file.
 */
export function inputNormalizationOf(model: TfliteModel): InputNormalization {
  const input = model.tensors[model.inputs[0]];
  const q = input?.quantization;
  if (!input || !q || (input.type !== TENSOR_TYPE.UINT8 && input.type !== TENSOR_TYPE.INT8)) {
    throw new PretrainedWeightsError('PRETRAINED_UNSUPPORTED', `${model.source}: the input is not a quantized 8-bit tensor, so its normalization cannot be read from the file`);
  }
  // An int8 input holds pixel − 128.
  const pixel = (p: number) => q.scale[0] * (p - (input.type === TENSOR_TYPE.INT8 ? 128 : 0) - q.zeroPoint[0]);
  const [lo, hi] = [pixel(0), pixel(255)];
  const near = (a: number, b: number) => Math.abs(a - b) < 0.02;
  if (near(lo, -1) && near(hi, 1)) return 'symmetric';
  if (near(lo, 0) && near(hi, 1)) return 'unit';
  throw new PretrainedWeightsError('PRETRAINED_UNSUPPORTED', `${model.source}: input pixels 0 and 255 mean ${lo.toFixed(4)} and ${hi.toFixed(4)}, neither [0, 1] nor [-1, 1]`);
}
