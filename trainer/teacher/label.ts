/**
 * `edgeseg label`: a teacher labels a folder of unlabelled photos, in the Oxford-IIIT Pet layout so
 * `oxford:<out>` trains on them like on the real trimaps:
 *
 *   <out>/images/<name>.<ext>              the photo, copied
 *   <out>/annotations/trimaps/<name>.png   1 = pet, 2 = background, 3 = border (border.ts)
 *   <out>/annotations/teacher/<name>.png   soft targets: the teacher's pet log-odds (border.ts)
 *   <out>/labels.jsonl                     one line per photo: labelled or skipped (with why), shares, confidence
 *   <out>/teacher.json                     teacher (name, version, digest), classes, border and skip rules
 *   <out>/contact-sheet.html               thumbnails of the labels, for a person to eyeball (contact_sheet.ts)
 *
 * A run resumes: photos already in labels.jsonl are not labelled again, and a run with another
 * teacher or other rules into the same folder is refused rather than mixed. Each photo's files are
 * written (atomically) before its manifest line, so a kill loses at most the photo in hand.
 */
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { ConfigError, encodeMaskPng, type Logger } from '../../core/index.js';
import { TRIMAP_OFFSET } from '../../core/contract.js';
import { describeError } from '../../core/errors.js';
import { hashString } from '../../core/random.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { LabelError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/node/fs_atomic.js';
import { DEFAULT_BORDER_RULE, DEFAULT_SKIP_RULE, encodeSoftTarget, teacherTrimap, verdictOf, type BorderRule, type SkipRule, type TeacherVerdict } from './border.js';
import { strongestOtherClass } from './class_map.js';
import { writeContactSheet } from './contact_sheet.js';
import { LABELS_MANIFEST, readLabelRecords, type LabelRecord } from './manifest.js';
import { openTeacher, resizeFloatMap, type Teacher } from './teacher.js';

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];
export const TEACHER_FILE = 'teacher.json';

export interface LabelOptions {
  /** The teacher: a model directory or registry ref (`deeplab`, `deeplab@1`). */
  teacher: string;
  /** Registry root the teacher ref is resolved in. @default 'models' */
  models?: string;
  /** A folder of photos, or an Oxford-layout folder (its `images/` is used). */
  images: string;
  /** Output folder (Oxford layout). */
  out: string;
  /** Teacher classes that are a pet: `cat,dog=pet`. */
  classes: string;
  /** @default DEFAULT_BORDER_RULE */
  border?: BorderRule;
  /** @default DEFAULT_SKIP_RULE */
  skip?: Partial<SkipRule>;
  /**
   * Label only the first `limit` photos of a fixed shuffled order (by a hash of each name), so any
   * limit is a subset spread over every breed and a later run with a larger limit adds to it. @default all
   */
  limit?: number;
  /** ONNX Runtime threads. @default 1 */
  threads?: number;
  /** Thumbnails in the contact sheet. @default 120 */
  sheetSize?: number;
  log?: Logger;
  onProgress?(done: number, total: number, info: string): void;
}

export interface LabelResult {
  out: string;
  teacher: { name: string; version: string; digest: string; engine: string };
  /** Photos labelled / skipped in this run. */
  labelled: number;
  skipped: number;
  /** Photos found already done in the manifest (a resumed run). */
  resumed: number;
  records: LabelRecord[];
  seconds: number;
}

/**
 * The photos of `dir` (or of `dir/images` for an Oxford-layout folder) in labelling order: a fixed
 * shuffle by a hash of each file name, so a prefix of it samples every breed alike.
 */
export function listPhotos(dir: string): string[] {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new ConfigError(`--images ${root} is not a folder`);
  const folder = existsSync(join(root, 'images')) && statSync(join(root, 'images')).isDirectory() ? join(root, 'images') : root;
  return readdirSync(folder)
    .filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()) && !f.startsWith('.'))
    .map((f) => ({ f, key: hashString(f) }))
    .sort((a, b) => a.key - b.key || (a.f < b.f ? -1 : 1))
    .map(({ f }) => join(folder, f));
}

/** Labels one photo: the trimap and soft target at the photo's size, and the verdict. */
export async function labelPhoto(teacher: Teacher, bytes: Uint8Array, rules: { border: BorderRule; skip: SkipRule }) {
  const image = await decodeImage(bytes);
  const m = await teacher.logOdds(image);
  const logOdds = resizeFloatMap(m.data, m, image.width, image.height);
  const verdict = verdictOf(m.data);
  let skip: { code: 'NO_PET' | 'UNSURE'; reason: string } | null = null;
  if (verdict.petShare < rules.skip.minPetShare) {
    const other = teacher.background >= 0 ? strongestOtherClass(m.logits, m.width * m.height, teacher.classes.length, teacher.map, teacher.background) : null;
    const seen = other && other.share >= 0.01 ? `; it sees ${teacher.classes[other.index]} over ${(100 * other.share).toFixed(1)}%` : '';
    skip = { code: 'NO_PET', reason: `the teacher finds no pet (${(100 * verdict.petShare).toFixed(2)}% of pixels are ${teacher.map.names.join('|')}, under ${100 * rules.skip.minPetShare}%${seen})` };
  } else if (verdict.unsureShare > rules.skip.maxUnsureShare) {
    skip = { code: 'UNSURE', reason: `the teacher is unsure over ${(100 * verdict.unsureShare).toFixed(1)}% of the frame (over ${100 * rules.skip.maxUnsureShare}%)` };
  }
  const trimap = skip ? null : teacherTrimap(logOdds, image.width, image.height, rules.border);
  return { image, logOdds, trimap, verdict, skip };
}

