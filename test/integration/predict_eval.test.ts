import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeMaskPng, parseCard } from '../../core/index.js';
import { runCli } from '../helpers/cli.js';
import { jpeg, tempDir } from '../../bench/helpers/fixtures.js';

describe('edgeseg predict and eval', () => {
  it('write masks and overlays at the frame size, skip a corrupt image, and reproduce the card metrics', async () => {
    const out = tempDir('predict');
    const spec = 'synthetic:count=40,size=64,seed=5';
    const trained = await runCli(['train', '--data', spec, '--model-config', '{"baseFilters":4,"depth":2}', '--epochs', '1', '--batch', '4', '--backend', 'wasm', '--out', out]);
    assert.equal(trained.code, 0, trained.stderr);
    const card = parseCard(readFileSync(join(out, 'unet-small', '1', 'card.json'), 'utf8'));

    const inputs = join(out, 'inputs');
    mkdirSync(inputs);
    writeFileSync(join(inputs, 'a.jpg'), await jpeg(1, 200));
    writeFileSync(join(inputs, 'b.png'), await sharp(await jpeg(2, 90)).resize(120, 90).png().toBuffer());
    writeFileSync(join(inputs, 'broken.jpg'), 'not an image');
    const pred = await runCli(['predict', '--model', 'unet-small@1', '--models', out, '--input', inputs, '--out', join(out, 'pred')]);
    assert.equal(pred.code, 0, pred.stderr);
    assert.match(pred.stdout, /wrote 2 masks and overlays .* 1 skipped/);
    assert.match(pred.stderr, /skipped .*broken\.jpg/);
    assert.deepEqual(readdirSync(join(out, 'pred')).sort(), ['a.mask.png', 'a.overlay.png', 'b.mask.png', 'b.overlay.png']);
    const mask = decodeMaskPng(readFileSync(join(out, 'pred', 'b.mask.png')));
    assert.deepEqual([mask.width, mask.height], [120, 90]);
    const overlay = await sharp(join(out, 'pred', 'b.overlay.png')).metadata();
    assert.deepEqual([overlay.width, overlay.height], [120, 90]);

    const ev = await runCli(['eval', '--model', join(out, 'unet-small', '1'), '--data', spec, '--json']);
    assert.equal(ev.code, 0, ev.stderr);
    const result = JSON.parse(ev.stdout.trim().split('\n').at(-1)!);
    assert.ok(Math.abs(result.miou - card.metrics!.miou) < 1e-9, 'eval on the held-out split reproduces the card');
    assert.equal(result.samples, card.evaluation!.samples);

    const missing = await runCli(['eval', '--model', 'nope', '--models', out, '--data', spec]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: MODEL_NOT_FOUND: /m);
  });
});
