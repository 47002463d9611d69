/**
 * Per-kernel profile of one training step on the active backend (tf.profile, kernels timed in CPU
 * time). The step is taken apart into its phases: forward (the
 * model in training mode and the loss), backward (the gradient's kernels: a forward+backward
 * profile minus the forward one, per kernel name) and the optimizer (Adam's update).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { tf } from '../../core/node/tfjs.js';
import { sparseCrossEntropy } from '../../datasets/cross_entropy.js';

export type StepPhase = 'forward' | 'backward' | 'optimizer';

export interface KernelTime {
  phase: StepPhase;
  kernel: string;
  ms: number;
  calls: number;
  /** Multiply-adds × 2 of the convolution kernels (all calls), from their shapes; 0 for other kernels. */
  gflop: number;
}

/**
 * FLOPs of one call of a convolution kernel from its input and output shapes (every
 * tap counted, padding included, as the forward FLOP count of trainer/models/flops.ts does);
 * 0 for kernels whose cost is not multiply-adds.
 */
export function kernelFlops(kernel: string, inputs: number[][], outputs: number[][]): number {
  const size = (s: number[] | undefined) => (s ?? []).reduce((a, b) => a * b, 1);
  const out = outputs[0] ?? [];
  switch (kernel) {
    case 'Conv2D':
    case 'FusedConv2D': {
      // out [b, oh, ow, co] × filter [fh, fw, ci, co]
      const [fh, fw, ci] = inputs[1] ?? [];
      return 2 * size(out) * fh * fw * ci;
    }
    case 'Conv2DBackpropInput': {
      // dy [b, oh, ow, co] × filter [fh, fw, ci, co]
      const [fh, fw, ci] = inputs[1] ?? [];
      return 2 * size(inputs[0]) * fh * fw * ci;
    }
    case 'Conv2DBackpropFilter': {
      // dy [b, oh, ow, co] × out = filter [fh, fw, ci, co]
      const [fh, fw, ci] = out;
      return 2 * size(inputs[1]) * fh * fw * ci;
    }
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D': {
      const [fh, fw] = inputs[1] ?? [];
      return 2 * size(out) * fh * fw;
    }
    case 'DepthwiseConv2dNativeBackpropInput': {
      const [fh, fw] = inputs[1] ?? [];
      return 2 * size(inputs[0]) * fh * fw;
    }
    case 'DepthwiseConv2dNativeBackpropFilter': {
      const [fh, fw] = out;
      return 2 * size(inputs[1]) * fh * fw;
    }
    default:
      return 0;
  }
}

/**
 * Profiles `run` with each kernel timed in CPU time of this process, not wall time: on a shared
 * machine a kernel preempted midway would otherwise be charged the other processes' time. Only
 * this thread computes while it runs (wasm kernels are synchronous), so process CPU is its own.
 */
async function byKernel(run: () => tf.TensorContainer): Promise<Map<string, { ms: number; calls: number; gflop: number }>> {
  const backend = tf.backend() as unknown as { time(f: () => void): Promise<{ kernelMs: number }> };
  const wallTimer = backend.time;
  backend.time = async (f) => {
    const start = process.cpuUsage();
    f();
    const used = process.cpuUsage(start);
    return { kernelMs: (used.user + used.system) / 1000 };
  };
  let info: Awaited<ReturnType<typeof tf.profile>>;
  try {
    info = await tf.profile(() => {
      const out = run();
      tf.dispose(out);
      return [];
    });
  } finally {
    backend.time = wallTimer;
  }
  const out = new Map<string, { ms: number; calls: number; gflop: number }>();
  for (const k of info.kernels) {
    // `<op>__op` records wrap an op's custom gradient around kernels that are listed themselves.
    if (k.name.endsWith('__op')) continue;
    const ms = await k.kernelTimeMs;
    const entry = out.get(k.name) ?? { ms: 0, calls: 0, gflop: 0 };
    entry.ms += typeof ms === 'number' ? ms : 0;
    entry.calls++;
    entry.gflop += kernelFlops(k.name, k.inputShapes as number[][], k.outputShapes as number[][]) / 1e9;
    out.set(k.name, entry);
  }
  return out;
}

/** Profiles one step of `model` on a batch; kernels sorted by time, slowest first. */
export async function profileStep(model: LayersModel, optimizer: tf.Optimizer, xs: tf.Tensor4D, ys: tf.Tensor3D): Promise<{ kernels: KernelTime[]; phaseMs: Record<StepPhase, number> }> {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const loss = () => sparseCrossEntropy(model.apply(xs, { training: true }) as tf.Tensor4D, ys);
  const forward = await byKernel(() => tf.tidy(loss));
  const both = await byKernel(() => {
    const { value, grads } = tf.variableGrads(loss, vars);
    return [value, ...Object.values(grads)];
  });
  const { value, grads } = tf.variableGrads(loss, vars);
  let optimizerWallMs = 0;
  const optimizerKernels = await byKernel(() => {
    const start = performance.now();
    optimizer.applyGradients(grads);
    optimizerWallMs = performance.now() - start;
    return [];
  });
  tf.dispose([value, ...Object.values(grads)]);
  const kernels: KernelTime[] = [];
  for (const [kernel, t] of forward) kernels.push({ phase: 'forward', kernel, ...t });
  for (const [kernel, t] of both) {
    const f = forward.get(kernel) ?? { ms: 0, calls: 0, gflop: 0 };
    if (t.calls > f.calls) kernels.push({ phase: 'backward', kernel, ms: Math.max(0, t.ms - f.ms), calls: t.calls - f.calls, gflop: Math.max(0, t.gflop - f.gflop) });
  }
  for (const [kernel, t] of optimizerKernels) kernels.push({ phase: 'optimizer', kernel, ...t });
  // The trainer's Adam runs its update in its own SIMD loop, not as tfjs kernels: its time is the
  // update's wall time less the kernels it does run (shown as one row, so the phase is not 0).
  const outside = optimizerWallMs - [...optimizerKernels.values()].reduce((a, t) => a + t.ms, 0);
  if (outside > 0.5) kernels.push({ phase: 'optimizer', kernel: 'Adam update (SIMD loop, outside tfjs kernels)', ms: outside, calls: 1, gflop: 0 });
  kernels.sort((a, b) => b.ms - a.ms);
  const phaseMs = { forward: 0, backward: 0, optimizer: 0 };
  for (const k of kernels) phaseMs[k.phase] += k.ms;
  return { kernels, phaseMs };
}
