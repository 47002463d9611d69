/**
 * RESHAPE → ONNX Reshape to TFLite's (static) output shape. Reshape reorders nothing in
 * row-major NHWC memory, so a 4-D NCHW value returns to NHWC first and a 4-D result goes back to
 * NCHW: y_nhwc = reshape(x_nhwc, shape).
 */
import type { OpRule } from './rule.js';

export const reshape: OpRule = {
  ops: ['RESHAPE'],
  translate(ctx, op) {
    const out = `t${op.outputs[0]}`;
    const shape = ctx.tensor(op.outputs[0]).shape;
    if (shape.length === 0 && ctx.tensor(op.inputs[0]).shape.length > 1) throw ctx.refuse(op, 'the output shape is unknown');
    const x = ctx.relayout(ctx.value(op.inputs[0], op), false, out);
    const y = ctx.node('Reshape', [x.name, ctx.int64s(`${out}/shape`, shape)], ctx.fresh(`${out}/reshape`));
    const v = ctx.relayout({ name: y, nchw: false }, shape.length === 4, out);
    ctx.output(op.outputs[0], op, v.name, v.nchw);
  },
};
