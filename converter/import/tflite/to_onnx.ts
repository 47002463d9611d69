/**
 * A whole TFLite graph (float32, or uint8/int8 quantized) → an ONNX model (opset 13) that ONNX
 * Runtime runs: op by op through the rules of `ops/`, quantized tensors kept in QDQ form (see
 * context.ts) so onnxruntime reproduces LiteRT's integer kernels.
 *
 * Boundary:
 * - inputs: by default each TFLite input as it is (its own type, NHWC), named `input_<k>`. With
 *   `image`, the first input is instead edgeseg's normalised float image [1, H, W, 3] NHWC; for an
 *   8-bit model the graph turns it back into the 8-bit code LiteRT is fed,
 *
 *     code = QuantizeLinear(x − offset, scale / 255, zp = 0 (uint8) | −128 (int8))
 *          = round((x − offset) · 255 / scale)   (+ the zero point)
 *
 *   i.e. the (resized) pixel itself for the contract's x = pixel/255 · scale + offset, so the model
 *   sees exactly the bytes LiteRT would get for the same pixels. `quantizedInput` names that code.
 * - outputs: real values, float32 NHWC, named `output_<k>` (or `logitsName` for the first). An
 *   output made by ARG_MAX is replaced by the ARG_MAX's input: a segmentation model's logits,
 *   whose argmax the runtimes take themselves.
 */
import { INPUT_CHANNELS, INPUT_NORMALIZATIONS, type InputNormalization } from '../../../core/index.js';
import { TENSOR_TYPE } from '../../../core/node/tflite/schema.js';
import type { TfliteModel } from '../../../core/node/tflite/reader.js';
import { encodeModel, IR_VERSION, ONNX_DTYPE, type OnnxDtype, type ValueInfoProto } from '../../../core/node/onnx/proto.js';
import { ImportError } from '../../../core/errors.js';
import { boundaryOp, TranslationContext, TO_NCHW, typeName, type OnnxValue } from './context.js';
import { builtinOpName } from './op_names.js';
import { OP_RULE_BY_NAME } from './ops/index.js';

/** ONNX opset of translated models (per-axis DequantizeLinear needs 13). */
export const TFLITE_ONNX_OPSET = 13;

export interface TfliteToOnnxOptions {
  /** Feed the first input from edgeseg's normalised float image (see the file comment). @default raw inputs */
  image?: { name: string; normalization: InputNormalization };
  /** ONNX name of the first output. @default 'output_0' */
  logitsName?: string;
  /** With `image` on an 8-bit model, also output the 8-bit code the model is fed (NHWC), under this name: what to feed LiteRT for a reference run. */
  exposeQuantizedInput?: string;
}

export interface TfliteOnnxTensor {
  /** ONNX name. */
  name: string;
  /** The TFLite tensor's name. */
  source: string;
  /** NHWC for images, as in the TFLite file. */
  shape: number[];
  dtype: OnnxDtype;
}

export interface TfliteOnnx {
  bytes: Uint8Array;
  inputs: TfliteOnnxTensor[];
  outputs: TfliteOnnxTensor[];
  /** With `image` on an 8-bit model: the ONNX tensor (NHWC, uint8/int8) holding the code LiteRT would be fed. */
  quantizedInput: string | null;
  /** TFLite op name → count, ARG_MAX included. */
  ops: Record<string, number>;
  /** Bytes of the initializers. */
  weightBytes: number;
  /** ARG_MAX ops at the outputs, replaced by their logits input. */
  droppedArgMax: string[];
}

const DTYPE_OF: Partial<Record<number, OnnxDtype>> = { [TENSOR_TYPE.FLOAT32]: 'float', [TENSOR_TYPE.UINT8]: 'uint8', [TENSOR_TYPE.INT8]: 'int8' };

