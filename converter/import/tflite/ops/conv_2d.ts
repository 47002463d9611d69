/**
 * CONV_2D → ONNX Conv. TFLite filters are [out, kh, kw, in] (OHWI), ONNX's [out, in, kh, kw]
 * (OIHW): the constant is permuted by [0, 3, 1, 2]. With NHWC input x and bias b,
 *
 *   y[n, h, w, o] = b[o] + Σ_{i, p, q} x[n, h·sh + p·dh − pad_top, w·sw + q·dw − pad_left, i] · f[o, p, q, i]
 *
 * then the fused activation. An input with a multiple of the filter's input channels is a
 * grouped convolution (group = input channels / filter input channels), as in LiteRT.
 */
import type { OpRule } from './rule.js';
import { biasValue } from './bias.js';
import { onnxPads, spatial } from './geometry.js';

export const conv2d: OpRule = {
  ops: ['CONV_2D'],
  translate(ctx, op) {
    const [xi, wi, bi] = op.inputs;
    const o = op.conv!;
    const x = ctx.value(xi, op);
    const inShape = ctx.tensor(xi).shape;
    const fShape = ctx.tensor(wi).shape;
    if (!x.nchw || fShape.length !== 4) throw ctx.refuse(op, 'input and filter must be 4-D');
    const kernel: [number, number] = [fShape[1], fShape[2]];
    const inputs = [x.name, ctx.constant(wi, op, { perm: [0, 3, 1, 2] })];
    if (bi !== undefined && bi >= 0) inputs.push(biasValue(ctx, op, bi, xi, wi));
    const y = ctx.node('Conv', inputs, ctx.fresh(`t${op.outputs[0]}/conv`), {
      kernel_shape: { ints: kernel },
      strides: { ints: o.strides },
      dilations: { ints: o.dilations },
      pads: { ints: onnxPads(o.padding, spatial(inShape), kernel, o.strides, o.dilations) },
      group: { i: inShape[3] / fShape[3] },
    });
    ctx.output(op.outputs[0], op, y, true, o.activation);
  },
};
