/**
 * Reductions over the leading axes of a float32 tensor whose remaining size is a multiple of 4:
 * every bias and BatchNorm gradient (Σ over batch, rows and columns, per channel) and BatchNorm's
 * batch moments (the means of tf.moments). The wasm backend transposes the tensor to put the
 * reduced axes innermost, then reduces rows; here simd.ts's colSum adds rows of the untransposed
 * tensor in f32x4 lanes, in blocks of BLOCK rows whose float32 partial sums are added in float64.
 *
 * Sum.ts and Mean.ts wrap this; any other reduction goes to the backend's own kernel, remembered
 * when edgeseg's is registered (with its setup, which binds the backend's wasm function).
 */
import { backend_util, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { overridingKernel, type OverridingKernel } from './backend_fallback.js';
import { KernelScope } from './kernel_scope.js';
import { scratchFloat64 } from './scratch.js';
import { simdLoops } from './simd.js';

/** Rows summed in float32 before the partial sum joins the float64 total. */
const BLOCK = 1024;

/** `kernelName` (Sum or Mean) over leading axes, the total multiplied by `scale(rows)`. */
export function leadingAxesKernel(kernelName: string, scale: (rows: number) => number): OverridingKernel {
  return overridingKernel(kernelName, ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const inner = util.sizeFromShape(x.shape.slice(axes.length));
    const rows = util.sizeFromShape(x.shape.slice(0, axes.length));
    if (x.dtype !== 'float32' || axes.length === 0 || !axes.every((a, k) => a === k) || inner % 4 !== 0 || rows === 0) return null;
    return KernelScope.use(backend, 'wasm', (s) => {
      const out = s.output(keepDims ? backend_util.expandShapeToKeepDim(x.shape.slice(axes.length), axes) : x.shape.slice(axes.length));
      const partial = s.output([inner]);
      const loops = simdLoops(s.backend);
      const xp = s.ptr(x);
      const pp = s.ptr(partial);
      const acc = scratchFloat64(`leading-axes-${kernelName}`, inner);
      for (let r0 = 0; r0 < rows; r0 += BLOCK) {
        const part = s.heap(partial);
        part.fill(0);
        loops.colSum(xp + r0 * inner * 4, pp, inner * 4, Math.min(BLOCK, rows - r0));
        for (let c = 0; c < inner; c++) acc[c] += part[c];
      }
      const k = scale(rows);
      const o = s.heap(out);
      for (let c = 0; c < inner; c++) o[c] = acc[c] * k;
      return out;
    });
  });
}
