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
import { translateConv } from './conv_node.js';

export const depthwiseConv2d: OpRule = {
  ops: ['DEPTHWISE_CONV_2D'],
  translate(ctx, op) {
    translateConv(ctx, op, {
      perm: [3, 0, 1, 2],
      suffix: 'dwconv',
      refuse: (f) => (f.length !== 4 || f[0] !== 1 ? 'input must be 4-D and the filter [1, kh, kw, channels]' : null),
      group: (inShape) => inShape[3],
    });
  },
};
