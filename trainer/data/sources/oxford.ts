/**
 * The Oxford-IIIT Pet layout: `images/<name>.jpg`, `annotations/trimaps/<name>.png` with pixel
 * values 1 = pet, 2 = background, 3 = border, and optionally `annotations/trainval.txt` and
 * `annotations/test.txt` (first token of each line is a name). With test.txt, its names are the
 * held-out split; without it, a 10% split by name hash.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { DatasetError } from '../../../core/index.js';
import type { SampleRef, Skip, SourceListing, Split } from '../sample.js';
import { splitByName } from '../split.js';
import { insideRoot } from './paths.js';

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png'];

function readList(path: string): string[] | null {
  if (!existsSync(path)) return null;
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(/\s+/)[0]);
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
  let names: { name: string; split: Split | null }[];
  if (trainval || test) {
    names = [...(trainval ?? []).map((name) => ({ name, split: 'train' as Split })), ...(test ?? []).map((name) => ({ name, split: 'val' as Split }))];
    if (!test) names = names.map((n) => ({ ...n, split: null }));
  } else {
    names = readdirSync(imagesDir)
      .filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()) && !f.startsWith('.'))
      .sort()
      .map((f) => ({ name: basename(f, extname(f)), split: null }));
  }
  const refs: SampleRef[] = [];
  const skipped: Skip[] = [];
  const seen = new Set<string>();
  for (const { name, split } of names) {
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
      refs.push({ kind: 'file', id: name, split: split ?? splitByName(name), image, mask, maskFormat: 'trimap' });
    }
  }
  if (!existsSync(trimapsDir) && refs.length === 0) {
    throw new DatasetError('DATASET_NOT_FOUND', `oxford dataset ${root} has no annotations/trimaps/ directory`);
  }
  return { refs, skipped };
}
