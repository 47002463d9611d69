/**
 * SOFTMAX → ONNX Softmax over the last TFLite axis (channels: axis 1 of a 4-D NCHW value):
 *
 *   y_c = exp(β·x_c) / Σ_k exp(β·x_k)
 *
 * β ≠ 1 is a Mul before it. A quantized LiteRT softmax writes int8 at scale 1/256, zero point
 * −128 (uint8: 1/256, 0), which the output's QuantizeLinear reproduces.
 */
import { softmaxBeta } from '../options.js';
import type { OpRule } from './rule.js';

export const softmax: OpRule = {
  ops: ['SOFTMAX'],
  translate(ctx, op) {
    const x = ctx.value(op.inputs[0], op);
    const rank = ctx.tensor(op.inputs[0]).shape.length;
    const beta = softmaxBeta(op.options);
    const out = `t${op.outputs[0]}`;
    const scaled = beta === 1 ? x.name : ctx.node('Mul', [x.name, ctx.floats(`${out}/beta`, [beta])], ctx.fresh(`${out}/scaled`));
    const y = ctx.node('Softmax', [scaled], ctx.fresh(`${out}/softmax`), { axis: { i: ctx.axisOf(rank - 1, rank, x.nchw) } });
    ctx.output(op.outputs[0], op, y, x.nchw);
  },
};