function valueInfo(name: string, dtype: OnnxDtype, dims: number[]): ValueInfoProto {
  return { name, type: { tensorType: { elemType: ONNX_DTYPE[dtype], shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

/** The graph's inputs as ONNX values; returns the ONNX input descriptions and the image's 8-bit code tensor. */
function translateInputs(ctx: TranslationContext, o: TfliteToOnnxOptions): { inputs: TfliteOnnxTensor[]; quantizedInput: string | null } {
  const { model } = ctx;
  let quantizedInput: string | null = null;
  const inputs = model.inputs.map((index, k) => {
    const t = ctx.tensor(index);
    const dtype = DTYPE_OF[t.type];
    if (!dtype) throw new ImportError('IMPORT_UNSUPPORTED_OP', `${model.source}: input ${t.name} is ${typeName(t.type)}; inputs must be FLOAT32, UINT8 or INT8`, { subject: t.name });
    const q = ctx.quant8(t, boundaryOp(index));
    const four = t.shape.length === 4;
    if (k === 0 && o.image) {
      if (!four || t.shape[3] !== INPUT_CHANNELS) throw new ImportError('IMPORT_BAD_SHAPE', `${model.source}: input ${t.name} [${t.shape}] is not an NHWC image with ${INPUT_CHANNELS} channels`, { subject: t.name });
      const image = o.image.name;
      let x = image;
      if (q) {
        const { scale, offset } = INPUT_NORMALIZATIONS[o.image.normalization];
        const perChannel = typeof scale !== 'number';
        const offsets = typeof offset === 'number' ? [offset] : [...offset];
        const steps = typeof scale === 'number' ? [scale / 255] : scale.map((s) => s / 255);
        const shifted = ctx.node('Sub', [image, ctx.floats('image/offset', offsets)], ctx.fresh('image/shifted'));
        const zero = q.dtype === 'uint8' ? Uint8Array.from(steps, () => 0) : Int8Array.from(steps, () => -128);
        const zp = ctx.b.initializer(ctx.fresh('image/code_zero_point'), q.dtype, perChannel ? [steps.length] : [], zero);
        quantizedInput = ctx.node('QuantizeLinear', [shifted, ctx.floats('image/code_scale', steps), zp], ctx.fresh('image/code'), perChannel ? { axis: { i: 3 } } : {});
        const nchw = ctx.node('Transpose', [quantizedInput], ctx.fresh('image/code_nchw'), { perm: { ints: TO_NCHW } });
        x = ctx.dequantize(nchw, `t${index}`, [q.scale], [q.zeroPoint], q.dtype);
        ctx.values.set(index, { name: x, nchw: true });
      } else {
        ctx.values.set(index, ctx.relayout({ name: image, nchw: false }, true, `t${index}`));
      }
      return { name: image, source: t.name, shape: t.shape, dtype: 'float' as const };
    }
    const name = `input_${k}`;
    let v: OnnxValue = { name, nchw: false };
    if (q) v = { name: ctx.dequantize(v.name, `t${index}`, [q.scale], [q.zeroPoint], q.dtype), nchw: false };
    if (four) v = ctx.relayout(v, true, `t${index}`);
    ctx.values.set(index, v);
    return { name, source: t.name, shape: t.shape, dtype };
  });
  return { inputs, quantizedInput };
}

/** Translates `model`'s main subgraph; refuses an op no rule covers with IMPORT_UNSUPPORTED_OP, naming it and its output tensor. */
export function tfliteToOnnx(model: TfliteModel, o: TfliteToOnnxOptions = {}): TfliteOnnx {
  const ctx = new TranslationContext(model);
  const { inputs, quantizedInput } = translateInputs(ctx, o);
  const graphOutputs = new Set(model.outputs);
  const readers = new Set(model.operators.flatMap((op) => op.inputs));
  // An ARG_MAX whose class ids are a graph output and feed nothing else: its input (the logits) becomes that output.
  const logitsOf = new Map<number, number>();
  const droppedArgMax: string[] = [];
  for (const op of model.operators) {
    const name = builtinOpName(op.op);
    ctx.opCounts[name] = (ctx.opCounts[name] ?? 0) + 1;
    if (name === 'ARG_MAX') {
      const out = op.outputs[0];
      if (!graphOutputs.has(out) || readers.has(out)) throw ctx.refuse(op, 'ARG_MAX is translated only at a graph output, where its logits input becomes the output');
      const rank = ctx.tensor(op.inputs[0]).shape.length;
      const [axis] = ctx.isConstant(op.inputs[1]) ? ctx.ints(op.inputs[1], op) : [NaN];
      if (axis !== rank - 1 && axis !== -1) throw ctx.refuse(op, `ARG_MAX over axis ${axis} of a rank-${rank} tensor is not over its classes (the last axis)`);
      logitsOf.set(out, op.inputs[0]);
      droppedArgMax.push(ctx.tensor(out).name);
      continue;
    }
    const rule = OP_RULE_BY_NAME.get(name);
    if (!rule) throw ctx.refuse(op, `${name} is not supported (supported: ${[...OP_RULE_BY_NAME.keys(), 'ARG_MAX'].join(', ')})`);
    rule.translate(ctx, op);
  }
  const outputs = model.outputs.map((index, k) => {
    const source = logitsOf.get(index) ?? index;
    const t = ctx.tensor(source);
    const v = ctx.values.get(source) ?? ctx.value(source, boundaryOp(index));
    const name = k === 0 && o.logitsName ? o.logitsName : `output_${k}`;
    const nhwc = ctx.relayout(v, false, `t${source}`);
    ctx.node('Identity', [nhwc.name], name);
    return { name, source: t.name, shape: t.shape, dtype: 'float' as const };
  });
  const extra: ValueInfoProto[] = [];
  if (o.exposeQuantizedInput && quantizedInput) {
    ctx.node('Identity', [quantizedInput], o.exposeQuantizedInput);
    extra.push(valueInfo(o.exposeQuantizedInput, ctx.quant8(ctx.tensor(model.inputs[0]), boundaryOp(model.inputs[0]))!.dtype, ctx.tensor(model.inputs[0]).shape));
  }
  const bytes = encodeModel({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: TFLITE_ONNX_OPSET }],
    producerName: 'edgeseg',
    producerVersion: '1',
    docString: `translated from TFLite (${model.source})`,
    graph: {
      name: 'tflite',
      node: ctx.b.nodes,
      initializer: ctx.b.initializers,
      input: inputs.map((i) => valueInfo(i.name, i.dtype, i.shape)),
      output: [...outputs.map((out) => valueInfo(out.name, 'float', out.shape)), ...extra],
    },
    metadataProps: [{ key: 'source_format', value: 'tflite' }, ...(o.image ? [{ key: 'normalization', value: o.image.normalization }] : [])],
  });
  return { bytes, inputs, outputs, quantizedInput, ops: ctx.opCounts, weightBytes: ctx.b.initializerBytes, droppedArgMax };
}
