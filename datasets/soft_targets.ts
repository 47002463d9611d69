/**
 * Soft targets beside hard labels: a teacher-labelled Oxford folder (`edgeseg label`) keeps the
 * teacher's pet log-odds per pixel in `annotations/teacher/<name>.png` (8-bit grey: value =
 * round(8m) + 128, 0 = none; trainer/teacher/border.ts writes it). For training they travel in the
 * label tensor itself, packed with the class id, so batches, shared replica buffers and flips
 * carry them unchanged:
 *
 *   packed = classId + 4 × softValue      (classId < 4, softValue 0–255, 0 = no soft target)
 *
 * Only training batches are packed (`batches(…, { softTargets: true })`); evaluation sees class ids.
 */
/** Log-odds step of one soft-target unit: value = round(m / step) + SOFT_ZERO. */
export const SOFT_LOG_ODDS_STEP = 1 / 8;
/** Soft-target value of log-odds 0 (p = 0.5). */
export const SOFT_ZERO = 128;

/** Bits of the class id in a packed label. */
export const SOFT_TARGET_SHIFT = 2;

/** Where an Oxford folder keeps soft targets, relative to its root. */
export const SOFT_TARGETS_DIR = 'annotations/teacher';

/** Packs class ids and soft values (same length) into int32 labels. */
export function packSoftTargets(classIds: Uint8Array, soft: Uint8Array | undefined): Int32Array {
  const out = new Int32Array(classIds.length);
  for (let i = 0; i < classIds.length; i++) out[i] = classIds[i] + (soft ? soft[i] << SOFT_TARGET_SHIFT : 0);
  return out;
}
