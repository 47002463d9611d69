/**
 * A deterministic procedural generator of pets-like scenes, for training and tests without any
 * download. Sample `i` of a seed is always the same image, on every platform.
 *
 * Each scene: a textured background (smooth value noise over a base colour, with soft stripes),
 * one to three "pets" (blobs with a wobbly outline, covered in a high-frequency fur texture of
 * spots or stripes), and the border class as a fixed 2-px band (Euclidean distance ≤ 2 at the
 * generation size) just outside each pet — never over another pet — drawn as a darkened blend of
 * pet and background like the fuzzy outline of real fur. Later pets are drawn over earlier ones. The difficulty is fixed:
 * pets and background always differ by at least 50° of hue and in texture frequency.
 *
 * `shift` selects a second, shifted distribution (darker, bluer scenes, larger pets, finer
 * fur) used to demonstrate drift and retraining; 0 is the default distribution.
 *
 * `smooth` gives every pet a smooth coat (its fur's mean colour, shaded from above, no pattern):
 * a breed the other scenes never show. A scene with it is the same scene as without it, recoated.
 */
import { CLASS_BACKGROUND, CLASS_BORDER, CLASS_PET } from './contract.js';
import { ConfigError } from './errors.js';
import type { ClassMask, PixelImage } from './preprocess.js';
import { createRandom, hashSeed, randInt, uniform, type Random } from './random.js';

/** Size, seed and shift of synthetic samples. */
export interface SyntheticOptions {
  /** Side of the generated square image before the contract's resize. @default 128 */
  size?: number;
  /** Seed of the whole set. @default 1 */
  seed?: number;
  /** Distribution: 0 = default, 1 = shifted. @default 0 */
  shift?: number;
  /** 1: the pets have a smooth coat instead of fur. @default 0 */
  smooth?: number;
}

/** A synthetic image with its exact class-id mask. */
export interface SyntheticSample {
  id: string;
  image: PixelImage;
  mask: ClassMask;
}

/** Width of the border band, in pixels at the generation size. */
export const SYNTHETIC_BORDER_PX = 2;

/** Defaults of SyntheticOptions. */
export const SYNTHETIC_DEFAULTS = { size: 128, seed: 1, shift: 0, smooth: 0 } as const;

/** The id of sample `index`: stable, used for splits and manifests. */
export function syntheticId(index: number): string {
  return `synthetic-${String(index).padStart(6, '0')}`;
}

