/** A generic pair of folders: images (jpg, png, webp) and class-id PNG masks with the same base name. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { DatasetError } from '../../core/index.js';
import type { SampleRef, Skip, SourceListing } from '../sample_types.js';
import { splitByName } from '../split.js';
import { insideRoot } from './paths.js';

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

export function listFolder(imagesDir: string, masksDir: string): SourceListing {
  const images = resolve(imagesDir);
  const masks = resolve(masksDir);
  for (const d of [images, masks]) {
    if (!existsSync(d) || !statSync(d).isDirectory()) throw new DatasetError('DATASET_NOT_FOUND', `folder dataset directory ${d} does not exist`);
  }
  const refs: SampleRef[] = [];
  const skipped: Skip[] = [];
  for (const file of readdirSync(images).sort()) {
    if (file.startsWith('.') || !IMAGE_EXTENSIONS.includes(extname(file).toLowerCase())) continue;
    const id = basename(file, extname(file));
    const image = insideRoot(images, file);
    const mask = insideRoot(masks, `${id}.png`);
    if (!image || !mask) {
      skipped.push({ id, path: file, code: 'PATH_OUTSIDE_ROOT', reason: `resolves outside ${image ? masks : images}` });
    } else if (!existsSync(mask)) {
      skipped.push({ id, path: `${basename(masks)}/${id}.png`, code: 'PAIR_MISSING', reason: 'mask is missing' });
    } else {
      refs.push({ kind: 'file', id, split: splitByName(id), image, mask, maskFormat: 'classIds' });
    }
  }
  return { refs, skipped };
}

