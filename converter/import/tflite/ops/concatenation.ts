/**
 * CONCATENATION → ONNX Concat along the same axis (an NHWC axis of 4-D tensors mapped to NCHW):
 * y = [x₀ | x₁ | …] along `axis`, then the fused activation. Inputs of a quantized LiteRT concat
 * with other scales are requantized to the output's, which the output's QuantizeLinear does here.
 */
import { concatenationOptions } from '../options.js';
import type { OpRule } from './rule.js';

export const concatenation: OpRule = {
  ops: ['CONCATENATION'],
  translate(ctx, op) {
    const o = concatenationOptions(op.options);
    const values = op.inputs.map((i) => ctx.value(i, op));
    const rank = ctx.tensor(op.outputs[0]).shape.length;
    const nchw = rank === 4;
    const names = values.map((v, k) => ctx.relayout(v, nchw, `t${op.inputs[k]}`).name);
    const y = ctx.node('Concat', names, ctx.fresh(`t${op.outputs[0]}/concat`), { axis: { i: ctx.axisOf(o.axis, rank, nchw) } });
    ctx.output(op.outputs[0], op, y, nchw, o.activation);
  },
};
