import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { decodeMaskPng, parseCard, type ModelCard } from '../../core/index.js';
import { inputSizeOf, normalizationOf, PIXEL_SCALE } from '../../core/contract.js';
import { ortRunner } from '../../core/ort_runner.js';
import { imageToInput, normalizeInputData } from '../../core/preprocess.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { tf } from '../../core/node/tfjs.js';
import { importModel } from '../../converter/import/import_model.js';
import { parseLabelsOption } from '../../converter/import/labels.js';
import { tfliteToOnnx } from '../../converter/import/tflite/to_onnx.js';
import { parseTflite } from '../../core/node/tflite/reader.js';
import { TENSOR_TYPE } from '../../core/node/tflite/schema.js';
import { builtinOpName } from '../../converter/import/tflite/op_names.js';
import { agreement, classIds } from '../../bench/helpers/tflite_parity.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';

const DEEPLAB_DIR = 'data/deeplabv3-mnv2-pascal';
const DEEPLAB = join(DEEPLAB_DIR, 'deeplabv3_mnv2_pascal_quant.tflite');
const LABELS = join(DEEPLAB_DIR, 'pascal_voc_segmentation_labels.txt');
const SAMPLE = 'data/oxford-pets-sample/images';
const REFERENCE = 'test/fixtures/tflite/deeplab_pets';
const OPS = 'test/fixtures/tflite/ops';

interface OpFixture {
  name: string;
  model: string;
  quantized: boolean;
  ops?: string[];
  inputs?: { file: string; shape: number[]; dtype: 'float32' }[];
  outputs?: { file: string; shape: number[]; tensor: string }[];
}

const floats = (path: string) => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