/** The `index`-th synthetic sample: pet-like shapes on a textured background, the same for the same options everywhere. */
export function syntheticSample(index: number, options: SyntheticOptions = {}): SyntheticSample {
  const size = options.size ?? SYNTHETIC_DEFAULTS.size;
  const seed = options.seed ?? SYNTHETIC_DEFAULTS.seed;
  const shift = options.shift ?? SYNTHETIC_DEFAULTS.shift;
  if (!Number.isInteger(size) || size < 16 || size > 2048) throw new ConfigError(`synthetic size must be an integer 16–2048, got ${size}`);
  if (shift !== 0 && shift !== 1) throw new ConfigError(`synthetic shift must be 0 or 1, got ${shift}`);
  const smooth = options.smooth ?? SYNTHETIC_DEFAULTS.smooth;
  if (smooth !== 0 && smooth !== 1) throw new ConfigError(`synthetic smooth must be 0 or 1, got ${smooth}`);
  const rand = createRandom(hashSeed(seed, index, shift));
  const n = size * size;
  const rgb = new Float32Array(n * 3);
  const label = new Uint8Array(n).fill(CLASS_BACKGROUND);

  const bgHue = uniform(rand, 0, 360);
  const bg = makeTexture(rand, size, {
    hue: bgHue,
    sat: uniform(rand, 0.15, 0.55),
    val: shift ? uniform(rand, 0.2, 0.45) : uniform(rand, 0.35, 0.85),
    cells: randInt(rand, 2, 5),
    fur: false,
    shift,
  });
  rgb.set(bg);

  const pets = randInt(rand, 1, 3);
  for (let p = 0; p < pets; p++) {
    const hueGap = uniform(rand, 50, 180) * (rand() < 0.5 ? -1 : 1);
    const inside = blobShape(rand, size, shift);
    const fur = makeTexture(rand, size, {
      hue: bgHue + hueGap,
      sat: uniform(rand, 0.35, 0.9),
      val: shift ? uniform(rand, 0.3, 0.6) : uniform(rand, 0.3, 0.95),
      cells: shift ? randInt(rand, 14, 20) : randInt(rand, 7, 12),
      fur: true,
      shift,
    });
    const band = dilate(inside, size, SYNTHETIC_BORDER_PX);
    if (smooth) recoat(fur, inside, size);
    for (let i = 0; i < n; i++) {
      if (inside[i]) {
        label[i] = CLASS_PET;
        rgb[3 * i] = fur[3 * i];
        rgb[3 * i + 1] = fur[3 * i + 1];
        rgb[3 * i + 2] = fur[3 * i + 2];
      } else if (band[i] && label[i] !== CLASS_PET) {
        label[i] = CLASS_BORDER;
        for (let c = 0; c < 3; c++) rgb[3 * i + c] = 0.6 * (0.5 * fur[3 * i + c] + 0.5 * rgb[3 * i + c]);
      }
    }
  }

  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n * 3; i++) {
    const noise = (rand() - 0.5) * 0.04;
    data[i] = Math.max(0, Math.min(255, Math.round((rgb[i] + noise) * 255)));
  }
  return { id: syntheticId(index), image: { data, width: size, height: size, channels: 3 }, mask: { data: label, width: size, height: size } };
}

/** Replaces a pet's fur with a smooth coat: the fur's mean colour, lit from above. */
function recoat(fur: Float32Array, inside: Uint8Array, size: number): void {
  const mean = [0, 0, 0];
  let count = 0;
  let top = size;
  let bottom = 0;
  for (let i = 0; i < inside.length; i++) {
    if (!inside[i]) continue;
    for (let c = 0; c < 3; c++) mean[c] += fur[3 * i + c];
    count++;
    const y = Math.floor(i / size);
    top = Math.min(top, y);
    bottom = Math.max(bottom, y);
  }
  if (count === 0) return;
  for (let c = 0; c < 3; c++) mean[c] /= count;
  const span = Math.max(1, bottom - top);
  for (let i = 0; i < inside.length; i++) {
    const shade = 1.15 - 0.35 * ((Math.floor(i / size) - top) / span);
    for (let c = 0; c < 3; c++) fur[3 * i + c] = Math.min(1, mean[c] * shade);
  }
}

interface TextureSpec {
  hue: number;
  sat: number;
  val: number;
  /** Value-noise grid cells per side: low = smooth background, high = fur. */
  cells: number;
  fur: boolean;
  shift: number;
}

function makeTexture(rand: Random, size: number, spec: TextureSpec): Float32Array {
  const out = new Float32Array(size * size * 3);
  const noise = valueNoise(rand, size, spec.cells);
  const angle = uniform(rand, 0, Math.PI);
  const freq = (spec.fur ? uniform(rand, 0.5, 0.9) : uniform(rand, 0.05, 0.15)) * (spec.shift ? 1.4 : 1);
  const stripeAmp = spec.fur ? uniform(rand, 0.1, 0.3) : uniform(rand, 0, 0.1);
  const spots = spec.fur && rand() < 0.5;
  const [r0, g0, b0] = hsvToRgb(spec.hue + (spec.shift ? 30 : 0), spec.sat, spec.val);
  const [r1, g1, b1] = hsvToRgb(spec.hue + uniform(rand, -25, 25), Math.min(1, spec.sat * 1.2), spec.val * uniform(rand, 0.45, 0.8));
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const s = Math.sin((x * ca + y * sa) * freq * (128 / size));
      let t = noise[i] + stripeAmp * s;
      if (spots) t = noise[i] > 0.62 ? 1 : 0.15 * noise[i];
      t = Math.max(0, Math.min(1, t));
      out[3 * i] = r0 + (r1 - r0) * t;
      out[3 * i + 1] = g0 + (g1 - g0) * t;
      out[3 * i + 2] = b0 + (b1 - b0) * t;
      if (spec.shift) out[3 * i + 2] = Math.min(1, out[3 * i + 2] * 1.25 + 0.05);
    }
  }
  return out;
}

