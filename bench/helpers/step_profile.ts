/**
 * Per-kernel profile of one training step on the active backend (tf.profile, kernels timed in CPU
 * time). The step is taken apart into its phases: forward (the
 * model in training mode and the loss), backward (the gradient's kernels: a forward+backward
 * profile minus the forward one, per kernel name) and the optimizer (Adam's update).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { tf } from '../../core/node/tfjs.js';
import { sparseCrossEntropy } from '../../trainer/loss.js';

export type StepPhase = 'forward' | 'backward' | 'optimizer';

export interface KernelTime {
  phase: StepPhase;
  kernel: string;
  ms: number;
  calls: number;
}

/**
 * Profiles `run` with each kernel timed in CPU time of this process, not wall time: on a shared
 * machine a kernel preempted midway would otherwise be charged the other processes' time. Only
 * this thread computes while it runs (wasm kernels are synchronous), so process CPU is its own.
 */
async function byKernel(run: () => tf.TensorContainer): Promise<Map<string, { ms: number; calls: number }>> {
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
  const out = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    // `<op>__op` records wrap an op's custom gradient around kernels that are listed themselves.
    if (k.name.endsWith('__op')) continue;
    const ms = await k.kernelTimeMs;
    const entry = out.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += typeof ms === 'number' ? ms : 0;
    entry.calls++;
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
  const optimizerKernels = await byKernel(() => {
    optimizer.applyGradients(grads);
    return [];
  });
  tf.dispose([value, ...Object.values(grads)]);
  const kernels: KernelTime[] = [];
  for (const [kernel, t] of forward) kernels.push({ phase: 'forward', kernel, ...t });
  for (const [kernel, t] of both) {
    const f = forward.get(kernel) ?? { ms: 0, calls: 0 };
    if (t.calls > f.calls) kernels.push({ phase: 'backward', kernel, ms: Math.max(0, t.ms - f.ms), calls: t.calls - f.calls });
  }
  for (const [kernel, t] of optimizerKernels) kernels.push({ phase: 'optimizer', kernel, ...t });
  kernels.sort((a, b) => b.ms - a.ms);
  const phaseMs = { forward: 0, backward: 0, optimizer: 0 };
  for (const k of kernels) phaseMs[k.phase] += k.ms;
  return { kernels, phaseMs };
}
