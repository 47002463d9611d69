/**
 * Moves a ReLU / ReLU6 layer into the convolution before it (`activation: 'relu' | 'relu6'`),
 * which tfjs runs as one fused kernel (FusedConv2D / FusedDepthwiseConv2D: conv + bias +
 * activation in one pass). Only when the convolution's output feeds nothing but the activation.
 */
import type { LayerGraph } from '../graph.js';
import type { RewriteRule } from './rule.js';

const FUSABLE = new Set(['Conv2D', 'DepthwiseConv2D', 'Conv2DTranspose']);

function activationOf(layer: { class_name: string; config: Record<string, unknown> }): 'relu' | 'relu6' | null {
  if (layer.class_name === 'Activation') return layer.config.activation === 'relu' || layer.config.activation === 'relu6' ? (layer.config.activation as 'relu' | 'relu6') : null;
  if (layer.class_name !== 'ReLU') return null;
  const { max_value, negative_slope, threshold } = layer.config as { max_value?: number | null; negative_slope?: number; threshold?: number };
  if ((negative_slope ?? 0) !== 0 || (threshold ?? 0) !== 0) return null;
  if (max_value === null || max_value === undefined) return 'relu';
  return max_value === 6 ? 'relu6' : null;
}

export const fuseActivation: RewriteRule = {
  name: 'fuse_activation',
  apply(g: LayerGraph): string[] {
    const fused: string[] = [];
    for (const act of [...g.layers]) {
      const kind = activationOf(act);
      if (!kind) continue;
      const [srcName] = g.inputsOf(act);
      const conv = g.layer(srcName);
      if (!FUSABLE.has(conv.class_name) || g.consumers(conv.name).length !== 1 || g.isOutput(conv.name)) continue;
      if ((conv.config.activation ?? 'linear') !== 'linear') continue;
      conv.config.activation = kind;
      g.bypass(act.name);
      fused.push(`${act.name} → ${conv.name}`);
    }
    return fused;
  },
};
