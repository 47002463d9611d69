/**
 * The border rule against an Oxford-layout folder with real trimaps: fit it on some splits
 * (`edgeseg label --fit-border`) or measure a given rule's agreement (bench:pets, on the test split).
 */
import { listOxford } from '../../datasets/sources/oxford.js';
import type { Split } from '../../datasets/sample_types.js';
import type { BorderRule } from './border.js';
import { agreement, fitBorder, scorePhoto, type BorderFit } from './border_fit.js';
import { openTeacher } from './teacher.js';

export interface BorderCheckOptions {
  teacher: string;
  /** Registry root the teacher ref is resolved in. @default 'models' */
  models?: string;
  classes: string;
  /** An Oxford-layout folder with real trimaps. */
  dir: string;
  splits: Split[];
  threads?: number;
  /** At most this many photos, spread over the list. @default all */
  limit?: number;
  progress?(total: number): { update(done: number): void; done(): void };
}

async function scoreAll(o: BorderCheckOptions) {
  const refs = listOxford(o.dir).refs.filter((r) => o.splits.includes(r.split) && r.kind === 'file');
  const picked = o.limit && refs.length > o.limit ? Array.from({ length: o.limit }, (_, i) => refs[Math.floor((i * refs.length) / o.limit!)]) : refs;
  const teacher = await openTeacher(o.teacher, { models: o.models, classes: o.classes, threads: o.threads });
  const bar = o.progress?.(picked.length);
  const scored = [];
  try {
    for (const [i, r] of picked.entries()) {
      if (r.kind !== 'file') continue;
      try {
        scored.push(await scorePhoto(teacher, r.image, r.mask));
      } catch {
        // An unreadable photo or trimap (the dataset's own quirks) is left out of the fit.
      }
      bar?.update(i + 1);
    }
  } finally {
    bar?.done();
    await teacher.dispose();
  }
  return scored;
}

/** Fits the band widths on the folder's `splits`. */
export async function fitBorderOn(o: BorderCheckOptions): Promise<BorderFit> {
  return fitBorder(await scoreAll(o));
}

/** Agreement of `rule`'s teacher trimaps with the real ones on the folder's `splits`. */
export async function borderAgreement(o: BorderCheckOptions, rule: BorderRule) {
  const scored = await scoreAll(o);
  return { metrics: agreement(scored, rule), photos: scored.length };
}
