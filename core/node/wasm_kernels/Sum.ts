/**
 * Sum for wasm over the leading axes of a float32 tensor whose remaining size is a multiple of
 * 4: the reduction of every bias and BatchNorm gradient (Σ over batch, rows and columns, per
 * channel). The wasm backend transposes the tensor to put the reduced axes innermost, then sums
 * rows; here simd.ts's colSum adds rows of the untransposed tensor in f32x4 lanes, in blocks of
 * BLOCK rows whose float32 partial sums are added in float64. Every other reduction goes to the
 * backend's own Sum, remembered when this kernel is registered.
 */
import { backend_util, getKernel, Sum, util, type KernelConfig, type KernelFunc, type SumAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope } from './kernel_scope.js';
import { simdLoops } from './simd.js';

/** Rows summed in float32 before the partial sum joins the float64 total. */
const BLOCK = 1024;

let fallback: KernelConfig | null = null;

const sum: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const { x } = inputs as { x: TensorInfo };
  const { axis, keepDims } = attrs as unknown as SumAttrs;
  const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const leading = axes.every((a, k) => a === k);
  const inner = util.sizeFromShape(x.shape.slice(axes.length));
  const rows = util.sizeFromShape(x.shape.slice(0, axes.length));
  if (x.dtype !== 'float32' || !leading || axes.length === 0 || inner % 4 !== 0 || rows === 0) {
    if (!fallback) throw new Error('wasm Sum: the backend Sum kernel was not found when edgeseg registered its own');
    return fallback.kernelFunc(args);
  }
  return KernelScope.use(backend, 'wasm', (s) => {
    const outShape = keepDims ? backend_util.expandShapeToKeepDim(x.shape.slice(axes.length), axes) : x.shape.slice(axes.length);
    const out = s.output(outShape);
    const partial = s.output([inner]);
    const loops = simdLoops(s.backend);
    const xp = s.ptr(x);
    const pp = s.ptr(partial);
    const acc = new Float64Array(inner);
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const part = s.heap(partial);
      part.fill(0);
      loops.colSum(xp + r0 * inner * 4, pp, inner * 4, Math.min(BLOCK, rows - r0));
      for (let c = 0; c < inner; c++) acc[c] += part[c];
    }
    s.heap(out).set(acc);
    return out;
  });
};

/** The backend's own Sum, as remembered at registration (for benchmarks comparing the two). */
export function backendSum(): KernelFunc | null {
  return fallback?.kernelFunc ?? null;
}

/** Remembers the backend's own Sum (for the reductions this kernel passes on); call before registering sumConfig. */
export function keepBackendSum(): void {
  const existing = getKernel(Sum, 'wasm');
  if (existing && existing.kernelFunc !== sum) fallback = existing;
}

export const sumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: 'wasm',
  kernelFunc: sum,
  // The backend binds its Sum's wasm function in the setup of the registered config: this one's.
  setupFunc: (backend) => fallback?.setupFunc?.(backend),
};
