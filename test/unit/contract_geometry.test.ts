import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASS_BACKGROUND, CLASS_COLORS, ConfusionMatrix, ContractError, decodeMaskPng, decodeRle, EdgesegError, encodeMaskPng, encodeRle, geometryOf, MaskCodecError, MODEL_CONTRACT, parseDriftReference, parseSegmentation, SEGMENTATION_SCHEMA, type ModelContract } from '../../core/index.js';
import { assertContract } from '../../core/card.js';
import { backgroundClassOf, classColor, classCountOf, classPalette, contractFor, DEFAULT_GEOMETRY, inputSizeOf } from '../../core/contract.js';
import { buildDriftReference, driftFeatureNames, DriftMonitor, type FrameDriftStats } from '../../core/drift.js';
import { segmentBatch, timeRuns, type ModelRunner } from '../../core/engine.js';
import { OrtSession, type OrtApi } from '../../core/ort_runner.js';
import { blendOverlay, maskToRgba } from '../../core/overlay.js';
import { maxEntropy, summarizeLogits, summarizeLogitsData } from '../../core/postprocess.js';
import { imageToInputData, preprocessPixels } from '../../core/preprocess.js';
import { tf } from '../../core/node/tfjs.js';

/** An imported ONNX model's contract: 64 high, 96 wide, `classes` classes, in `layout`. */
function foreign(layout: 'NHWC' | 'NCHW', classes = ['a', 'b', 'c', 'd', 'e']): ModelContract {
  const shape = (c: number) => (layout === 'NCHW' ? [1, c, 64, 96] : [1, 64, 96, c]);
  return {
    input: { name: 'pixel_values', shape: shape(3), dtype: 'float32', range: [0, 1], layout, normalization: 'unit' },
    output: { name: 'scores', shape: shape(classes.length), dtype: 'float32', kind: 'logits', layout },
    classes,
  };
}

const rejectsContract = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (e: unknown) => e instanceof ContractError && e.code === 'CONTRACT_MISMATCH' && pattern.test(e.message));

describe('the contract accessors (core/contract.ts)', () => {
  it('read the input size per layout and the class count from a card or its contract', () => {
    assert.deepEqual(inputSizeOf(foreign('NHWC')), { height: 64, width: 96 });
    assert.deepEqual(inputSizeOf({ contract: foreign('NCHW') }), { height: 64, width: 96 });
    assert.equal(classCountOf(foreign('NCHW')), 5);
    assert.deepEqual(geometryOf(foreign('NCHW')), { height: 64, width: 96, classes: 5 });
    assert.deepEqual(geometryOf(MODEL_CONTRACT), { ...DEFAULT_GEOMETRY });
    assert.deepEqual(DEFAULT_GEOMETRY, { height: 128, width: 128, classes: 3 });
  });

  it('refuse a contract that leaves its height or width free', () => {
    const free = foreign('NHWC');
    rejectsContract(() => inputSizeOf({ ...free, input: { ...free.input, shape: [null, null, 96, 3] } }), /no fixed height and width/);
  });

  it('name the background class only when the card names one', () => {
    assert.equal(backgroundClassOf(MODEL_CONTRACT), CLASS_BACKGROUND);
    assert.equal(backgroundClassOf(foreign('NHWC')), null);
    assert.equal(backgroundClassOf(foreign('NHWC', ['Background', 'cat', 'dog'])), 0);
  });

  it('give edgeseg\'s colours to the first three classes and fixed, distinct colours after', () => {
    assert.deepEqual(classPalette(3), CLASS_COLORS);
    const palette = classPalette(256);
    assert.deepEqual(palette, classPalette(256), 'deterministic');
    assert.deepEqual(classColor(20), palette[20]);
    const key = (c: readonly number[]) => c.join(',');
    assert.equal(new Set(palette.slice(0, 21).map(key)).size, 21, 'the 21 PASCAL classes get 21 colours');
    for (const c of palette) assert.ok(c.every((v) => Number.isInteger(v) && v >= 0 && v <= 255), `${c}`);
    rejectsContract(() => classColor(256), /not one of 0–255/);
  });
});

