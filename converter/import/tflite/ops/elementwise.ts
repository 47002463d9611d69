/**
 * ADD, SUB, MUL → ONNX Add, Sub, Mul on real values, with NumPy broadcasting (TFLite's):
 *
 *   y = a + b | a − b | a · b, then the fused activation
 *
 * A quantized LiteRT kernel rescales both inputs to a common scale, computes in integers and
 * requantizes to the output's scale; on real values that is the float op followed by the
 * output's QuantizeLinear (onnxruntime fuses DQ → Add → Q into QLinearAdd, QLinearMul likewise).
 */
import type { TfliteOperator } from '../../../../core/node/tflite/schema.js';
import type { TranslationContext } from '../context.js';
import { elementwiseActivation } from '../options.js';
import type { OpRule } from './rule.js';

function binary(ctx: TranslationContext, op: TfliteOperator, opType: 'Add' | 'Sub' | 'Mul'): void {
  const [ai, bi] = op.inputs;
  const a = ctx.value(ai, op);
  const b = ctx.value(bi, op);
  const nchw = a.nchw || b.nchw;
  const names = nchw ? [ctx.broadcastToNchw(ai, op), ctx.broadcastToNchw(bi, op)] : [a.name, b.name];
  const y = ctx.node(opType, names, ctx.fresh(`t${op.outputs[0]}/${opType}`));
  ctx.output(op.outputs[0], op, y, nchw, elementwiseActivation(op.options));
}

export const add: OpRule = { ops: ['ADD'], translate: (ctx, op) => binary(ctx, op, 'Add') };
export const sub: OpRule = { ops: ['SUB'], translate: (ctx, op) => binary(ctx, op, 'Sub') };
export const mul: OpRule = { ops: ['MUL'], translate: (ctx, op) => binary(ctx, op, 'Mul') };
