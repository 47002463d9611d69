import { syntheticId } from '../../core/synthetic.js';
import type { SourceListing } from '../sample_types.js';
import { splitByName } from '../split.js';

export function listSynthetic(spec: { count: number; size: number; seed: number; shift: number; smooth: number }): SourceListing {
  const refs = Array.from({ length: spec.count }, (_, index) => {
    const id = syntheticId(index);
    return { kind: 'synthetic' as const, id, split: splitByName(id), index, size: spec.size, seed: spec.seed, shift: spec.shift, smooth: spec.smooth };
  });
  return { refs, skipped: [] };
}
