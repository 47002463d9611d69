/**
 * TRANSPOSE_CONV → ONNX ConvTranspose. Inputs: output_shape (int32 [4]), filter [out, kh, kw, in],
 * input, optional bias. It is the gradient of a CONV_2D from the output back to the input, so
 * its padding is that convolution's: for output size O, input size I, stride s, kernel k,
 *
 *   SAME:  total = max((I − 1)·s + k − O, 0), before = floor(total / 2), after = total − before
 *   VALID: total = 0
 *   O = s·(I − 1) + k − before − after + output_padding   (ONNX), which fixes output_padding.
 *
 * ONNX's filter is [in, out, kh, kw]: permuted by [3, 0, 1, 2] (per-channel scales on TFLite's
 * axis 0 land on ONNX's axis 1).
 */
import type { OpRule } from './rule.js';
import { biasValue } from './bias.js';
import { transposeConvOptions } from '../options.js';

export const transposeConv: OpRule = {
  ops: ['TRANSPOSE_CONV'],
  translate(ctx, op) {
    const [shapeIndex, wi, xi, bi] = op.inputs;
    const o = transposeConvOptions(op.options);
    const x = ctx.value(xi, op);
    const fShape = ctx.tensor(wi).shape;
    if (!x.nchw || fShape.length !== 4) throw ctx.refuse(op, 'input and filter must be 4-D');
    const outShape = ctx.isConstant(shapeIndex) ? ctx.ints(shapeIndex, op) : ctx.tensor(op.outputs[0]).shape;
    const inShape = ctx.tensor(xi).shape;
    const kernel = [fShape[1], fShape[2]];
    const before: number[] = [];
    const after: number[] = [];
    const outputPadding: number[] = [];
    for (const a of [0, 1]) {
      const [n, out, k, s] = [inShape[a + 1], outShape[a + 1], kernel[a], o.strides[a]];
      const total = o.padding === 'same' ? Math.max((n - 1) * s + k - out, 0) : 0;
      before.push(Math.floor(total / 2));
      after.push(total - Math.floor(total / 2));
      outputPadding.push(out - (s * (n - 1) + k - total));
    }
    if (outputPadding.some((p, a) => p < 0 || p >= Math.max(o.strides[a], 1))) {
      throw ctx.refuse(op, `output shape [${outShape}] cannot come from input [${inShape}] with stride [${o.strides}] and kernel [${kernel}]`);
    }
    const inputs = [x.name, ctx.constant(wi, op, { perm: [3, 0, 1, 2] })];
    if (bi !== undefined && bi >= 0) inputs.push(biasValue(ctx, op, bi, xi, wi));
    const y = ctx.node('ConvTranspose', inputs, ctx.fresh(`t${op.outputs[0]}/deconv`), {
      kernel_shape: { ints: kernel },
      strides: { ints: o.strides },
      pads: { ints: [...before, ...after] },
      output_padding: { ints: outputPadding },
    });
    ctx.output(op.outputs[0], op, y, true, o.activation);
  },
};
