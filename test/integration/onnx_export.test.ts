import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { INPUT_NAME, NUM_CLASSES, OUTPUT_NAME, syntheticSample } from '../../core/index.js';
import { parseSha256Sums, sha256Hex } from '../../core/artifacts.js';
import { CLASS_IDS_NAME } from '../../core/contract.js';
import { imageToInputData } from '../../core/preprocess.js';
import { loadLayersModel, saveLayersModel } from '../../core/node/artifact_fs.js';
import { convert } from '../../converter/convert.js';
import { decodeModel, ONNX_DTYPE } from '../../core/node/onnx/proto.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { buildModel } from '../../trainer/models/index.js';
import { seedWeights } from '../../trainer/models/seeded_weights.js';
import { tf } from '../../core/node/tfjs.js';
import { runCli } from '../helpers/cli.js';
import { argmaxAgreement, relativeError } from '../helpers/compare.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { quiet } from '../helpers/log.js';
import { BENCH_MODEL, randomizeBatchNorm, untrainedCard } from '../../bench/helpers/models.js';

const EVAL = 'synthetic:count=48,size=128,seed=6';

/** Synthetic scenes and uniform noise, [8, 128, 128, 3] NHWC in [0, 1]. */
function inputs(): Float32Array {
  const real = Array.from({ length: 4 }, (_, i) => imageToInputData(syntheticSample(i, { size: 128, seed: 30 }).image));
  const data = new Float32Array(8 * real[0].length);
  real.forEach((r, i) => data.set(r, i * r.length));
  const noise = tf.randomUniform([4 * real[0].length], 0, 1, 'float32', 5);
  data.set(noise.dataSync(), 4 * real[0].length);
  noise.dispose();
  return data;
}

/** A seeded model with non-trivial BatchNorm statistics, written as `<root>/<name>/1`. */
async function parentOf(root: string, architecture: string, config: Record<string, unknown>): Promise<{ dir: string; logits: Float32Array }> {
  const { model } = buildModel(architecture, config);
  seedWeights(model, 4);
  randomizeBatchNorm(model);
  const dir = join(root, architecture, '1');
  await saveLayersModel(model, dir, untrainedCard(architecture, '1', architecture, config));
  const logits = tf.tidy(() => (model.predict(tf.tensor4d(inputs(), [8, 128, 128, 3])) as tf.Tensor).dataSync() as Float32Array);
  model.dispose();
  return { dir, logits };
}

