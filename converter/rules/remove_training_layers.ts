/** Drops layers that are the identity at inference: Dropout and its variants, GaussianNoise, ActivityRegularization. */
import type { LayerGraph } from '../graph.js';
import type { RewriteRule } from './rule.js';

const TRAINING_ONLY = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'AlphaDropout', 'GaussianDropout', 'GaussianNoise', 'ActivityRegularization']);

export const removeTrainingLayers: RewriteRule = {
  name: 'remove_training_layers',
  apply(g: LayerGraph): string[] {
    const removed: string[] = [];
    for (const l of [...g.layers]) {
      if (!TRAINING_ONLY.has(l.class_name)) continue;
      g.bypass(l.name);
      removed.push(l.name);
    }
    return removed;
  },
};
