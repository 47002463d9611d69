/**
 * Fused gradients of the activations every U-Net block runs, for wasm. tfjs-core takes ReLU's
 * gradient as dy · cast(step(x)) (three kernels) and ClipByValue's as
 * where(x ≥ lo ∧ x ≤ hi, dy, 0) (five kernels: two comparisons, an and, zeros, a select), each a
 * full pass over the activation with its own output; a MobileNetV2 ReLU6 (Keras' ReLU layer with
 * maxValue 6 is relu then clipByValue(0, 6)) took eight passes. Each is one pass here, in
 * simd.ts's f32x4 loops:
 *
 *   EdgesegReluGrad:        dx = dy · (x > 0 ? 1 : 0)
 *   EdgesegClipByValueGrad: dx = lo ≤ x ≤ hi ? dy : 0
 *
 * the same bits as tfjs' formulas (signed zeros included) for every x but NaN, whose ReLU
 * gradient is 0 here (NaN through tfjs' step). The gradient configs in core/node/gradients call these kernels on wasm and keep
 * tfjs' formulas on every other backend.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope } from './kernel_scope.js';
import { simdLoops } from './simd.js';

/** Kernel names of the fused activation gradients (registered for wasm only). */
export const RELU_GRAD = 'EdgesegReluGrad';
export const CLIP_BY_VALUE_GRAD = 'EdgesegClipByValueGrad';

function masked(backend: unknown, x: TensorInfo, dy: TensorInfo, lo: number, hi: number, strict: boolean): TensorInfo {
  return KernelScope.use(backend, 'wasm', (s) => {
    const out = s.output(x.shape);
    const n = x.shape.reduce((a, b) => a * b, 1);
    const body = n - (n % 4);
    const loops = simdLoops(s.backend);
    if (strict) loops.reluGrad(s.ptr(x), s.ptr(dy), s.ptr(out), body * 4);
    else loops.clipGrad(s.ptr(x), s.ptr(dy), s.ptr(out), body * 4, lo, hi);
    const xs = s.heap(x);
    const dys = s.heap(dy);
    const o = s.heap(out);
    for (let k = body; k < n; k++) o[k] = strict ? dys[k] * (xs[k] > lo ? 1 : 0) : xs[k] >= lo && xs[k] <= hi ? dys[k] : 0;
    return out;
  });
}

const reluGrad: KernelFunc = ({ inputs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  return masked(backend, x, dy, 0, Infinity, true);
};

const clipByValueGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { clipValueMin, clipValueMax } = attrs as unknown as { clipValueMin: number; clipValueMax: number };
  return masked(backend, x, dy, clipValueMin, clipValueMax, false);
};

export const reluGradConfig: KernelConfig = { kernelName: RELU_GRAD, backendName: 'wasm', kernelFunc: reluGrad };
export const clipByValueGradConfig: KernelConfig = { kernelName: CLIP_BY_VALUE_GRAD, backendName: 'wasm', kernelFunc: clipByValueGrad };
