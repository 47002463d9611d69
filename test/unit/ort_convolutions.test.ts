import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRandom } from '../../core/random.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { ORT_CONVOLUTIONS, selectBackend } from '../../core/node/backends/select.js';
import { tf } from '../../core/node/tfjs.js';
import { ortConvolutionsInUse, stopOrtConvolutions, useOrtConvolutions } from '../../core/node/wasm_kernels/ort/conv_kernels.js';
import { ortApiAvailable, OrtSession } from '../../core/node/wasm_kernels/ort/ort_capi.js';
import { encodeGraph, ortSessionCount, SESSION_SETTINGS, type GraphSpec } from '../../core/node/wasm_kernels/ort/ort_graph.js';
import { tinyBatch } from '../../bench/helpers/train_steps.js';
import { buildModel } from '../../trainer/models/index.js';
import { seedWeights } from '../../trainer/models/seeded_weights.js';
import { startReplicas } from '../../trainer/parallel/replica_group.js';
import { inProcessSteps, type StepRunner } from '../../trainer/step_runner.js';
import { relativeError } from '../helpers/compare.js';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

function randomData(shape: number[], seed: number): Float32Array {
  const rand = createRandom(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1);
}

const kernel = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => tf.engine().runKernel(name, inputs, attrs as never) as tf.Tensor;

/** The forward convolution (bias, activation), its input and filter gradients, and a Conv2DTranspose, on the active backend. */
function convolutions(x: Shape4, f: Shape4, strides: number, pad: Pad, activation: 'linear' | 'relu' | 'relu6', seed: number): Float32Array[] {
  return tf.tidy(() => {
    const xt = tf.tensor4d(randomData(x, seed), x);
    const w = tf.tensor4d(randomData(f, seed + 1), f);
    const b = tf.tensor1d(randomData([f[3]], seed + 2));
    const y = tf.fused.conv2d({ x: xt, filter: w, bias: b, strides, pad, activation });
    const dy = tf.tensor4d(randomData(y.shape, seed + 3), y.shape as Shape4);
    const attrs = { strides: [strides, strides], pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const dx = kernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x });
    const dw = kernel('Conv2DBackpropFilter', { x: xt, dy }, { ...attrs, filterShape: f });
    const plain = tf.conv2d(xt, w, strides, pad);
    return [y, plain, dx, dw].map((t) => t.dataSync() as Float32Array);
  });
}

const CASES: [Shape4, Shape4, number, Pad, 'linear' | 'relu' | 'relu6'][] = [
  [[2, 9, 9, 24], [3, 3, 24, 40], 1, 'same', 'relu'],
  [[2, 9, 9, 24], [3, 3, 24, 40], 2, 'same', 'relu6'],
  [[2, 11, 10, 24], [3, 3, 24, 40], 2, 'valid', 'linear'],
  [[2, 8, 8, 24], [1, 1, 24, 40], 1, 'same', 'relu6'],
  [[2, 8, 8, 24], [1, 1, 24, 40], 2, 'same', 'linear'],
  [[2, 8, 8, 20], [4, 4, 20, 30], 2, [[0, 0], [2, 1], [0, 2], [0, 0]], 'relu'],
  [[2, 7, 9, 24], [3, 2, 24, 40], 1, 'valid', 'relu'],
  [[2, 6, 7, 20], [2, 3, 20, 30], 1, [[0, 0], [1, 0], [2, 1], [0, 0]], 'linear'],
  // Filters heavier than their activations: the GEMM forms (im2col·W, Col2Im(dy·Wᵀ)).
  [[1, 4, 4, 64], [3, 3, 64, 96], 1, 'same', 'relu6'],
  [[2, 7, 6, 48], [3, 3, 48, 80], 2, 'same', 'linear'],
  [[1, 6, 6, 40], [3, 3, 40, 72], 2, 'valid', 'relu'],
];

