/** Numeric comparison helpers shared by tests. */

/** max|a − b| / max|b|: the error relative to the reference's scale. */
export function relativeError(actual: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (actual.length !== reference.length) throw new Error(`length ${actual.length} vs reference ${reference.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < actual.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - reference[i]));
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  return diff / (scale || 1);
}

/** Fraction of pixels whose argmax over the last axis (`classes` values per pixel) is the same in both. */
export function argmaxAgreement(a: ArrayLike<number>, b: ArrayLike<number>, classes: number): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let same = 0;
  for (let p = 0; p < a.length; p += classes) {
    let ia = 0;
    let ib = 0;
    for (let k = 1; k < classes; k++) {
      if (a[p + k] > a[p + ia]) ia = k;
      if (b[p + k] > b[p + ib]) ib = k;
    }
    if (ia === ib) same++;
  }
  return same / (a.length / classes);
}
