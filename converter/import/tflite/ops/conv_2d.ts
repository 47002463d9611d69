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
import { translateConv } from './conv_node.js';

export const conv2d: OpRule = {
  ops: ['CONV_2D'],
  translate(ctx, op) {
    translateConv(ctx, op, {
      perm: [0, 3, 1, 2],
      suffix: 'conv',
      refuse: (f) => (f.length !== 4 ? 'input and filter must be 4-D' : null),
      group: (inShape, f) => inShape[3] / f[3],
    });
  },
};
