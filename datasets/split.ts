import { hashString } from '../core/random.js';
import type { Split } from './sample_types.js';

/** Share of samples held out for validation when a source has no split of its own. */
export const VALIDATION_SHARE = 0.1;

/**
 * Deterministic 10% validation split by a hash of the sample's name (stable across runs and
 * machines). Never returns 'test': a test split comes only from a source's own published lists.
 */
export function splitByName(id: string): Split {
  return hashString(id) % 10 === 0 ? 'val' : 'train';
}
