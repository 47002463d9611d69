import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, decodeMaskPng, fromBase64, RAW_RGB8, syntheticSample } from '../../core/index.js';
import { saveLayersModel } from '../../core/node/artifact_fs.js';
import { convert } from '../../converter/convert.js';
import { InferencePool } from '../../runtime-node/pool/inference_pool.js';
import type { FrameInput, FrameOutcome, InferOptions } from '../../runtime-node/pool/protocol.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { buildModel } from '../../trainer/models/index.js';
import { seedWeights } from '../../trainer/models/seeded_weights.js';
import { jpeg, tempDir } from '../../bench/helpers/fixtures.js';
import { quiet } from '../helpers/log.js';
import { BENCH_MODEL, randomizeBatchNorm, untrainedCard } from '../../bench/helpers/models.js';

const INFER: InferOptions = { maskSize: 'frame', maskFormat: 'png', maxSide: 1024 };

async function frames(): Promise<FrameInput[]> {
  const out: FrameInput[] = [];
  for (const [i, size] of [160, 200, 96, 320].entries()) out.push({ bytes: await jpeg(i, size, 11), contentType: 'image/jpeg' });
  const raw = syntheticSample(7, { size: 144, seed: 12 }).image;
  out.push({ bytes: Uint8Array.from(raw.data), contentType: RAW_RGB8, width: raw.width, height: raw.height });
  return out;
}

type Ok = Extract<FrameOutcome, { ok: true }> & { modelVersion: string };

async function run(pool: InferencePool, input: FrameInput[]): Promise<Ok[]> {
  const outs = await Promise.all(input.map((f) => pool.infer(f)));
  for (const o of outs) assert.ok(o.ok, 'frame segmented');
  return outs as Ok[];
}

describe('runtime-node ONNX Runtime engine', () => {
  let parent: string;
  let variant: string;
  let input: FrameInput[];
  const pools: InferencePool[] = [];

  before(async () => {
    await activateWasm();
    const root = tempDir('ort-engine');
    const { model } = buildModel('unet-small', BENCH_MODEL);
    seedWeights(model, 9);
    randomizeBatchNorm(model);
    parent = join(root, 'unet-small', '1');
    await saveLayersModel(model, parent, untrainedCard('unet-small', '1', 'unet-small', BENCH_MODEL));
    model.dispose();
    variant = (await convert({ model: parent, precision: 'fp32', format: 'both', models: root, backend: 'wasm', log: quiet, onProgress: () => {} })).dir;
    input = await frames();
  });

  after(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  it('produces the masks and statistics of the tfjs engine for the same weights (≥ 99.9% of pixels per frame), micro-batched', async () => {
    // ORT takes the frames in batches of up to 4 (the ONNX model's batch dimension is free).
    const ort = await InferencePool.start(variant, { workers: 1, engine: 'ort', maxBatch: 4, maxWaitMs: 20, infer: INFER });
    pools.push(ort);
    const tfjs = await InferencePool.start(variant, { workers: 1, engine: 'tfjs', infer: INFER });
    pools.push(tfjs);
    assert.deepEqual([ort.model.engine.chosen, ort.model.engine.provider, ort.model.engine.reason], ['ort', 'cpu', 'requested']);
    assert.deepEqual([tfjs.model.engine.chosen, tfjs.model.engine.provider], ['tfjs', null]);
    const [a, b] = [await run(ort, input), await run(tfjs, input)];
    assert.equal(new Set(a.slice(0, 4).map((o) => o.inferenceMs)).size, 1, 'the first four frames ran as one batch');
    a.forEach((o, i) => {
      const ma = decodeMaskPng(fromBase64(o.mask as string));
      const mb = decodeMaskPng(fromBase64(b[i].mask as string));
      assert.deepEqual([ma.width, ma.height], [mb.width, mb.height]);
      let same = 0;
      for (let p = 0; p < ma.data.length; p++) if (ma.data[p] === mb.data[p]) same++;
      assert.ok(same / ma.data.length >= 0.999, `frame ${i}: ${((100 * same) / ma.data.length).toFixed(3)}% of pixels agree`);
      assert.ok(Math.abs(o.meanConfidence - b[i].meanConfidence) < 1e-4);
      o.classCoverage.forEach((c, k) => assert.ok(Math.abs(c - b[i].classCoverage[k]) < 1e-3));
    });
    const [mem] = await ort.memory();
    assert.equal(mem.numTensors, 0, 'the ORT path leaves no tfjs tensor behind');
    await Promise.all([ort.close(), tfjs.close()]);
  });

  it("auto picks ONNX Runtime when the version has an ONNX file and tfjs when not, at start and at every swap; 'ort' without one is refused", async () => {
    const pool = await InferencePool.start(parent, { workers: 1, engine: 'auto', infer: INFER });
    pools.push(pool);
    assert.deepEqual([pool.model.engine.requested, pool.model.engine.chosen, pool.model.engine.reason], ['auto', 'tfjs', 'the version has no ONNX file']);
    await run(pool, input.slice(0, 2));
    const inFlight = run(pool, input);
    await pool.swap(variant);
    assert.equal(pool.model.engine.chosen, 'ort');
    assert.match(pool.model.engine.reason, /has an ONNX file \(model\.onnx\)/);
    await inFlight;
    const after = await run(pool, input.slice(0, 2));
    assert.ok(after.every((o) => o.modelVersion === 'unet-small@1-fp32'));
    const [mem] = await pool.memory();
    assert.deepEqual(mem.models.length, 1, 'the tfjs model was unloaded after the swap');
    assert.equal(mem.numTensors, 0, 'and its tensors disposed');
    await assert.rejects(InferencePool.start(parent, { workers: 1, engine: 'ort', infer: INFER }), (err: Error) => err instanceof ConfigError && /needs an ONNX model/.test(err.message));
  });
});
