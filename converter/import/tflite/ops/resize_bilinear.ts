/**
 * RESIZE_BILINEAR → ONNX Resize (mode linear) to the constant size (input 1, [new_h, new_w]).
 * Output pixel o of an axis scaled by s = in / out (align_corners: (in − 1) / (out − 1)) reads
 * source coordinate c and interpolates between floor(c) and ceil(c), both clamped to the image:
 *
 *   align_corners:       c = o · (in − 1) / (out − 1)   → ONNX `align_corners`
 *   half_pixel_centers:  c = (o + ½) · s − ½            → ONNX `half_pixel`
 *   neither:             c = o · s                      → ONNX `asymmetric`
 *
 * y = (1 − t)·x[floor c] + t·x[ceil c], t = c − floor c, per axis (height, then width).
 *
 * 8-bit (LiteRT keeps the input's scale and zero point): LiteRT interpolates the codes and rounds
 * half up, code = floor(y_code + ½) (XNNPACK's kernel, LiteRT's default on CPU, measured exact on
 * DeepLab's logits). QuantizeLinear would round half to even, and exact halves are common (with
 * align_corners 33 → 513 every weight is a multiple of 1/16), so the codes are interpolated in
 * float — exact: products of codes ≤ 255 and weights k/2ⁿ fit float32's 24 bits — and rounded by
 * Floor(y + ½) before they are dequantized.
 */
import { ONNX_DTYPE } from '../../../../core/node/onnx/proto.js';
import { resizeBilinearOptions } from '../options.js';
import type { OpRule } from './rule.js';

export const resizeBilinear: OpRule = {
  ops: ['RESIZE_BILINEAR'],
  translate(ctx, op) {
    const [xi, sizeIndex] = op.inputs;
    const x = ctx.value(xi, op);
    if (!x.nchw) throw ctx.refuse(op, 'input must be 4-D');
    if (!ctx.isConstant(sizeIndex)) throw ctx.refuse(op, 'the output size must be a constant tensor');
    const o = resizeBilinearOptions(op.options);
    if (o.alignCorners && o.halfPixelCenters) throw ctx.refuse(op, 'align_corners and half_pixel_centers are both set, which LiteRT refuses too');
    const [h, w] = ctx.ints(sizeIndex, op);
    const [n, , , c] = ctx.tensor(xi).shape;
    const out = `t${op.outputs[0]}`;
    const resize = (input: string) =>
      ctx.node('Resize', [input, '', '', ctx.int64s(`${out}/sizes`, [n, c, h, w])], ctx.fresh(`${out}/resize`), {
        mode: { s: 'linear' },
        coordinate_transformation_mode: { s: o.alignCorners ? 'align_corners' : o.halfPixelCenters ? 'half_pixel' : 'asymmetric' },
      });
    const qIn = ctx.quant8(ctx.tensor(xi), op);
    const qOut = ctx.quant8(ctx.tensor(op.outputs[0]), op);
    if (!qIn || !qOut || qIn.scale !== qOut.scale || qIn.zeroPoint !== qOut.zeroPoint || qIn.dtype !== qOut.dtype) {
      ctx.output(op.outputs[0], op, resize(x.name), true);
      return;
    }
    const scale = ctx.floats(`${out}/scale`, [qIn.scale]);
    const zero = ctx.zeroPoint(`${out}/zero_point`, qIn);
    const codes = ctx.node('QuantizeLinear', [x.name, scale, zero], ctx.fresh(`${out}/in_codes`));
    // Interpolation weights sum to 1, so the ½ is added to the (small) input rather than the (large) output.
    const shifted = ctx.node('Add', [ctx.node('Cast', [codes], ctx.fresh(`${out}/in_codes_f`), { to: { i: ONNX_DTYPE.float } }), ctx.floats(`${out}/half`, [0.5])], ctx.fresh(`${out}/plus_half`));
    const rounded = ctx.node('Floor', [resize(shifted)], ctx.fresh(`${out}/rounded`));
    const stored = ctx.node('Cast', [rounded], ctx.fresh(`${out}/codes`), { to: { i: ONNX_DTYPE[qIn.dtype] } });
    ctx.values.set(op.outputs[0], { name: ctx.node('DequantizeLinear', [stored, scale, zero], ctx.fresh(out)), nchw: true });
  },
};
