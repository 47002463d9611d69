import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { tf } from '../../core/node/tfjs.js';
import { tinyBatch } from '../../bench/helpers/train_steps.js';
import { buildModel } from '../../trainer/models/index.js';
import { seedWeights } from '../../trainer/models/seeded_weights.js';
import { ReplicaAbortedError } from '../../core/errors.js';
import { abortAllReduce, AllReduce, createAllReduceBuffers } from '../../trainer/parallel/all_reduce.js';
import { startReplicas } from '../../trainer/parallel/replica_group.js';
import { sliceOf } from '../../trainer/parallel/protocol.js';
import { globalMomentsOp, sliceMoments } from '../../trainer/parallel/sync_batch_norm.js';
import { inProcessSteps, type StepRunner } from '../../trainer/step_runner.js';
import { sparseCrossEntropy } from '../../datasets/cross_entropy.js';

const N = 4;
const STEPS = 3;

/** STEPS Adam steps of a tiny unet-small on one batch; returns the losses and every weight (BatchNorm statistics included). */
async function trace(start: (model: ReturnType<typeof buildModel>['model'], optimizer: tf.Optimizer) => Promise<StepRunner>) {
  const { model } = buildModel('unet-small', { baseFilters: 4, depth: 2 });
  seedWeights(model, 3);
  const optimizer = tf.train.adam(1e-3);
  const runner = await start(model, optimizer);
  try {
    const { images, masks } = tinyBatch(N);
    const losses: number[] = [];
    for (let i = 0; i < STEPS; i++) losses.push(await runner.step({ images, masks, size: N, ids: [] }, 1e-3));
    await runner.sync();
    const weights = new Map(model.weights.map((w) => [w.originalName, w.read().dataSync().slice() as Float32Array]));
    const iterations = (await optimizer.getWeights())[0];
    const iter = (await iterations.tensor.data())[0];
    iterations.tensor.dispose();
    return { losses, weights, iter };
  } finally {
    await runner.close();
    optimizer.dispose();
    model.dispose();
  }
}

describe('data-parallel replicas', () => {
  before(async () => {
    await activateWasm();
  });

  it('splits a batch into contiguous slices that cover it once', () => {
    for (const [world, size] of [[2, 8], [3, 8], [2, 3], [4, 4]]) {
      const slices = Array.from({ length: world }, (_, r) => sliceOf(r, world, size));
      assert.equal(slices[0].lo, 0);
      assert.equal(slices.at(-1)!.hi, size);
      for (let r = 1; r < world; r++) assert.equal(slices[r].lo, slices[r - 1].hi);
      assert.ok(slices.every((s) => s.hi > s.lo), `every replica has rows (${world} × ${size})`);
    }
  });

  it('two replicas train like one thread: same losses and weights within float reordering, BatchNorm statistics included', async () => {
    const before = tf.memory().numTensors;
    const one = await trace(async (model, optimizer) => inProcessSteps(model, optimizer));
    const two = await trace((model, optimizer) => startReplicas({ workers: 2, backend: 'wasm', model, optimizer, learningRate: 1e-3, batchSize: N }));
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind on this thread');
    assert.equal(two.iter, STEPS, 'the optimizer state came back from the replicas');
    for (let i = 0; i < STEPS; i++) assert.ok(Math.abs(one.losses[i] - two.losses[i]) <= 1e-4 * one.losses[i], `step ${i + 1}: ${two.losses[i]} vs ${one.losses[i]}`);
    assert.ok(two.losses[STEPS - 1] < two.losses[0], 'the loss went down');
    for (const [name, a] of one.weights) {
      const b = two.weights.get(name)!;
      // Adam divides by √v, so a gradient near zero moves its weight by up to ~lr whatever its sign:
      // compare against the size of a few steps, not of the weights.
      const scale = name.endsWith('moving_variance') || name.endsWith('moving_mean') ? 1e-3 * Math.max(1, ...a.map(Math.abs)) : 1e-3 * STEPS;
      let worst = 0;
      for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k] - b[k]));
      assert.ok(worst <= scale, `${name}: max difference ${worst}`);
    }
    const moving = [...two.weights].filter(([name]) => name.endsWith('moving_mean'));
    assert.ok(moving.some(([, v]) => v.some((x) => x !== 0)), 'moving means were updated by the replicas');
  });

  it('keeps frozen layers frozen in every replica (a frozen encoder) and trains the rest like one thread', async () => {
    const frozen = (model: ReturnType<typeof buildModel>['model']) => {
      for (const layer of model.layers) if (layer.name.startsWith('enc0_')) layer.trainable = false;
    };
    const snapshot = (model: ReturnType<typeof buildModel>['model']) => new Map(model.weights.filter((w) => w.originalName.startsWith('enc0_')).map((w) => [w.originalName, w.read().dataSync().slice() as Float32Array]));
    let initial = new Map<string, Float32Array>();
    const one = await trace(async (model, optimizer) => {
      frozen(model);
      initial = snapshot(model);
      return inProcessSteps(model, optimizer);
    });
    const two = await trace((model, optimizer) => {
      frozen(model);
      return startReplicas({ workers: 2, backend: 'wasm', model, optimizer, learningRate: 1e-3, batchSize: N });
    });
    for (let i = 0; i < STEPS; i++) assert.ok(Math.abs(one.losses[i] - two.losses[i]) <= 1e-4 * one.losses[i], `step ${i + 1}: ${two.losses[i]} vs ${one.losses[i]}`);
    for (const [name, before] of initial) {
      if (/moving_(mean|variance)$/.test(name)) continue; // statistics follow the data, as in one thread
      assert.deepEqual(two.weights.get(name), before, `${name} stayed frozen`);
    }
  });

  it('refuses a batch larger than its shared buffers or smaller than its replicas, and keeps training', async () => {
    const { model } = buildModel('unet-small', { baseFilters: 4, depth: 2 });
    seedWeights(model, 3);
    const optimizer = tf.train.adam(1e-3);
    const runner = await startReplicas({ workers: 2, backend: 'wasm', model, optimizer, learningRate: 1e-3, batchSize: N });
    try {
      const { images, masks } = tinyBatch(N);
      await assert.rejects(runner.step({ images, masks, size: N + 1, ids: [] }, 1e-3), RangeError);
      await assert.rejects(runner.step({ images, masks, size: 1, ids: [] }, 1e-3), RangeError);
      const loss = await runner.step({ images, masks, size: N, ids: [] }, 1e-3);
      assert.ok(Number.isFinite(loss), 'the group still trains after a refused batch');
    } finally {
      await runner.close();
      optimizer.dispose();
      model.dispose();
    }
  });
});

