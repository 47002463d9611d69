import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { INPUT_NAME, OUTPUT_NAME, syntheticSample, ConfusionMatrix } from '../../core/index.js';
import { imageToInputData, maskToTarget } from '../../core/preprocess.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { countFlops } from '../../trainer/models/flops.js';
import { buildModel } from '../../trainer/models/index.js';
import { seedWeights } from '../../trainer/models/seeded_weights.js';
import { MOBILENETV2_SKIPS } from '../../trainer/models/unet_mobilenetv2.js';
import { sparseCrossEntropy } from '../../datasets/cross_entropy.js';
import { tf } from '../../core/node/tfjs.js';

describe('models', () => {
  before(async () => {
    await activateWasm();
  });

  for (const name of ['unet-small', 'unet-mobilenetv2']) {
    it(`${name} maps [1, 128, 128, 3] to [1, 128, 128, 3] logits with the contract's tensor names`, () => {
      const { model } = buildModel(name);
      const y = tf.tidy(() => model.predict(tf.zeros([1, 128, 128, 3])) as tf.Tensor);
      assert.deepEqual(y.shape, [1, 128, 128, 3]);
      assert.deepEqual(model.inputNames, [INPUT_NAME]);
      assert.deepEqual(model.outputNames, [OUTPUT_NAME]);
      y.dispose();
      model.dispose();
    });
  }

  it('unet-small (base 16, depth 4) is the 0.93 GFLOP model of the benchmarks', () => {
    const { model } = buildModel('unet-small');
    assert.ok(Math.abs(countFlops(model) / 1e9 - 0.934) < 0.01);
    model.dispose();
  });

  it('unet-mobilenetv2 taps the book\'s MobileNetV2 skips at 64², 32², 16², 8², 4²', () => {
    const { model } = buildModel('unet-mobilenetv2');
    const sides = MOBILENETV2_SKIPS.map((n) => model.getLayer(n).outputShape[1]);
    assert.deepEqual(sides, [64, 32, 16, 8, 4]);
    model.dispose();
  });

  it('rejects unknown architectures and options with the option named', () => {
    assert.throws(() => buildModel('resnet'), /unknown model 'resnet'/);
    assert.throws(() => buildModel('unet-small', { width: 3 }), /no option 'width'/);
    assert.throws(() => buildModel('unet-small', { depth: 9 }), /depth must be/);
  });

  it('seeded initialisation is reproducible', () => {
    const a = buildModel('unet-small', { baseFilters: 4, depth: 2 }).model;
    const b = buildModel('unet-small', { baseFilters: 4, depth: 2 }).model;
    seedWeights(a, 7);
    seedWeights(b, 7);
    const wa = a.getWeights().map((t) => Array.from(t.dataSync()));
    const wb = b.getWeights().map((t) => Array.from(t.dataSync()));
    assert.deepEqual(wa, wb);
    a.dispose();
    b.dispose();
  });

  it('a training step changes the weights, and overfitting one batch reaches ≥ 95% pixel accuracy', async () => {
    const { model } = buildModel('unet-small', { baseFilters: 8, depth: 3 });
    seedWeights(model, 1);
    const n = 4;
    const samples = Array.from({ length: n }, (_, i) => syntheticSample(i, { size: 128, seed: 11 }));
    const images = new Float32Array(n * 128 * 128 * 3);
    const masks = new Int32Array(n * 128 * 128);
    samples.forEach((s, i) => {
      images.set(imageToInputData(s.image), i * 128 * 128 * 3);
      masks.set(maskToTarget(s.mask), i * 128 * 128);
    });
    const xs = tf.tensor4d(images, [n, 128, 128, 3]);
    const ys = tf.tensor3d(masks, [n, 128, 128], 'int32');
    const optimizer = tf.train.adam(3e-3);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const before = vars.map((v) => v.dataSync().slice());
    const step = () => {
      const loss = optimizer.minimize(() => sparseCrossEntropy(model.apply(xs, { training: true }) as tf.Tensor4D, ys), true, vars)!;
      const v = loss.dataSync()[0];
      loss.dispose();
      return v;
    };
    const first = step();
    const changed = vars.filter((v, i) => v.dataSync().some((x, k) => x !== before[i][k])).length;
    assert.equal(changed, vars.length, 'every trainable weight moved');
    const tensors = tf.memory().numTensors;
    let loss = first;
    for (let i = 0; i < 150 && loss > 0.05; i++) loss = step();
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks across steps');
    const predicted = tf.tidy(() => tf.argMax(model.predict(xs) as tf.Tensor, -1));
    const m = new ConfusionMatrix().accumulate(masks, await predicted.data()).metrics();
    assert.ok(loss < first, `loss fell (${first.toFixed(3)} → ${loss.toFixed(3)})`);
    assert.ok(m.pixelAccuracy >= 0.95, `pixel accuracy ${m.pixelAccuracy.toFixed(3)} after overfitting`);
    tf.dispose([xs, ys, predicted]);
    optimizer.dispose();
    model.dispose();
  });
});
