/** Lists the samples of any dataset spec. */
import { existsSync } from 'node:fs';
import { DatasetError, type DatasetSpec } from '../../../core/index.js';
import { FeedbackStore } from '../../../core/node/feedback_store.js';
import type { SourceListing } from '../sample.js';
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
      if (!existsSync(spec.dir)) throw new DatasetError('DATASET_NOT_FOUND', `feedback store ${spec.dir} does not exist`);
      return new FeedbackStore(spec.dir).list(spec.version);
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
