/**
 * A small typed reader for the parts of the TFLite flatbuffer that weight import needs, written
 * over the `flatbuffers` package's ByteBuffer instead of committing `flatc --ts` output: the
 * generated accessors for the ~10 tables read here run to thousands of lines (one class per table,
 * builders included), while these field readers fit in one page and name each field's slot.
 *
 * Slots follow tensorflow/lite/schema/schema.fbs (file identifier `TFL3`). A field's vtable
 * offset is 4 + 2 × its index in the table declaration:
 *
 *   Model           { version:uint; operator_codes:[OperatorCode]; subgraphs:[SubGraph];
 *                     description:string; buffers:[Buffer]; metadata_buffer:[int];
 *                     metadata:[Metadata { name:string; buffer:uint }]; … }
 *   OperatorCode    { deprecated_builtin_code:byte; custom_code:string; version:int = 1;
 *                     builtin_code:BuiltinOperator (int32) }   the op is max(the two codes)
 *   SubGraph        { tensors:[Tensor]; inputs:[int]; outputs:[int]; operators:[Operator]; name:string }
 *   Tensor          { shape:[int]; type:TensorType; buffer:uint; name:string;
 *                     quantization:QuantizationParameters; … }
 *   QuantizationParameters { min:[float]; max:[float]; scale:[float]; zero_point:[long];
 *                     details_type; details; quantized_dimension:int }
 *   Operator        { opcode_index:uint; inputs:[int]; outputs:[int]; builtin_options_type:ubyte;
 *                     builtin_options:BuiltinOptions; … }
 *   Buffer          { data:[ubyte]; offset:ulong; size:ulong }   (offset/size: data past 2 GB, unused here)
 *   Conv2DOptions   { padding; stride_w; stride_h; fused_activation_function; dilation_w; dilation_h }
 *   DepthwiseConv2DOptions { padding; stride_w; stride_h; depth_multiplier; fused_activation_function; … }
 *
 * (A union field takes two slots: its type byte, then the table.)
 */
import { ByteBuffer } from 'flatbuffers';

/** The TFLite file identifier, bytes 4–7 of the file. */
export const TFLITE_IDENTIFIER = 'TFL3';

/** TensorType values used here (schema.fbs `enum TensorType : byte`). */
export const TENSOR_TYPE = { FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4, INT8: 9 } as const;

/** BuiltinOperator values used here (schema.fbs `enum BuiltinOperator`). */
export const BUILTIN_OP = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  RELU6: 21,
  RESHAPE: 22,
  SOFTMAX: 25,
  PAD: 34,
  MEAN: 40,
  QUANTIZE: 114,
} as const;

/** Padding enum (schema.fbs `enum Padding : byte { SAME, VALID }`). */
export const PADDING = ['same', 'valid'] as const;

/** ActivationFunctionType enum values (schema.fbs). */
export const ACTIVATION = ['none', 'relu', 'relu_n1_to_1', 'relu6', 'tanh', 'sign_bit'] as const;

/** A table: the buffer and the table's position in it, with typed slot readers (exported for op options readers). */
export class Table {
  constructor(
    readonly bb: ByteBuffer,
    readonly pos: number,
  ) {}

  /** Absolute position of field `index`'s value, or 0 when the field is absent. */
  private field(index: number): number {
    const o = this.bb.__offset(this.pos, 4 + 2 * index);
    return o ? this.pos + o : 0;
  }

  int8(index: number, fallback = 0): number {
    const p = this.field(index);
    return p ? this.bb.readInt8(p) : fallback;
  }

  uint8(index: number, fallback = 0): number {
    const p = this.field(index);
    return p ? this.bb.readUint8(p) : fallback;
  }

  int32(index: number, fallback = 0): number {
    const p = this.field(index);
    return p ? this.bb.readInt32(p) : fallback;
  }

  float32(index: number, fallback = 0): number {
    const p = this.field(index);
    return p ? this.bb.readFloat32(p) : fallback;
  }

  uint32(index: number, fallback = 0): number {
    const p = this.field(index);
    return p ? this.bb.readUint32(p) : fallback;
  }

  string(index: number): string | null {
    const p = this.field(index);
    return p ? (this.bb.__string(p) as string) : null;
  }

  table(index: number): Table | null {
    const p = this.field(index);
    return p ? new Table(this.bb, this.bb.__indirect(p)) : null;
  }

  /**
   * Start and length of a vector field of `elementBytes`-byte entries (length 0 when absent). The
   * declared length is checked against the file before anything is allocated for it: a file
   * declaring 2^31 − 1 entries would otherwise have an array of that length built.
   */
  private vector(index: number, elementBytes: number): { start: number; length: number } {
    const p = this.field(index);
    if (!p) return { start: 0, length: 0 };
    const start = this.bb.__vector(p);
    const length = this.bb.__vector_len(p);
    const capacity = this.bb.capacity();
    if (start < 0 || length < 0 || start + length * elementBytes > capacity) {
      throw new RangeError(`a vector at byte ${p} declares ${length} entries of ${elementBytes} bytes from byte ${start}, past the end of the ${capacity}-byte file`);
    }
    return { start, length };
  }

  tables(index: number): Table[] {
    const { start, length } = this.vector(index, 4);
    return Array.from({ length }, (_, i) => new Table(this.bb, this.bb.__indirect(start + 4 * i)));
  }

  int32s(index: number): number[] {
    const { start, length } = this.vector(index, 4);
    return Array.from({ length }, (_, i) => this.bb.readInt32(start + 4 * i));
  }

