/**
 * `edgeseg train --init <tflite> --freeze-encoder <epochs>`: the encoder starts from the ImageNet
 * weights, stays fixed for the first epochs while the decoder trains, then trains too; the card
 * records the file and the normalization; a run killed at the unfreeze boundary resumes on the
 * same losses as one that was not.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ConfigError, parseCard } from '../../core/index.js';
import { tf } from '../../core/node/tfjs.js';
import { resolveTrainConfig } from '../../trainer/config.js';
import { readMobilenetV2Tflite } from '../../trainer/pretrained/mobilenetv2_tflite.js';
import { runCli, startCli } from '../helpers/cli.js';
import { tempDir } from '../../bench/helpers/fixtures.js';

const TFLITE = fileURLToPath(new URL('../../data/mobilenet-v2-imagenet/mobilenet_v2_1.0_224_quant.tflite', import.meta.url));
const DATA = 'synthetic:count=14,size=128,seed=4';
const ARGS = [
  'train', '--model', 'unet-mobilenetv2', '--model-config', '{"decoderFilters":[32,16,16,8]}', '--init', TFLITE, '--freeze-encoder', '1',
  '--data', DATA, '--epochs', '3', '--batch', '4', '--lr', '1e-3', '--backend', 'wasm', '--workers', '2', '--patience', '0', '--checkpoint-every', '1000',
];

function stepLosses(dir: string): Map<number, number> {
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  return new Map(lines.filter((l) => l.type === 'step').map((l) => [l.step, l.loss]));
}

/** A weight of a checkpoint (trainer/checkpoint.ts format: `<index>:<originalName>`). */
function checkpointWeight(ckpt: string, name: string): Float32Array {
  const file = JSON.parse(readFileSync(join(ckpt, 'checkpoint.json'), 'utf8')) as { model: { specs: tf.io.WeightsManifestEntry[] } };
  const map = tf.io.decodeWeights(new Uint8Array(readFileSync(join(ckpt, 'model.bin'))).buffer, file.model.specs);
  const key = Object.keys(map).find((k) => k.endsWith(`:${name}`));
  assert.ok(key, `checkpoint has ${name}`);
  const values = map[key].dataSync() as Float32Array;
  tf.dispose(Object.values(map));
  return values;
}

describe('edgeseg train --init --freeze-encoder', () => {
  it('refuses --init and --freeze-encoder where they cannot apply, by name', () => {
    const base = { data: DATA, model: 'unet-mobilenetv2' };
    assert.throws(() => resolveTrainConfig({ ...base, freezeEncoderEpochs: 2 }), (e: unknown) => e instanceof ConfigError && /--freeze-encoder .* --init/.test(e.message));
    assert.throws(() => resolveTrainConfig({ ...base, model: 'unet-small', init: TFLITE, freezeEncoderEpochs: 1 }), (e: unknown) => e instanceof ConfigError && /unet-mobilenetv2/.test(e.message));
    assert.throws(() => resolveTrainConfig({ ...base, init: TFLITE, freezeEncoderEpochs: -1 }), ConfigError);
    assert.throws(() => resolveTrainConfig({ ...base, init: TFLITE, freezeEncoderEpochs: 1, modelConfig: { freezeEncoder: true } }), ConfigError);
    assert.equal(resolveTrainConfig({ ...base, init: TFLITE, freezeEncoderEpochs: 1 }).freezeEncoderEpochs, 1);
  });

  it('keeps the encoder at the imported weights for the frozen epoch, trains it after, records the init in the card, and resumes across the unfreeze on the same losses', async () => {
    const straight = tempDir('init-straight');
    const ref = await runCli([...ARGS, '--out', straight]);
    assert.equal(ref.code, 0, ref.stderr);
    const refDir = join(straight, 'unet-mobilenetv2', '1');
    const card = parseCard(readFileSync(join(refDir, 'card.json'), 'utf8'));
    assert.equal(card.contract.input.normalization, 'symmetric', 'the weights expect [-1, 1]; the card says so');
    const init = card.training!.init as { file: string; sha256: string; layers: number };
    assert.equal(init.file, 'mobilenet_v2_1.0_224_quant.tflite');
    assert.equal(init.sha256, createHash('sha256').update(readFileSync(TFLITE)).digest('hex'));
    assert.equal(init.layers, 51);
    assert.equal(card.training!.freezeEncoderEpochs, 1);
    const stepsPerEpoch = (card.training!.steps as number) / 3;
    assert.ok(Number.isInteger(stepsPerEpoch) && stepsPerEpoch >= 2, `${card.training!.steps} steps in 3 epochs`);

    // The same run, killed once the end-of-epoch-1 checkpoint (the last frozen state) is written.
    const out = tempDir('init-killed');
    const ckptDir = join(out, 'unet-mobilenetv2', '.runs', '1', 'checkpoints');
    const boundary = `step-${String(stepsPerEpoch).padStart(8, '0')}`;
    const run = startCli([...ARGS, '--out', out]);
    const deadline = Date.now() + 300_000;
    let checkpoint = '';
    while (Date.now() < deadline && checkpoint < boundary) {
      if (existsSync(join(ckptDir, 'latest.json'))) checkpoint = JSON.parse(readFileSync(join(ckptDir, 'latest.json'), 'utf8')).checkpoint;
      await sleep(20);
    }
    run.child.kill('SIGKILL');
    assert.equal((await run.done).signal, 'SIGKILL', 'killed mid-run');
    assert.equal(checkpoint, boundary, 'killed at the end of the frozen epoch');

    // After the frozen epoch the encoder's kernels are exactly the imported ones.
    const weights = readMobilenetV2Tflite(new Uint8Array(readFileSync(TFLITE)), 'tflite');
    const stem = checkpointWeight(join(ckptDir, boundary), 'Conv1/kernel');
    assert.deepEqual(Array.from(stem), Array.from(weights.layers[0].kernel), 'Conv1 did not train while frozen');
    const project = checkpointWeight(join(ckptDir, boundary), 'block_16_project/kernel');
    assert.deepEqual(Array.from(project), Array.from(weights.layers[50].kernel), 'block_16_project did not train while frozen');

    const resumed = await runCli(['train', '--resume', '--out', out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`from step ${stepsPerEpoch}`));
    const a = stepLosses(refDir);
    const b = stepLosses(join(out, 'unet-mobilenetv2', '1'));
    assert.equal(b.size, a.size);
    for (const [step, loss] of a) assert.ok(Math.abs(b.get(step)! - loss) <= 1e-4 * loss + 1e-6, `step ${step}: ${b.get(step)} vs ${loss}`);

    // Unfrozen, the encoder trained: its final kernels moved off the imported ones.
    const finalModel = join(out, 'unet-mobilenetv2', '1');
    const verify = await runCli(['verify', finalModel]);
    assert.equal(verify.code, 0, verify.stderr);
    const manifest = JSON.parse(readFileSync(join(finalModel, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
    const shards = manifest.weightsManifest[0].paths.map((p) => readFileSync(join(finalModel, p)));
    const decoded = tf.io.decodeWeights(new Uint8Array(Buffer.concat(shards)).buffer, manifest.weightsManifest[0].weights);
    const trained = decoded['Conv1/kernel'].dataSync() as Float32Array;
    const moved = trained.reduce((m: number, v: number, i: number) => Math.max(m, Math.abs(v - weights.layers[0].kernel[i])), 0);
    tf.dispose(Object.values(decoded));
    assert.ok(moved > 0, 'Conv1 trained after the unfreeze');
  });
});