/** Labels the photos of `o.images` into `o.out`; resumes a run that was stopped. */
export async function labelPhotos(o: LabelOptions): Promise<LabelResult> {
  const started = Date.now();
  const out = resolve(o.out);
  const photos = listPhotos(o.images);
  if (photos.length === 0) throw new LabelError('LABEL_NO_IMAGES', `--images ${resolve(o.images)} holds no .jpg, .png or .webp photo`);
  const border = o.border ?? DEFAULT_BORDER_RULE;
  const skip = { ...DEFAULT_SKIP_RULE, ...o.skip };
  const teacher = await openTeacher(o.teacher, { models: o.models, classes: o.classes, threads: o.threads });
  try {
    const settings = {
      teacher: { name: teacher.card.name, version: teacher.card.version, digest: teacher.digest, engine: teacher.engine, classes: teacher.classes.length },
      classes: teacher.map.names,
      border,
      skip,
    };
    const settingsPath = join(out, TEACHER_FILE);
    if (existsSync(settingsPath)) {
      const before = JSON.parse(readFileSync(settingsPath, 'utf8')) as typeof settings;
      const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
      if (before.teacher.digest !== settings.teacher.digest || !same(before.classes, settings.classes) || !same(before.border, border) || !same(before.skip, skip)) {
        throw new LabelError(
          'LABEL_TEACHER_MISMATCH',
          `${out} holds labels by ${before.teacher.name}@${before.teacher.version} (classes ${before.classes.join(',')}, border ${JSON.stringify(before.border)}); label into another --out, or delete it to start over`,
        );
      }
    } else {
      writeFileAtomic(settingsPath, `${JSON.stringify({ ...settings, images: resolve(o.images), created: new Date().toISOString() }, null, 2)}\n`);
    }
    for (const d of ['images', 'annotations/trimaps', 'annotations/teacher']) mkdirSync(join(out, d), { recursive: true });
    const done = new Map(readLabelRecords(out).map((r) => [r.name, r]));
    const resumed = photos.filter((p) => done.has(basename(p, extname(p)))).length;
    const todo = photos.slice(0, o.limit ?? Infinity).filter((p) => !done.has(basename(p, extname(p))));
    const records: LabelRecord[] = [];
    let labelled = 0;
    let skipped = 0;
    for (const [i, path] of todo.entries()) {
      const name = basename(path, extname(path));
      let record: LabelRecord;
      try {
        const bytes = new Uint8Array(readFileSync(path));
        const r = await labelPhoto(teacher, bytes, { border, skip });
        const base = { name, source: path, width: r.image.width, height: r.image.height, ...roundVerdict(r.verdict) };
        if (r.skip) {
          record = { ...base, status: 'skipped', ...r.skip };
        } else {
          const trimap = r.trimap!.map((c) => c + TRIMAP_OFFSET);
          writeFileAtomic(join(out, 'annotations/trimaps', `${name}.png`), encodeMaskPng({ data: trimap, width: r.image.width, height: r.image.height }));
          writeFileAtomic(join(out, 'annotations/teacher', `${name}.png`), encodeMaskPng({ data: encodeSoftTarget(r.logOdds), width: r.image.width, height: r.image.height }));
          copyFileSync(path, join(out, 'images', basename(path)));
          record = { ...base, status: 'labelled' };
        }
      } catch (err) {
        if ((err as { code?: string }).code === 'CONFIG_INVALID') throw err;
        record = { name, source: path, status: 'skipped', code: 'UNREADABLE', reason: describeError(err) };
      }
      if (record.status === 'labelled') labelled++;
      else {
        skipped++;
        o.log?.warn(`skipped ${path}`, { code: record.code, reason: record.reason });
      }
      appendFileSync(join(out, LABELS_MANIFEST), `${JSON.stringify(record)}\n`);
      records.push(record);
      o.onProgress?.(i + 1, todo.length, `${labelled} labelled, ${skipped} skipped`);
    }
    const all = [...done.values(), ...records];
    await writeContactSheet(out, all, { size: o.sheetSize ?? 120, teacher: `${teacher.card.name}@${teacher.card.version}`, border });
    return { out, teacher: settings.teacher, labelled, skipped, resumed, records, seconds: (Date.now() - started) / 1000 };
  } finally {
    await teacher.dispose();
  }
}

function roundVerdict(v: TeacherVerdict): TeacherVerdict {
  const r = (x: number) => Math.round(x * 1e4) / 1e4;
  return { petShare: r(v.petShare), unsureShare: r(v.unsureShare), confidence: r(v.confidence) };
}
