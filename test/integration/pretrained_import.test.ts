/**
 * ImageNet MobileNetV2 weights imported from the quantized TFLite file in pure TypeScript.
 *
 * The check that catches a mismapped weight is the network's own job: the imported MobileNetV2
 * with its classifier head must recognise cats and dogs in real photos (the repository's Oxford
 * pets sample) and rank classes as the int8 model itself does in Google's interpreter (LiteRT,
 * recorded in fixtures/mobilenet_v2_int8_reference.json by scripts/imagenet_int8_reference.py).
 * A transposed kernel, a swapped layer or a lost bias moves the logits far beyond these bounds.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { Builder } from 'flatbuffers';
import { INPUT_SIZE } from '../../core/index.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { tf, tfl } from '../../core/node/tfjs.js';
import { buildModel } from '../../trainer/models/index.js';
import { isEncoderLayer } from '../../trainer/models/mobilenetv2_encoder.js';
import { PretrainedWeightsError } from '../../core/errors.js';
import { classifierInput, imagenetClassifier, topK } from '../../trainer/pretrained/imagenet_classifier.js';
import { loadMobilenetV2Weights } from '../../trainer/pretrained/load_mobilenetv2.js';
import { readMobilenetV2Tflite, type MobilenetV2Weights } from '../../trainer/pretrained/mobilenetv2_tflite.js';

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const TFLITE = repo('data/mobilenet-v2-imagenet/mobilenet_v2_1.0_224_quant.tflite');
const SAMPLE = repo('data/oxford-pets-sample');
const labels = readFileSync(repo('data/mobilenet-v2-imagenet/imagenet_labels.txt'), 'utf8').split('\n');
const reference = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/mobilenet_v2_int8_reference.json', import.meta.url)), 'utf8')) as {
  photos: { photo: string; top5: number[]; logits: number[] }[];
};

/** ImageNet classes (1000-class numbering) + 1: this file's index 0 is background. */
const isCat = (c: number) => c >= 281 + 1 && c <= 285 + 1;
const isDog = (c: number) => c >= 151 + 1 && c <= 268 + 1;

/** The photos: the first five Abyssinian and Bengal (cats) and the first ten american_bulldog (dogs) of the sample's test split. */
function photos(): { cats: string[]; dogs: string[] } {
  const names = readFileSync(`${SAMPLE}/annotations/test.txt`, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.split(' ')[0]);
  const breed = (b: string, n: number) => names.filter((x) => x.slice(0, x.lastIndexOf('_')) === b).slice(0, n);
  return { cats: [...breed('Abyssinian', 5), ...breed('Bengal', 5)], dogs: breed('american_bulldog', 10) };
}

const readWeights = (): MobilenetV2Weights => readMobilenetV2Tflite(new Uint8Array(readFileSync(TFLITE)), 'mobilenet_v2_1.0_224_quant.tflite');

