/**
 * What every op rule of the TFLite → ONNX translation shares: the ONNX graph being built, the
 * ONNX tensor that holds each TFLite tensor's real value, constants, and the quantization of
 * outputs.
 *
 * Values: every TFLite tensor becomes one float ONNX tensor holding its real value
 * r = scale × (q − zero_point). A quantized (8-bit) activation is produced as
 *
 *   float op → [fused activation] → QuantizeLinear(scale, zp) → DequantizeLinear(scale, zp)
 *
 * with the TFLite tensor's own scale and zero point, so its value is exactly one of the 256 a
 * LiteRT integer kernel can produce, and onnxruntime's QDQ fusion runs the op between a
 * DequantizeLinear pair and a QuantizeLinear as its integer kernel (QLinearConv, QLinearAdd…).
 * Quantized constants stay 8-bit (or int32 for biases) behind a DequantizeLinear. Measured on
 * DeepLab over the 98-photo sample: class ids agree with LiteRT on 99.966% of pixels with the
 * fusion (onnxruntime-node, every optimisation), 99.263% when the same graph runs unfused (QDQ
 * simulated in float, `graphOptimizationLevel: 'basic'`), which is also twice as slow.
 *
 * Layout: TFLite is NHWC, ONNX's Conv and friends are NCHW. A 4-D tensor is held NCHW inside the
 * graph (`nchw: true`); every other rank keeps TFLite's order. Axes given in TFLite's NHWC order
 * are mapped by `axisOf`.
 */
import { fromFloat16Bits } from '../../quantize.js';
import type { Attr } from '../../onnx/builder.js';
import { OnnxGraphBuilder } from '../../onnx/builder.js';
import { ONNX_DTYPE, type OnnxDtype } from '../../../core/node/onnx/proto.js';
import { ImportError } from '../../../core/errors.js';
import { TENSOR_TYPE, type TfliteOperator, type TfliteTensor } from '../../../core/node/tflite/schema.js';
import type { TfliteModel } from '../../../core/node/tflite/reader.js';
import { builtinOpName } from './op_names.js';
import type { FusedActivation } from './options.js';

/** The ONNX tensor holding a TFLite tensor's real value. */
export interface OnnxValue {
  name: string;
  /** A 4-D tensor held NCHW (TFLite's NHWC transposed); false for every other rank. */
  nchw: boolean;
}

/** NHWC axis → NCHW axis. */
const NHWC_TO_NCHW_AXIS = [0, 2, 3, 1];
/** Permutation that turns NHWC data into NCHW. */
export const TO_NCHW = [0, 3, 1, 2];
/** Permutation that turns NCHW data into NHWC. */
export const TO_NHWC = [0, 2, 3, 1];

const ELEMENT_BYTES: Partial<Record<number, number>> = {
  [TENSOR_TYPE.FLOAT32]: 4,
  [TENSOR_TYPE.FLOAT16]: 2,
  [TENSOR_TYPE.INT32]: 4,
  [TENSOR_TYPE.UINT8]: 1,
  [TENSOR_TYPE.INT64]: 8,
  [TENSOR_TYPE.INT8]: 1,
};

