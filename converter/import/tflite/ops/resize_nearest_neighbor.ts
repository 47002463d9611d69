/**
 * RESIZE_NEAREST_NEIGHBOR → ONNX Resize (mode nearest) to the constant size (input 1). Output pixel
 * o of an axis scaled by s = in / out (align_corners: (in − 1) / (out − 1)) copies source pixel
 *
 *   align_corners:       round(o · s), halves up      → ONNX `align_corners`, nearest_mode round_prefer_ceil
 *   half_pixel_centers:  floor((o + ½) · s)           → ONNX `tf_half_pixel_for_nn`, nearest_mode floor
 *   neither:             floor(o · s)                 → ONNX `asymmetric`, nearest_mode floor
 *
 * clamped to the image. It copies values, so an 8-bit tensor keeps its codes.
 */
import { resizeNearestOptions } from '../options.js';
import type { OpRule } from './rule.js';

export const resizeNearestNeighbor: OpRule = {
  ops: ['RESIZE_NEAREST_NEIGHBOR'],
  translate(ctx, op) {
    const [xi, sizeIndex] = op.inputs;
    const x = ctx.value(xi, op);
    if (!x.nchw) throw ctx.refuse(op, 'input must be 4-D');
    if (!ctx.isConstant(sizeIndex)) throw ctx.refuse(op, 'the output size must be a constant tensor');
    const o = resizeNearestOptions(op.options);
    const [h, w] = ctx.ints(sizeIndex, op);
    const [n, , , c] = ctx.tensor(xi).shape;
    const out = `t${op.outputs[0]}`;
    const y = ctx.node('Resize', [x.name, '', '', ctx.int64s(`${out}/sizes`, [n, c, h, w])], ctx.fresh(`${out}/resize`), {
      mode: { s: 'nearest' },
      coordinate_transformation_mode: { s: o.alignCorners ? 'align_corners' : o.halfPixelCenters ? 'tf_half_pixel_for_nn' : 'asymmetric' },
      nearest_mode: { s: o.alignCorners ? 'round_prefer_ceil' : 'floor' },
    });
    ctx.output(op.outputs[0], op, y, true);
  },
};
