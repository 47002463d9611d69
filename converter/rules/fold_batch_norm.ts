/**
 * Folds a BatchNormalization into the convolution that feeds it (Conv2D, DepthwiseConv2D,
 * Conv2DTranspose, and SeparableConv2D through its pointwise kernel, the one that makes its output
 * channels) when the convolution's output goes nowhere else:
 *   k = γ / √(σ² + ε);  W' = W · k (per output channel);  b' = (b − μ) · k + β.
 * The BN layer disappears and the convolution gains a bias.
 */
import type { LayerGraph } from '../graph.js';
import type { RewriteRule } from './rule.js';

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D', 'Conv2DTranspose', 'SeparableConv2D']);

/** The kernel whose output channels the BatchNorm scales. */
const KERNEL_OF: Readonly<Record<string, string>> = { DepthwiseConv2D: 'depthwise_kernel', SeparableConv2D: 'pointwise_kernel' };

/** Index of the output channel of each kernel element, by layer class (channels-last kernels). */
function outputChannelOf(cls: string, shape: number[]): (i: number) => number {
  if (cls === 'Conv2DTranspose') {
    // [kh, kw, out, in]
    const [, , out, inC] = shape;
    return (i) => Math.floor(i / inC) % out;
  }
  // Conv2D [kh, kw, in, out], SeparableConv2D pointwise [1, 1, in·mult, out]; DepthwiseConv2D [kh, kw, in, mult] with output channel in·mult + m
  const perTap = cls === 'DepthwiseConv2D' ? shape[2] * shape[3] : shape[3];
  return (i) => i % perTap;
}

export const foldBatchNorm: RewriteRule = {
  name: 'fold_batch_norm',
  apply(g: LayerGraph): string[] {
    const folded: string[] = [];
    for (const bn of [...g.layers]) {
      if (bn.class_name !== 'BatchNormalization') continue;
      const axis = bn.config.axis as number | number[];
      if (!(axis === -1 || axis === 3 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 3)))) continue;
      const [srcName] = g.inputsOf(bn);
      const conv = g.layer(srcName);
      if (!CONVS.has(conv.class_name) || g.consumers(conv.name).length !== 1 || g.isOutput(conv.name)) continue;
      if ((conv.config.activation ?? 'linear') !== 'linear') continue;
      const kernelName = `${conv.name}/${KERNEL_OF[conv.class_name] ?? 'kernel'}`;
      const kernel = g.weight(kernelName);
      const shape = g.shapes.get(kernelName)!;
      const channels = g.weight(`${bn.name}/moving_mean`).length;
      const mean = g.weight(`${bn.name}/moving_mean`);
      const variance = g.weight(`${bn.name}/moving_variance`);
      const gamma = bn.config.scale === false ? new Float32Array(channels).fill(1) : g.weight(`${bn.name}/gamma`);
      const beta = bn.config.center === false ? new Float32Array(channels) : g.weight(`${bn.name}/beta`);
      const eps = bn.config.epsilon as number;
      const k = Float64Array.from(gamma, (gm, c) => gm / Math.sqrt(variance[c] + eps));
      const channelOf = outputChannelOf(conv.class_name, shape);
      const newKernel = Float32Array.from(kernel, (v, i) => v * k[channelOf(i)]);
      const bias = conv.config.use_bias ? g.weight(`${conv.name}/bias`) : new Float32Array(channels);
      const newBias = Float32Array.from(bias, (b, c) => (b - mean[c]) * k[c] + beta[c]);
      g.setWeight(kernelName, newKernel, shape);
      g.setWeight(`${conv.name}/bias`, newBias, [channels]);
      conv.config.use_bias = true;
      g.bypass(bn.name);
      folded.push(`${bn.name} → ${conv.name}`);
    }
    return folded;
  },
};