describe('card validation of a model\'s own size and classes (core/card.ts)', () => {
  it('accepts edgeseg\'s own contract and an imported model of another size and class count', () => {
    assertContract(contractFor('symmetric'));
    assertContract(foreign('NCHW'), 'x', { foreign: true });
    assertContract({ ...foreign('NHWC', Array.from({ length: 21 }, (_, i) => `c${i}`)) }, 'deeplab', { foreign: true });
  });

  it('refuses a card whose classes and output shape disagree, and logits of another size than the input', () => {
    const c = foreign('NHWC');
    rejectsContract(() => assertContract({ ...c, classes: ['a', 'b', 'c'] }, 'card.json', { foreign: true }), /classes \[a,b,c\] \(3\) disagree with its output shape \[1,64,96,5\]/);
    rejectsContract(() => assertContract({ ...c, output: { ...c.output, shape: [1, 32, 48, 5] } }, 'card.json', { foreign: true }), /is not 64×96 logits like its input/);
    rejectsContract(() => assertContract({ ...c, input: { ...c.input, shape: [1, 64, 96, 1] } }, 'card.json', { foreign: true }), /3-channel images/);
    rejectsContract(() => assertContract({ ...c, classes: ['only'], output: { ...c.output, shape: [1, 64, 96, 1] } }, 'card.json', { foreign: true }), /2–256/);
    rejectsContract(() => assertContract(foreign('NCHW'), 'card.json'), /only an imported ONNX model/);
  });
});

