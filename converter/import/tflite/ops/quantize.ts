/**
 * QUANTIZE and DEQUANTIZE.
 *
 * QUANTIZE of a float tensor: q = clamp(round(r / scale) + zp), the output's QuantizeLinear →
 * DequantizeLinear. QUANTIZE of an 8-bit tensor (a requantization from scale s_in to s_out) is
 * done by LiteRT's default CPU kernel (XNNPACK's convert) with an 8-bit fixed-point multiplier:
 *
 *   M = round(256 · s_in / s_out);  q_out = zp_out + floor(((q_in − zp_in) · M + 128) / 256)
 *
 * which disagrees with round((q_in − zp_in) · s_in / s_out) on 1.6% of DeepLab's ASPP codes; it
 * is reproduced exactly here on the codes in float32 (every step an integer below 2²⁴, the
 * division by 256 exact), then dequantized.
 *
 * DEQUANTIZE (8-bit or float16 → float32) changes no real value, so its output is its input's
 * value; of a constant (float16 or int8 weights), it stands for that constant, which the reading
 * op lays out as its weights and widens to float32 (or keeps 8-bit behind a DequantizeLinear).
 */
import { ONNX_DTYPE } from '../../../../core/node/onnx/proto.js';
import type { OpRule } from './rule.js';

export const quantize: OpRule = {
  ops: ['QUANTIZE'],
  translate(ctx, op) {
    const x = ctx.value(op.inputs[0], op);
    const qIn = ctx.quant8(ctx.tensor(op.inputs[0]), op);
    const qOut = ctx.quant8(ctx.tensor(op.outputs[0]), op);
    if (!qIn || !qOut) {
      ctx.output(op.outputs[0], op, x.name, x.nchw);
      return;
    }
    const out = `t${op.outputs[0]}`;
    const multiplier = Math.round((256 * qIn.scale) / qOut.scale);
    const inScale = ctx.floats(`${out}/in_scale`, [qIn.scale]);
    const codes = ctx.node('QuantizeLinear', [x.name, inScale, ctx.zeroPoint(`${out}/in_zero_point`, qIn)], ctx.fresh(`${out}/in_codes`));
    const f = ctx.node('Cast', [codes], ctx.fresh(`${out}/in_codes_f`), { to: { i: ONNX_DTYPE.float } });
    const centred = ctx.node('Sub', [f, ctx.floats(`${out}/in_zp_f`, [qIn.zeroPoint])], ctx.fresh(`${out}/centred`));
    const scaled = ctx.node('Add', [ctx.node('Mul', [centred, ctx.floats(`${out}/multiplier`, [multiplier])], ctx.fresh(`${out}/scaled`)), ctx.floats(`${out}/rounding`, [128])], ctx.fresh(`${out}/rounded`));
    const shifted = ctx.node('Floor', [ctx.node('Mul', [scaled, ctx.floats(`${out}/shift`, [1 / 256])], ctx.fresh(`${out}/shifted_f`))], ctx.fresh(`${out}/shifted`));
    const [qmin, qmax] = qOut.dtype === 'uint8' ? [0, 255] : [-128, 127];
    const clipped = ctx.node(
      'Clip',
      [ctx.node('Add', [shifted, ctx.floats(`${out}/out_zp_f`, [qOut.zeroPoint])], ctx.fresh(`${out}/codes_f`)), ctx.floats(`${out}/qmin`, [qmin]), ctx.floats(`${out}/qmax`, [qmax])],
      ctx.fresh(`${out}/codes_clipped`),
    );
    const stored = ctx.node('Cast', [clipped], ctx.fresh(`${out}/codes`), { to: { i: ONNX_DTYPE[qOut.dtype] } });
    const dq = ctx.dequantize(stored, out, [qOut.scale], [qOut.zeroPoint], qOut.dtype);
    ctx.values.set(op.outputs[0], { name: dq, nchw: x.nchw });
  },
};

export const dequantize: OpRule = {
  ops: ['DEQUANTIZE'],
  translate(ctx, op) {
    if (ctx.isConstant(op.inputs[0])) ctx.alias(op.outputs[0], op.inputs[0]);
    else ctx.values.set(op.outputs[0], ctx.value(op.inputs[0], op));
  },
};
