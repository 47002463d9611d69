/**
 * Concat for wasm (every Concatenate of the U-Net decoders). The backend's kernel copies one
 * TypedArray view per input per outer row: concatenating on the channel axis of a 64×64 batch of 8
 * makes 65,536 short-lived views, about 4 MB of garbage per step that V8's collector then works
 * through on the core the other replica needs. Here each input is copied with one call of
 * simd.ts's copyRuns: input i's rows of innerᵢ floats go to out rows of Σ inner at offset
 * Σ_{j<i} innerⱼ. Float32 inputs whose inner sizes are multiples of 4 take this path; anything
 * else goes to the backend's own kernel, remembered when this one is registered.
 */
import { Concat, backend_util, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { overridingKernel } from './backend_fallback.js';
import { KernelScope } from './kernel_scope.js';
import { simdLoops } from './simd.js';

export const concatKernel = overridingKernel(Concat, (args) => {
  const inputs = args.inputs as unknown as TensorInfo[];
  const axis = util.parseAxisParam((args.attrs as { axis: number }).axis, inputs[0].shape)[0];
  const pieces = inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
  const inner = pieces.map((t) => util.sizeFromShape(t.shape.slice(axis)));
  if (pieces.length < 2 || pieces.some((t) => t.dtype !== 'float32') || inner.some((n) => n % 4 !== 0)) return null;
  backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
  return KernelScope.use(args.backend, 'wasm', (s) => {
    const out = s.output(backend_util.computeOutShape(inputs.map((t) => t.shape), axis));
    const outer = util.sizeFromShape(pieces[0].shape.slice(0, axis));
    const row = inner.reduce((a, b) => a + b, 0);
    const loops = simdLoops(s.backend);
    let offset = 0;
    pieces.forEach((t, k) => {
      loops.copyRuns(s.ptr(t), inner[k] * 4, s.ptr(out) + offset * 4, row * 4, inner[k] * 4, outer);
      offset += inner[k];
    });
    return out;
  });
});
