/**
 * MEAN → ONNX ReduceMean over the constant axes (input 1): y = Σ_{axes} x / Π_{axes} size.
 * Without keep_dims the reduced axes go; for a 4-D NCHW value that would leave the kept axes in
 * NCHW order, so it reduces with keepdims, returns to NHWC and reshapes to TFLite's output shape.
 */
import { reducerKeepDims } from '../options.js';
import type { OpRule } from './rule.js';

export const mean: OpRule = {
  ops: ['MEAN'],
  translate(ctx, op) {
    const [xi, axesIndex] = op.inputs;
    const x = ctx.value(xi, op);
    if (!ctx.isConstant(axesIndex)) throw ctx.refuse(op, 'the axes must be a constant tensor');
    const rank = ctx.tensor(xi).shape.length;
    const axes = [...new Set(ctx.ints(axesIndex, op).map((a) => ctx.axisOf(a, rank, x.nchw)))].sort((a, b) => a - b);
    const keepDims = reducerKeepDims(op.options);
    const out = `t${op.outputs[0]}`;
    const reduced = ctx.node('ReduceMean', [x.name], ctx.fresh(`${out}/mean`), { axes: { ints: axes }, keepdims: { i: keepDims || x.nchw ? 1 : 0 } });
    if (keepDims || !x.nchw) {
      ctx.output(op.outputs[0], op, reduced, x.nchw && keepDims);
      return;
    }
    const nhwc = ctx.relayout({ name: reduced, nchw: true }, false, out).name;
    const shape = ctx.tensor(op.outputs[0]).shape;
    const y = ctx.node('Reshape', [nhwc, ctx.int64s(`${out}/shape`, shape)], ctx.fresh(`${out}/reshape`));
    ctx.output(op.outputs[0], op, y, false);
  },
};