describe('pretrained MobileNetV2 import from TFLite', () => {
  before(activateWasm);

  it('the imported ImageNet classifier ranks a cat class first on cat photos and a dog class on dog photos, as the int8 model does', async () => {
    const weights = readWeights();
    assert.equal(weights.normalization, 'symmetric', 'the input quantization (scale 1/128, zero point 128) means [-1, 1]');
    assert.equal(weights.classes, 1001);
    assert.equal(weights.layers.length, 53, 'stem, 17 blocks (52 convolutions with the stem), head, classifier');
    const { model, loaded } = imagenetClassifier(weights);
    const tensorsBefore = tf.memory().numTensors;
    try {
      assert.equal(loaded.layers.length, 53);
      assert.equal(loaded.batchNorms.length, 52, 'every convolution but the classifier is followed by its BatchNorm');
      assert.deepEqual(loaded.biasDropped, []);
      const { cats, dogs } = photos();
      assert.equal(cats.length + dogs.length, 20);
      const results = new Map<string, { top: number[]; logits: Float32Array }>();
      for (const name of [...cats, ...dogs]) {
        const image = await decodeImage(readFileSync(`${SAMPLE}/images/${name}.jpg`));
        const logits = tf.tidy(() => model.predict(tf.expandDims(classifierInput(image, weights.inputSize, weights.normalization))) as tf.Tensor2D);
        const [top] = topK(logits, 5);
        results.set(name, { top, logits: logits.dataSync() as Float32Array });
        logits.dispose();
        console.log(`${name}: ${labels[top[0]]} (${top[0]})`);
      }
      const catsRight = cats.filter((n) => isCat(results.get(n)!.top[0])).length;
      const dogsRight = dogs.filter((n) => isDog(results.get(n)!.top[0])).length;
      console.log(`cat class first on ${catsRight}/10 cat photos, dog class first on ${dogsRight}/10 dog photos`);
      assert.ok(catsRight >= 8, `a cat class ranks first on only ${catsRight} of 10 cat photos`);
      assert.ok(dogsRight >= 8, `a dog class ranks first on only ${dogsRight} of 10 dog photos`);

      // Against the int8 model in LiteRT (measured when written: top-1 agrees on 19/20 photos,
      // 96 of the 100 top-5 classes shared, logits within 1.1 of int8's).
      let top1 = 0;
      let overlap = 0;
      for (const ref of reference.photos) {
        const ours = results.get(ref.photo);
        assert.ok(ours, `the reference photo ${ref.photo} is one of the test's`);
        if (ours.top[0] === ref.top5[0]) top1++;
        overlap += ours.top.filter((c) => ref.top5.includes(c)).length;
        ref.top5.forEach((c, k) => {
          const diff = Math.abs(ours.logits[c] - ref.logits[k]);
          assert.ok(diff < 1.5, `${ref.photo}: logit of class ${c} is ${ours.logits[c].toFixed(3)}, the int8 model's ${ref.logits[k]}`);
        });
      }
      console.log(`vs int8 LiteRT: top-1 agrees on ${top1}/20, top-5 overlap ${overlap}/100`);
      assert.ok(top1 >= 17, `top-1 agrees with the int8 model on ${top1} of 20 photos`);
      assert.ok(overlap >= 85, `top-5 shares ${overlap} of 100 classes with the int8 model`);
      assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaked');
    } finally {
      model.dispose();
    }
  });

  it('the U-Net encoder takes the same weights: its skips equal those of the classifier encoder, with and without BatchNorm calibration', () => {
    const weights = readWeights();
    // The classifier built at the U-Net's input side, so both encoders see the same image.
    const classifier = imagenetClassifier({ ...weights, inputSize: INPUT_SIZE }).model;
    const unet = buildModel('unet-mobilenetv2').model;
    const image = tf.randomUniform([4, INPUT_SIZE, INPUT_SIZE, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
    try {
      const probe = (m: tfl.LayersModel, layer: string) => tf.tidy(() => tfl.model({ inputs: m.inputs, outputs: m.getLayer(layer).output as tfl.SymbolicTensor }).predict(image) as tf.Tensor);
      const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
      const identity = loadMobilenetV2Weights(unet, weights, { select: (l) => isEncoderLayer(l.name) });
      assert.equal(identity.layers.length, 51, 'the stem and 17 blocks: 1 + 2 + 16 × 3 convolutions');
      assert.deepEqual(identity.biasDropped, ['block_16_project'], 'the tapped projection has no BatchNorm and no bias');
      for (const skip of ['block_1_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu']) {
        const [a, b] = [probe(classifier, skip), probe(unet, skip)];
        assert.ok(maxDiff(a, b) < 1e-4, `${skip}: identity import differs from the classifier's encoder`);
        tf.dispose([a, b]);
      }
      const calibrated = loadMobilenetV2Weights(unet, weights, { select: (l) => isEncoderLayer(l.name), calibration: image });
      assert.equal(calibrated.calibrationImages, 4);
      const gamma = unet.getLayer('block_3_expand_BN').getWeights()[0];
      assert.ok(tf.tidy(() => tf.min(tf.abs(tf.sub(gamma, 1))).dataSync()[0]) > 0, 'calibration moves gamma off the identity form');
      const [a, b] = [probe(classifier, 'block_13_expand_relu'), probe(unet, 'block_13_expand_relu')];
      const scale = tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0]);
      assert.ok(maxDiff(a, b) < 1e-3 * scale, 'calibrated BatchNorm computes the same function in inference mode');
      tf.dispose([a, b]);
    } finally {
      tf.dispose(image);
      classifier.dispose();
      unet.dispose();
    }
  });

  it('refuses a file that is not a TFLite model, a graph that is not MobileNetV2, and a layer of another shape, by name', () => {
    assert.throws(() => readMobilenetV2Tflite(new Uint8Array(readFileSync(repo('data/mobilenet-v2-imagenet/LICENSE'))), 'LICENSE'), (e: unknown) => e instanceof PretrainedWeightsError && e.code === 'PRETRAINED_NOT_TFLITE' && /LICENSE/.test(e.message));
    const cut = new Uint8Array(readFileSync(TFLITE)).slice(0, 4096);
    assert.throws(() => readMobilenetV2Tflite(cut, 'cut.tflite'), (e: unknown) => e instanceof PretrainedWeightsError && e.code === 'PRETRAINED_NOT_TFLITE');

    // A valid TFLite model with one input tensor and no operators: not a MobileNetV2.
    const b = new Builder(256);
    const name = b.createString('input');
    b.startVector(4, 4, 4);
    for (const d of [3, 224, 224, 1].reverse()) b.addInt32(d);
    const dims = b.endVector();
    b.startObject(5);
    b.addFieldOffset(0, dims, 0);
    b.addFieldInt8(1, 3, 0);
    b.addFieldOffset(3, name, 0);
    const tensor = b.endObject();
    const vec = (items: number[]) => {
      b.startVector(4, items.length, 4);
      for (const x of [...items].reverse()) b.addOffset(x);
      return b.endVector();
    };
    const ints = (items: number[]) => {
      b.startVector(4, items.length, 4);
      for (const x of [...items].reverse()) b.addInt32(x);
      return b.endVector();
    };
    const tensors = vec([tensor]);
    const inputs = ints([0]);
    const outputs = ints([0]);
    b.startObject(5);
    b.addFieldOffset(0, tensors, 0);
    b.addFieldOffset(1, inputs, 0);
    b.addFieldOffset(2, outputs, 0);
    const subgraph = b.endObject();
    const subgraphs = vec([subgraph]);
    b.startObject(5);
    b.addFieldInt32(0, 3, 0);
    b.addFieldOffset(2, subgraphs, 0);
    b.finish(b.endObject(), 'TFL3');
    assert.throws(() => readMobilenetV2Tflite(b.asUint8Array(), 'empty.tflite'), (e: unknown) => e instanceof PretrainedWeightsError && e.code === 'PRETRAINED_TENSOR_MISSING' && /stem/.test(e.message));

    const input = tfl.input({ shape: [224, 224, 3] });
    const narrow = tfl.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }).apply(input) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: narrow });
    try {
      assert.throws(
        () => loadMobilenetV2Weights(model, readWeights(), { select: () => true }),
        (e: unknown) => e instanceof PretrainedWeightsError && e.code === 'PRETRAINED_SHAPE_MISMATCH' && /layer Conv1: kernel is \[3,3,3,16\], the imported kernel \[3,3,3,32\]/.test(e.message),
      );
    } finally {
      model.dispose();
    }
  });
});
