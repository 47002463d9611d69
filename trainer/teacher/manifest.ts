/**
 * The manifest of a labelling run (`<out>/labels.jsonl`): one JSON line per photo, labelled or
 * skipped with its reason, with the teacher's verdict on it. Appended as photos are done, so a
 * killed run's manifest says which photos need no second look.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TeacherVerdict } from './border.js';

export const LABELS_MANIFEST = 'labels.jsonl';

/** One manifest line. */
export interface LabelRecord extends Partial<TeacherVerdict> {
  name: string;
  source: string;
  status: 'labelled' | 'skipped';
  code?: 'NO_PET' | 'UNSURE' | 'UNREADABLE';
  reason?: string;
  width?: number;
  height?: number;
}

/** The manifest's records; a line cut by a kill mid-append is left out (that photo is labelled again). */
export function readLabelRecords(out: string): LabelRecord[] {
  const path = join(out, LABELS_MANIFEST);
  if (!existsSync(path)) return [];
  const records: LabelRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as LabelRecord);
    } catch {
      // A line cut by a kill mid-append: that photo is labelled again.
    }
  }
  return records;
}

