import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError, DatasetError, ModelFormatError, parseCard, syntheticSample } from '../../core/index.js';
import { imageToInputData } from '../../core/preprocess.js';
import { saveLayersModel, readModelDir, type CardDraft } from '../../core/node/artifact_fs.js';
import { AccuracyGateError, convert } from '../../converter/convert.js';
import { graphFromArtifacts, graphToArtifacts, rewrite } from '../../converter/fold.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { buildModel } from '../../trainer/models/index.js';
import { seedWeights } from '../../trainer/models/seeded_weights.js';
import { train } from '../../trainer/train.js';
import { tf, tfl } from '../../core/node/tfjs.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { serveDir } from '../helpers/static_server.js';
import { quiet } from '../helpers/log.js';
import { randomizeBatchNorm } from '../../bench/helpers/models.js';

const EVAL = 'synthetic:count=160,size=64,seed=6';

/** Real inputs (synthetic scenes) and random ones, [n, 128, 128, 3]. */
function inputs(): tf.Tensor4D {
  const real = Array.from({ length: 4 }, (_, i) => imageToInputData(syntheticSample(i, { size: 128, seed: 30 }).image));
  const data = new Float32Array(8 * 128 * 128 * 3);
  real.forEach((r, i) => data.set(r, i * r.length));
  const random = tf.randomUniform([4, 128, 128, 3], 0, 1, 'float32', 5).dataSync();
  data.set(random, 4 * real[0].length);
  return tf.tensor4d(data, [8, 128, 128, 3]);
}

function logitAgreement(a: tf.Tensor, b: tf.Tensor): { relMax: number; argmax: number } {
  return tf.tidy(() => {
    const relMax = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / tf.max(tf.abs(a)).dataSync()[0];
    const argmax = tf.mean(tf.cast(tf.equal(tf.argMax(a, -1), tf.argMax(b, -1)), 'float32')).dataSync()[0];
    return { relMax, argmax };
  });
}

