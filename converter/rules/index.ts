/** The converter's rewrite rules, applied in this order. */
import { foldBatchNorm } from './fold_batch_norm.js';
import { fuseActivation } from './fuse_activation.js';
import { removeTrainingLayers } from './remove_training_layers.js';
import type { RewriteRule } from './rule.js';

export const REWRITE_RULES: readonly RewriteRule[] = [removeTrainingLayers, foldBatchNorm, fuseActivation];
