import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, INPUT_NAME, OUTPUT_NAME } from '../../core/index.js';
import { loadLayersModel, readModelDir } from '../../core/node/artifact_fs.js';
import { tf, tfl } from '../../core/node/tfjs.js';
import { graphFromArtifacts, graphToArtifacts, rewrite } from '../../converter/fold.js';
import { ImportError } from '../../core/errors.js';
import { importModel } from '../../converter/import/import_model.js';
import { AccuracyGateError, convert, DEFAULT_MAX_MIOU_DROP, isImportedOnnx } from '../../converter/convert.js';
import { quiet } from '../helpers/log.js';
import { decodeModel, encodeModel } from '../../core/node/onnx/proto.js';
import { loadRunner } from '../../runtime-node/pool/load_runner.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { editedKeras, findLayer, fixedInput, IMPORT_FIXTURES, referenceLogits, relativeError } from '../helpers/import_fixtures.js';

const PARITY = 1e-4;
const root = tempDir('import');
let runs = 0;
const importAs = (path: string, extra: Partial<Parameters<typeof importModel>[0]> = {}) => importModel({ path, name: `m${++runs}`, models: root, normalize: 'unit', ...extra });

async function tfjsLogits(dir: string): Promise<Float32Array> {
  const { model } = await loadLayersModel(dir);
  try {
    const y = tf.tidy(() => model.predict(tf.tensor4d(fixedInput(), [1, 128, 128, 3])) as tf.Tensor);
    const data = (await y.data()) as Float32Array;
    y.dispose();
    return data;
  } finally {
    model.dispose();
  }
}