describe('the serving path sized by the contract', () => {
  it('preprocesses to the model\'s height × width with the one bilinear resize', async () => {
    await tf.setBackend('cpu');
    const img = { data: Uint8Array.from({ length: 50 * 70 * 3 }, (_, i) => (i * 37) % 256), width: 70, height: 50, channels: 3 as const };
    const size = inputSizeOf(foreign('NHWC'));
    const x = imageToInputData(img, 'unit', size);
    assert.equal(x.length, 64 * 96 * 3);
    const want = tf.tidy(() => tf.mul(tf.image.resizeBilinear(tf.tensor3d(img.data, [50, 70, 3], 'float32'), [64, 96], false, true), 1 / 255));
    assert.deepEqual(x, want.dataSync());
    want.dispose();
    const t = tf.tidy(() => preprocessPixels(tf.zeros([10, 10, 4], 'int32') as tf.Tensor3D, 'symmetric', { height: 20, width: 30 }));
    assert.deepEqual(t.shape, [20, 30, 3]);
    t.dispose();
    rejectsContract(() => imageToInputData(img, 'unit', { height: 0, width: 96 }), /model input size/);
  });

  it('summarizes logits of N classes at the model\'s size, in a tensor or in memory alike', async () => {
    await tf.setBackend('cpu');
    const geometry = { height: 6, width: 10, classes: 5 };
    const logits = tf.randomNormal([2, 6, 10, 5], 0, 3, 'float32', 3) as tf.Tensor4D;
    const data = Float32Array.from(logits.dataSync());
    const [want, got] = [await summarizeLogits(logits), summarizeLogitsData(data, 2, geometry)];
    logits.dispose();
    for (let f = 0; f < 2; f++) {
      assert.equal(got[f].mask.length, 60);
      assert.deepEqual(got[f].mask, want[f].mask);
      assert.equal(got[f].classCoverage.length, 5);
      assert.deepEqual(got[f].classCoverage, want[f].classCoverage);
      assert.ok(Math.abs(got[f].classCoverage.reduce((a, b) => a + b, 0) - 1) < 1e-9);
      assert.ok(got[f].mask.some((c) => c >= 3), 'classes beyond edgeseg\'s three occur');
      assert.ok(got[f].entropy > 0 && got[f].entropy <= maxEntropy(5) + 1e-9 && Math.abs(got[f].entropy - want[f].entropy) < 1e-5);
    }
    assert.equal(maxEntropy(21), Math.log(21));
    rejectsContract(() => summarizeLogitsData(data, 2, { ...geometry, classes: 4 }), /not 2×6×10×4/);
  });

  it('segmentBatch takes the mask size from the batch and the class count from the card, and refuses logits that disagree', async () => {
    await tf.setBackend('cpu');
    const values = new Float32Array(1 * 4 * 8 * 5);
    for (let p = 0; p < 32; p++) values[p * 5 + (p % 5)] = 4;
    const ort: ModelRunner = { engine: 'ort', provider: 'cpu', predict: async () => values, dispose: async () => {} };
    const batch = tf.zeros([1, 4, 8, 3]) as tf.Tensor4D;
    const [seg] = await segmentBatch(ort, batch, 5);
    assert.deepEqual([...seg.mask.subarray(0, 6)], [0, 1, 2, 3, 4, 0]);
    assert.deepEqual(seg.classCoverage.length, 5);
    await assert.rejects(segmentBatch(ort, batch, 3), (e: unknown) => e instanceof ContractError);
    const tfjs: ModelRunner = { engine: 'tfjs', provider: null, predict: async () => tf.zeros([1, 4, 8, 5]) as tf.Tensor4D, dispose: async () => {} };
    const before = tf.memory().numTensors;
    await assert.rejects(segmentBatch(tfjs, batch, 3), (e: unknown) => e instanceof ContractError && /\[1,4,8,5\]/.test(e.message));
    assert.equal((await segmentBatch(tfjs, batch, 5))[0].classCoverage.length, 5);
    assert.equal(tf.memory().numTensors, before, 'logits disposed');
    batch.dispose();
  });

  it('warms a runner up on a blank frame of the model\'s size', async () => {
    const shapes: number[][] = [];
    const runner: ModelRunner = { engine: 'ort', provider: 'cpu', predict: async (x) => (shapes.push(x.shape), new Float32Array(0)), dispose: async () => {} };
    assert.equal((await timeRuns(runner, 2, { height: 64, width: 96 })).length, 2);
    await timeRuns(runner, 1);
    assert.deepEqual(shapes, [[1, 64, 96, 3], [1, 64, 96, 3], [1, 128, 128, 3]]);
  });

  it('feeds ONNX Runtime N×H×W×3 at the contract\'s size in its declared layout and gives logits back NHWC', async () => {
    const feeds: { name: string; dims: readonly number[] }[] = [];
    const fake: OrtApi = {
      Tensor: class {
        constructor(
          readonly type: string,
          readonly data: Float32Array,
          readonly dims: readonly number[],
        ) {}
      } as unknown as OrtApi['Tensor'],
      InferenceSession: {
        create: async () =>
          ({
            run: async (feed: Record<string, { data: Float32Array; dims: number[] }>) => {
              const [name, t] = Object.entries(feed)[0];
              feeds.push({ name, dims: t.dims });
              const n = t.dims[0];
              // NCHW logits [n, 5, 64, 96]: channel k holds k everywhere.
              const out = new Float32Array(n * 5 * 64 * 96).map((_, i) => Math.floor(i / (64 * 96)) % 5);
              return { scores: { dims: [n, 5, 64, 96], getData: async () => out, dispose: () => {} } };
            },
            release: async () => {},
          }) as never,
      },
    };
    const session = await OrtSession.create(fake, new Uint8Array(0), { contract: foreign('NCHW') });
    const out = (await session.run(new Float32Array(2 * 64 * 96 * 3), 2)).scores as Float32Array;
    // The batch is fixed at 1: two frames run one by one.
    assert.deepEqual(feeds, [{ name: 'pixel_values', dims: [1, 3, 64, 96] }, { name: 'pixel_values', dims: [1, 3, 64, 96] }]);
    assert.deepEqual([...out.subarray(0, 5)], [0, 1, 2, 3, 4]);
    await assert.rejects(session.run(new Float32Array(128 * 128 * 3), 1), (e: unknown) => e instanceof ContractError && /not 1 frame\(s\) of 64×96×3/.test(e.message));
  });

  it('counts a confusion of N classes', () => {
    const m = new ConfusionMatrix(5).accumulate([0, 1, 2, 3, 4, 4], [0, 1, 2, 3, 4, 3]).metrics();
    assert.equal(m.perClassIou.length, 5);
    assert.equal(m.perClassIou[4], 0.5);
    assert.ok(Number.isNaN(m.foregroundIou), 'pet IoU is defined for edgeseg\'s classes only');
    assert.throws(() => new ConfusionMatrix(5).accumulate([5], [0]), ContractError);
    assert.throws(() => new ConfusionMatrix(0), ContractError);
  });

  it('decodes masks of class ids below the model\'s class count (at most 255)', () => {
    const mask = { data: Uint8Array.from([0, 1, 2, 3, 4, 4]), width: 3, height: 2 };
    assert.deepEqual(decodeMaskPng(encodeMaskPng(mask), {}, 5), mask);
    assert.deepEqual(decodeRle(encodeRle(mask), 5), mask);
    const refused = (fn: () => unknown) => assert.throws(fn, (e: unknown) => e instanceof MaskCodecError && /class/.test(e.message));
    refused(() => decodeMaskPng(encodeMaskPng(mask), {}, 4));
    refused(() => decodeRle(encodeRle(mask), 4));
    refused(() => decodeMaskPng(encodeMaskPng(mask)));
    const top = { data: Uint8Array.from([255, 0]), width: 2, height: 1 };
    assert.deepEqual(decodeMaskPng(encodeMaskPng(top), {}, 256), top);
    assert.throws(() => decodeRle(encodeRle(mask), 257), ContractError);
  });

  it('checks a segmentation record\'s coverage against the model\'s class count', () => {
    const record = (classCoverage: number[]) =>
      JSON.stringify({ schema: SEGMENTATION_SCHEMA, frameId: 'f', sensorId: 's', modelVersion: 'm@1', width: 96, height: 64, maskFormat: 'png', mask: '', classCoverage, capturedAt: 'x', processedAt: 'y' });
    const five = [0.2, 0.2, 0.2, 0.2, 0.2];
    assert.deepEqual(parseSegmentation(record(five), 5).classCoverage, five);
    assert.equal(parseSegmentation(record(Array(21).fill(1 / 21))).classCoverage.length, 21);
    rejectsContract(() => parseSegmentation(record(five), 3), /classCoverage: has 5 entries, the model has 3 classes/);
    rejectsContract(() => parseSegmentation(record([])), /classCoverage/);
  });

  it('measures drift on one coverage feature per class of the model', () => {
    const frame = (i: number, classes: number): FrameDriftStats => ({
      channelMeans: [0.3 + (i % 10) / 100, 0.4, 0.5],
      brightness: 0.4 + (i % 7) / 100,
      classCoverage: Array.from({ length: classes }, (_, c) => (c === i % classes ? 0.6 : 0.4 / (classes - 1))),
      meanConfidence: 0.8 + (i % 5) / 100,
    });
    const reference = buildDriftReference(Array.from({ length: 40 }, (_, i) => frame(i, 5)), 'five');
    assert.deepEqual(reference.features.map((f) => f.name), driftFeatureNames(5));
    assert.deepEqual(driftFeatureNames(5).slice(4, 9), ['coverage_0', 'coverage_1', 'coverage_2', 'coverage_3', 'coverage_4']);
    const text = JSON.stringify(reference);
    assert.equal(parseDriftReference(text, 'ref', 5).features.length, 10);
    assert.throws(() => parseDriftReference(text, 'ref', 3), (e: unknown) => e instanceof EdgesegError && e.code === 'CONFIG_INVALID' && /covers 5 classes, the model has 3/.test(e.message));
    const monitor = new DriftMonitor(reference, { window: 10, every: 10 });
    for (let i = 0; i < 9; i++) assert.equal(monitor.add(frame(i, 5)), null);
    assert.equal(Object.keys(monitor.add(frame(9, 5))!.psi).length, 10);
    rejectsContract(() => monitor.add(frame(0, 3)), /3 class coverages, the drift reference \(five\) 5/);
    assert.throws(() => buildDriftReference([...Array.from({ length: 12 }, (_, i) => frame(i, 5)), frame(0, 3)], 'mixed'), /frame 12 has 3 class coverages/);
  });

  it('overlays classes beyond three and leaves a background transparent only when the card names one', () => {
    const pixels = new Uint8Array(4 * 3).fill(100);
    const mask = Uint8Array.from([0, 1, 3, 4]);
    const none = blendOverlay(pixels, mask, 4, 1, 3, { opacity: 1, classes: 5, background: backgroundClassOf(foreign('NHWC')) });
    assert.deepEqual([...none.subarray(3, 6)], [...classColor(1)], 'class 1 painted: the card names no background');
    assert.deepEqual([...none.subarray(9, 12)], [...classColor(4)]);
    const own = blendOverlay(pixels, Uint8Array.from([0, 1, 2, 0]), 4, 1, 3, { opacity: 1 });
    assert.deepEqual([...own.subarray(3, 6)], [100, 100, 100], 'edgeseg\'s background stays transparent');
    const rgba = maskToRgba(mask, { opacity: 1, classes: 5, background: 3 });
    assert.deepEqual([...rgba.subarray(8, 12)], [0, 0, 0, 0], 'the named background is transparent');
    assert.deepEqual([...rgba.subarray(12, 16)], [...classColor(4), 255]);
    rejectsContract(() => blendOverlay(pixels, mask, 4, 1, 3, { classes: 4 }), /mask value 4 at pixel 3 is not a class id \(0–3\)/);
    rejectsContract(() => maskToRgba(mask), /mask value 3/);
  });
});