describe('all-reduce over shared memory', () => {
  it('with one replica returns its own vector bit for bit', () => {
    const group = new AllReduce(createAllReduceBuffers(1, 8, 4));
    const v = Float32Array.from([0.1, -2.5, 3e-8, 1e8, 7, 0, -0, 1 / 3]);
    assert.deepEqual(group.sumOf(v), v, 'long path');
    assert.deepEqual(group.sumOf(v.subarray(0, 4)), v.subarray(0, 4), 'short path');
    assert.deepEqual(group.sumOf(v.subarray(4, 8)), v.subarray(4, 8), 'short path, other bank');
    assert.throws(() => group.sumOf(new Float32Array(9)), RangeError);
  });

  it('gathers every row in rank order (one replica: its own row)', () => {
    const group = new AllReduce(createAllReduceBuffers(1, 8, 5));
    const row = Float32Array.from([1, -2, 3, 0.5, 9]);
    assert.deepEqual(group.gather(5, (r) => r.set(row)), row);
    assert.deepEqual(group.gather(3, (r) => r.set(row.subarray(2))), row.subarray(2), 'other bank');
    assert.throws(() => group.gather(6, () => {}), RangeError);
  });

  it('global BatchNorm moments from one exchange equal tf.moments, values and gradients', () => {
    const group = new AllReduce(createAllReduceBuffers(1, 64, 2 * 6 + 1));
    const moments = globalMomentsOp(group);
    const x = tf.randomNormal([3, 4, 5, 6], 2, 3, 'float32', 8);
    const w = tf.randomNormal([2, 6], 0, 1, 'float32', 9);
    const viaExchange = (t: tf.Tensor) => {
      const sum = tf.sum(t, [0, 1, 2]);
      const centred = tf.sum(tf.square(tf.sub(t, tf.div(sum, 60))), [0, 1, 2]);
      return moments(sum, centred, 60, 60);
    };
    const viaMoments = (t: tf.Tensor) => {
      const { mean, variance } = tf.moments(t, [0, 1, 2]);
      return tf.stack([mean, variance]);
    };
    const close = (a: tf.Tensor, b: tf.Tensor, what: string) => {
      const [p, q] = [a.dataSync(), b.dataSync()];
      let worst = 0;
      for (let k = 0; k < p.length; k++) worst = Math.max(worst, Math.abs(p[k] - q[k]) / Math.max(1e-3, Math.abs(q[k])));
      assert.ok(worst <= 1e-4, `${what}: relative difference ${worst}`);
    };
    tf.tidy(() => {
      close(viaExchange(x), viaMoments(x), 'mean and variance');
      close(tf.grad((u: tf.Tensor) => tf.sum(tf.mul(viaExchange(u), w)))(x), tf.grad((u: tf.Tensor) => tf.sum(tf.mul(viaMoments(u), w)))(x), 'gradient');
      assert.throws(() => moments(tf.zeros([6]), tf.zeros([6]), 60, 120), /global batch 120/);
    });
    tf.dispose([x, w]);
  });

  it("a slice's sum and centred sum of squares run one wasm kernel each way (C a multiple of 4) and agree with tfjs ops, values and gradients", async () => {
    for (const shape of [[2, 5, 3, 8], [1, 7, 6, 12], [3, 4, 4, 6]] as [number, number, number, number][]) {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: size }, (_, k) => Math.sin(k * 1.3) * 3 + (k % shape[3]) * 0.5);
      const w = Float32Array.from({ length: 2 * shape[3] }, (_, k) => Math.cos(k));
      const run = () => {
        const x = tf.tensor4d(data, shape);
        const { sum, centred } = sliceMoments(x);
        const grad = tf.grad((v: tf.Tensor) => {
          const m = sliceMoments(v as tf.Tensor4D);
          return tf.sum(tf.mul(tf.concat([m.sum, m.centred]), tf.tensor(w)));
        })(x);
        return [sum.dataSync().slice(), centred.dataSync().slice(), grad.dataSync().slice()] as Float32Array[];
      };
      await tf.setBackend('wasm');
      const profiled = await tf.profile(() => tf.tidy(() => run() && tf.scalar(0)));
      (profiled.result as tf.Tensor).dispose();
      const kernels = profiled.kernelNames;
      const fused = shape[3] % 4 === 0;
      assert.equal(kernels.includes('EdgesegChannelMoments') && kernels.includes('EdgesegChannelMomentsGrad'), fused, `${shape}: ${kernels.join(', ')}`);
      const wasm = tf.tidy(run);
      await tf.setBackend('cpu');
      const cpu = tf.tidy(run);
      for (let k = 0; k < 3; k++) {
        const err = Math.max(...Array.from(wasm[k], (v, i) => Math.abs(v - cpu[k][i]) / Math.max(1, Math.abs(cpu[k][i]))));
        assert.ok(err < 1e-5, `${shape}: ${['sum', 'centred sum of squares', 'gradient'][k]} differs by ${err}`);
      }
    }
    await tf.setBackend('wasm');
  });

  it("one thread on wasm takes BatchNorm statistics from the one-pass kernels and trains like tfjs-layers' own BatchNorm: same losses and moving statistics", async () => {
    await tf.setBackend('wasm');
    const { images, masks } = tinyBatch(N);
    const train = async (fast: boolean) => {
      const { model } = buildModel('unet-small', { baseFilters: 4, depth: 2 });
      seedWeights(model, 3);
      const optimizer = tf.train.adam(1e-3);
      const xs = tf.tensor4d(images, [N, 128, 128, 3]);
      const ys = tf.tensor3d(masks, [N, 128, 128], 'int32');
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      // The loop's own runner on wasm (patched) against the same step by tfjs-layers' BatchNorm.
      const runner = fast ? inProcessSteps(model, optimizer) : null;
      const losses: number[] = [];
      const kernels = new Set<string>();
      for (let i = 0; i < STEPS; i++) {
        if (runner) {
          const p = await tf.profile(async () => losses.push(await runner.step({ images, masks, size: N, ids: [] }, 1e-3)));
          p.kernelNames.forEach((k) => kernels.add(k));
        } else {
          const loss = optimizer.minimize(() => sparseCrossEntropy(model.apply(xs, { training: true }) as tf.Tensor4D, ys), true, vars)!;
          losses.push((await loss.data())[0]);
          loss.dispose();
        }
      }
      const moving = model.weights.filter((w) => /moving_(mean|variance)/.test(w.originalName)).map((w) => w.read().dataSync().slice() as Float32Array);
      tf.dispose([xs, ys]);
      optimizer.dispose();
      model.dispose();
      return { losses, moving, kernels };
    };
    const before = tf.memory().numTensors;
    const own = await train(false);
    const fast = await train(true);
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
    assert.ok(fast.kernels.has('EdgesegChannelMoments') && fast.kernels.has('EdgesegChannelMomentsGrad'), `one-pass statistics ran: ${[...fast.kernels].join(', ')}`);
    own.losses.forEach((l, i) => assert.ok(Math.abs(fast.losses[i] - l) <= 1e-5 * l, `step ${i + 1}: ${fast.losses[i]} vs ${l}`));
    own.moving.forEach((a, k) => {
      const worst = Math.max(...Array.from(a, (v, i) => Math.abs(v - fast.moving[k][i]) / Math.max(1, Math.abs(v))));
      assert.ok(worst <= 1e-5, `moving statistic ${k}: ${worst}`);
    });
  });

  it('hands out each rank once and makes a barrier throw once the group is aborted', () => {
    const buffers = createAllReduceBuffers(2, 4);
    const zero = new AllReduce(buffers);
    const one = new AllReduce(buffers);
    assert.deepEqual([zero.rank, one.rank], [0, 1]);
    assert.throws(() => new AllReduce(buffers), ReplicaAbortedError, 'a third replica in a group of two');
    abortAllReduce(buffers);
    assert.throws(() => zero.barrier(), ReplicaAbortedError);
  });
});