async function rejects(p: Promise<unknown>, code: string, subject?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ImportError, `an ImportError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (subject !== undefined) assert.equal(err.subject, subject, err.message);
    return true;
  });
}

function writeTemp(name: string, bytes: Uint8Array): string {
  const path = join(tempDir('import-src'), name);
  writeFileSync(path, bytes);
  return path;
}

describe('edgeseg import: Keras-family formats match Keras logits', () => {
  after(() => tf.disposeVariables());
  const cases: [source: string, reference: string, format: string, producer: RegExp][] = [
    ['unet_k3.keras', 'unet_k3.keras', 'keras', /^keras 3\./],
    ['unet_k3.h5', 'unet_k3.h5', 'keras-h5', /^keras 3\./],
    ['unet_tfk2.h5', 'unet_tfk2.h5', 'keras-h5', /^keras 2\./],
    ['tfjs_k3', 'unet_k3.h5', 'tfjs-layers', /from keras 3\./],
    ['tfjs_tfk2', 'unet_tfk2.h5', 'tfjs-layers', /from keras 2\./],
  ];
  for (const [source, reference, format, producer] of cases) {
    it(`imports ${source} (${format}) within ${PARITY} × max|logit| of Keras, nested models flattened, contract-named`, async () => {
      const { dir, card } = await importAs(join(IMPORT_FIXTURES, source));
      const err = relativeError(await tfjsLogits(dir), referenceLogits(reference));
      assert.ok(err <= PARITY, `${source}: max |Δ| / max |logit| = ${err.toExponential(2)}`);
      assert.equal(card.source?.format, format);
      assert.match(card.source?.producer ?? '', producer);
      assert.deepEqual(card.source?.flattened, ['down_stack', 'up1', 'up3']);
      assert.equal(card.contract.input.name, INPUT_NAME);
      assert.equal(card.contract.output.name, OUTPUT_NAME);
      assert.equal(card.contract.input.normalization, 'unit');
      assert.equal(card.source?.outputName, 'logits');
      const v = await readModelDir(dir);
      assert.ok(v.checked.includes('SHA256SUMS') || v.checked.includes('card.json'), 'card and model files are covered by SHA256SUMS');
    });
  }

  it('gives the converter every layer of the nested models: all 7 BatchNorms fold, Dropout goes', async () => {
    const { dir } = await importAs(join(IMPORT_FIXTURES, 'unet_k3.keras'));
    const v = await readModelDir(dir);
    const graph = graphFromArtifacts(v.modelJson!, v.weightData);
    const report = rewrite(graph);
    const folded = Object.entries(report).filter(([rule]) => /batch_norm/.test(rule)).flatMap(([, names]) => names);
    assert.equal(folded.length, 7, JSON.stringify(report));
    assert.ok(!graph.layers.some((l) => l.class_name === 'BatchNormalization' || l.class_name === 'Dropout'));
    const foldedModel = await tfl.loadLayersModel(tf.io.fromMemory(graphToArtifacts(graph)));
    const y = tf.tidy(() => foldedModel.predict(tf.tensor4d(fixedInput(), [1, 128, 128, 3])) as tf.Tensor);
    const err = relativeError(await y.data(), referenceLogits('unet_k3.keras'));
    y.dispose();
    foldedModel.dispose();
    assert.ok(err <= PARITY, `folded: ${err.toExponential(2)}`);
  });

  it('exports the imported model to ONNX (SeparableConv2D, ZeroPadding2D, UpSampling2D, Rescaling included) at parity with Keras', async () => {
    const { dir, card } = await importAs(join(IMPORT_FIXTURES, 'unet_k3.keras'));
    await convert({ model: dir, precision: 'fp32', format: 'onnx', models: root, backend: 'wasm', log: quiet, onProgress: () => {} });
    const { runner } = await loadRunner(join(root, card.name, `${card.version}-fp32`), 'ort', { ortThreads: 1, ortProvider: 'cpu' });
    try {
      const input = tf.tensor4d(fixedInput(), [1, 128, 128, 3]);
      const out = (await runner.predict(input)) as Float32Array;
      input.dispose();
      const err = relativeError(out, referenceLogits('unet_k3.keras'));
      assert.ok(err <= PARITY, `ONNX export: ${err.toExponential(2)}`);
    } finally {
      await runner.dispose();
    }
  });

  it("reads the normalization from a Rescaling of raw pixels on the input and rescales it to take edgeseg's unit input", async () => {
    const path = writeTemp('pixels.keras', editedKeras((c) => (findLayer(c, 'to_symmetric').config.scale = 2 / 255)));
    const { dir, card } = await importModel({ path, name: `m${++runs}`, models: root });
    assert.deepEqual([card.contract.input.normalization, card.source?.normalizationFrom], ['unit', 'file']);
    assert.ok(relativeError(await tfjsLogits(dir), referenceLogits('unet_k3.keras')) <= PARITY);
    await assert.rejects(importModel({ path, name: `m${++runs}`, models: root, normalize: 'symmetric' }), /rescales raw pixels itself \(layer down_stack\/to_symmetric\)/);
  });

  it('maps LeakyReLU (Keras 3 negative_slope) and exports it to ONNX with the logits tfjs computes', async () => {
    const path = writeTemp('leaky.keras', editedKeras((c) => {
      const l = findLayer(c, 'b1_dw_relu');
      l.class_name = 'LeakyReLU';
      l.config = { name: 'b1_dw_relu', negative_slope: 0.1 };
    }));
    const { dir, card } = await importAs(path);
    await convert({ model: dir, precision: 'fp32', format: 'onnx', models: root, backend: 'wasm', log: quiet, onProgress: () => {} });
    const { runner } = await loadRunner(join(root, card.name, `${card.version}-fp32`), 'ort', { ortThreads: 1, ortProvider: 'cpu' });
    try {
      const input = tf.tensor4d(fixedInput(), [1, 128, 128, 3]);
      const onnx = (await runner.predict(input)) as Float32Array;
      input.dispose();
      const tfjs = await tfjsLogits(dir);
      assert.ok(relativeError(onnx, tfjs) <= PARITY);
      assert.ok(relativeError(tfjs, referenceLogits('unet_k3.keras')) > PARITY, 'the slope changed the model');
    } finally {
      await runner.dispose();
    }
  });

  it('pins a free height and width to 128 and records it', async () => {
    const path = writeTemp('free.keras', editedKeras((c) => (findLayer(c, 'image').config.batch_shape = [null, null, null, 3])));
    const { dir, card } = await importAs(path);
    assert.deepEqual(card.source?.pinned, ['image:H=128', 'image:W=128']);
    assert.ok(relativeError(await tfjsLogits(dir), referenceLogits('unet_k3.keras')) <= PARITY);
  });
});

describe('edgeseg import: refusals are named and leave nothing behind', () => {
  it('refuses an unknown layer class, naming the layer', async () => {
    const path = writeTemp('avg.keras', editedKeras((c) => (findLayer(c, 'b2_pool').class_name = 'AveragePooling2D')));
    await rejects(importAs(path), 'IMPORT_UNSUPPORTED_LAYER', 'b2_pool');
  });
  it('refuses bilinear upsampling (tfjs samples other pixel centres), naming the layer', async () => {
    const path = writeTemp('bilinear.keras', editedKeras((c) => (findLayer(c, 'up2_upsample').config.interpolation = 'bilinear')));
    await rejects(importAs(path), 'IMPORT_UNSUPPORTED_LAYER', 'up2_upsample');
  });
  it('refuses an input of the wrong rank, naming the tensor', async () => {
    const path = writeTemp('rank.keras', editedKeras((c) => (findLayer(c, 'image').config.batch_shape = [null, 128, 3])));
    await rejects(importAs(path), 'IMPORT_BAD_RANK', 'image');
  });
  it('refuses free channels it cannot pin, naming the tensor', async () => {
    const path = writeTemp('free_c.keras', editedKeras((c) => (findLayer(c, 'image').config.batch_shape = [null, 128, 128, null])));
    await rejects(importAs(path), 'IMPORT_DYNAMIC_SHAPE', 'image');
  });
  it('asks for the normalization the file cannot tell', async () => {
    const name = 'no-norm';
    await rejects(importModel({ path: join(IMPORT_FIXTURES, 'unet_k3.keras'), name, models: root }), 'IMPORT_NORMALIZATION_UNKNOWN');
    assert.deepEqual(existsSync(join(root, name)) ? readdirSync(join(root, name)).filter((v) => !v.startsWith('.')) : [], [], 'no version written');
  });
  it('refuses a tfjs graph model by name instead of misreading it as layers', async () => {
    await rejects(importAs(join(IMPORT_FIXTURES, 'tfjs_graph')), 'IMPORT_UNSUPPORTED_FORMAT');
  });
  it('refuses an ONNX input whose channels are free, naming it', async () => {
    const model = decodeModel(readFileSync(join(IMPORT_FIXTURES, 'unet_nchw.onnx')));
    model.graph.input[0].type.tensorType.shape.dim = [{ dimParam: 'N' }, { dimParam: 'C' }, { dimParam: 'H' }, { dimParam: 'W' }];
    await rejects(importAs(writeTemp('free.onnx', encodeModel(model))), 'IMPORT_DYNAMIC_SHAPE', 'pixel_values');
  });
});

describe('edgeseg import: ONNX models keep their own names and layout and run on ONNX Runtime', () => {
  for (const [file, layout, input] of [['unet_nhwc.onnx', 'NHWC', 'input'], ['unet_nchw.onnx', 'NCHW', 'pixel_values']] as const) {
    it(`imports ${file} (${layout}, tf2onnx) and serves it through the ORT engine at parity`, async () => {
      const { dir, card } = await importAs(join(IMPORT_FIXTURES, file));
      assert.equal(card.contract.input.layout, layout);
      assert.equal(card.contract.input.name, input);
      assert.equal(card.contract.output.name, 'Identity:0');
      assert.equal(card.source?.sha256, (await readModelDir(dir)).card.files.find((f) => f.path === 'model.onnx')!.sha256, 'the file is kept byte for byte');
      const { runner } = await loadRunner(dir, 'ort', { ortThreads: 1, ortProvider: 'cpu' });
      try {
        const batch = tf.tensor4d(new Float32Array([...fixedInput(), ...fixedInput()]), [2, 128, 128, 3]);
        const out = (await runner.predict(batch)) as Float32Array;
        batch.dispose();
        const ref = referenceLogits(file);
        assert.ok(relativeError(out.subarray(0, ref.length), ref) <= PARITY);
        assert.ok(relativeError(out.subarray(ref.length), ref) <= PARITY, 'second frame of the batch');
        assert.ok(relativeError(out.subarray(0, ref.length), referenceLogits('unet_k3.keras')) <= PARITY, 'and Keras');
      } finally {
        await runner.dispose();
      }
    });
  }
});

describe('convert() of an imported ONNX or TFLite model: int8 QDQ of a foreign graph, gated on mIoU', () => {
  it('quantizes every convolution per channel with calibrated activations, keeps the contract, and writes <parent>-uint8', async () => {
    const { card } = await importAs(join(IMPORT_FIXTURES, 'unet_nchw.onnx'), { normalize: 'imagenet' });
    const r = await convert({ model: `${card.name}@${card.version}`, models: root, eval: 'synthetic:count=24,size=128,seed=3', calibrationSamples: 16, maxMiouDrop: 0.05, log: quiet, onProgress: () => {} });
    assert.equal(r.onnx?.qdq?.convolutions, 10, 'the 8 Conv and 2 ConvTranspose of the tf2onnx graph');
    assert.ok(r.onnx.calibration!.samples >= 16 && r.onnx.qdq.tensors > 0);
    const c = r.onnx.comparison!;
    assert.equal(r.card.precision, 'uint8');
    assert.equal(r.card.parentVersion, card.version);
    assert.deepEqual(r.card.contract, card.contract, 'names, layout and normalization carried over');
    assert.ok(r.card.bytes < card.bytes, `int8 file ${r.card.bytes} B < float ${card.bytes} B`);
    assert.ok(c.variant.miou >= c.parent.miou - 0.05);
    assert.equal((r.card.conversion as { maxMiouDrop: number }).maxMiouDrop, 0.05, 'the card records the budget it was gated on');
    const float = await loadRunner(join(root, card.name, card.version), 'ort', { ortThreads: 1, ortProvider: 'cpu' });
    const int8 = await loadRunner(r.dir, 'ort', { ortThreads: 1, ortProvider: 'cpu' });
    try {
      const input = tf.tensor4d(fixedInput(), [1, 128, 128, 3]);
      const a = (await float.runner.predict(input)) as Float32Array;
      const b = (await int8.runner.predict(input)) as Float32Array;
      input.dispose();
      const err = relativeError(b, a);
      assert.ok(err > 0 && err < 0.1, `int8 vs float logits: ${err.toExponential(2)} (quantized, and close)`);
    } finally {
      await float.runner.dispose();
      await int8.runner.dispose();
    }
  });

  it('refuses a variant that loses more mIoU than allowed and writes nothing', async () => {
    const { card } = await importAs(join(IMPORT_FIXTURES, 'unet_nhwc.onnx'));
    // The int8 masks differ from the float model's in a few pixels of this set (agreement ≈ 99.99%,
    // mIoU a hair lower), so a zero budget refuses the variant through the same gate as edgeseg's own.
    await assert.rejects(
      convert({ model: `${card.name}@${card.version}`, models: root, eval: 'synthetic:count=12,size=128,seed=3', calibrationSamples: 8, maxMiouDrop: 0, log: quiet, onProgress: () => {} }),
      (e: unknown) => e instanceof AccuracyGateError && /int8 loses .* mIoU points .* more than the allowed 0\.00; nothing was written/.test(e.message),
    );
    assert.ok(!existsSync(join(root, card.name, `${card.version}-uint8`)));
  });

  it('is the library convert(): the default budget is the one of every variant, and tfjs-only options are refused by name', async () => {
    const { card } = await importAs(join(IMPORT_FIXTURES, 'unet_nhwc.onnx'));
    const model = `${card.name}@${card.version}`;
    const base = { model, models: root, log: quiet, onProgress: () => {} };
    await assert.rejects(convert({ ...base, precision: 'fp16', eval: 'synthetic:count=12,size=128,seed=3' }), (e: unknown) => e instanceof ConfigError && /imported ONNX model: convert it with --precision uint8/.test(e.message));
    await assert.rejects(convert({ ...base }), (e: unknown) => e instanceof ConfigError && /needs --eval/.test(e.message));
    const r = await convert({ ...base, eval: 'synthetic:count=12,size=128,seed=3', calibrationSamples: 8 });
    const conversion = r.card.conversion as { maxMiouDrop: number; format: string; onnx: { file: string; weights: string } };
    assert.equal(conversion.maxMiouDrop, DEFAULT_MAX_MIOU_DROP, 'gated on the one default budget');
    assert.equal(conversion.format, 'onnx');
    assert.deepEqual([conversion.onnx.file, conversion.onnx.weights], ['model.int8.onnx', 'int8']);
    assert.equal(r.card.source?.format, 'onnx', 'the variant keeps its provenance');
    assert.ok(r.card.deltaVsParent && r.card.metrics, 'the card records what the gate measured');
    assert.equal(r.comparison, null, 'no tfjs variant');
    assert.ok(isImportedOnnx(card) && isImportedOnnx(r.card), 'parent and variant are both ONNX only');
    await assert.rejects(convert({ ...base, model: r.dir, eval: 'synthetic:count=12,size=128,seed=3' }), /already a converted variant/);
  });

  it('takes a TFLite-translated model the same way: its ONNX graph to int8 QDQ, and refuses an already quantized one by name', async () => {
    const ops = 'test/fixtures/tflite/ops';
    const eval_ = 'synthetic:count=24,size=32,seed=3';
    const float = await importAs(join(ops, 'depthwise_conv_2d_float.tflite'), { labels: ['a', 'b', 'c', 'd', 'e', 'f'] });
    assert.equal(float.card.source?.format, 'tflite');
    const r = await convert({ model: `${float.card.name}@${float.card.version}`, models: root, eval: eval_, calibrationSamples: 8, log: quiet, onProgress: () => {} });
    assert.equal(r.card.precision, 'uint8');
    assert.equal(r.onnx?.qdq?.convolutions, 1, 'the depthwise convolution, a grouped Conv in ONNX');
    assert.ok(r.onnx.comparison && r.card.files.some((f) => f.path === 'model.int8.onnx'));
    const quantized = await importAs(join(ops, 'segmenter_uint8.tflite'), { normalize: undefined });
    await assert.rejects(convert({ model: `${quantized.card.name}@${quantized.card.version}`, models: root, eval: eval_, log: quiet, onProgress: () => {} }), (e: unknown) => e instanceof ConfigError && /no Conv or ConvTranspose with float weights/.test(e.message));
  });
});

describe("edgeseg import: the book's MobileNetV2 U-Net (narrow, random weights)", () => {
  it('matches Keras, folds every BatchNorm, and converts to uint8 and int8 ONNX within the gate', async () => {
    const { dir, card } = await importAs(join(IMPORT_FIXTURES, 'book_unet_small.keras'));
    assert.deepEqual(card.source?.flattened, ['down_stack', 'upsample_0', 'upsample_1', 'upsample_2', 'upsample_3']);
    const err = relativeError(await tfjsLogits(dir), referenceLogits('book_unet_small.keras'));
    assert.ok(err <= PARITY, `book model: ${err.toExponential(2)}`);
    const v = await readModelDir(dir);
    const graph = graphFromArtifacts(v.modelJson!, v.weightData);
    const bns = graph.layers.filter((l) => l.class_name === 'BatchNormalization').length;
    const report = rewrite(graph);
    assert.equal(report.fold_batch_norm.length, bns, 'every BatchNorm folded');
    assert.ok(bns >= 50);
    const r = await convert({ model: dir, precision: 'uint8', format: 'both', eval: 'synthetic:count=16,size=128,seed=4', maxMiouDrop: 0.05, models: root, backend: 'wasm', log: quiet, onProgress: () => {} });
    assert.equal(r.card.precision, 'uint8');
    assert.ok(r.onnx && r.card.files.some((f) => f.path === 'model.int8.onnx'), 'int8 ONNX written');
  });
});
