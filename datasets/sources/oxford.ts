/**
 * The Oxford-IIIT Pet layout: `images/<name>.jpg`, `annotations/trimaps/<name>.png` with pixel
 * values 1 = pet, 2 = background, 3 = border, and the authors' split lists
 * `annotations/trainval.txt` and `annotations/test.txt` (first token of each line is a name; `#`
 * lines are comments).
 *
 * With either list present, the lists define the dataset, as in the paper and in torchvision:
 * trainval names are training data, with a stable 10% of them by name hash as validation (early
 * stopping, best epoch); test names are the held-out `test` split that eval and the card's metrics
 * use. Images in neither list are skipped with `NOT_IN_SPLIT_LIST`: the authors left them out of
 * both splits (upstream has a few, e.g. a GIF whose trimap is all background), and giving them a
 * split by hash would silently add data that the published numbers do not include. Without any
 * list, every image pairs up and 10% by name hash is validation; there is no test split.
 *
 * Every upstream image is named `.jpg` whatever its real format (a few are PNG or GIF); the
 * decoder reads the bytes, not the name.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { DatasetError } from '../../core/index.js';
import type { SampleRef, Skip, SourceListing, Split } from '../sample_types.js';
import { SOFT_TARGETS_DIR } from '../soft_targets.js';
import { splitByName } from '../split.js';
import { insideRoot } from './paths.js';

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png'];

/** Skip code of an image the split lists leave out. */
export const NOT_IN_SPLIT_LIST = 'NOT_IN_SPLIT_LIST';

function readList(path: string): string[] | null {
  if (!existsSync(path)) return null;
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(/\s+/)[0]);
}

function imageFiles(imagesDir: string): string[] {
  return readdirSync(imagesDir)
    .filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()) && !f.startsWith('.'))
    .sort();
}

export function listOxford(dir: string): SourceListing {
  const root = resolve(dir);
  const imagesDir = join(root, 'images');
  const trimapsDir = join(root, 'annotations', 'trimaps');
  if (!existsSync(imagesDir) || !statSync(imagesDir).isDirectory()) {
    throw new DatasetError('DATASET_NOT_FOUND', `oxford dataset ${root} has no images/ directory`);
  }
  const trainval = readList(join(root, 'annotations', 'trainval.txt'));
  const test = readList(join(root, 'annotations', 'test.txt'));
  const refs: SampleRef[] = [];
  const skipped: Skip[] = [];
  let names: { name: string; split: Split }[];
  if (trainval || test) {
    names = [...(trainval ?? []).map((name) => ({ name, split: splitByName(name) })), ...(test ?? []).map((name) => ({ name, split: 'test' as Split }))];
    const listed = new Set(names.map((n) => n.name));
    for (const file of imageFiles(imagesDir)) {
      const name = basename(file, extname(file));
      if (!listed.has(name)) skipped.push({ id: name, path: `images/${file}`, code: NOT_IN_SPLIT_LIST, reason: 'in neither annotations/trainval.txt nor annotations/test.txt' });
    }
  } else {
    names = imageFiles(imagesDir).map((f) => {
      const name = basename(f, extname(f));
      return { name, split: splitByName(name) };
    });
  }
  const seen = new Set<string>();
  for (const { name, split } of names) {
    // A name listed twice is used once, in its first split, so no image is both trained on and tested.
    if (seen.has(name)) continue;
    seen.add(name);
    const imageFile = IMAGE_EXTENSIONS.map((e) => `images/${name}${e}`).find((p) => existsSync(join(root, p))) ?? `images/${name}.jpg`;
    const maskFile = `annotations/trimaps/${name}.png`;
    const image = insideRoot(root, imageFile);
    const mask = insideRoot(root, maskFile);
    if (!image || !mask) {
      skipped.push({ id: name, path: image ? maskFile : imageFile, code: 'PATH_OUTSIDE_ROOT', reason: `resolves outside the dataset root ${root}` });
    } else if (!existsSync(image)) {
      skipped.push({ id: name, path: imageFile, code: 'PAIR_MISSING', reason: 'image file is missing' });
    } else if (!existsSync(mask)) {
      skipped.push({ id: name, path: maskFile, code: 'PAIR_MISSING', reason: 'trimap is missing' });
    } else {
      // A teacher-labelled folder (`edgeseg label`) keeps the teacher's soft targets beside the trimaps.
      const soft = insideRoot(root, `${SOFT_TARGETS_DIR}/${name}.png`);
      refs.push({ kind: 'file', id: name, split, image, mask, maskFormat: 'trimap', ...(soft && existsSync(soft) ? { soft } : {}) });
    }
  }
  if (!existsSync(trimapsDir) && refs.length === 0) {
    throw new DatasetError('DATASET_NOT_FOUND', `oxford dataset ${root} has no annotations/trimaps/ directory`);
  }
  return { refs, skipped };
}
