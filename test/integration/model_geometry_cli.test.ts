import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { decodeMaskPng, encodeMaskPng, geometryOf, parseCard } from '../../core/index.js';
import { classColor } from '../../core/contract.js';
import { imageToInputData } from '../../core/preprocess.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { tf } from '../../core/node/tfjs.js';
import { runCli } from '../helpers/cli.js';
import { sizedOnnx } from '../helpers/sized_onnx.js';
import { jpeg, tempDir } from '../../bench/helpers/fixtures.js';

const [HEIGHT, WIDTH, CLASSES] = [64, 96, 5];

/** Class ids of ONNX Runtime run by hand on the model's NHWC input (argmax, first class on ties). */
async function maskByHand(model: Uint8Array, image: Uint8Array): Promise<number[]> {
  const x = imageToInputData(await decodeImage(image), 'unit', { height: HEIGHT, width: WIDTH });
  const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
  try {
    const logits = (await session.run({ pixels: new ort.Tensor('float32', x, [1, HEIGHT, WIDTH, 3]) })).scores.data as Float32Array;
    return Array.from({ length: HEIGHT * WIDTH }, (_, p) => {
      let best = 0;
      for (let k = 1; k < CLASSES; k++) if (logits[p * CLASSES + k] > logits[p * CLASSES + best]) best = k;
      return best;
    });
  } finally {
    await session.release();
  }
}

