import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { decodeMaskPng, parseCard } from '../../core/index.js';
import { imageToInput } from '../../core/preprocess.js';
import { nhwcToNchw } from '../../core/tensor_layout.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { tf } from '../../core/node/tfjs.js';
import { runCli } from '../helpers/cli.js';
import { jpeg, tempDir } from '../../bench/helpers/fixtures.js';
import { IMPORT_FIXTURES } from '../helpers/import_fixtures.js';

describe('edgeseg import, predict and eval from the command line', () => {
  it('imports a PyTorch-style NCHW ONNX model, then predict and eval run it on ONNX Runtime with its card contract', async () => {
    const root = tempDir('import-cli');
    const refused = await runCli(['import', join(IMPORT_FIXTURES, 'unet_nchw.onnx'), '--name', 'byo', '--models', root]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /IMPORT_NORMALIZATION_UNKNOWN: .*--normalize/);

    const imported = await runCli(['import', join(IMPORT_FIXTURES, 'unet_nchw.onnx'), '--name', 'byo', '--models', root, '--normalize', 'imagenet', '--labels', 'cat,sky,edge']);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /pixel_values .*NCHW, normalization imagenet/);
    const card = parseCard(readFileSync(join(root, 'byo', '1', 'card.json'), 'utf8'));
    assert.deepEqual(card.contract.classes, ['cat', 'sky', 'edge']);
    assert.equal(card.source?.format, 'onnx');

    const image = join(root, 'frame.jpg');
    writeFileSync(image, await jpeg(3, 128));
    const pred = await runCli(['predict', '--model', 'byo', '--models', root, '--input', image, '--out', join(root, 'pred'), '--mask-size', 'model']);
    assert.equal(pred.code, 0, pred.stderr);
    assert.match(pred.stdout, /wrote 1 masks .*on ort/);
    const mask = decodeMaskPng(readFileSync(join(root, 'pred', 'frame.mask.png')));
    const session = await ort.InferenceSession.create(readFileSync(join(IMPORT_FIXTURES, 'unet_nchw.onnx')), { logSeverityLevel: 3 });
    const input = imageToInput(await decodeImage(readFileSync(image)), 'imagenet');
    const out = await session.run({ pixel_values: new ort.Tensor('float32', nhwcToNchw((await input.data()) as Float32Array, 1, 128, 128, 3), [1, 3, 128, 128]) });
    input.dispose();
    await session.release();
    const ids = tf.tidy(() => tf.argMax(tf.transpose(tf.tensor4d(out['Identity:0'].data as Float32Array, [1, 3, 128, 128]), [0, 2, 3, 1]), -1));
    assert.deepEqual(Array.from(mask.data), Array.from(await ids.data()), 'predict mask = ONNX Runtime by hand');
    ids.dispose();

    const evaluated = await runCli(['eval', '--model', 'byo', '--models', root, '--data', 'synthetic:count=8,size=64,seed=2', '--split', 'all', '--json']);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const metrics = JSON.parse(evaluated.stdout.trim().split('\n').at(-1)!) as { samples: number; miou: number };
    assert.equal(metrics.samples, 8);
    assert.ok(metrics.miou >= 0 && metrics.miou <= 1);
  });
});
