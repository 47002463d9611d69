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
const float64 = new Map<string, Float64Array>();
const float32 = new Map<string, Float32Array>();

/** A zeroed Float64Array of `length`, valid until the next call with the same key. */
export function scratchFloat64(key: string, length: number): Float64Array {
  let buffer = float64.get(key);
  if (!buffer || buffer.length < length) float64.set(key, (buffer = new Float64Array(length)));
  else buffer.fill(0, 0, length);
  return buffer.subarray(0, length);
}

/** A zeroed Float32Array of `length`, valid until the next call with the same key. */
export function scratchFloat32(key: string, length: number): Float32Array {
  let buffer = float32.get(key);
  if (!buffer || buffer.length < length) float32.set(key, (buffer = new Float32Array(length)));
  else buffer.fill(0, 0, length);
  return buffer.subarray(0, length);
}