/** Row-major data of `shape` with its axes permuted by `perm` (out axis i = in axis perm[i]), for elements of 1, 2, 4 or 8 bytes. */
export function permuteBytes(data: Uint8Array, shape: number[], perm: number[], elementBytes: number): { data: Uint8Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p]);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const strides = perm.map((p) => inStrides[p]);
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(count * elementBytes);
  // Whole elements through a view of their width (the copy makes the source aligned).
  const View = { 1: Uint8Array, 2: Uint16Array, 4: Uint32Array, 8: BigUint64Array }[elementBytes as 1 | 2 | 4 | 8];
  const src = new View(data.slice().buffer);
  const dst = new View(out.buffer);
  const index = new Array<number>(outShape.length).fill(0);
  let from = 0;
  for (let o = 0; o < count; o++) {
    dst[o] = src[from];
    for (let i = outShape.length - 1; i >= 0; i--) {
      from += strides[i];
      if (++index[i] < outShape[i]) break;
      from -= strides[i] * outShape[i];
      index[i] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** A TFLite tensor type by name (`INT32`), for messages. */
export function typeName(type: number): string {
  return Object.entries(TENSOR_TYPE).find(([, v]) => v === type)?.[0] ?? `type ${type}`;
}

/** A tensor's 8-bit quantization (one scale and zero point), or null for a float tensor. */
export interface Quant8 {
  scale: number;
  zeroPoint: number;
  dtype: 'uint8' | 'int8';
}

/** Stands for the graph's boundary where a tensor is read or checked outside any operator (an input, an output). */
export function boundaryOp(tensor: number): TfliteOperator {
  return { index: -1, op: -1, customCode: null, inputs: [], outputs: [tensor], conv: null, options: null };
}

export class TranslationContext {
  readonly b = new OnnxGraphBuilder();
  /** TFLite tensor index → its value in the ONNX graph. */
  readonly values = new Map<number, OnnxValue>();
  /** Op name → how many the model has, for the card. */
  readonly opCounts: Record<string, number> = {};
  /** A DEQUANTIZE output of a constant → that constant, so weights stay constants (float16 or 8-bit) in their op's layout. */
  private readonly aliases = new Map<number, number>();

  constructor(readonly model: TfliteModel) {}

  tensor(index: number): TfliteTensor {
    const t = this.model.tensors[index];
    if (!t) throw new ImportError('IMPORT_MALFORMED', `${this.model.source}: tensor index ${index} is out of range (${this.model.tensors.length} tensors)`);
    return t;
  }

  /** A refusal of `op` naming it and its first output tensor (a `boundaryOp` names just the tensor). */
  refuse(op: TfliteOperator, why: string): ImportError {
    const out = this.model.tensors[op.outputs[0]];
    if (op.index < 0) return new ImportError('IMPORT_UNSUPPORTED_OP', `${this.model.source}: graph tensor ${out?.name ?? op.outputs[0]}: ${why}`, { subject: out?.name });
    const name = op.customCode ? `${builtinOpName(op.op)} '${op.customCode}'` : builtinOpName(op.op);
    return new ImportError('IMPORT_UNSUPPORTED_OP', `${this.model.source}: operator ${op.index} ${name} (output tensor ${out?.name ?? op.outputs[0]}): ${why}`, {
      subject: `${name}:${out?.name ?? op.outputs[0]}`,
    });
  }

  /** The 8-bit quantization of a tensor, null for a float one; refuses other quantized types (int16) and per-channel activations. */
  quant8(t: TfliteTensor, op: TfliteOperator): Quant8 | null {
    if (t.type === TENSOR_TYPE.FLOAT32) return null;
    if ((t.type !== TENSOR_TYPE.UINT8 && t.type !== TENSOR_TYPE.INT8) || !t.quantization) {
      throw this.refuse(op, `tensor ${t.name} is ${typeName(t.type)}${t.quantization ? '' : ' without quantization'}; activations must be FLOAT32, or UINT8/INT8 with a scale`);
    }
    if (t.quantization.scale.length !== 1) throw this.refuse(op, `activation ${t.name} is quantized per channel, which TFLite activations are not`);
    return { scale: t.quantization.scale[0], zeroPoint: t.quantization.zeroPoint[0] ?? 0, dtype: t.type === TENSOR_TYPE.UINT8 ? 'uint8' : 'int8' };
  }

  /** Records that tensor `index` holds constant `source`'s real values (DEQUANTIZE of a constant). */
  alias(index: number, source: number): void {
    this.aliases.set(index, this.aliases.get(source) ?? source);
  }

  isConstant(index: number): boolean {
    return this.tensor(this.aliases.get(index) ?? index).data.length > 0;
  }

  /** A fresh ONNX name derived from a TFLite tensor. */
  fresh(base: string): string {
    return this.b.fresh(base);
  }

  node(opType: string, inputs: string[], output: string, attrs: Record<string, Attr> = {}): string {
    return this.b.node(opType, inputs, [output], attrs);
  }

  /** A scalar or 1-D float initializer. */
  floats(base: string, values: number[], dims: number[] = values.length === 1 ? [] : [values.length]): string {
    return this.b.floats(this.fresh(base), dims, values);
  }

  int64s(base: string, values: number[], dims: number[] = [values.length]): string {
    return this.b.initializer(this.fresh(base), 'int64', dims, BigInt64Array.from(values.map(BigInt)));
  }

  /** Zero point initializer whose type (uint8/int8) is the quantized type QuantizeLinear produces. */
  zeroPoint(base: string, q: Quant8): string {
    return this.b.initializer(this.fresh(base), q.dtype, [], q.dtype === 'uint8' ? Uint8Array.of(q.zeroPoint) : Int8Array.of(q.zeroPoint));
  }

  /** Integer values of a constant int32/int64 tensor (sizes, axes, shapes). */
  ints(index: number, op: TfliteOperator): number[] {
    const t = this.tensor(this.aliases.get(index) ?? index);
    const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (t.type === TENSOR_TYPE.INT32) return Array.from({ length: t.data.byteLength / 4 }, (_, i) => view.getInt32(4 * i, true));
    if (t.type === TENSOR_TYPE.INT64) return Array.from({ length: t.data.byteLength / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true)));
    throw this.refuse(op, `tensor ${t.name} must be a constant int32 or int64 tensor`);
  }

  /**
   * A constant tensor as an ONNX value: an initializer of its own type, its axes permuted by
   * `perm` (weights into ONNX's layouts); quantized → behind a DequantizeLinear (per axis when
   * it has several scales, along where `quantized_dimension` lands after the permutation).
   * float16 becomes float32.
   */
  constant(tensor: number, op: TfliteOperator, o: { perm?: number[]; name?: string } = {}): string {
    const index = this.aliases.get(tensor) ?? tensor;
    const t = this.tensor(index);
    const bytes = ELEMENT_BYTES[t.type];
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (!bytes) throw this.refuse(op, `constant ${t.name} is ${typeName(t.type)}`);
    if (t.data.byteLength !== count * bytes) throw new ImportError('IMPORT_MALFORMED', `${this.model.source}: constant ${t.name} [${t.shape}] has ${t.data.byteLength} bytes, expected ${count * bytes}`, { subject: t.name });
    // Copy: the buffer is a view into the file, and typed arrays need aligned offsets.
    const permuted = o.perm ? permuteBytes(t.data, t.shape, o.perm, bytes) : { data: t.data.slice(), shape: [...t.shape] };
    const base = o.name ?? `t${index}`;
    const raw = permuted.data;
    if (t.type === TENSOR_TYPE.FLOAT32) return this.b.initializer(this.fresh(base), 'float', permuted.shape, new Float32Array(raw.buffer));
    if (t.type === TENSOR_TYPE.FLOAT16) {
      const halves = new Uint16Array(raw.buffer);
      return this.b.floats(this.fresh(base), permuted.shape, Float32Array.from(halves, fromFloat16Bits));
    }
    const dtype: OnnxDtype | null = t.type === TENSOR_TYPE.UINT8 ? 'uint8' : t.type === TENSOR_TYPE.INT8 ? 'int8' : t.type === TENSOR_TYPE.INT32 ? 'int32' : null;
    if (!dtype) throw this.refuse(op, `constant ${t.name} is ${typeName(t.type)}; constants must be FLOAT32, FLOAT16, UINT8, INT8 or INT32`);
    const view = dtype === 'uint8' ? raw : dtype === 'int8' ? new Int8Array(raw.buffer) : new Int32Array(raw.buffer);
    const q = this.tensor(index).quantization;
    if (!q) {
      if (dtype !== 'int32') throw this.refuse(op, `constant ${t.name} is ${dtype} without a scale`);
      // A plain integer constant (an index, a shape) read as a value: cast to float.
      return this.node('Cast', [this.b.initializer(this.fresh(`${base}/i32`), dtype, permuted.shape, view)], this.fresh(base), { to: { i: ONNX_DTYPE.float } });
    }
    const stored = this.b.initializer(this.fresh(`${base}/q`), dtype, permuted.shape, view);
    const axis = o.perm ? o.perm.indexOf(q.quantizedDimension) : q.quantizedDimension;
    return this.dequantize(stored, base, q.scale, q.zeroPoint.length ? q.zeroPoint : [0], dtype, axis);
  }

  /** DequantizeLinear of `stored` with scalar or per-axis parameters; the zero point takes the stored type. */
  dequantize(stored: string, base: string, scales: number[], zeroPoints: number[], dtype: 'uint8' | 'int8' | 'int32', axis?: number): string {
    const perAxis = scales.length > 1;
    const dims = perAxis ? [scales.length] : [];
    const zp = perAxis ? zeroPoints : [zeroPoints[0] ?? 0];
    const zeros = dtype === 'uint8' ? Uint8Array.from(zp) : dtype === 'int8' ? Int8Array.from(zp) : Int32Array.from(zp);
    const scale = this.b.floats(this.fresh(`${base}/scale`), dims, perAxis ? scales : [scales[0]]);
    const zero = this.b.initializer(this.fresh(`${base}/zero_point`), dtype, dims, zeros);
    return this.node('DequantizeLinear', [stored, scale, zero], this.fresh(base), perAxis ? { axis: { i: axis ?? 0 } } : {});
  }

  /**
   * The real value of TFLite tensor `index` as an op input: an activation's ONNX value, or a
   * constant made into one (a 4-D constant is transposed to NCHW like any 4-D value).
   */
  value(index: number, op: TfliteOperator): OnnxValue {
    const known = this.values.get(index);
    if (known) return known;
    const t = this.tensor(this.aliases.get(index) ?? index);
    if (t.data.length === 0) throw new ImportError('IMPORT_MALFORMED', `${this.model.source}: operator ${op.index} reads tensor ${t.name}, which nothing produced`, { subject: t.name });
    const nchw = t.shape.length === 4;
    const v = { name: this.constant(index, op, { perm: nchw ? TO_NCHW : undefined }), nchw };
    this.values.set(index, v);
    return v;
  }

  /** An NHWC axis of a TFLite tensor of `rank` → the axis of its ONNX value (negative axes count from the end). */
  axisOf(axis: number, rank: number, nchw: boolean): number {
    const a = axis < 0 ? axis + rank : axis;
    return nchw ? NHWC_TO_NCHW_AXIS[a] : a;
  }

  /**
   * Applies a fused activation to `x` in float, as LiteRT clamps before requantizing:
   * relu max(x, 0); relu6 min(max(x, 0), 6); relu_n1_to_1 min(max(x, −1), 1); tanh. For an 8-bit
   * output LiteRT clamps the code to [max(qmin, zp + round(lo / scale)), min(qmax, zp + round(hi / scale))];
   * a bound that lands on qmin or qmax is QuantizeLinear's own saturation and is left out, so
   * onnxruntime fuses the convolution with no Clip between it and its QuantizeLinear (with such a
   * redundant Clip, onnxruntime 1.2x refused DeepLab's first convolution: "two nodes with same
   * node name" after its Clip/QDQ fusions).
   */
  activate(x: string, activation: FusedActivation, base: string, op: TfliteOperator, q: Quant8 | null = null): string {
    if (activation === 'none') return x;
    if (activation === 'tanh') return this.node('Tanh', [x], this.fresh(`${base}/tanh`));
    const bounds: Partial<Record<FusedActivation, [number, number]>> = { relu: [0, Infinity], relu6: [0, 6], relu_n1_to_1: [-1, 1] };
    const bound = bounds[activation];
    if (!bound) throw this.refuse(op, `fused activation ${activation} is not supported (none, relu, relu6, relu_n1_to_1, tanh)`);
    const [qmin, qmax] = q?.dtype === 'uint8' ? [0, 255] : [-128, 127];
    const code = (v: number) => q!.zeroPoint + Math.round(v / q!.scale);
    const low = q ? code(bound[0]) > qmin : true;
    const high = bound[1] !== Infinity && (q ? code(bound[1]) < qmax : true);
    if (!low && !high) return x;
    if (low && !high && bound[0] === 0) return this.node('Relu', [x], this.fresh(`${base}/relu`));
    const min = low ? this.floats(`${base}/min`, [bound[0]]) : '';
    const max = high ? this.floats(`${base}/max`, [bound[1]]) : '';
    return this.node('Clip', [x, min, max], this.fresh(`${base}/${activation}`));
  }

  /**
   * Records `x` (float, in `nchw` layout) as the value of TFLite tensor `index`, the output of
   * `op`: through the fused activation, then, for an 8-bit tensor, QuantizeLinear →
   * DequantizeLinear with its scale and zero point.
   */
  output(index: number, op: TfliteOperator, x: string, nchw: boolean, activation: FusedActivation = 'none'): OnnxValue {
    const t = this.tensor(index);
    const base = `t${index}`;
    const q = this.quant8(t, op);
    const activated = this.activate(x, activation, base, op, q);
    let name = activated;
    if (q) {
      const scale = this.floats(`${base}/scale`, [q.scale]);
      const zero = this.zeroPoint(`${base}/zero_point`, q);
      const quantized = this.node('QuantizeLinear', [activated, scale, zero], this.fresh(`${base}/q`));
      name = this.node('DequantizeLinear', [quantized, scale, zero], this.fresh(base));
    }
    const v = { name, nchw };
    this.values.set(index, v);
    return v;
  }

  /** Converts a value between layouts: `toNchw` true → NCHW (from NHWC), false → NHWC. */
  relayout(v: OnnxValue, toNchw: boolean, base: string): OnnxValue {
    if (v.nchw === toNchw) return v;
    return { name: this.node('Transpose', [v.name], this.fresh(`${base}/${toNchw ? 'nchw' : 'nhwc'}`), { perm: { ints: toNchw ? TO_NCHW : TO_NHWC } }), nchw: toNchw };
  }

  /**
   * An operand of an elementwise op whose other operand is 4-D (held NCHW): TFLite broadcasts
   * right-aligned in NHWC, so a lower-rank operand is padded to 4-D with leading ones and
   * transposed like the 4-D one. Constant folding removes the Reshape and Transpose of a constant.
   */
  broadcastToNchw(index: number, op: TfliteOperator): string {
    const v = this.value(index, op);
    if (v.nchw) return v.name;
    const shape = this.tensor(index).shape;
    if (shape.length > 4) throw this.refuse(op, `operand ${this.tensor(index).name} has rank ${shape.length}; elementwise ops broadcast up to rank 4`);
    if (shape.length === 0) return v.name;
    const four = [...new Array<number>(4 - shape.length).fill(1), ...shape];
    const reshaped = this.node('Reshape', [v.name, this.int64s(`t${index}/shape4`, four)], this.fresh(`t${index}/4d`));
    return this.node('Transpose', [reshaped], this.fresh(`t${index}/4d_nchw`), { perm: { ints: TO_NCHW } });
  }
}
