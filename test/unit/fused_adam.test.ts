import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { createRandom } from '../../core/random.js';
import { tf } from '../../core/node/tfjs.js';
import { FusedAdamOptimizer } from '../../trainer/fused_adam.js';

/** Variable shapes with sizes that are and are not multiples of 4 (the SIMD loop and its tail). */
const SHAPES = [[3, 3, 8, 16], [16], [3], [1], [5, 7], [2, 2, 3, 3], [64]];

function randomValues(size: number, rand: () => number, scale: number): Float32Array {
  return Float32Array.from({ length: size }, () => (rand() * 2 - 1) * scale);
}

/** Variables with the same starting values under a name prefix. */
function variables(prefix: string, seed: number): tf.Variable[] {
  const rand = createRandom(seed);
  return SHAPES.map((shape, k) => tf.variable(tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), rand, 1), shape), true, `${prefix}_${k}`));
}

/** Gradients for step `t` (the same for both optimizers), some tiny, some large, one exactly zero. */
function gradients(t: number): Float32Array[] {
  const rand = createRandom(100 + t);
  return SHAPES.map((shape, k) => {
    const g = randomValues(shape.reduce((a, b) => a * b, 1), rand, k % 3 === 0 ? 1e-6 : 3);
    if (k === 2) g[1] = 0;
    return g;
  });
}

async function values(vars: tf.Variable[]): Promise<Float32Array[]> {
  return Promise.all(vars.map((v) => v.data() as Promise<Float32Array>));
}

async function optimizerValues(o: tf.Optimizer): Promise<Float32Array[]> {
  const weights = await o.getWeights();
  const out = await Promise.all(weights.map((w) => w.tensor.data() as Promise<Float32Array>));
  // A fresh iteration scalar; the rest are the optimizer's own variables.
  weights[0].tensor.dispose();
  return out;
}

describe('FusedAdamOptimizer', () => {
  before(async () => {
    await activateWasm();
  });

  it('gives the same bits as tf.train.adam on wasm over 8 steps, sizes off the SIMD width, a missing gradient and a changed learning rate included', async () => {
    await tf.setBackend('wasm');
    const ours = variables('fused', 1);
    const theirs = variables('tfjs', 1);
    const fused = new FusedAdamOptimizer(1e-2);
    const reference = tf.train.adam(1e-2);
    for (let t = 0; t < 8; t++) {
      if (t === 5) for (const o of [fused, reference]) (o as unknown as { learningRate: number }).learningRate = 3e-3;
      const g = gradients(t);
      // Step 3 leaves variable 4 without a gradient (a layer the loss did not reach).
      const named = (vars: tf.Variable[]) => vars.map((v, k) => ({ name: v.name, tensor: t === 3 && k === 4 ? (null as unknown as tf.Tensor) : tf.tensor(g[k], v.shape) }));
      const a = named(ours);
      const b = named(theirs);
      fused.applyGradients(a);
      reference.applyGradients(b);
      tf.dispose([...a, ...b].map((x) => x.tensor).filter(Boolean));
      assert.deepEqual(await values(ours), await values(theirs), `weights after step ${t + 1}`);
    }
    assert.deepEqual(await optimizerValues(fused), await optimizerValues(reference), 'iterations and moments');
    fused.dispose();
    reference.dispose();
    tf.dispose([...ours, ...theirs]);
  });

  it('takes the gradient map of minimize() and keeps tf.memory() flat', async () => {
    await tf.setBackend('wasm');
    const ours = variables('minimize_fused', 2);
    const theirs = variables('minimize_tfjs', 2);
    const fused = new FusedAdamOptimizer(5e-3);
    const reference = tf.train.adam(5e-3);
    const loss = (vars: tf.Variable[]) => () => tf.addN(vars.map((v, k) => tf.sum(tf.mul(tf.square(v), k + 1)))) as tf.Scalar;
    let before = 0;
    for (let t = 0; t < 6; t++) {
      fused.minimize(loss(ours), false, ours);
      reference.minimize(loss(theirs), false, theirs);
      if (t === 1) before = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind per step');
    assert.deepEqual(await values(ours), await values(theirs));
    fused.dispose();
    reference.dispose();
    tf.dispose([...ours, ...theirs]);
  });

  it("resumes from tf.train.adam's saved state (a checkpoint) and continues with the same bits", async () => {
    await tf.setBackend('wasm');
    const ours = variables('resume_fused', 3);
    const theirs = variables('resume_tfjs', 3);
    const reference = tf.train.adam(1e-2);
    const step = (o: tf.Optimizer, vars: tf.Variable[], t: number) => {
      const g = gradients(t);
      const named = vars.map((v, k) => ({ name: v.name, tensor: tf.tensor(g[k], v.shape) }));
      o.applyGradients(named);
      tf.dispose(named.map((x) => x.tensor));
    };
    for (let t = 0; t < 3; t++) step(reference, theirs, t);
    // The saved state, renamed to the other variables (a checkpoint restored into a new model).
    const saved = await reference.getWeights();
    const fused = new FusedAdamOptimizer(1e-2);
    await fused.setWeights(saved.map((w) => ({ name: w.name.replace('resume_tfjs', 'resume_fused'), tensor: w.tensor })));
    // getWeights hands out a fresh iteration scalar but the optimizer's own moment variables.
    saved[0].tensor.dispose();
    ours.forEach((v, k) => v.assign(theirs[k]));
    for (let t = 3; t < 6; t++) {
      step(fused, ours, t);
      step(reference, theirs, t);
    }
    assert.deepEqual(await values(ours), await values(theirs));
    assert.deepEqual(await optimizerValues(fused), await optimizerValues(reference));
    fused.dispose();
    reference.dispose();
    tf.dispose([...ours, ...theirs]);
  });
});