describe('edgeseg import of a .tflite model', () => {
  let root: string;
  let card: ModelCard;

  before(async () => {
    root = tempDir('tflite-import');
    const r = await runCli(['import', DEEPLAB, '--name', 'deeplab', '--models', root, '--labels', LABELS]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /image \[1,513,513,3\] NHWC, normalization symmetric/);
    card = parseCard(readFileSync(join(root, 'deeplab', '1', 'card.json'), 'utf8'));
  });

  it('writes a version whose card declares DeepLab’s own contract: 513×513 NHWC in, 21 PASCAL classes out, symmetric normalization read from the file', () => {
    assert.deepEqual(card.contract.input.shape, [1, 513, 513, 3]);
    assert.equal(card.contract.input.layout, 'NHWC');
    assert.equal(card.contract.input.normalization, 'symmetric');
    assert.deepEqual(card.contract.output.shape, [1, 513, 513, 21]);
    assert.equal(card.contract.classes.length, 21);
    assert.equal(card.contract.classes[8], 'cat');
    assert.equal(card.contract.classes[12], 'dog');
    assert.equal(card.source?.format, 'tflite');
    assert.equal(card.source?.normalizationFrom, 'file');
    assert.equal(card.source?.sha256, '350af47fd346ea6d74b58833a351f583ba860e9806ec5bd292ff8d8f1f249398');
    assert.deepEqual(
      card.files.map((f) => f.path),
      ['model.onnx'],
    );
  });

  it('agrees with LiteRT’s class ids on at least 99.5% of the pixels of the pet sample', async () => {
    const bytes = new Uint8Array(readFileSync(join(root, 'deeplab', '1', 'model.onnx')));
    const runner = await ortRunner(ort, bytes, { contract: card.contract });
    const size = inputSizeOf(card);
    const names = readdirSync(REFERENCE).filter((f) => f.endsWith('.png')).map((f) => basename(f, '.png'));
    const files = new Map(readdirSync(SAMPLE).map((f) => [basename(f, extname(f)), f]));
    assert.equal(names.length, 98, 'one LiteRT mask per sample photo');
    let same = 0;
    let total = 0;
    let worst = 1;
    for (const name of names) {
      const img = await decodeImage(new Uint8Array(readFileSync(join(SAMPLE, files.get(name)!))));
      const input = tf.tidy(() => tf.expandDims(imageToInput(img, normalizationOf(card), size), 0) as tf.Tensor4D);
      const logits = (await runner.predict(input)) as Float32Array;
      input.dispose();
      const ours = classIds(logits, 21);
      const ref = decodeMaskPng(readFileSync(join(REFERENCE, `${name}.png`)), {}, 21);
      assert.equal(ref.data.length, ours.length);
      const a = agreement(ours, ref.data);
      worst = Math.min(worst, a);
      same += a * ours.length;
      total += ours.length;
    }
    await runner.dispose();
    const overall = same / total;
    console.log(`# DeepLab vs LiteRT: ${(100 * overall).toFixed(3)}% of ${total} pixels agree (worst photo ${(100 * worst).toFixed(2)}%)`);
    assert.ok(overall >= 0.995, `class ids agree on ${(100 * overall).toFixed(3)}% of pixels`);
  });

  it('refuses labels whose number is not the model’s classes, a model with no labels at all and a --normalize the file contradicts, leaving no version behind', async () => {
    await assert.rejects(importModel({ path: DEEPLAB, name: 'deeplab-bad', models: root, labels: ['cat', 'dog', 'other'] }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'IMPORT_CLASSES_MISMATCH');
      assert.match(e.message, /3 classes .*has 21/);
      return true;
    });
    await assert.rejects(importModel({ path: DEEPLAB, name: 'deeplab-bad', models: root }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'IMPORT_LABELS_MISSING');
      assert.match(e.message, /21 classes .*--labels/);
      return true;
    });
    await assert.rejects(importModel({ path: DEEPLAB, name: 'deeplab-bad', models: root, normalize: 'unit', labels: parseLabelsOption(LABELS) }), /quantized for symmetric pixels .*drop --normalize unit/);
    assert.deepEqual(readdirSync(root).sort(), ['deeplab']);
  });

  it('refuses an op it does not translate by name, with the tensor it makes', async () => {
    await assert.rejects(importModel({ path: join(OPS, 'unsupported_floor_float.tflite'), name: 'floor', models: root, normalize: 'unit', labels: ['a', 'b', 'c'] }), (e: Error & { code?: string; subject?: string }) => {
      assert.equal(e.code, 'IMPORT_UNSUPPORTED_OP');
      assert.match(e.message, /FLOOR \(output tensor .+\): FLOOR is not supported \(supported: CONV_2D/);
      assert.match(e.subject ?? '', /^FLOOR:/);
      return true;
    });
  });

  it('imports a uint8-input segmenter with its labels from the metadata zip, and its logits match LiteRT fed the same pixels', async () => {
    const seg = (JSON.parse(readFileSync(join(OPS, 'fixtures.json'), 'utf8')) as { segmenter: { model: string; pixels: string; logits: string } }).segmenter;
    const { dir, card: c } = await importModel({ path: join(OPS, seg.model), name: 'tiny', models: root });
    assert.deepEqual(c.contract.classes, ['pet', 'background', 'border']);
    assert.equal(c.contract.input.normalization, 'symmetric');
    assert.equal(c.source?.normalizationFrom, 'file');
    assert.deepEqual(c.contract.input.shape, [1, 16, 16, 3]);
    const pixels = new Uint8Array(readFileSync(join(OPS, seg.pixels)));
    // What core's preprocessing gives for these pixels at the model's own size (no resize): × 1/255, then symmetric.
    const input = normalizeInputData(Float32Array.from(pixels, (p) => Math.fround(p * PIXEL_SCALE)), 'symmetric');
    const runner = await ortRunner(ort, new Uint8Array(readFileSync(join(dir, 'model.onnx'))), { contract: c.contract });
    const batch = tf.tensor4d(input, [1, 16, 16, 3]);
    const got = (await runner.predict(batch)) as Float32Array;
    batch.dispose();
    await runner.dispose();
    const want = floats(join(OPS, seg.logits));
    const model = parseTflite(new Uint8Array(readFileSync(join(OPS, seg.model))), seg.model);
    const dequantize = model.operators.find((op) => op.outputs.includes(model.outputs[0]))!;
    const step = model.tensors[dequantize.inputs[0]].quantization!.scale[0];
    const worst = want.reduce((m, w, i) => Math.max(m, Math.abs(got[i] - w)), 0);
    assert.ok(worst <= step * 1.001, `worst logit error ${worst} > one step ${step}`);
  });

  /*
   * Tolerances. float32 models: |onnx − litert| ≤ 1e-4 · (1 + |litert|): the two libraries sum a
   * convolution's ≤ 27 products in different orders (errors near 1e-6), while a wrong layout,
   * padding or coordinate rule moves values by O(0.1–1). int8 models: ≤ 1 step of the output's
   * quantization (its scale): each fixture runs one quantized op between a QUANTIZE and a
   * DEQUANTIZE, and LiteRT (fixed-point multipliers) and ONNX Runtime (float requantization) may
   * round a value that lies on a half step differently, by exactly one code, never more.
   */
  const manifest = JSON.parse(readFileSync(join(OPS, 'fixtures.json'), 'utf8')) as { models: OpFixture[] };
  for (const f of manifest.models.filter((m) => m.outputs)) {
    it(`translates ${f.name} (${f.ops!.filter((o) => o !== 'DELEGATE').join(', ')}) to match LiteRT`, async () => {
      const model = parseTflite(new Uint8Array(readFileSync(join(OPS, f.model))), f.model);
      const onnx = tfliteToOnnx(model);
      const session = await ort.InferenceSession.create(onnx.bytes, { logSeverityLevel: 3, intraOpNumThreads: 1 });
      const feeds = Object.fromEntries(f.inputs!.map((i, k) => [onnx.inputs[k].name, new ort.Tensor('float32', floats(join(OPS, i.file)), i.shape)]));
      const out = await session.run(feeds);
      await session.release();
      f.outputs!.forEach((o, k) => {
        const want = floats(join(OPS, o.file));
        const got = out[onnx.outputs[k].name].data as Float32Array;
        assert.deepEqual([...out[onnx.outputs[k].name].dims], o.shape, `${o.tensor} shape`);
        // The quantized tensor a DEQUANTIZE output reads gives the step.
        const index = model.outputs[k];
        const producer = model.operators.find((op) => op.outputs.includes(index))!;
        const step = f.quantized && builtinOpName(producer.op) === 'DEQUANTIZE' ? model.tensors[producer.inputs[0]].quantization!.scale[0] : 0;
        assert.ok(!f.quantized || step > 0, 'int8 fixtures end in a DEQUANTIZE');
        let worst = 0;
        for (let i = 0; i < want.length; i++) {
          const err = Math.abs(got[i] - want[i]);
          const limit = f.quantized ? step * 1.001 : 1e-4 * (1 + Math.abs(want[i]));
          worst = Math.max(worst, err / limit);
        }
        assert.ok(worst <= 1, `${f.name} output ${k} (${o.tensor}): worst error ${worst.toFixed(3)}× the tolerance`);
      });
      assert.equal(model.tensors[model.inputs[0]].type, TENSOR_TYPE.FLOAT32, 'fixtures take float input');
    });
  }
});
