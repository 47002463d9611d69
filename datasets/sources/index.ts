/** Lists the samples of any dataset spec. */
import { type DatasetSpec } from '../../core/dataset_spec.js';
import { createRandom, hashString } from '../../core/random.js';
import type { SampleRef, SourceListing } from '../sample_types.js';
import { listFeedback } from './feedback.js';
import { listFolder } from './folder.js';
import { listOxford } from './oxford.js';
import { listSynthetic } from './synthetic.js';

export function listSource(spec: DatasetSpec): SourceListing {
  switch (spec.kind) {
    case 'synthetic':
      return listSynthetic(spec);
    case 'oxford':
      return listOxford(spec.dir);
    case 'folder':
      return listFolder(spec.imagesDir, spec.masksDir);
    case 'feedback':
      return listFeedback(spec.dir, spec.version);
  }
}

/**
 * The training refs of a source with sampling weight `w`: the whole part of w as repeats (ids
 * `<id>~2`, `<id>~3`…), the fraction as a subset drawn by a seeded shuffle of the source's ids, so
 * the same spec always lists the same samples. Validation and test refs are listed once.
 */
export function weightRefs(refs: SampleRef[], weight: number): SampleRef[] {
  if (weight === 1) return refs;
  const train = refs.filter((r) => r.split === 'train');
  const rest = refs.filter((r) => r.split !== 'train');
  const out: SampleRef[] = [];
  const whole = Math.floor(weight);
  for (let copy = 0; copy < whole; copy++) out.push(...train.map((r) => (copy === 0 ? r : { ...r, id: `${r.id}~${copy + 1}` })));
  const extra = Math.round((weight - whole) * train.length);
  if (extra > 0) {
    const rand = createRandom(hashString(train.map((r) => r.id).join('\n')));
    const order = train.map((r, i) => ({ r, key: rand(), i })).sort((a, b) => a.key - b.key || a.i - b.i);
    out.push(...order.slice(0, extra).map(({ r }) => (whole === 0 ? r : { ...r, id: `${r.id}~${whole + 1}` })));
  }
  return [...out, ...rest];
}

/**
 * Lists several specs as one dataset; with more than one, ids are prefixed `<k>/` so they stay
 * unique. A spec's weight (`*W`) repeats or subsamples its training split (weightRefs).
 */
export function listSources(specs: DatasetSpec[]): SourceListing {
  if (specs.length === 1 && (specs[0].weight ?? 1) === 1) return listSource(specs[0]);
  const out: SourceListing = { refs: [], skipped: [] };
  specs.forEach((spec, k) => {
    const l = listSource(spec);
    out.refs.push(...weightRefs(l.refs, spec.weight ?? 1).map((r) => ({ ...r, id: `${k}/${r.id}` })));
    out.skipped.push(...l.skipped.map((s) => ({ ...s, id: `${k}/${s.id}` })));
  });
  return out;
}
