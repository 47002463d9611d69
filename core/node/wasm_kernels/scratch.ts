/**
 * Reusable accumulators for kernels that sum in JavaScript typed arrays. A filter gradient's
 * float64 accumulator is up to 20 MB (3×3×1088×256 × 8 bytes) and is needed on every call; a fresh
 * ArrayBuffer per call counts as external memory, and about 100 MB of them per training step make
 * V8 run a mark-compact GC every few kernels (on the helper threads the other replica needs). One
 * buffer per purpose and thread, grown when a larger call comes, is handed out zeroed instead.
 *
 * Kernels run synchronously and never re-enter one another's accumulators, so one buffer per key
 * is enough; each worker thread has its own module instance, so its own buffers.
 */
const buffers = new Map<string, Float64Array | Float32Array>();

function scratch<T extends Float64Array | Float32Array>(key: string, length: number, make: (n: number) => T): T {
  let buffer = buffers.get(key) as T | undefined;
  if (!buffer || buffer.length < length) buffers.set(key, (buffer = make(length)));
  else buffer.fill(0, 0, length);
  return buffer.subarray(0, length) as T;
}

/** A zeroed Float64Array of `length`, valid until the next call with the same key. */
export function scratchFloat64(key: string, length: number): Float64Array {
  return scratch(`f64:${key}`, length, (n) => new Float64Array(n));
}

/** A zeroed Float32Array of `length`, valid until the next call with the same key. */
export function scratchFloat32(key: string, length: number): Float32Array {
  return scratch(`f32:${key}`, length, (n) => new Float32Array(n));
}
