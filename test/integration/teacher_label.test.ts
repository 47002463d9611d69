import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { LABEL_REQUEST_SCHEMA, parseCard, topicNames, type LabelRequestMessage } from '../../core/index.js';
import { decodePngChannel } from '../../core/mask_codec.js';
import { FeedbackStore } from '../../core/node/feedback_store.js';
import { PACKAGE_ROOT } from '../../core/node/package_root.js';
import { TeacherLabeler } from '../../runtime-node/loop/teacher_labeler.js';
import type { Transport } from '../../runtime-node/transport/transport.js';
import { openDataset } from '../../datasets/dataset.js';
import { readLabelRecords } from '../../trainer/teacher/manifest.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';

// The shipped pets model is the teacher here: it runs at 128² in a second, so the test is about
// the labelling machinery (layout, manifest, resume, skips, soft targets, the loop's labeller);
// the DeepLab teacher at 513² is tested in tflite_import.test.ts.
const TEACHER = join(PACKAGE_ROOT, 'data/models/pets/1-fp16');
const SAMPLE = join(PACKAGE_ROOT, 'data/oxford-pets-sample/images');

function photos(n: number): string {
  const dir = tempDir('label-in');
  for (const f of readdirSync(SAMPLE).filter((f) => /^(Bengal|american_bulldog)_\d+\.jpg$/.test(f)).slice(0, n)) copyFileSync(join(SAMPLE, f), join(dir, f));
  return dir;
}