  float32s(index: number): number[] {
    const { start, length } = this.vector(index, 4);
    return Array.from({ length }, (_, i) => this.bb.readFloat32(start + 4 * i));
  }

  int64s(index: number): number[] {
    const { start, length } = this.vector(index, 8);
    return Array.from({ length }, (_, i) => Number(this.bb.readInt64(start + 8 * i)));
  }

  /** A `[ubyte]` vector as a view into the file (no copy). */
  bytes(index: number): Uint8Array {
    const { start, length } = this.vector(index, 1);
    return this.bb.bytes().subarray(start, start + length);
  }
}

export interface TfliteQuantization {
  scale: number[];
  zeroPoint: number[];
  /** Axis `scale`/`zeroPoint` run along when there is more than one (per-channel). */
  quantizedDimension: number;
}

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  /** A TENSOR_TYPE value. */
  type: number;
  /** Constant data (weights, biases); empty for activations. */
  data: Uint8Array;
  quantization: TfliteQuantization | null;
}

export interface TfliteConvOptions {
  padding: (typeof PADDING)[number];
  strides: [number, number];
  dilations: [number, number];
  activation: (typeof ACTIVATION)[number];
  /** Depthwise only. */
  depthMultiplier?: number;
}

export interface TfliteOperator {
  /** Position in execution order. */
  index: number;
  /** A BUILTIN_OP value (or another builtin code). */
  op: number;
  /** The name of a CUSTOM op (OperatorCode.custom_code), else null. */
  customCode: string | null;
  /** Tensor indices; −1 marks an omitted optional input. */
  inputs: number[];
  outputs: number[];
  /** Convolution options, for CONV_2D and DEPTHWISE_CONV_2D. */
  conv: TfliteConvOptions | null;
  /** The builtin options table as it is, for readers of other ops' options (converter/import/tflite_options.ts). */
  options: Table | null;
}

export interface TfliteGraph {
  schemaVersion: number;
  description: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
  /** The model's metadata entries (`Model.metadata`: name → buffer bytes), e.g. `TFLITE_METADATA`. */
  metadata: { name: string; data: Uint8Array }[];
}

function quantizationOf(q: Table | null): TfliteQuantization | null {
  if (!q) return null;
  const scale = q.float32s(2);
  if (scale.length === 0) return null;
  return { scale, zeroPoint: q.int64s(3), quantizedDimension: q.int32(6) };
}

function convOptions(op: number, o: Table | null): TfliteConvOptions | null {
  if (!o || (op !== BUILTIN_OP.CONV_2D && op !== BUILTIN_OP.DEPTHWISE_CONV_2D)) return null;
  const depthwise = op === BUILTIN_OP.DEPTHWISE_CONV_2D;
  // Conv2DOptions: activation in slot 3, dilations 4/5; depthwise has depth_multiplier in slot 3 and the rest shifted by one.
  return {
    padding: PADDING[o.int8(0)] ?? 'same',
    strides: [o.int32(2), o.int32(1)],
    activation: ACTIVATION[o.int8(depthwise ? 4 : 3)] ?? 'none',
    dilations: [o.int32(depthwise ? 6 : 5, 1), o.int32(depthwise ? 5 : 4, 1)],
    ...(depthwise ? { depthMultiplier: o.int32(3) } : {}),
  };
}

/**
 * Reads the main subgraph of a TFLite model. The caller checks the identifier first
 * (`hasTfliteIdentifier`); a structurally broken buffer throws a RangeError from the reads,
 * a vector longer than the file among them (checked before it is allocated).
 */
export function readTfliteGraph(bytes: Uint8Array): TfliteGraph {
  const bb = new ByteBuffer(bytes);
  const model = new Table(bb, bb.readInt32(0));
  const operatorCodes = model.tables(1);
  const codes = operatorCodes.map((c) => Math.max(c.int8(0), c.int32(3)));
  const buffers = model.tables(4).map((b) => b.bytes(0));
  const subgraph = model.tables(2)[0];
  if (!subgraph) throw new RangeError('the model has no subgraph');
  const tensors = subgraph.tables(0).map((t, index) => ({
    index,
    name: t.string(3) ?? `tensor_${index}`,
    shape: t.int32s(0),
    type: t.int8(1),
    data: buffers[t.uint32(2)] ?? new Uint8Array(0),
    quantization: quantizationOf(t.table(4)),
  }));
  const operators = subgraph.tables(3).map((o, index) => {
    const op = codes[o.uint32(0)];
    if (op === undefined) throw new RangeError(`operator ${index} names operator code ${o.uint32(0)}, the model has ${codes.length}`);
    return { index, op, customCode: operatorCodes[o.uint32(0)].string(1), inputs: o.int32s(1), outputs: o.int32s(2), conv: convOptions(op, o.table(4)), options: o.table(4) };
  });
  // Model.metadata is slot 6: [Metadata { name:string; buffer:uint }].
  const metadata = model.tables(6).map((m) => ({ name: m.string(0) ?? '', data: buffers[m.uint32(1)] ?? new Uint8Array(0) }));
  return { schemaVersion: model.uint32(0), description: model.string(3) ?? '', tensors, inputs: subgraph.int32s(1), outputs: subgraph.int32s(2), operators, metadata };
}

/** Whether bytes carry the TFLite file identifier (`TFL3` at offset 4). */
export function hasTfliteIdentifier(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && new ByteBuffer(bytes).__has_identifier(TFLITE_IDENTIFIER);
}
