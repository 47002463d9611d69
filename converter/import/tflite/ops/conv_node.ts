/**
 * The ONNX Conv both TFLite convolutions become (conv_2d.ts, depthwise_conv_2d.ts): NCHW input,
 * the filter constant permuted into ONNX's [out, in/group, kh, kw], the bias, TFLite's padding,
 * strides and dilations, and the fused activation on the output. The two rules differ only in
 * the filter's layout (its permutation and check) and the group count.
 */
import type { TfliteOperator } from '../../../../core/node/tflite/schema.js';
import type { TranslationContext } from '../context.js';
import { biasValue } from './bias.js';
import { onnxPads, spatial } from './geometry.js';

export interface ConvLayout {
  /** Permutation of the TFLite filter into ONNX's [out, in/group, kh, kw]. */
  perm: number[];
  /** Suffix of the node's output name. */
  suffix: string;
  /** Why a filter of this shape cannot be translated, or null when it can. */
  refuse(filterShape: number[]): string | null;
  /** The Conv's group count from the NHWC input and TFLite filter shapes. */
  group(inShape: number[], filterShape: number[]): number;
}

export function translateConv(ctx: TranslationContext, op: TfliteOperator, layout: ConvLayout): void {
  const [xi, wi, bi] = op.inputs;
  const o = op.conv!;
  const x = ctx.value(xi, op);
  const inShape = ctx.tensor(xi).shape;
  const fShape = ctx.tensor(wi).shape;
  const why = layout.refuse(fShape) ?? (x.nchw ? null : 'input must be 4-D');
  if (why) throw ctx.refuse(op, why);
  const kernel: [number, number] = [fShape[1], fShape[2]];
  const inputs = [x.name, ctx.constant(wi, op, { perm: layout.perm })];
  if (bi !== undefined && bi >= 0) inputs.push(biasValue(ctx, op, bi, xi, wi));
  const y = ctx.node('Conv', inputs, ctx.fresh(`t${op.outputs[0]}/${layout.suffix}`), {
    kernel_shape: { ints: kernel },
    strides: { ints: o.strides },
    dilations: { ints: o.dilations },
    pads: { ints: onnxPads(o.padding, spatial(inShape), kernel, o.strides, o.dilations) },
    group: { i: layout.group(inShape, fShape) },
  });
  ctx.output(op.outputs[0], op, y, true, o.activation);
}
