/**
 * runtime-node's inference workers with `outputSize` (the stream service's option): masks at the
 * frame's size or a size in pixels, from the logits upsampled bilinearly before the argmax (core's
 * classMasksAt, the same function `edgeseg predict --output-size` uses), on the shipped pets model.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeMaskPng, fromBase64, geometryOf } from '../../core/index.js';
import { normalizationOf } from '../../core/contract.js';
import { staircaseExcess } from '../../core/output_geometry.js';
import { imageToInput } from '../../core/preprocess.js';
import { classMasksAt } from '../../core/upsample.js';
import { loadLayersModel } from '../../core/node/artifact_fs.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { PACKAGE_ROOT } from '../../core/node/package_root.js';
import { tf } from '../../core/node/tfjs.js';
import { InferencePool } from '../../runtime-node/pool/inference_pool.js';
import type { FrameOutcome, InferOptions } from '../../runtime-node/pool/protocol.js';

const DIR = join(PACKAGE_ROOT, 'data', 'models', 'pets', '2-uint8');
const PHOTO = join(PACKAGE_ROOT, 'data', 'oxford-pets-sample', 'images', 'Bengal_10.jpg');

describe('runtime-node masks at an output size', () => {
  let pool: InferencePool;
  let png: Buffer;

  before(async () => {
    await activateWasm();
    png = await sharp(readFileSync(PHOTO)).resize(320, 240, { fit: 'fill' }).png().toBuffer();
    pool = await InferencePool.start(DIR, { workers: 1, engine: 'tfjs', infer: { maskSize: 'model', maskFormat: 'png', maxSide: 1024 } });
  });
  after(async () => {
    await pool?.close();
  });

  async function maskOf(infer: InferOptions) {
    const e = await InferencePool.start(DIR, { workers: 1, engine: 'tfjs', infer });
    try {
      const o = (await e.infer({ bytes: png, contentType: 'image/png' })) as Extract<FrameOutcome, { ok: true }>;
      assert.ok(o.ok);
      return decodeMaskPng(fromBase64(o.mask as string));
    } finally {
      await e.close();
    }
  }

  it('publishes the frame-size mask of the upsampled logits (outputSize input), and any size asked for, with smooth edges', async () => {
    const { model, card } = await loadLayersModel(DIR);
    const geometry = geometryOf(card);
    const decoded = await decodeImage(png);
    const batch = tf.tidy(() => tf.expandDims(imageToInput(decoded, normalizationOf(card), geometry)) as tf.Tensor4D);
    const logits = tf.tidy(() => model.predict(batch) as tf.Tensor4D);
    const [want320, want64] = await classMasksAt(logits, geometry, [{ width: 320, height: 240 }, { width: 64, height: 48 }]);
    tf.dispose([batch, logits]);
    model.dispose();

    const input = await maskOf({ maskSize: 'model', outputSize: 'input', maskFormat: 'png', maxSide: 1024 });
    assert.deepEqual([input.width, input.height], [320, 240]);
    const same = input.data.filter((c, i) => c === want320[i]).length / input.data.length;
    assert.ok(same >= 0.999, `${(100 * same).toFixed(3)}% of pixels are core's classMasksAt`);
    assert.ok(staircaseExcess(input.data, 320, 240, geometry.width) < 1.6, `staircase excess ${staircaseExcess(input.data, 320, 240, geometry.width)}`);

    const sized = await maskOf({ maskSize: 'model', outputSize: { width: 64, height: 48 }, maskFormat: 'png', maxSide: 1024 });
    assert.deepEqual([sized.width, sized.height], [64, 48]);
    assert.ok(sized.data.filter((c, i) => c === want64[i]).length / sized.data.length >= 0.999);

    // Without outputSize, maskSize keeps its meaning: the model's grid.
    const o = (await pool.infer({ bytes: png, contentType: 'image/png' })) as Extract<FrameOutcome, { ok: true }>;
    assert.deepEqual([o.width, o.height], [geometry.width, geometry.height]);
  });
});
