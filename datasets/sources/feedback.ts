/**
 * The feedback store as a dataset source (`feedback:<dir>[@version]`): a version's samples, each
 * frame and mask read from the store's objects, split by frame id like every other source.
 */
import { existsSync } from 'node:fs';
import { DatasetError } from '../../core/index.js';
import { FeedbackStore } from '../../core/node/feedback_store.js';
import type { SourceListing } from '../sample_types.js';
import { splitByName } from '../split.js';

/** The samples of store version `version` (the latest when absent). */
export function listFeedback(dir: string, version?: number): SourceListing {
  if (!existsSync(dir)) throw new DatasetError('DATASET_NOT_FOUND', `feedback store ${dir} does not exist`);
  const store = new FeedbackStore(dir);
  return {
    refs: store.read(version).samples.map((s) => ({
      kind: 'file' as const,
      id: s.id,
      split: splitByName(s.id),
      image: store.objectPath(s.image),
      mask: store.objectPath(s.mask),
      maskFormat: 'classIds' as const,
    })),
    skipped: [],
  };
}
