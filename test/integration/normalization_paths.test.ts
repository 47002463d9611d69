/**
 * A model whose card declares `symmetric` input (pixel / 127.5 − 1, what ImageNet-pretrained
 * encoders expect) is fed that input by every path that reads the card: `edgeseg predict`, the
 * converter's accuracy gate (tfjs parent and the exported ONNX model), and runtime-node's engines
 * (ONNX Runtime and tfjs). Each path's masks are compared with masks computed here directly,
 * with tfjs and the formula x / 127.5 − 1; the same masks from unit input differ, so a path that
 * ignored the card would fail.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ConfusionMatrix, decodeMaskPng, fromBase64, INPUT_SIZE, parseCard } from '../../core/index.js';
import { saveLayersModel } from '../../core/node/artifact_fs.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { tf } from '../../core/node/tfjs.js';
import { convert } from '../../converter/convert.js';
import { InferencePool } from '../../runtime-node/pool/inference_pool.js';
import type { FrameOutcome } from '../../runtime-node/pool/protocol.js';
import { openDataset } from '../../datasets/dataset.js';
import { buildModel } from '../../trainer/models/index.js';
import { seedWeights } from '../../trainer/models/seeded_weights.js';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { BENCH_MODEL, randomizeBatchNorm, untrainedCard } from '../../bench/helpers/models.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { quiet } from '../helpers/log.js';

const SAMPLE = fileURLToPath(new URL('../../data/oxford-pets-sample', import.meta.url));
const SPEC = `oxford:${SAMPLE}`;
const PHOTOS = ['Abyssinian_22', 'Bengal_19', 'american_bulldog_21'];

/** The mask of a photo computed directly: decode, core's resize, then x / 127.5 − 1 (or x / 255). */
async function directMask(model: LayersModel, file: string, formula: 'symmetric' | 'unit' = 'symmetric'): Promise<Uint8Array> {
  const image = await decodeImage(readFileSync(file));
  const ids = tf.tidy(() => {
    const pixels = tf.tensor3d(Int32Array.from(image.data), [image.height, image.width, 3], 'int32');
    const resized = tf.image.resizeBilinear(tf.cast(pixels, 'float32') as tf.Tensor3D, [INPUT_SIZE, INPUT_SIZE], false, true);
    const input = formula === 'symmetric' ? tf.sub(tf.div(resized, 127.5), 1) : tf.div(resized, 255);
    return tf.argMax(model.predict(tf.expandDims(input)) as tf.Tensor4D, -1);
  });
  const mask = Uint8Array.from(await ids.data());
  ids.dispose();
  return mask;
}

