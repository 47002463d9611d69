/**
 * Training/serving skew guard: one fixture image through every preprocessing path must give the
 * same model input. Paths: the trainer's decode worker (sharp + core resize on tfjs-cpu, in a
 * worker thread) and the inference path of `predict`/runtime-node (sharp + core resize on wasm).
 * Both are also checked against values recorded when the fixture was made.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { INPUT_SIZE } from '../../core/index.js';
import { imageToInput, normalizeInputData } from '../../core/preprocess.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { decodeImage } from '../../core/node/decode_image.js';
import type { LoadedSample, SampleRef } from '../../datasets/sample_types.js';
import { tf } from '../../core/node/tfjs.js';
import { WorkerPool } from '../../core/node/worker_pool.js';

const fixture = (f: string) => fileURLToPath(new URL(`../fixtures/golden/${f}`, import.meta.url));
const expected = JSON.parse(readFileSync(fixture('pet.expected.json'), 'utf8')) as {
  probes: Record<string, number>;
  channelMeans: number[];
  maskCounts: number[];
};

function checkAgainstRecord(input: Float32Array, label: string): void {
  assert.equal(input.length, INPUT_SIZE * INPUT_SIZE * 3);
  for (const [i, v] of Object.entries(expected.probes)) assert.ok(Math.abs(input[Number(i)] - v) <= 1e-5, `${label}: element ${i} is ${input[Number(i)]}, recorded ${v}`);
  for (let c = 0; c < 3; c++) {
    let total = 0;
    for (let i = c; i < input.length; i += 3) total += input[i];
    assert.ok(Math.abs(total / (input.length / 3) - expected.channelMeans[c]) <= 1e-5, `${label}: channel ${c} mean`);
  }
}

describe('golden preprocessing: every path gives the same model input', () => {
  it('trainer decode worker (cpu) and inference path (wasm) agree to 1e-6 and match the record', async () => {
    const pool = new WorkerPool<SampleRef, LoadedSample>(new URL('../../datasets/decode_worker.js', import.meta.url), 1);
    let trainer: LoadedSample;
    try {
      trainer = await pool.run({ kind: 'file', id: 'pet', split: 'val', image: fixture('pet.jpg'), mask: fixture('pet.mask.png'), maskFormat: 'classIds' });
    } finally {
      await pool.close();
    }
    checkAgainstRecord(trainer.image, 'trainer');
    assert.deepEqual([0, 1, 2].map((c) => trainer.mask.filter((v) => v === c).length), expected.maskCounts);

    await activateWasm();
    const image = await decodeImage(readFileSync(fixture('pet.jpg')));
    const t = imageToInput(image);
    const inference = (await t.data()) as Float32Array;
    t.dispose();
    assert.equal(tf.getBackend(), 'wasm');
    checkAgainstRecord(inference, 'inference');
    let maxDiff = 0;
    for (let i = 0; i < inference.length; i++) maxDiff = Math.max(maxDiff, Math.abs(inference[i] - trainer.image[i]));
    assert.ok(maxDiff <= 1e-6, `max difference ${maxDiff}`);
  });

  it('symmetric normalization: normalised trainer samples and the inference path agree to 1e-6, and equal pixel / 127.5 − 1', async () => {
    const pool = new WorkerPool<SampleRef, LoadedSample>(new URL('../../datasets/decode_worker.js', import.meta.url), 1);
    let unit: Float32Array;
    try {
      unit = (await pool.run({ kind: 'file', id: 'pet', split: 'val', image: fixture('pet.jpg'), mask: fixture('pet.mask.png'), maskFormat: 'classIds' })).image;
    } finally {
      await pool.close();
    }
    // What a dataset opened with { normalization: 'symmetric' } hands the trainer and the converter.
    const trainer = normalizeInputData(unit, 'symmetric');
    await activateWasm();
    const image = await decodeImage(readFileSync(fixture('pet.jpg')));
    const t = imageToInput(image, 'symmetric');
    const inference = (await t.data()) as Float32Array;
    const direct = tf.tidy(() => {
      const pixels = tf.image.resizeBilinear(tf.cast(tf.tensor3d(Int32Array.from(image.data), [image.height, image.width, image.channels], 'int32'), 'float32') as tf.Tensor3D, [INPUT_SIZE, INPUT_SIZE], false, true);
      return tf.sub(tf.div(pixels, 127.5), 1).dataSync() as Float32Array;
    });
    t.dispose();
    let [paths, formula, lo, hi] = [0, 0, Infinity, -Infinity];
    for (let i = 0; i < inference.length; i++) {
      paths = Math.max(paths, Math.abs(inference[i] - trainer[i]));
      formula = Math.max(formula, Math.abs(inference[i] - direct[i]));
      lo = Math.min(lo, inference[i]);
      hi = Math.max(hi, inference[i]);
    }
    assert.ok(paths <= 1e-6, `trainer vs inference: max difference ${paths}`);
    assert.ok(formula <= 1e-6, `vs pixel / 127.5 − 1: max difference ${formula}`);
    assert.ok(lo >= -1 && hi <= 1 && lo < 0 && hi > 0, `values lie in [-1, 1] on both sides of 0: [${lo}, ${hi}]`);
  });
});