describe('wasm dense convolutions run in onnxruntime', () => {
  before(async () => {
    await activateWasm();
    assert.equal(useOrtConvolutions(), true, 'onnxruntime-node loads on this machine');
  });
  after(stopOrtConvolutions);

  it('forward (bias, relu/relu6), input and filter gradients (strided, padded, 1×1, weight-heavy) equal the cpu backend within 1e-5, and each built its onnxruntime graphs', async () => {
    for (const [i, [x, f, s, pad, act]] of CASES.entries()) {
      await tf.setBackend('cpu');
      const want = convolutions(x, f, s, pad, act, 10 * i);
      await tf.setBackend('wasm');
      const sessions = ortSessionCount();
      const got = convolutions(x, f, s, pad, act, 10 * i);
      ['forward', 'plain forward', 'input gradient', 'filter gradient'].forEach((name, k) => {
        assert.ok(relativeError(got[k], want[k]) <= 1e-5, `case ${i} ${name}: ${relativeError(got[k], want[k])}`);
      });
      // The graphs each form builds (conv_kernels.ts): two forward ones (with and without bias and
      // activation); the input gradient's one (ConvTranspose, flipped Conv, Gemm or Col2Im); the
      // filter gradient's one or, for a stride-1 k×k filter, three (two paddings, the shifted
      // GEMMs). Fewer would mean a fallback to wasm.
      const pointwise = f[0] === 1 && f[1] === 1 && s === 1;
      const shifted = s === 1 && !pointwise;
      const built = 2 + 1 + (shifted ? 3 : 1);
      assert.equal(ortSessionCount() - sessions, built, `case ${i}: ${built} graphs built, none fell back to wasm`);
      const again = convolutions(x, f, s, pad, act, 10 * i);
      assert.equal(ortSessionCount() - sessions, built, `case ${i}: the second call reuses the graphs`);
      again.forEach((a, k) => assert.deepEqual(a, got[k], `case ${i}: repeatable bit for bit`));
    }
  });

  it('narrow layers (16 channels and fewer) run in onnxruntime too and still match', async () => {
    const x: Shape4 = [2, 9, 9, 8];
    const f: Shape4 = [3, 3, 8, 16];
    await tf.setBackend('cpu');
    const want = convolutions(x, f, 1, 'same', 'relu', 7);
    await tf.setBackend('wasm');
    const sessions = ortSessionCount();
    const got = convolutions(x, f, 1, 'same', 'relu', 7);
    assert.equal(ortSessionCount() - sessions, 6, 'two forward graphs, the flipped Conv, the filter gradient\'s three');
    got.forEach((g, k) => assert.ok(relativeError(g, want[k]) <= 1e-5, `output ${k}: ${relativeError(g, want[k])}`));
  });

  it('an activation the graphs do not fuse (leakyrelu) keeps the wasm forward kernel and still matches', async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(randomData([2, 8, 8, 24], 3), [2, 8, 8, 24]);
        const w = tf.tensor4d(randomData([3, 3, 24, 32], 4), [3, 3, 24, 32]);
        return tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', activation: 'leakyrelu', leakyreluAlpha: 0.1 }).dataSync() as Float32Array;
      });
    await tf.setBackend('cpu');
    const want = run();
    await tf.setBackend('wasm');
    const sessions = ortSessionCount();
    const got = run();
    assert.equal(ortSessionCount(), sessions, 'no onnxruntime graph');
    assert.ok(relativeError(got, want) <= 1e-5, `${relativeError(got, want)}`);
  });

  it('a wide U-Net trains the same on one thread and on two replicas, both with onnxruntime convolutions, leaving no tensor behind', async () => {
    const n = 4;
    const batch = { ...tinyBatch(n), size: n, ids: [] };
    const losses = async (start: (m: ReturnType<typeof buildModel>['model'], o: tf.Optimizer) => Promise<StepRunner>) => {
      const { model } = buildModel('unet-small', { baseFilters: 16, depth: 2 });
      seedWeights(model, 5);
      const optimizer = tf.train.adam(1e-3);
      const runner = await start(model, optimizer);
      try {
        const out: number[] = [];
        for (let i = 0; i < 3; i++) out.push(await runner.step(batch, 1e-3));
        return out;
      } finally {
        await runner.close();
        optimizer.dispose();
        model.dispose();
      }
    };
    const tensors = tf.memory().numTensors;
    const sessions = ortSessionCount();
    const one = await losses(async (m, o) => inProcessSteps(m, o));
    assert.ok(ortSessionCount() - sessions >= 6, `the wide layers ran in onnxruntime on this thread (${ortSessionCount() - sessions} graphs)`);
    const two = await losses((model, optimizer) => startReplicas({ workers: 2, backend: 'wasm', model, optimizer, learningRate: 1e-3, batchSize: n }));
    assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind');
    one.forEach((l, i) => assert.ok(Math.abs(l - two[i]) <= 1e-4 * l, `step ${i + 1}: two replicas ${two[i]} vs one thread ${l}`));
    assert.ok(one[2] < one[0], 'the loss falls');
  });

  it("is the trainer's wasm backend, named in its report; EDGESEG_ORT_CONVOLUTIONS=0 keeps the wasm kernels", async () => {
    const active = await selectBackend('wasm');
    assert.equal(active.adapter, ORT_CONVOLUTIONS);
    assert.equal(ortConvolutionsInUse(), true);
    stopOrtConvolutions();
    assert.equal(ortConvolutionsInUse(), false);
    process.env.EDGESEG_ORT_CONVOLUTIONS = '0';
    try {
      assert.equal(useOrtConvolutions(), false);
      assert.equal(ortConvolutionsInUse(), false);
      assert.equal((await selectBackend('wasm')).adapter, undefined);
    } finally {
      delete process.env.EDGESEG_ORT_CONVOLUTIONS;
    }
  });
});

