/**
 * Weight quantization in the standard tfjs manifest form, so stock `tf.loadLayersModel` /
 * `loadGraphModel` dequantize on load:
 * - float16: `quantization: {dtype: 'float16'}` (IEEE half, round to nearest even);
 * - uint8 / uint16: affine per tensor, `quantization: {dtype, scale, min}`, v ≈ q·scale + min,
 *   with the range nudged (as tensorflowjs_converter does) so that 0 is exactly representable.
 * Which dtype each weight gets comes from a default precision plus glob patterns on weight names,
 * like tensorflowjs_converter's `--quantize_uint8` with a glob of kernel names.
 */
import type { io } from '@tensorflow/tfjs-core';
import { ConfigError, PRECISIONS, type Precision } from '../core/index.js';

export type WeightDtype = 'float32' | 'float16' | 'uint8' | 'uint16';
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['float32', 'float16', 'uint8', 'uint16'];

export const PRECISION_DTYPE: Record<Exclude<Precision, 'mixed'>, WeightDtype> = { fp32: 'float32', fp16: 'float16', uint8: 'uint8', uint16: 'uint16' };

export function checkPrecision(p: string): Precision {
  if (!(PRECISIONS as readonly string[]).includes(p)) throw new ConfigError(`unknown precision '${p}'; choose one of ${PRECISIONS.join('|')}`);
  return p as Precision;
}

/** Glob on weight names: `*` matches any run of characters (including '/'), `?` one character. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

export interface DtypeOverride {
  dtype: WeightDtype;
  glob: string;
}

/** Weight name → dtype: the default for all, then each override in order (later wins). Throws if a glob matches nothing. */
export function planDtypes(names: string[], defaultDtype: WeightDtype, overrides: DtypeOverride[] = []): Map<string, WeightDtype> {
  const plan = new Map(names.map((n) => [n, defaultDtype]));
  for (const o of overrides) {
    const re = globToRegExp(o.glob);
    const hits = names.filter((n) => re.test(n));
    if (hits.length === 0) throw new ConfigError(`pattern '${o.glob}' (--quantize-${o.dtype}) matches no weight; weights look like ${names.slice(0, 3).join(', ')}`);
    for (const n of hits) plan.set(n, o.dtype);
  }
  return plan;
}

/** The card's precision string for a plan. */
export function precisionOf(plan: Map<string, WeightDtype>): Precision {
  const kinds = new Set(plan.values());
  if (kinds.size !== 1) return 'mixed';
  const [only] = kinds;
  return (Object.entries(PRECISION_DTYPE).find(([, d]) => d === only)![0]) as Precision;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 float32 → float16 bits, round to nearest even; overflow → ±Inf. */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

function affineRange(values: Float32Array, levels: number): { scale: number; min: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  if (hi === lo) return { scale: 1, min: lo };
  const scale = (hi - lo) / levels;
  // Nudge min so that zero lands exactly on a quantization level.
  const zeroPoint = Math.round(-lo / scale);
  return { scale, min: -zeroPoint * scale };
}

export interface EncodedWeights {
  specs: io.WeightsManifestEntry[];
  data: ArrayBuffer;
}

export function encodeWeights(weights: Map<string, Float32Array>, shapes: Map<string, number[]>, plan: Map<string, WeightDtype>): EncodedWeights {
  const specs: io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const [name, values] of weights) {
    const dtype = plan.get(name) ?? 'float32';
    const shape = shapes.get(name)!;
    if (dtype === 'float32') {
      specs.push({ name, shape, dtype: 'float32' });
      chunks.push(new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)));
    } else if (dtype === 'float16') {
      specs.push({ name, shape, dtype: 'float32', quantization: { dtype: 'float16' } });
      chunks.push(new Uint8Array(Uint16Array.from(values, toFloat16Bits).buffer));
    } else {
      const levels = dtype === 'uint8' ? 255 : 65535;
      const { scale, min } = affineRange(values, levels);
      const q = dtype === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) q[i] = Math.max(0, Math.min(levels, Math.round((values[i] - min) / scale)));
      specs.push({ name, shape, dtype: 'float32', quantization: { dtype, scale, min } });
      chunks.push(new Uint8Array(q.buffer));
    }
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return { specs, data: out.buffer };
}

/** float16 bits → float32 value, exactly as a half decodes. */
export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** The values a weight will have after encoding with `dtype` and tfjs' dequantization on load. */
export function fakeQuantize(values: Float32Array, dtype: WeightDtype): Float32Array {
  if (dtype === 'float32') return values;
  if (dtype === 'float16') return Float32Array.from(values, (v) => fromFloat16Bits(toFloat16Bits(v)));
  const levels = dtype === 'uint8' ? 255 : 65535;
  const { scale, min } = affineRange(values, levels);
  return Float32Array.from(values, (v) => Math.max(0, Math.min(levels, Math.round((v - min) / scale))) * scale + min);
}

export const DTYPE_BYTES_PER_ELEMENT: Record<WeightDtype, number> = { float32: 4, float16: 2, uint8: 1, uint16: 2 };

/** Bytes of the weight shards a plan produces. */
export function planBytes(shapes: Map<string, number[]>, plan: Map<string, WeightDtype>): number {
  let bytes = 0;
  for (const [name, shape] of shapes) bytes += shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES_PER_ELEMENT[plan.get(name) ?? 'float32'];
  return bytes;
}
