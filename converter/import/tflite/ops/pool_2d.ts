/**
 * AVERAGE_POOL_2D → ONNX AveragePool, MAX_POOL_2D → MaxPool, over a kh×kw window:
 *
 *   avg: y[n, h, w, c] = Σ_{valid p, q} x[n, h·sh + p − pad_top, w·sw + q − pad_left, c] / (number of valid p, q)
 *   max: the same window's maximum
 *
 * TFLite's `SAME` padding leaves padded pixels out of the average (count_include_pad = 0).
 * LiteRT requires a quantized pool's output quantization to equal its input's.
 */
import type { TfliteOperator } from '../../../../core/node/tflite/schema.js';
import type { TranslationContext } from '../context.js';
import { poolOptions } from '../options.js';
import type { OpRule } from './rule.js';
import { onnxPads, spatial } from './geometry.js';

function pool(ctx: TranslationContext, op: TfliteOperator, opType: 'AveragePool' | 'MaxPool'): void {
  const o = poolOptions(op.options);
  const x = ctx.value(op.inputs[0], op);
  if (!x.nchw) throw ctx.refuse(op, 'input must be 4-D');
  const attrs = {
    kernel_shape: { ints: o.filter },
    strides: { ints: o.strides },
    pads: { ints: onnxPads(o.padding, spatial(ctx.tensor(op.inputs[0]).shape), o.filter, o.strides) },
    ...(opType === 'AveragePool' ? { count_include_pad: { i: 0 } } : {}),
  };
  const y = ctx.node(opType, [x.name], ctx.fresh(`t${op.outputs[0]}/${opType}`), attrs);
  ctx.output(op.outputs[0], op, y, true, o.activation);
}

export const averagePool2d: OpRule = { ops: ['AVERAGE_POOL_2D'], translate: (ctx, op) => pool(ctx, op, 'AveragePool') };
export const maxPool2d: OpRule = { ops: ['MAX_POOL_2D'], translate: (ctx, op) => pool(ctx, op, 'MaxPool') };