describe("onnxruntime's C API on a wasm heap", () => {
  const gemm: GraphSpec = { inputs: { a: [64, 32], b: [32, 256] }, output: [64, 256], nodes: [{ op: 'Gemm', inputs: ['a', 'b'], output: 'y' }] };
  const matmul = (a: Float32Array, b: Float32Array, m: number, k: number, n: number) =>
    Float32Array.from({ length: m * n }, (_, i) => {
      let s = 0;
      for (let j = 0; j < k; j++) s += a[Math.floor(i / n) * k + j] * b[j * n + (i % n)];
      return s;
    });

  it('runs a graph in place on a WebAssembly.Memory (also after it grows), allocates no ArrayBuffer per call, and names what it refuses', () => {
    assert.equal(ortApiAvailable(), true, 'koffi and onnxruntime-node’s library load on this machine');
    const session = new OrtSession(encodeGraph(gemm), SESSION_SETTINGS, ['a', 'b'], ['y']);
    const memory = new WebAssembly.Memory({ initial: 2 });
    const views = () => ({ a: new Float32Array(memory.buffer, 256, 64 * 32), b: new Float32Array(memory.buffer, 256 + 64 * 32 * 4, 32 * 256), y: new Float32Array(memory.buffer, 65536, 64 * 256) });
    const run = (v: ReturnType<typeof views>) => session.run([{ view: v.a, shape: [64, 32] }, { view: v.b, shape: [32, 256] }], [{ view: v.y, shape: [64, 256] }]);
    let v = views();
    v.a.set(randomData([64, 32], 1));
    v.b.set(randomData([32, 256], 2));
    run(v);
    assert.ok(relativeError(v.y, matmul(v.a, v.b, 64, 32, 256)) < 1e-5, 'the product is written into the heap');

    memory.grow(1); // a new ArrayBuffer over the same bytes: the old views are detached
    v = views();
    v.y.fill(0);
    run(v);
    assert.ok(relativeError(v.y, matmul(v.a, v.b, 64, 32, 256)) < 1e-5, 'after the memory grew');

    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 100; i++) run(v);
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 1e6, `100 calls with a 64 KB output left ${grown} bytes of new ArrayBuffers (a copy per call would be 6.5 MB)`);

    assert.throws(() => new OrtSession(Uint8Array.of(8, 1, 2, 3), SESSION_SETTINGS, ['a'], ['y']), /onnxruntime CreateSessionFromArray/);
    assert.throws(() => session.run([{ view: v.a.subarray(0, 10), shape: [64, 32] }, { view: v.b, shape: [32, 256] }], [{ view: v.y, shape: [64, 256] }]), /onnxruntime CreateTensorWithDataAsOrtValue/);
    assert.throws(() => session.run([{ view: v.a, shape: [32, 64] }, { view: v.b, shape: [32, 256] }], [{ view: v.y, shape: [64, 256] }]), /onnxruntime Run/);
    run(v);
    assert.ok(relativeError(v.y, matmul(v.a, v.b, 64, 32, 256)) < 1e-5, 'the session still runs after refusing bad calls');
  });
});
