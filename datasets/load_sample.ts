/** One sample ref → preprocessed arrays (what the decode workers run). */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { decodeMaskPng, MaskCodecError, SampleError, syntheticSample, type ModelGeometry } from '../core/index.js';
import { DEFAULT_GEOMETRY } from '../core/contract.js';
import { decodePngChannel } from '../core/mask_codec.js';
import { imageToInputData, maskToTarget, trimapToClassIds, type ClassMask } from '../core/preprocess.js';
import { decodeImageDescribed } from '../core/node/decode_image.js';
import type { LoadedSample, SampleRef } from './sample_types.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function read(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new SampleError('SAMPLE_UNREADABLE', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function decodeMask(bytes: Uint8Array, format: 'trimap' | 'classIds', classes: number): ClassMask {
  try {
    if (format === 'classIds') return decodeMaskPng(bytes, {}, classes);
    const raw = decodePngChannel(bytes);
    return { ...raw, data: trimapToClassIds(raw.data) };
  } catch (err) {
    if (err instanceof MaskCodecError) throw new SampleError('MASK_VALUES', `mask: ${err.message}`, { cause: err });
    throw err;
  }
}

/** A soft-target map, resized like the mask (nearest) by maskToTarget. */
function decodeSoft(bytes: Uint8Array, image: { width: number; height: number }): ClassMask {
  let soft: ClassMask;
  try {
    soft = decodePngChannel(bytes);
  } catch (err) {
    if (err instanceof MaskCodecError) throw new SampleError('MASK_VALUES', `soft targets: ${err.message}`, { cause: err });
    throw err;
  }
  if (soft.width !== image.width || soft.height !== image.height) {
    throw new SampleError('MASK_MISMATCH', `soft targets are ${soft.width}x${soft.height} but image is ${image.width}x${image.height}`);
  }
  return soft;
}

/**
 * One sample preprocessed for a model of `target` size and classes (its card's `geometryOf`):
 * unit input and class ids at its height × width, mask values below its class count.
 */
export async function loadSample(ref: SampleRef, target: ModelGeometry = DEFAULT_GEOMETRY): Promise<LoadedSample> {
  if (ref.kind === 'synthetic') {
    const s = syntheticSample(ref.index, ref);
    const hash = createHash('sha256').update(s.image.data).update(s.mask.data).digest('hex');
    return { id: ref.id, split: ref.split, image: imageToInputData(s.image, 'unit', target), mask: maskToTarget(s.mask, target), files: [{ path: ref.id, sha256: hash }] };
  }
  const [imageBytes, maskBytes, softBytes] = await Promise.all([read(ref.image), read(ref.mask), ref.soft ? read(ref.soft) : null]);
  const { image, converted } = await decodeImageDescribed(imageBytes);
  const mask = decodeMask(maskBytes, ref.maskFormat, target.classes);
  if (mask.width !== image.width || mask.height !== image.height) {
    throw new SampleError('MASK_MISMATCH', `mask is ${mask.width}x${mask.height} but image is ${image.width}x${image.height}`);
  }
  const soft = softBytes ? decodeSoft(softBytes, image) : null;
  return {
    id: ref.id,
    split: ref.split,
    image: imageToInputData(image, 'unit', target),
    mask: maskToTarget(mask, target),
    ...(soft ? { soft: maskToTarget(soft, target) } : {}),
    files: [
      { path: ref.image, sha256: sha256(imageBytes) },
      { path: ref.mask, sha256: sha256(maskBytes) },
      ...(softBytes && ref.soft ? [{ path: ref.soft, sha256: sha256(softBytes) }] : []),
    ],
    ...(converted ? { converted } : {}),
  };
}
