/**
 * The bias of a convolution as a value: a float bias as it is; an int32 bias of a quantized
 * convolution behind a DequantizeLinear at scale input_scale × weight_scale[c], zero point 0 —
 * the scale the file stores or, when it stores none, that product (TFLite's bias quantization,
 * which onnxruntime's QDQ fusion expects of QLinearConv's bias).
 */
import { TENSOR_TYPE, type TfliteOperator } from '../../../../core/node/tflite/schema.js';
import type { TranslationContext } from '../context.js';

export function biasValue(ctx: TranslationContext, op: TfliteOperator, bias: number, input: number, weights: number): string {
  const b = ctx.tensor(bias);
  if (b.type !== TENSOR_TYPE.INT32 || b.quantization) return ctx.constant(bias, op);
  const inScale = ctx.tensor(input).quantization?.scale;
  const wScale = ctx.tensor(weights).quantization?.scale;
  if (!inScale || !wScale) throw ctx.refuse(op, `bias ${b.name} is int32 without a scale, and its input or weights carry none to derive it from`);
  const channels = b.shape[0] ?? 1;
  const scales = wScale.length === 1 ? [inScale[0] * wScale[0]] : Array.from({ length: channels }, (_, c) => inScale[0] * wScale[c]);
  const stored = ctx.b.initializer(ctx.fresh(`t${bias}/q`), 'int32', [channels], new Int32Array(b.data.slice().buffer));
  return ctx.dequantize(stored, `t${bias}`, scales, scales.map(() => 0), 'int32', 0);
}