/** Bilinearly interpolated random grid, `cells` cells per side, values in [0, 1]. */
function valueNoise(rand: Random, size: number, cells: number): Float32Array {
  const g = cells + 1;
  const grid = new Float32Array(g * g);
  for (let i = 0; i < grid.length; i++) grid[i] = rand();
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const gy = (y / size) * cells;
    const y0 = Math.floor(gy);
    const fy = smooth(gy - y0);
    for (let x = 0; x < size; x++) {
      const gx = (x / size) * cells;
      const x0 = Math.floor(gx);
      const fx = smooth(gx - x0);
      const a = grid[y0 * g + x0];
      const b = grid[y0 * g + x0 + 1];
      const c = grid[(y0 + 1) * g + x0];
      const d = grid[(y0 + 1) * g + x0 + 1];
      out[y * size + x] = (a + (b - a) * fx) * (1 - fy) + (c + (d - c) * fx) * fy;
    }
  }
  return out;
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/** A wobbly blob: r(θ) = R · (1 + Σ a_k sin(kθ + φ_k)), k = 2..4. */
function blobShape(rand: Random, size: number, shift: number): Uint8Array {
  const inside = new Uint8Array(size * size);
  const radius = size * (shift ? uniform(rand, 0.18, 0.32) : uniform(rand, 0.1, 0.26));
  const cx = uniform(rand, 0.2, 0.8) * size;
  const cy = uniform(rand, 0.2, 0.8) * size;
  const harmonics = [2, 3, 4].map((k) => ({ k, a: uniform(rand, 0, 0.18 / (k - 1)), phase: uniform(rand, 0, 2 * Math.PI) }));
  const aspect = uniform(rand, 0.7, 1.3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = (x + 0.5 - cx) / aspect;
      const dy = (y + 0.5 - cy) * aspect;
      const theta = Math.atan2(dy, dx);
      let r = radius;
      for (const h of harmonics) r += radius * h.a * Math.sin(h.k * theta + h.phase);
      if (dx * dx + dy * dy <= r * r) inside[y * size + x] = 1;
    }
  }
  return inside;
}

/** Pixels outside `inside` within Euclidean distance `px` of it. */
function dilate(inside: Uint8Array, size: number, px: number): Uint8Array {
  const band = new Uint8Array(size * size);
  const offsets: [number, number][] = [];
  for (let dy = -px; dy <= px; dy++) for (let dx = -px; dx <= px; dx++) if ((dx || dy) && dx * dx + dy * dy <= px * px) offsets.push([dx, dy]);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!inside[y * size + x]) continue;
      for (const [dx, dy] of offsets) {
        const nx = x + dx;
        const ny = y + dy;
        if (nx >= 0 && ny >= 0 && nx < size && ny < size && !inside[ny * size + nx]) band[ny * size + nx] = 1;
      }
    }
  }
  return band;
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const hh = (((h % 360) + 360) % 360) / 60;
  const c = v * s;
  const x = c * (1 - Math.abs((hh % 2) - 1));
  const m = v - c;
  const [r, g, b] = hh < 1 ? [c, x, 0] : hh < 2 ? [x, c, 0] : hh < 3 ? [0, c, x] : hh < 4 ? [0, x, c] : hh < 5 ? [x, 0, c] : [c, 0, x];
  return [r + m, g + m, b + m];
}
