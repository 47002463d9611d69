/**
 * Before/after timing of edgeseg's wasm gradient kernels on the calls one training step makes:
 * each call of the step is replayed with fresh random inputs of its shapes, the previous kernel
 * and the current one alternating (so both see the same machine load), timed in CPU time of this
 * thread, median of `reps`. "Before" is the kernel of the previous round:
 * - Conv2DBackpropFilter: one XNNPACK convolution with dy as the filter (conv2DBackpropFilterAsConv);
 * - DepthwiseConv2dNativeBackpropFilter: the float64 JavaScript loop;
 * - DepthwiseConv2dNativeBackpropInput: the sub-pixel route (an XNNPACK depthwise convolution and a pixel shuffle);
 * - ReLU and ClipByValue gradients: tfjs-core's formulas (3 and 5 kernels);
 * - Sum and Mean: the wasm backend's own (transpose, then reduce);
 * - BatchNorm's gradient sums: x − μ, its product with dy, and the backend's Sum of each;
 * - SplitV: one TypedArray.set per contiguous run.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { tf } from '../../core/node/tfjs.js';
import { CLIP_BY_VALUE_GRAD, RELU_GRAD } from '../../core/node/wasm_kernels/ActivationGrads.js';
import { BATCH_NORM_GRAD_SUMS } from '../../core/node/wasm_kernels/BatchNormGradSums.js';
import { conv2DBackpropFilterAsConv } from '../../core/node/wasm_kernels/Conv2DBackpropFilter.js';
import { depthwiseConv2dNativeBackpropFilterAsLoop } from '../../core/node/wasm_kernels/DepthwiseConv2dNativeBackpropFilter.js';
import { depthwiseConv2dNativeBackpropInputAsSubPixel } from '../../core/node/wasm_kernels/DepthwiseConv2dNativeBackpropInput.js';
import { meanKernel } from '../../core/node/wasm_kernels/Mean.js';
import { splitVByRuns } from '../../core/node/wasm_kernels/SplitV.js';
import { sumKernel } from '../../core/node/wasm_kernels/Sum.js';
import { sparseCrossEntropy } from '../../datasets/cross_entropy.js';
import { kernelFlops } from './step_profile.js';

interface Call {
  kernel: string;
  shapes: number[][];
  out: number[];
  attrs: NamedAttrMap;
}

/** One row of the before/after table: every call of a kernel in the step. */
export interface BeforeAfter {
  kernel: string;
  calls: number;
  gflop: number;
  beforeMs: number;
  afterMs: number;
}

const RECORDED = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'Relu', 'ClipByValue', 'Sum', 'Mean', 'FusedBatchNorm', 'SplitV'];

/** The calls of RECORDED kernels one forward + backward pass of `model` makes (wrappers are removed again). */
function recordCalls(model: LayersModel, xs: tf.Tensor4D, ys: tf.Tensor3D): Call[] {
  const calls: Call[] = [];
  const originals = RECORDED.map((name) => getKernel(name, 'wasm')).filter((k): k is KernelConfig => !!k);
  try {
    for (const config of originals) {
      unregisterKernel(config.kernelName, 'wasm');
      registerKernel({
        ...config,
        setupFunc: undefined,
        kernelFunc: (args) => {
          const ins = Object.values(args.inputs) as TensorInfo[];
          const out = config.kernelFunc(args) as TensorInfo | TensorInfo[];
          calls.push({ kernel: config.kernelName, shapes: ins.map((t) => [...t.shape]), out: [...(Array.isArray(out) ? out[0] : out).shape], attrs: { ...args.attrs } });
          return out;
        },
      });
    }
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => sparseCrossEntropy(model.apply(xs, { training: true }) as tf.Tensor4D, ys), vars);
    tf.dispose([value, ...Object.values(grads)]);
  } finally {
    for (const config of originals) {
      unregisterKernel(config.kernelName, 'wasm');
      registerKernel(config);
    }
  }
  return calls;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Runs a kernel function directly on the wasm backend and frees its output. */
function direct(f: KernelFunc, inputs: Record<string, tf.Tensor>, attrs: NamedAttrMap): () => void {
  const backend = tf.backend();
  return () => {
    const out = f({ inputs: inputs as never, backend, attrs }) as TensorInfo | TensorInfo[];
    for (const t of Array.isArray(out) ? out : [out]) backend.disposeData(t.dataId);
  };
}

