/**
 * Adam whose update is one pass per variable on the wasm backend. tfjs' AdamOptimizer spends 13
 * kernels per variable and step (mul, mul, add, square, mul, mul, add, div, div, sqrt, add, div,
 * mul, add): for unet-mobilenetv2's 165 variables that is about 2,100 kernel calls, each with its
 * own output buffer, and each binary one allocating four small typed arrays for its shapes. That
 * garbage, not the arithmetic, is what costs: V8 collects it on a helper thread that competes
 * with the second replica for the machine's other core.
 *
 * Here, per variable, simd.ts's `adam` loop reads w, m, v and g in the wasm heap and writes w′,
 * m′ and v′ to three fresh buffers, which the variables then take over (`assign`), as tfjs' own
 * step does. Fresh buffers, not in-place writes: the wasm backend keys its XNNPACK operator cache
 * by buffer, so a weight changed in place would keep its stale packed copy.
 *
 * The maths, per element, each operation rounded to float32 in tfjs' order (so the same bits as
 * tf.train.adam; test/unit/fused_adam.test.ts checks bit-equality):
 *
 *   m′ = m·β₁ + g·(1−β₁)
 *   v′ = v·β₂ + (g·g)·(1−β₂)
 *   w′ = ((m′ / (1−β₁ᵗ)) / (√(v′ / (1−β₂ᵗ)) + ε)) · (−lr) + w
 *
 * with β₁ᵗ, β₂ᵗ the optimizer's accumulated powers (float32 variables, advanced after the step as
 * tfjs does). Sizes that are not a multiple of 4 finish in JavaScript with Math.fround after each
 * operation, which rounds exactly as float32 arithmetic does for +, −, ×, ÷ and √.
 *
 * State, serialisation, getWeights/setWeights are tfjs' AdamOptimizer's own: a checkpoint written
 * with either optimizer resumes with the other. On any backend but wasm the update is tfjs'.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { simdLoops } from '../core/node/wasm_kernels/simd.js';
import { tf } from '../core/node/tfjs.js';

/** The parts of the wasm backend the update uses. */
interface WasmHeap {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

/** AdamOptimizer's state, which its declaration keeps private (the same objects tfjs uses). */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
}

const f = Math.fround;

/** What applyGradients takes: a map of gradients by variable name, or a list of named gradients. */
type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
  }

  override applyGradients(variableGradients: VariableGradients): void {
    if (tf.getBackend() !== 'wasm') return super.applyGradients(variableGradients);
    const backend = tf.backend() as unknown as WasmHeap;
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((g) => g.name) : Object.keys(variableGradients);
    const loops = simdLoops(backend);
    const acc1 = state.accBeta1.dataSync()[0];
    const acc2 = state.accBeta2.dataSync()[0];
    // The step's scalars, each the float32 value tfjs' scalar tensor would hold.
    const c = {
      beta1: f(this.beta1),
      oneMinusBeta1: f(1 - this.beta1),
      beta2: f(this.beta2),
      oneMinusBeta2: f(1 - this.beta2),
      oneMinusAcc1: f(1 - acc1),
      oneMinusAcc2: f(1 - acc2),
      epsilon: f(this.epsilon),
      negLr: f(-this.learningRate),
    };
    const ptr = (t: TensorInfo) => {
      const entry = backend.dataIdMap.get(t.dataId);
      if (!entry) throw new Error('Adam: a tensor is not in the wasm heap (disposed, or on another backend)');
      return entry.memoryOffset;
    };
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
      if (gradient == null) return;
      if (gradient.dtype !== 'float32' || value.dtype !== 'float32' || gradient.size !== value.size) {
        throw new Error(`Adam: the gradient of ${name} is ${gradient.dtype} ${gradient.shape}, the variable ${value.dtype} ${value.shape}`);
      }
      const m = state.accumulatedFirstMoment[i]!.variable;
      const v = state.accumulatedSecondMoment[i]!.variable;
      const outs = [value, m, v].map((t) => backend.makeOutput(t.shape.slice(), 'float32'));
      const n = value.size;
      const whole = n - (n % 4);
      if (whole > 0) {
        loops.adam(ptr(value), ptr(m), ptr(v), ptr(gradient), ptr(outs[0]), ptr(outs[1]), ptr(outs[2]), whole * 4, c.beta1, c.oneMinusBeta1, c.beta2, c.oneMinusBeta2, c.oneMinusAcc1, c.oneMinusAcc2, c.epsilon, c.negLr);
      }
      if (whole < n) {
        const [W, M, V, G, W2, M2, V2] = [value, m, v, gradient, ...outs].map((t) => backend.typedArrayFromHeap(t));
        for (let k = whole; k < n; k++) {
          const m1 = (M2[k] = f(f(M[k] * c.beta1) + f(G[k] * c.oneMinusBeta1)));
          const v1 = (V2[k] = f(f(V[k] * c.beta2) + f(f(G[k] * G[k]) * c.oneMinusBeta2)));
          W2[k] = f(f(f(f(m1 / c.oneMinusAcc1) / f(f(Math.sqrt(f(v1 / c.oneMinusAcc2))) + c.epsilon)) * c.negLr) + W[k]);
        }
      }
      [value, m, v].forEach((variable, k) => {
        const next = tf.engine().makeTensorFromTensorInfo(outs[k]);
        variable.assign(next);
        next.dispose();
      });
    });
    tf.tidy(() => {
      state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}

/** Adam with tfjs' defaults (β₁ 0.9, β₂ 0.999, the backend's ε), fused on wasm. */
export function adam(learningRate: number): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate);
}
