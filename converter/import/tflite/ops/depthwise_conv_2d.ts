/**
 * DEPTHWISE_CONV_2D → ONNX Conv with group = input channels C. TFLite filters are
 * [1, kh, kw, C·M] (M = depth multiplier), output channel c·M + m reading input channel c:
 *
 *   y[n, h, w, c·M + m] = b[c·M + m] + Σ_{p, q} x[n, h·sh + p·dh − pad_top, w·sw + q·dw − pad_left, c] · f[0, p, q, c·M + m]
 *
 * ONNX's grouped filter is [C·M, 1, kh, kw], the same channel order: permuted by [3, 0, 1, 2]
 * (a per-channel scale on TFLite's axis 3 lands on ONNX's axis 0).
 */
import type { OpRule } from './rule.js';
import { biasValue } from './bias.js';
import { onnxPads, spatial } from './geometry.js';

export const depthwiseConv2d: OpRule = {
  ops: ['DEPTHWISE_CONV_2D'],
  translate(ctx, op) {
    const [xi, wi, bi] = op.inputs;
    const o = op.conv!;
    const x = ctx.value(xi, op);
    const inShape = ctx.tensor(xi).shape;
    const fShape = ctx.tensor(wi).shape;
    if (!x.nchw || fShape.length !== 4 || fShape[0] !== 1) throw ctx.refuse(op, 'input must be 4-D and the filter [1, kh, kw, channels]');
    const kernel: [number, number] = [fShape[1], fShape[2]];
    const inputs = [x.name, ctx.constant(wi, op, { perm: [3, 0, 1, 2] })];
    if (bi !== undefined && bi >= 0) inputs.push(biasValue(ctx, op, bi, xi, wi));
    const y = ctx.node('Conv', inputs, ctx.fresh(`t${op.outputs[0]}/dwconv`), {
      kernel_shape: { ints: kernel },
      strides: { ints: o.strides },
      dilations: { ints: o.dilations },
      pads: { ints: onnxPads(o.padding, spatial(inShape), kernel, o.strides, o.dilations) },
      group: { i: inShape[3] },
    });
    ctx.output(op.outputs[0], op, y, true, o.activation);
  },
};