function agreement(a: Uint8Array, b: Uint8Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

describe('input normalization from the card, on every path', () => {
  let root: string;
  let parentDir: string;
  let model: LayersModel;
  const pools: InferencePool[] = [];
  const reference = new Map<string, Uint8Array>();

  before(async () => {
    await activateWasm();
    root = tempDir('normalization');
    model = buildModel('unet-small', BENCH_MODEL).model;
    seedWeights(model, 21);
    randomizeBatchNorm(model);
    parentDir = join(root, 'sym', '1');
    await saveLayersModel(model, parentDir, { ...untrainedCard('sym', '1', 'unet-small', BENCH_MODEL), normalization: 'symmetric' });
    for (const p of PHOTOS) reference.set(p, await directMask(model, join(SAMPLE, 'images', `${p}.jpg`)));
  });

  after(async () => {
    await Promise.all(pools.map((p) => p.close()));
    model.dispose();
  });

  it('the card declares it, and unit input would give other masks', async () => {
    const card = parseCard(readFileSync(join(parentDir, 'card.json'), 'utf8'));
    assert.equal(card.contract.input.normalization, 'symmetric');
    assert.deepEqual(card.contract.input.range, [-1, 1]);
    for (const p of PHOTOS) {
      const unit = await directMask(model, join(SAMPLE, 'images', `${p}.jpg`), 'unit');
      assert.ok(agreement(unit, reference.get(p)!) < 0.9, `${p}: unit input must change the mask for this check to mean anything`);
    }
  });

  it('edgeseg predict (Node tfjs) gives the masks of x / 127.5 − 1', async () => {
    const input = join(root, 'photos');
    mkdirSync(input);
    for (const p of PHOTOS) writeFileSync(join(input, `${p}.jpg`), readFileSync(join(SAMPLE, 'images', `${p}.jpg`)));
    const out = join(root, 'predicted');
    const r = await runCli(['predict', '--model', parentDir, '--input', input, '--out', out, '--mask-size', 'model', '--backend', 'wasm']);
    assert.equal(r.code, 0, r.stderr);
    for (const p of PHOTOS) {
      const mask = decodeMaskPng(readFileSync(join(out, `${p}.mask.png`)));
      assert.equal(agreement(mask.data, reference.get(p)!), 1, `${p}: predict's mask`);
    }
  });

  it('the converter gates the parent and its ONNX export on x / 127.5 − 1, and the variant keeps the normalization', async () => {
    const result = await convert({ model: parentDir, precision: 'fp32', format: 'both', eval: SPEC, maxMiouDrop: 0.01, models: root, backend: 'wasm', log: quiet, onProgress: () => {} });
    assert.equal(result.card.contract.input.normalization, 'symmetric', 'the variant declares its parent normalization');
    // The gate's parent metrics are those of the direct masks over the same held-out photos.
    const ds = await openDataset(SPEC, { splits: ['held-out'], workers: 0, print: () => {} });
    const confusion = new ConfusionMatrix();
    try {
      for (let i = 0; i < ds.heldOut.size; i++) {
        const s = await ds.heldOut.get(i);
        confusion.accumulate(s.mask, await directMask(model, join(SAMPLE, 'images', `${s.id}.jpg`)));
      }
    } finally {
      await ds.close();
    }
    const direct = confusion.metrics();
    assert.ok(result.comparison, 'the tfjs variant was gated');
    assert.ok(Math.abs(result.comparison.parent.miou - direct.miou) < 1e-9, `gate parent mIoU ${result.comparison.parent.miou} vs direct ${direct.miou}`);
    assert.ok(Math.abs(result.comparison.parent.pixelAccuracy - direct.pixelAccuracy) < 1e-9);
    const onnx = result.onnx!.comparison!;
    assert.ok(onnx.maskAgreement >= 0.999, `ONNX model agrees with the parent on ${(100 * onnx.maskAgreement).toFixed(3)}% of pixels`);
    assert.ok(result.comparison.maskAgreement >= 0.999, `folded tfjs variant agrees on ${(100 * result.comparison.maskAgreement).toFixed(3)}%`);
  });

  it('runtime-node ONNX Runtime and tfjs engines give the masks of x / 127.5 − 1', async () => {
    const variant = join(root, 'sym', '1-fp32');
    const infer = { maskSize: 'model' as const, maskFormat: 'png' as const, maxSide: 1024 };
    for (const kind of ['ort', 'tfjs'] as const) {
      const pool = await InferencePool.start(variant, { workers: 1, engine: kind, infer });
      pools.push(pool);
      assert.equal(pool.model.engine.chosen, kind);
      for (const p of PHOTOS) {
        const out = (await pool.infer({ bytes: readFileSync(join(SAMPLE, 'images', `${p}.jpg`)), contentType: 'image/jpeg' })) as Extract<FrameOutcome, { ok: true }>;
        assert.ok(out.ok, `${kind} segmented ${p}`);
        const mask = decodeMaskPng(fromBase64(out.mask as string));
        // The variant's BatchNorm is folded: the same function up to float rounding.
        assert.ok(agreement(mask.data, reference.get(p)!) >= 0.999, `${kind} ${p}: ${(100 * agreement(mask.data, reference.get(p)!)).toFixed(3)}% of pixels agree`);
      }
      await pool.close();
    }
  });
});