/** The before and after runs of one recorded call, on the given inputs. */
function pair(c: Call, t: tf.Tensor[]): { before: () => void; after: () => void; label: string } {
  const now = (name: string) => getKernel(name, 'wasm')!.kernelFunc;
  switch (c.kernel) {
    case 'Conv2DBackpropFilter':
      return { label: c.kernel, before: direct(conv2DBackpropFilterAsConv, { x: t[0], dy: t[1] }, c.attrs), after: direct(now(c.kernel), { x: t[0], dy: t[1] }, c.attrs) };
    case 'DepthwiseConv2dNativeBackpropFilter':
      return { label: c.kernel, before: direct(depthwiseConv2dNativeBackpropFilterAsLoop, { x: t[0], dy: t[1] }, c.attrs), after: direct(now(c.kernel), { x: t[0], dy: t[1] }, c.attrs) };
    case 'Sum':
      return { label: 'Sum', before: direct(sumKernel.backendKernel()!, { x: t[0] }, c.attrs), after: direct(now('Sum'), { x: t[0] }, c.attrs) };
    case 'Mean':
      return { label: 'Mean', before: direct(meanKernel.backendKernel()!, { x: t[0] }, c.attrs), after: direct(now('Mean'), { x: t[0] }, c.attrs) };
    case 'DepthwiseConv2dNativeBackpropInput':
      return { label: c.kernel, before: direct(depthwiseConv2dNativeBackpropInputAsSubPixel, { dy: t[0], filter: t[1] }, c.attrs), after: direct(now(c.kernel), { dy: t[0], filter: t[1] }, c.attrs) };
    case 'SplitV':
      return { label: 'SplitV', before: direct(splitVByRuns, { x: t[0] }, c.attrs), after: direct(now('SplitV'), { x: t[0] }, c.attrs) };
    case 'FusedBatchNorm': {
      const sum = sumKernel.backendKernel()!;
      const axis = t[0].shape.slice(0, -1).map((_, k) => k);
      return {
        label: 'BatchNorm gradient sums',
        before: () => {
          const centred = tf.tidy(() => tf.mul(tf.sub(t[0], t[2]), t[1]));
          direct(sum, { x: t[1] }, { axis, keepDims: false })();
          direct(sum, { x: centred }, { axis, keepDims: false })();
          centred.dispose();
        },
        after: () => (tf.engine().runKernel(BATCH_NORM_GRAD_SUMS, { x: t[0], dy: t[1], mean: t[2] }) as tf.Tensor).dispose(),
      };
    }
    case 'Relu':
      return {
        label: 'Relu gradient',
        before: () => tf.tidy(() => tf.mul(t[1], tf.cast(tf.step(t[0]), 'float32'))).dispose(),
        after: () => (tf.engine().runKernel(RELU_GRAD, { x: t[0], dy: t[1] }) as tf.Tensor).dispose(),
      };
    default: {
      const { clipValueMin, clipValueMax } = c.attrs as unknown as { clipValueMin: number; clipValueMax: number };
      return {
        label: 'ClipByValue gradient',
        before: () => tf.tidy(() => tf.where(tf.logicalAnd(tf.greaterEqual(t[0], clipValueMin), tf.lessEqual(t[0], clipValueMax)), t[1], tf.zerosLike(t[1]))).dispose(),
        after: () => (tf.engine().runKernel(CLIP_BY_VALUE_GRAD, { x: t[0], dy: t[1] }, c.attrs) as tf.Tensor).dispose(),
      };
    }
  }
}

/** Before/after CPU milliseconds per kernel, summed over the step's calls. */
export function gradientKernelsBeforeAfter(model: LayersModel, xs: tf.Tensor4D, ys: tf.Tensor3D, reps = 3): BeforeAfter[] {
  const rows = new Map<string, BeforeAfter>();
  for (const c of recordCalls(model, xs, ys)) {
    // Relu, ClipByValue and FusedBatchNorm were recorded forward: their gradients take x and a dy
    // of x's shape (and BatchNorm's the mean).
    const forward = c.kernel === 'Relu' || c.kernel === 'ClipByValue' || c.kernel === 'FusedBatchNorm';
    if (c.kernel === 'FusedBatchNorm' && c.shapes[0][c.shapes[0].length - 1] % 4 !== 0) continue;
    const shapes = forward ? [c.shapes[0], c.shapes[0], ...(c.kernel === 'FusedBatchNorm' ? [c.shapes[1]] : [])] : c.shapes;
    const inputs = shapes.map((s) => tf.randomNormal(s, 1, 2));
    try {
      const { before, after, label } = pair(c, inputs);
      const times = { before: [] as number[], after: [] as number[] };
      for (let r = 0; r < reps; r++) {
        for (const [k, f] of (r % 2 ? [['after', after], ['before', before]] : [['before', before], ['after', after]]) as ['before' | 'after', () => void][]) {
          const t0 = cpuMs();
          f();
          times[k].push(cpuMs() - t0);
        }
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const row = rows.get(label) ?? { kernel: label, calls: 0, gflop: 0, beforeMs: 0, afterMs: 0 };
      row.calls++;
      row.gflop += kernelFlops(c.kernel, c.shapes, [c.out]) / 1e9;
      row.beforeMs += median(times.before);
      row.afterMs += median(times.after);
      rows.set(label, row);
    } finally {
      tf.dispose(inputs);
    }
  }
  return [...rows.values()].sort((a, b) => b.beforeMs - a.beforeMs);
}