describe('converter', () => {
  let root: string;
  let parentDir: string;

  before(async () => {
    await activateWasm();
    root = tempDir('convert');
    const r = await train(
      { data: EVAL, modelConfig: { baseFilters: 8, depth: 3 }, epochs: 3, batchSize: 8, learningRate: 3e-3, backend: 'wasm', models: root, reportSamples: 0 },
      { log: quiet, print: () => {} },
    );
    parentDir = r.dir;
  });

  for (const name of ['unet-small', 'unet-mobilenetv2']) {
    it(`folds every BatchNorm of ${name} and fuses activations with logits within 1e-4·max|logit| and ≥ 99.9% argmax agreement`, async () => {
      const { model } = buildModel(name, name === 'unet-small' ? { baseFilters: 8, depth: 3 } : {});
      seedWeights(model, 4);
      randomizeBatchNorm(model);
      const dir = join(tempDir('fold'), 'm');
      await saveLayersModel(model, dir, { name, version: '1', parentVersion: null, created: '', architecture: { name, config: {} }, precision: 'fp32', metrics: null, dataset: null, evaluation: null, training: null, backend: null, codeRevision: 'test' } satisfies CardDraft);
      const v = await readModelDir(dir);
      const graph = graphFromArtifacts(v.modelJson!, v.weightData);
      const report = rewrite(graph);
      const bnCount = model.layers.filter((l) => l.getClassName() === 'BatchNormalization').length;
      assert.equal(report.fold_batch_norm.length, bnCount, 'every BatchNorm folded');
      assert.ok(!graph.layers.some((l) => l.class_name === 'BatchNormalization' || l.class_name === 'ReLU'));
      const a = graphToArtifacts(graph);
      const folded = await tfl.loadLayersModel(tf.io.fromMemory(a));
      const x = inputs();
      const [y0, y1] = [model.predict(x) as tf.Tensor, folded.predict(x) as tf.Tensor];
      const { relMax, argmax } = logitAgreement(y0, y1);
      assert.ok(relMax <= 1e-4, `max |Δlogit| / max |logit| = ${relMax}`);
      assert.ok(argmax >= 0.999, `argmax agreement ${argmax}`);
      tf.dispose([x, y0, y1]);
      model.dispose();
      folded.dispose();
    });
  }

  it('writes fp16 and uint8 variants that stock tf.loadLayersModel loads over HTTP, close to fp32 and ½ and ¼ the size', async () => {
    const fp32 = await convert({ model: parentDir, precision: 'fp32', models: root, log: quiet, onProgress: () => {} });
    const fp16 = await convert({ model: parentDir, precision: 'fp16', eval: EVAL, models: root, log: quiet, onProgress: () => {} });
    const uint8 = await convert({ model: parentDir, precision: 'uint8', eval: EVAL, models: root, log: quiet, onProgress: () => {} });
    assert.equal(fp16.card.bytes, fp32.card.bytes / 2);
    assert.equal(uint8.card.bytes, fp32.card.bytes / 4);
    assert.ok(fp32.card.bytes <= fp32.parentBytes, 'folding does not grow the model');
    assert.ok(Object.values(uint8.card.weightDtypes).every((d) => d === 'uint8'));
    assert.equal(uint8.card.version, '1-uint8');
    assert.equal(uint8.card.parentVersion, '1');
    assert.ok(uint8.card.deltaVsParent && Math.abs(uint8.card.deltaVsParent.miou) < 0.05);
    const server = await serveDir(join(root, 'unet-small'));
    try {
      const load = (v: string) => tfl.loadLayersModel(`${server.url}/${v}/model.json`);
      const [m32, m16, m8] = await Promise.all([load('1-fp32'), load('1-fp16'), load('1-uint8')]);
      const x = inputs();
      const [y32, y16, y8] = [m32, m16, m8].map((m) => m.predict(x) as tf.Tensor);
      // fp16 keeps 11 significant bits: logits within 1% of their range, masks all but identical.
      const h = logitAgreement(y32, y16);
      assert.ok(h.relMax <= 1e-2 && h.argmax >= 0.995, `fp16: ${JSON.stringify(h)}`);
      // uint8 rounds each weight to 1/255 of its tensor's range: masks agree on ≥ 97% of pixels.
      const q = logitAgreement(y32, y8);
      assert.ok(q.argmax >= 0.97, `uint8: ${JSON.stringify(q)}`);
      tf.dispose([x, y32, y16, y8]);
      [m32, m16, m8].forEach((m) => m.dispose());
    } finally {
      await server.close();
    }
  });

  it('gates on the mIoU budget, and mixed meets a budget that plain uint8 misses', async () => {
    // Scale one channel of enc0_a's BatchNorm by α and the next conv's matching input weights by
    // 1/α: the fp32 function is unchanged (ReLU is positively homogeneous), but after folding
    // enc0_a's kernel spans a range per-tensor uint8 cannot cover.
    const crafted = join(root, 'unet-small', '2');
    cpSync(parentDir, crafted, { recursive: true });
    const { loadLayersModel } = await import('../../core/node/artifact_fs.js');
    const { model, card: parentCard } = await loadLayersModel(parentDir);
    const alpha = 300;
    const byName = new Map(model.weights.map((w) => [w.originalName, w]));
    const scaleChannel = (name: string, axis: number, factor: number) => {
      const w = byName.get(name)!;
      const shape = w.shape as number[];
      const mask = tf.tidy(() => tf.reshape(tf.oneHot(tf.tensor1d([0], 'int32'), shape[axis]), shape.map((s, i) => (i === axis ? s : 1))));
      w.write(tf.tidy(() => tf.mul(w.read(), tf.add(tf.scalar(1), tf.mul(mask, factor - 1)))));
      mask.dispose();
    };
    scaleChannel('enc0_a_bn/gamma', 0, alpha);
    scaleChannel('enc0_a_bn/beta', 0, alpha);
    scaleChannel('enc0_b_conv/kernel', 2, 1 / alpha);
    await saveLayersModel(model, crafted, { ...parentCard, version: '2' });
    model.dispose();
    const opts = { model: crafted, eval: EVAL, models: root, log: quiet, onProgress: () => {} };
    await assert.rejects(convert({ ...opts, precision: 'uint8', maxMiouDrop: 0.005 }), (e: unknown) => e instanceof AccuracyGateError && /loses .* mIoU points .* more than the allowed 0\.50/.test(e.message));
    const ok = await convert({ ...opts, precision: 'fp16', maxMiouDrop: 0.005 });
    assert.ok(ok.comparison!.delta.miou >= -0.005);
    const mixed = await convert({ ...opts, precision: 'mixed', maxMiouDrop: 0.005 });
    assert.equal(mixed.card.precision, 'mixed');
    assert.ok(-mixed.comparison!.delta.miou <= 0.005, `mixed drop ${-mixed.comparison!.delta.miou}`);
    assert.ok(mixed.mixed!.kept.some((k) => k.group.startsWith('enc0_')), `kept wide: ${JSON.stringify(mixed.mixed!.kept)}`);
    assert.ok(mixed.card.bytes < ok.card.bytes, 'mixed is smaller than all-fp16');
    const card = parseCard(readFileSync(join(mixed.dir, 'card.json'), 'utf8'));
    assert.ok(Object.values(card.weightDtypes).includes('uint8') && Object.values(card.weightDtypes).some((d) => d !== 'uint8'));
  });

  it('verify detects a flipped byte and a truncated shard, naming the file', async () => {
    const dir = join(root, 'unet-small', '1-uint8');
    const shard = join(dir, 'group1-shard1of1.bin');
    const good = await runCli(['verify', dir]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /verified .* files match SHA256SUMS/);
    const bytes = readFileSync(shard);
    const flipped = Buffer.from(bytes);
    flipped[7] ^= 0x10;
    writeFileSync(shard, flipped);
    const bad = await runCli(['verify', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /CHECKSUM_MISMATCH: group1-shard1of1\.bin/);
    writeFileSync(shard, bytes);
    truncateSync(shard, bytes.length - 100);
    const cut = await runCli(['verify', dir]);
    assert.match(cut.stderr, /CHECKSUM_MISMATCH: group1-shard1of1\.bin/);
    writeFileSync(shard, bytes);
  });

  it('names the problem: missing or malformed model.json, weights not matching the manifest, unknown precision, a glob matching nothing, an empty held-out set', async () => {
    const broken = join(tempDir('broken'), 'm');
    mkdirSync(broken, { recursive: true });
    await assert.rejects(convert({ model: broken, log: quiet }), (e: unknown) => e instanceof ModelFormatError && /SHA256SUMS is missing/.test(e.message));
    cpSync(parentDir, broken, { recursive: true });
    writeFileSync(join(broken, 'model.json'), '{"not": "a model"');
    writeFileSync(join(broken, 'SHA256SUMS'), readFileSync(join(broken, 'SHA256SUMS'), 'utf8').split('\n').filter((l) => !l.endsWith('model.json')).join('\n'));
    await assert.rejects(convert({ model: broken, log: quiet }), (e: unknown) => e instanceof ModelFormatError && /model\.json is not valid JSON/.test(e.message));
    const short = join(tempDir('short'), 'm');
    cpSync(parentDir, short, { recursive: true });
    const json = JSON.parse(readFileSync(join(short, 'model.json'), 'utf8'));
    json.weightsManifest[0].weights[0].shape = [3, 3, 3, 9];
    const text = JSON.stringify(json);
    writeFileSync(join(short, 'model.json'), text);
    const { sha256Hex, parseSha256Sums, formatSha256Sums } = await import('../../core/artifacts.js');
    const sums = parseSha256Sums(readFileSync(join(short, 'SHA256SUMS'), 'utf8'));
    sums.set('model.json', await sha256Hex(new TextEncoder().encode(text)));
    writeFileSync(join(short, 'SHA256SUMS'), formatSha256Sums(sums));
    await assert.rejects(convert({ model: short, log: quiet }), (e: unknown) => e instanceof ModelFormatError && e.code === 'WEIGHTS_MISMATCH');
    await assert.rejects(convert({ model: parentDir, precision: 'int4', log: quiet }), (e: unknown) => e instanceof ConfigError && /unknown precision 'int4'/.test(e.message));
    await assert.rejects(convert({ model: parentDir, precision: 'uint8', overrides: [{ dtype: 'float16', glob: 'decoder*/kernel' }], log: quiet }), (e: unknown) => e instanceof ConfigError && /matches no weight/.test(e.message));
    await assert.rejects(convert({ model: parentDir, eval: 'synthetic:count=3,size=64', models: root, log: quiet }), (e: unknown) => e instanceof DatasetError && /held-out set .* is empty/.test(e.message));
    await assert.rejects(convert({ model: join(root, 'unet-small', '1-uint8'), models: root, log: quiet }), /already a converted variant/);
  });
});