describe('a model of its own size and class count from the command line', () => {
  it('imports a 96×64, 5-class ONNX model, and predict, eval and inspect honour its size and classes', async () => {
    await tf.setBackend('cpu');
    const root = tempDir('geometry-cli');
    const model = sizedOnnx({ height: HEIGHT, width: WIDTH, classes: CLASSES });
    const file = join(root, 'five.onnx');
    writeFileSync(file, model);

    const unnamed = await runCli(['import', file, '--name', 'five', '--models', root, '--normalize', 'unit']);
    assert.equal(unnamed.code, 1);
    assert.match(unnamed.stderr, /IMPORT_LABELS_MISSING: output scores has 5 classes; name them with --labels/);
    const three = await runCli(['import', file, '--name', 'five', '--models', root, '--normalize', 'unit', '--labels', 'a,b,c']);
    assert.match(three.stderr, /IMPORT_CLASSES_MISMATCH: --labels names 3 classes \(a, b, c\); output scores has 5/);
    const imported = await runCli(['import', file, '--name', 'five', '--models', root, '--normalize', 'unit', '--labels', 'a,b,c,d,e']);
    assert.equal(imported.code, 0, imported.stderr);
    const card = parseCard(readFileSync(join(root, 'five', '1', 'card.json'), 'utf8'));
    assert.deepEqual(card.contract.input.shape, [null, HEIGHT, WIDTH, 3]);
    assert.deepEqual(card.contract.output.shape, [null, HEIGHT, WIDTH, CLASSES]);
    assert.deepEqual(geometryOf(card), { height: HEIGHT, width: WIDTH, classes: CLASSES });
    assert.deepEqual(card.source?.pinned, [], 'its fixed size is its own, nothing pinned');

    const inspected = await runCli(['inspect', 'five', '--models', root]);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.match(inspected.stdout, /^input {5}64×96 RGB; 5 classes: a, b, c, d, e$/m);

    // Images at the model's own size (eval's resize then leaves them as they are), and one of another size.
    const images = join(root, 'images');
    mkdirSync(images);
    const names = ['s0', 's1', 's2'];
    for (const [i, name] of names.entries()) writeFileSync(join(images, `${name}.png`), await sharp(await jpeg(i, 128, 4)).resize(WIDTH, HEIGHT, { fit: 'fill' }).png().toBuffer());
    const wide = await sharp(await jpeg(7, 128, 4)).resize(150, 100, { fit: 'fill' }).jpeg().toBuffer();

    const predicted = join(root, 'pred');
    const pred = await runCli(['predict', '--model', 'five', '--models', root, '--input', images, '--out', predicted, '--mask-size', 'model', '--opacity', '1']);
    assert.equal(pred.code, 0, pred.stderr);
    assert.match(pred.stdout, /wrote 3 masks and overlays .*five 1 on ort, 0 skipped/);
    const masks = new Map<string, Uint8Array>();
    for (const name of names) {
      const mask = decodeMaskPng(readFileSync(join(predicted, `${name}.mask.png`)), {}, CLASSES);
      assert.deepEqual([mask.width, mask.height], [WIDTH, HEIGHT], `${name}: the model's size`);
      assert.deepEqual(Array.from(mask.data), await maskByHand(model, readFileSync(join(images, `${name}.png`))), `${name}: predict = ONNX Runtime by hand`);
      assert.deepEqual([...new Set(mask.data)].sort(), [0, 1, 2, 3, 4], `${name}: all five classes`);
      masks.set(name, mask.data);
      // No class is named background: every pixel is painted, at opacity 1 in its class's colour.
      const overlay = await sharp(join(predicted, `${name}.overlay.png`)).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([overlay.info.width, overlay.info.height], [WIDTH, HEIGHT]);
      for (const p of [0, WIDTH - 1, HEIGHT * WIDTH - 1, (HEIGHT >> 1) * WIDTH + (WIDTH >> 1)]) {
        assert.deepEqual([...overlay.data.subarray(p * 3, p * 3 + 3)], [...classColor(mask.data[p])], `${name} overlay pixel ${p} (class ${mask.data[p]})`);
      }
    }
    writeFileSync(join(root, 'wide.jpg'), wide);
    const framed = await runCli(['predict', '--model', 'five', '--models', root, '--input', join(root, 'wide.jpg'), '--out', join(root, 'framed')]);
    assert.equal(framed.code, 0, framed.stderr);
    const frameMask = decodeMaskPng(readFileSync(join(root, 'framed', 'wide.mask.png')), {}, CLASSES);
    assert.deepEqual([frameMask.width, frameMask.height], [150, 100], '--mask-size frame: the image size');

    // Truth = the predictions, except s0's, which says class 4 everywhere: eval's confusion must say exactly that.
    const truth = join(root, 'truth');
    mkdirSync(truth);
    for (const name of names) {
      const data = name === 's0' ? new Uint8Array(HEIGHT * WIDTH).fill(4) : masks.get(name)!;
      writeFileSync(join(truth, `${name}.png`), encodeMaskPng({ data, width: WIDTH, height: HEIGHT }));
    }
    const evaluated = await runCli(['eval', '--model', 'five', '--models', root, '--data', `folder:${images}:${truth}`, '--split', 'all', '--json']);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const m = JSON.parse(evaluated.stdout.trim().split('\n').at(-1)!) as { samples: number; classes: string[]; pixelAccuracy: number; perClassIou: number[] };
    assert.equal(m.samples, 3);
    assert.deepEqual(m.classes, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(m.perClassIou.length, CLASSES);
    const wrong = masks.get('s0')!.filter((c) => c !== 4).length;
    assert.ok(wrong > 0);
    assert.ok(Math.abs(m.pixelAccuracy - (1 - wrong / (3 * HEIGHT * WIDTH))) < 1e-12, `pixel accuracy ${m.pixelAccuracy}`);
    const table = await runCli(['eval', '--model', 'five', '--models', root, '--data', `folder:${images}:${truth}`, '--split', 'all']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^e +\d+\.\d+%/m, 'a row per class of the card');

    // int8 behind the gate, measured at the model's own size: the variant keeps its contract.
    const converted = await runCli(['convert', 'five', '--out', root, '--precision', 'uint8', '--eval', 'synthetic:count=20,size=80,seed=3', '--calibration-samples', '8', '--max-miou-drop', '1']);
    assert.equal(converted.code, 0, converted.stderr);
    const variant = parseCard(readFileSync(join(root, 'five', '1-uint8', 'card.json'), 'utf8'));
    assert.deepEqual(geometryOf(variant), { height: HEIGHT, width: WIDTH, classes: CLASSES });
    assert.equal(variant.metrics!.perClassIou.length, CLASSES);

    // A label of a class the model does not have is refused by name.
    writeFileSync(join(truth, 's1.png'), encodeMaskPng({ data: new Uint8Array(HEIGHT * WIDTH).fill(5), width: WIDTH, height: HEIGHT }));
    const bad = await runCli(['eval', '--model', 'five', '--models', root, '--data', `folder:${images}:${truth}`, '--split', 'all', '--json']);
    assert.equal(bad.code, 0, bad.stderr);
    assert.match(bad.stderr, /skipped \S*s1\.png code=MASK_VALUES .*value 5 at pixel 0 is not a class id \(0–4\)/);
    assert.equal((JSON.parse(bad.stdout.trim().split('\n').at(-1)!) as { samples: number }).samples, 2);
  });
});