describe('edgeseg label', () => {
  it('writes Oxford trimaps, soft targets, a manifest and a contact sheet; resumes after a stop; skips a photo with no pet', async () => {
    const images = photos(6);
    // A grey frame: no pet for the teacher to find.
    writeFileSync(join(images, 'zz_grey.jpg'), await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: 128, g: 128, b: 128 } } }).jpeg().toBuffer());
    const out = join(tempDir('label-out'), 'labels');
    const args = ['label', '--teacher', TEACHER, '--images', images, '--out', out, '--classes', 'pet=pet'];
    const first = await runCli([...args, '--limit', '3']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /labelled 3 photos, skipped 0/);
    assert.equal(readLabelRecords(out).length, 3);
    const second = await runCli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /labelled 3 photos, skipped 1 \(1 NO_PET\); 3 were already done/);
    assert.match(second.stdout, new RegExp(`dataset spec: oxford:${out}`));
    const records = readLabelRecords(out);
    assert.equal(records.length, 7);
    const grey = records.find((r) => r.name === 'zz_grey')!;
    assert.equal(grey.status, 'skipped');
    assert.match(grey.reason!, /finds no pet/);
    assert.ok(!existsSync(join(out, 'images', 'zz_grey.jpg')), 'a skipped photo is not in the labelled set');
    for (const r of records.filter((r) => r.status === 'labelled')) {
      assert.ok(r.confidence! > 0 && r.confidence! <= 1 && r.petShare! > 0.01);
      const trimap = decodePngChannel(readFileSync(join(out, 'annotations/trimaps', `${r.name}.png`)));
      const meta = await sharp(join(out, 'images', `${r.name}.jpg`)).metadata();
      assert.deepEqual([trimap.width, trimap.height], [meta.width, meta.height], 'trimaps at the photo size');
      assert.deepEqual(new Set(trimap.data), new Set([1, 2, 3]), 'pet, background and a border band');
    }
    const sheet = readFileSync(join(out, 'contact-sheet.html'), 'utf8');
    assert.equal((sheet.match(/<figure>/g) ?? []).length, 6);
    assert.match(sheet, /zz_grey · NO_PET/);
    // Another border rule into the same folder would mix two labellings: refused.
    const other = await runCli([...args, '--border-inner', '0.01']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /LABEL_TEACHER_MISMATCH|holds labels by pets@1-fp16/);
    // The folder trains as any Oxford dataset, soft targets included.
    const ds = await openDataset(`oxford:${out}`, { workers: 0, print: () => {} });
    const sample = await ds.train.get(0);
    assert.equal(ds.train.size + ds.val.size, 6);
    assert.equal(sample.soft?.length, 128 * 128);
    await ds.close();
  });

  it('labels real pets with the imported DeepLab teacher: its trimaps agree with the real ones', async () => {
    const root = tempDir('deeplab-label');
    const imported = await runCli(['import', join(PACKAGE_ROOT, 'data/deeplabv3-mnv2-pascal/deeplabv3_mnv2_pascal_quant.tflite'), '--name', 'deeplab', '--models', join(root, 'models'), '--labels', join(PACKAGE_ROOT, 'data/deeplabv3-mnv2-pascal/pascal_voc_segmentation_labels.txt')]);
    assert.equal(imported.code, 0, imported.stderr);
    const images = tempDir('deeplab-in');
    const names = ['Abyssinian_1', 'Bengal_1', 'american_bulldog_10'];
    for (const n of names) copyFileSync(join(SAMPLE, `${n}.jpg`), join(images, `${n}.jpg`));
    const out = join(root, 'labels');
    const labelled = await runCli(['label', '--teacher', 'deeplab', '--models', join(root, 'models'), '--images', images, '--out', out, '--classes', 'cat,dog=pet']);
    assert.equal(labelled.code, 0, labelled.stderr);
    assert.match(labelled.stdout, /labelled 3 photos, skipped 0 with deeplab@1 \(ort\)/);
    // Pet vs the rest against the real trimaps, border pixels ignored (foreground IoU).
    let inter = 0;
    let union = 0;
    for (const n of names) {
      const mine = decodePngChannel(readFileSync(join(out, 'annotations/trimaps', `${n}.png`))).data;
      const real = decodePngChannel(readFileSync(join(PACKAGE_ROOT, 'data/oxford-pets-sample/annotations/trimaps', `${n}.png`))).data;
      for (let i = 0; i < real.length; i++) {
        if (real[i] === 3) continue;
        const a = mine[i] === 1;
        const b = real[i] === 1;
        if (a && b) inter++;
        if (a || b) union++;
      }
    }
    assert.ok(inter / union > 0.8, `teacher foreground IoU against the real trimaps ${(inter / union).toFixed(3)}`);
  });

  it('distils: a student trains on real labels and teacher labels with weights and soft targets, and its card names the teacher', async () => {
    const images = photos(4);
    const root = tempDir('distil');
    const labels = join(root, 'labels');
    const labelled = await runCli(['label', '--teacher', TEACHER, '--images', images, '--out', labels, '--classes', 'pet=pet']);
    assert.equal(labelled.code, 0, labelled.stderr);
    const real = join(PACKAGE_ROOT, 'data/oxford-pets-sample');
    const trained = await runCli([
      'train', '--model', 'unet-small', '--model-config', '{"baseFilters":4,"depth":2}', '--data', `oxford:${real}*2`, '--data', `oxford:${labels}`,
      '--soft-targets', '0.5', '--temperature', '2', '--max-steps', '2', '--batch', '4', '--epochs', '1', '--backend', 'wasm', '--workers', '2', '--out', join(root, 'models'),
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const card = parseCard(readFileSync(join(root, 'models', 'unet-small', '1', 'card.json'), 'utf8'));
    assert.equal(card.dataset!.spec, `oxford:${real}*2+oxford:${labels}`);
    assert.equal(card.dataset!.teachers?.length, 1);
    assert.equal(card.dataset!.teachers![0].version, '1-fp16');
    assert.match(card.dataset!.teachers![0].digest, /^[0-9a-f]{64}$/);
    assert.equal(card.training!.softTargets, 0.5);
    assert.ok(Number.isFinite(card.metrics!.miou));
  });

  it("the loop's teacher labeller answers a label request from the feedback store, naming itself", async () => {
    const store = new FeedbackStore(tempDir('teacher-store'));
    const bytes = new Uint8Array(readFileSync(join(SAMPLE, 'Bengal_1.jpg')));
    const sha = store.putObject(bytes);
    const meta = await sharp(bytes).metadata();
    const labeler = await TeacherLabeler.create(null as unknown as Transport, { teacher: TEACHER, classes: 'pet=pet', topics: topicNames('t.'), groupId: 'g' });
    try {
      const request: LabelRequestMessage = {
        schema: LABEL_REQUEST_SCHEMA,
        frameId: 'f-1',
        sensorId: 's',
        score: 0.9,
        reason: 'entropy',
        modelVersion: 'pets@1',
        frame: { store: store.dir, sha256: sha, contentType: 'image/jpeg' },
        at: new Date().toISOString(),
      };
      const answer = await labeler.respond(request);
      assert.ok(answer);
      assert.equal(answer.labeler, 'teacher:pets@1-fp16');
      assert.equal(answer.source, 'teacher');
      const mask = decodePngChannel(Buffer.from(answer.mask, 'base64'));
      assert.deepEqual([mask.width, mask.height], [meta.width, meta.height]);
      assert.ok(mask.data.some((c) => c === 0) && mask.data.some((c) => c === 1));
      assert.equal(await labeler.respond({ ...request, frameId: 'f-2', frame: { ...request.frame, sha256: 'f'.repeat(64) } }), null, 'a frame missing from the store gets no answer');
    } finally {
      await labeler.stop();
    }
  });
});
