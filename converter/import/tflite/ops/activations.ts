/**
 * Standalone activations:
 *   HARD_SWISH   y = x · relu6(x + 3) / 6 = x · HardSigmoid(x; α = 1/6, β = ½)   (opset 13 has no HardSwish)
 *   LOGISTIC     y = 1 / (1 + e^(−x))   → Sigmoid
 *   RELU, RELU6, RELU_N1_TO_1, TANH     → as the fused activations (context.ts `activate`)
 * The layout of the value is kept.
 */
import { builtinOpName } from '../op_names.js';
import type { FusedActivation } from '../options.js';
import type { OpRule } from './rule.js';

export const hardSwish: OpRule = {
  ops: ['HARD_SWISH'],
  translate(ctx, op) {
    const x = ctx.value(op.inputs[0], op);
    const out = `t${op.outputs[0]}`;
    const gate = ctx.node('HardSigmoid', [x.name], ctx.fresh(`${out}/gate`), { alpha: { f: 1 / 6 }, beta: { f: 0.5 } });
    ctx.output(op.outputs[0], op, ctx.node('Mul', [x.name, gate], ctx.fresh(`${out}/hard_swish`)), x.nchw);
  },
};

export const logistic: OpRule = {
  ops: ['LOGISTIC'],
  translate(ctx, op) {
    const x = ctx.value(op.inputs[0], op);
    ctx.output(op.outputs[0], op, ctx.node('Sigmoid', [x.name], ctx.fresh(`t${op.outputs[0]}/sigmoid`)), x.nchw);
  },
};

const ACTIVATION_OF: Record<string, FusedActivation> = { RELU: 'relu', RELU6: 'relu6', RELU_N1_TO_1: 'relu_n1_to_1', TANH: 'tanh' };

export const activation: OpRule = {
  ops: Object.keys(ACTIVATION_OF),
  translate(ctx, op) {
    const x = ctx.value(op.inputs[0], op);
    ctx.output(op.outputs[0], op, x.name, x.nchw, ACTIVATION_OF[builtinOpName(op.op)]);
  },
};
