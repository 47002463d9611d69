/**
 * Which teachers made the labels of a dataset: every `oxford:` source that `edgeseg label` wrote
 * holds its `teacher.json` (teacher name, version, digest, class map, border rule). The trained
 * model's card records them beside the dataset spec, so a distilled student names its teacher.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatDatasetSpec, parseDatasetSpecs } from '../../core/dataset_spec.js';
import { TEACHER_FILE } from './label.js';

/** A teacher that labelled one source of a dataset. */
export interface TeacherProvenance {
  /** The dataset source it labelled (its spec, with weight). */
  spec: string;
  name: string;
  version: string;
  /** sha256 of the teacher's model file. */
  digest: string;
  classes: string[];
  border: { inner: number; outer: number };
}

export function teachersOf(specText: string): TeacherProvenance[] {
  const out: TeacherProvenance[] = [];
  for (const spec of parseDatasetSpecs(specText)) {
    if (spec.kind !== 'oxford') continue;
    const path = join(resolve(spec.dir), TEACHER_FILE);
    if (!existsSync(path)) continue;
    try {
      const t = JSON.parse(readFileSync(path, 'utf8')) as { teacher: { name: string; version: string; digest: string }; classes: string[]; border: { inner: number; outer: number } };
      out.push({ spec: formatDatasetSpec(spec), name: t.teacher.name, version: t.teacher.version, digest: t.teacher.digest, classes: t.classes, border: t.border });
    } catch {
      // A teacher.json that does not parse names no teacher; the labels still train.
    }
  }
  return out;
}
