/** Lists the samples of any dataset spec. */
import type { DatasetSpec } from '../../../core/index.js';
import type { SourceListing } from '../sample.js';
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

/** Lists several specs as one dataset; with more than one, ids are prefixed `<k>/` so they stay unique. */
export function listSources(specs: DatasetSpec[]): SourceListing {
  if (specs.length === 1) return listSource(specs[0]);
  const out: SourceListing = { refs: [], skipped: [] };
  specs.forEach((spec, k) => {
    const l = listSource(spec);
    out.refs.push(...l.refs.map((r) => ({ ...r, id: `${k}/${r.id}` })));
    out.skipped.push(...l.skipped.map((s) => ({ ...s, id: `${k}/${s.id}` })));
  });
  return out;
}
