/**
 * PAD → ONNX Pad (mode constant, value 0) with the constant paddings (input 1, [rank, 2] of
 * [before, after] per NHWC axis), reordered to the value's axes and to ONNX's
 * [b₀, b₁, …, e₀, e₁, …]. A quantized LiteRT PAD fills with the zero point, whose real value is 0.
 */
import type { OpRule } from './rule.js';

export const pad: OpRule = {
  ops: ['PAD'],
  translate(ctx, op) {
    const [xi, padsIndex] = op.inputs;
    const x = ctx.value(xi, op);
    if (!ctx.isConstant(padsIndex)) throw ctx.refuse(op, 'the paddings must be a constant tensor');
    const rank = ctx.tensor(xi).shape.length;
    const flat = ctx.ints(padsIndex, op);
    const before = new Array<number>(rank).fill(0);
    const after = new Array<number>(rank).fill(0);
    for (let a = 0; a < rank; a++) {
      const to = ctx.axisOf(a, rank, x.nchw);
      before[to] = flat[2 * a];
      after[to] = flat[2 * a + 1];
    }
    const out = `t${op.outputs[0]}`;
    const y = ctx.node('Pad', [x.name, ctx.int64s(`${out}/pads`, [...before, ...after])], ctx.fresh(`${out}/pad`), { mode: { s: 'constant' } });
    ctx.output(op.outputs[0], op, y, x.nchw);
  },
};
