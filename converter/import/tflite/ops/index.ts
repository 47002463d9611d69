/** The TFLite ops the translation covers, one rule per op family (each file holds the maths); any other op is refused by name. */
import { activation, hardSwish, logistic } from './activations.js';
import { concatenation } from './concatenation.js';
import { conv2d } from './conv_2d.js';
import { depthwiseConv2d } from './depthwise_conv_2d.js';
import { add, mul, sub } from './elementwise.js';
import { mean } from './mean.js';
import { averagePool2d, maxPool2d } from './pool_2d.js';
import { dequantize, quantize } from './quantize.js';
import { reshape } from './reshape.js';
import { resizeBilinear } from './resize_bilinear.js';
import type { OpRule } from './rule.js';
import { transposeConv } from './transpose_conv.js';

export const OP_RULES: readonly OpRule[] = [
  conv2d,
  depthwiseConv2d,
  transposeConv,
  add,
  sub,
  mul,
  concatenation,
  averagePool2d,
  maxPool2d,
  mean,
  resizeBilinear,
  quantize,
  dequantize,
  hardSwish,
  logistic,
  activation,
  reshape,
];

/** Rule by TFLite op name. ARG_MAX is not here: the translator turns a graph's ARG_MAX output into its logits input. */
export const OP_RULE_BY_NAME: ReadonlyMap<string, OpRule> = new Map(OP_RULES.flatMap((r) => r.ops.map((name) => [name, r] as const)));
