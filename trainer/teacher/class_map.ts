/**
 * Which of a teacher's classes make the student's pet: `--classes 'cat,dog=pet'`. The student's
 * labels are Oxford-IIIT trimaps (pet, background, border), so the one target is `pet`; every other
 * teacher class counts as background, and the border band is drawn by the border rule.
 */
import { ConfigError } from '../../core/index.js';

/** The student class a teacher's classes are mapped to (an Oxford trimap has one foreground). */
export const TEACHER_TARGET = 'pet';

/** Teacher class indices that make up the pet, and their names as the teacher spells them. */
export interface ClassMap {
  pet: number[];
  names: string[];
}

/**
 * Parses `cat,dog=pet` (or `cat,dog`, `=pet` implied) against the teacher's class names,
 * case-insensitively. Names the teacher does not have are refused with the list it has.
 */
export function parseClassMap(text: string, teacherClasses: readonly string[]): ClassMap {
  if (typeof text !== 'string' || !text.trim()) throw new ConfigError(`--classes is required: the teacher classes that are a pet, e.g. --classes 'cat,dog=pet'`);
  const eq = text.lastIndexOf('=');
  const target = eq >= 0 ? text.slice(eq + 1).trim() : TEACHER_TARGET;
  if (target.toLowerCase() !== TEACHER_TARGET) {
    throw new ConfigError(`--classes '${text}' maps to '${target}'; teacher labels are Oxford trimaps, whose one foreground class is '${TEACHER_TARGET}' (e.g. --classes 'cat,dog=pet')`);
  }
  const wanted = (eq >= 0 ? text.slice(0, eq) : text).split(',').map((s) => s.trim()).filter(Boolean);
  if (wanted.length === 0) throw new ConfigError(`--classes '${text}' names no teacher class before '='`);
  const lower = teacherClasses.map((c) => c.toLowerCase());
  const pet: number[] = [];
  for (const name of wanted) {
    const k = lower.indexOf(name.toLowerCase());
    if (k < 0) throw new ConfigError(`--classes: the teacher has no class '${name}' (it has ${teacherClasses.join(', ')})`);
    if (!pet.includes(k)) pet.push(k);
  }
  if (pet.length === teacherClasses.length) throw new ConfigError(`--classes '${text}' makes every teacher class a pet: nothing would be background`);
  return { pet, names: pet.map((k) => teacherClasses[k]) };
}

/**
 * Per-pixel log-odds of "pet" from the teacher's logits (NHWC, `classes` per pixel):
 * m = log Σ_pet exp z − log Σ_other exp z, so p(pet) = sigmoid(m) at temperature 1 and
 * sigmoid(m / T) at temperature T for a two-way split of the teacher's softmax.
 */
export function petLogOdds(logits: Float32Array, pixels: number, classes: number, map: ClassMap): Float32Array {
  if (logits.length !== pixels * classes) throw new RangeError(`teacher logits hold ${logits.length} values, not ${pixels}×${classes}`);
  const isPet = new Uint8Array(classes);
  for (const k of map.pet) isPet[k] = 1;
  const out = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) {
    const base = i * classes;
    let max = -Infinity;
    for (let k = 0; k < classes; k++) if (logits[base + k] > max) max = logits[base + k];
    let pet = 0;
    let other = 0;
    for (let k = 0; k < classes; k++) {
      const e = Math.exp(logits[base + k] - max);
      if (isPet[k]) pet += e;
      else other += e;
    }
    out[i] = Math.log(pet + 1e-30) - Math.log(other + 1e-30);
  }
  return out;
}

/** The teacher's most covered non-pet, non-background class over the frame (for skip reasons). */
export function strongestOtherClass(logits: Float32Array, pixels: number, classes: number, map: ClassMap, background: number): { index: number; share: number } | null {
  const counts = new Float64Array(classes);
  for (let i = 0; i < pixels; i++) {
    const base = i * classes;
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[base + k] > logits[base + best]) best = k;
    counts[best]++;
  }
  let index = -1;
  for (let k = 0; k < classes; k++) if (k !== background && !map.pet.includes(k) && (index < 0 || counts[k] > counts[index])) index = k;
  return index < 0 ? null : { index, share: counts[index] / pixels };
}