describe('ONNX export', () => {
  let root: string;

  before(async () => {
    await activateWasm();
    root = tempDir('onnx');
  });

  for (const [architecture, config] of [
    ['unet-small', BENCH_MODEL],
    ['unet-mobilenetv2', {}],
  ] as const) {
    it(`exports ${architecture} to model.onnx whose onnxruntime logits match tfjs within 1e-4·max|logit|, argmax ≥ 99.9%, listed in the card and SHA256SUMS`, async () => {
      const parent = await parentOf(root, architecture, config);
      const r = await convert({ model: parent.dir, precision: 'fp32', format: 'both', models: root, backend: 'wasm', log: quiet, onProgress: () => {} });
      const bytes = readFileSync(join(r.dir, 'model.onnx'));
      const listed = r.card.files.find((f) => f.path === 'model.onnx');
      assert.ok(listed, 'card lists model.onnx');
      assert.equal(listed.sha256, await sha256Hex(bytes));
      assert.equal(listed.bytes, bytes.byteLength);
      assert.equal(parseSha256Sums(readFileSync(join(r.dir, 'SHA256SUMS'), 'utf8')).get('model.onnx'), listed.sha256);
      assert.equal((r.card.conversion as { onnx: { weights: string } }).onnx.weights, 'float32');

      const session = await ort.InferenceSession.create(bytes);
      try {
        assert.deepEqual(session.inputNames, [INPUT_NAME]);
        assert.deepEqual(session.outputNames, [OUTPUT_NAME, CLASS_IDS_NAME]);
        const out = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', inputs(), [8, 128, 128, 3]) });
        assert.deepEqual(out[OUTPUT_NAME].dims, [8, 128, 128, NUM_CLASSES]);
        const logits = out[OUTPUT_NAME].data as Float32Array;
        const rel = relativeError(logits, parent.logits);
        assert.ok(rel <= 1e-4, `max |Δlogit| = ${rel.toExponential(2)}·max|logit|`);
        assert.ok(argmaxAgreement(logits, parent.logits, NUM_CLASSES) >= 0.999);
        // The in-graph argmax is the argmax of the graph's own logits, ties to the first class like tf.argMax.
        const ids = out[CLASS_IDS_NAME].data as Uint8Array;
        assert.deepEqual(out[CLASS_IDS_NAME].dims, [8, 128, 128]);
        let same = 0;
        for (let p = 0; p < ids.length; p++) {
          const l = logits.subarray(p * NUM_CLASSES, (p + 1) * NUM_CLASSES);
          if (ids[p] === l.indexOf(Math.max(...l))) same++;
        }
        assert.equal(same, ids.length);
      } finally {
        await session.release();
      }
    });
  }

  it('writes int8 QDQ (per-channel int8 weights, calibrated uint8 activations) at ≤ 0.27× and fp16 at ≈ 0.5× the fp32 bytes, gated and measured on the held-out set', async () => {
    const dir = join(root, 'unet-small', '1');
    const int8 = await convert({ model: dir, precision: 'uint8', format: 'both', eval: EVAL, maxMiouDrop: 1, calibrationSamples: 16, models: root, backend: 'wasm', log: quiet, onProgress: () => {} });
    assert.equal(int8.onnx?.file, 'model.int8.onnx');
    assert.ok(int8.onnx.ratioVsParent <= 0.27, `int8 ONNX is ${int8.onnx.ratioVsParent.toFixed(3)}× the fp32 weights`);
    assert.deepEqual(int8.onnx.calibration, { spec: `${EVAL}#train`, samples: 16 });
    const c = int8.onnx.comparison!;
    assert.ok(c.maskAgreement >= 0.9, `int8 ONNX agrees with fp32 on ${(100 * c.maskAgreement).toFixed(2)}% of pixels`);
    const recorded = (int8.card.conversion as { onnx: { deltaVsParent: { miou: number } } }).onnx.deltaVsParent;
    assert.equal(recorded.miou, c.delta.miou);
    const model = decodeModel(readFileSync(join(int8.dir, 'model.int8.onnx')));
    const ops = new Set(model.graph.node.map((n) => n.opType));
    assert.ok(ops.has('QuantizeLinear') && ops.has('DequantizeLinear'));
    const weights = model.graph.initializer.filter((t) => t.name.endsWith('/W/q'));
    assert.equal(weights.length, 15, 'every convolution of unet-small (base 16, depth 4) stores int8 weights');
    assert.ok(weights.every((t) => t.dataType === ONNX_DTYPE.int8));
    const scales = model.graph.initializer.find((t) => t.name === 'enc0_a_conv/W/scale')!;
    assert.deepEqual(scales.dims, [16], 'one scale per output channel');

    const fp16 = await convert({ model: dir, precision: 'fp16', format: 'both', eval: EVAL, maxMiouDrop: 0.01, models: root, backend: 'wasm', log: quiet, onProgress: () => {} });
    assert.equal(fp16.onnx?.file, 'model.fp16.onnx');
    assert.ok(Math.abs(fp16.onnx.ratioVsParent - 0.5) < 0.02, `fp16 ONNX is ${fp16.onnx.ratioVsParent.toFixed(3)}×`);
    assert.ok(fp16.onnx.comparison!.maskAgreement >= 0.999);
    const half = decodeModel(readFileSync(join(fp16.dir, 'model.fp16.onnx'))).graph.initializer;
    assert.ok(half.length > 0 && half.every((t) => t.dataType === ONNX_DTYPE.float16), 'weights and biases stored as float16');
    assert.ok(half.some((t) => t.name === 'enc0_a_conv/B/f16'));
  });

  it('verify checks ONNX files against SHA256SUMS and names one whose byte flipped; --format onnx writes an ONNX-only version tfjs refuses by name', async () => {
    const dir = join(root, 'unet-small', '1-fp32');
    const good = await runCli(['verify', dir]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /ok {2}model\.onnx/);
    const file = join(dir, 'model.onnx');
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 0x40;
    writeFileSync(file, bytes);
    const bad = await runCli(['verify', dir]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /CHECKSUM_MISMATCH: model\.onnx/);

    const made = await runCli(['convert', join(root, 'unet-small', '1'), '--precision', 'fp16', '--format', 'onnx', '--out', root, '--backend', 'wasm', '--force']);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /onnx: model\.fp16\.onnx \(float16 weights, opset 13\)/);
    const onnxOnly = join(root, 'unet-small', '1-fp16');
    assert.ok(!existsSync(join(onnxOnly, 'model.json')));
    const verified = await runCli(['verify', onnxOnly]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /ok {2}model\.fp16\.onnx/);
    assert.match(verified.stdout, /ONNX only \(model\.fp16\.onnx\)/);
    await assert.rejects(loadLayersModel(onnxOnly), /ONNX only .*--engine ort/);
    const inspected = await runCli(['inspect', onnxOnly]);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.match(inspected.stdout, /formats {3}ONNX model\.fp16\.onnx/);
  });
});
