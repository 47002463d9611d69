import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { DatasetError, encodeMaskPng, syntheticSample } from '../../core/index.js';
import { openDataset } from '../../datasets/dataset.js';
import { FeedbackStore } from '../../core/node/feedback_store.js';
import { batches, shuffleOrder } from '../../datasets/pipeline.js';
import { greyPng, jpeg, oxfordFixture, tempDir } from '../../bench/helpers/fixtures.js';

async function open(spec: string) {
  const lines: string[] = [];
  const warnings: string[] = [];
  const log = { debug() {}, info() {}, error() {}, warn: (m: string) => warnings.push(m), child: () => log, level: 'info' as const };
  const ds = await openDataset(spec, { workers: 1, print: (l) => lines.push(l), log });
  return { ds, lines, warnings };
}

describe('dataset sources', () => {
  it('loads the Oxford-IIIT layout with trainval/test splits and trimaps mapped to class ids', async () => {
    const { dir } = await oxfordFixture({ train: 6, test: 3 });
    const { ds, lines } = await open(`oxford:${dir}`);
    try {
      assert.deepEqual(lines, ['dataset: 9 valid, 0 skipped']);
      assert.equal(ds.train.size + ds.val.size, 6, 'trainval.txt is training plus validation');
      assert.equal(ds.test.size, 3);
      assert.equal(ds.heldOutSplit, 'test');
      assert.equal(ds.heldOut, ds.test);
      const s = await ds.test.get(0);
      assert.equal(s.image.length, 128 * 128 * 3);
      assert.ok(s.mask.every((v) => v <= 2) && s.mask.includes(0) && s.mask.includes(2));
      const img = readFileSync(join(dir, 'images', 'Pet_7.jpg'));
      assert.equal(s.files[0].sha256, createHash('sha256').update(img).digest('hex'));
      assert.match(ds.manifest.hash, /^[0-9a-f]{64}$/);
    } finally {
      await ds.close();
    }
  });

  it('skips and counts bad files: corrupt and truncated images, wrong-size and out-of-range masks, missing pairs, paths outside the root', async () => {
    const { dir } = await oxfordFixture({ train: 4, test: 2, size: 64 });
    const img = join(dir, 'images');
    const tri = join(dir, 'annotations', 'trimaps');
    writeFileSync(join(img, 'Corrupt_1.jpg'), Buffer.from('this is not a jpeg at all'));
    writeFileSync(join(tri, 'Corrupt_1.png'), await greyPng(new Uint8Array(64 * 64).fill(2), 64, 64));
    const full = await jpeg(9, 64);
    writeFileSync(join(img, 'Truncated_1.jpg'), full.subarray(0, Math.floor(full.length / 2)));
    writeFileSync(join(tri, 'Truncated_1.png'), await greyPng(new Uint8Array(64 * 64).fill(2), 64, 64));
    writeFileSync(join(img, 'Small_1.jpg'), await jpeg(10, 64));
    writeFileSync(join(tri, 'Small_1.png'), await greyPng(new Uint8Array(32 * 32).fill(2), 32, 32));
    writeFileSync(join(img, 'Values_1.jpg'), await jpeg(11, 64));
    writeFileSync(join(tri, 'Values_1.png'), await greyPng(new Uint8Array(64 * 64).fill(9), 64, 64));
    writeFileSync(join(img, 'Lonely_1.jpg'), await jpeg(12, 64));
    const outside = tempDir('outside');
    writeFileSync(join(outside, 'Escape_1.jpg'), await jpeg(13, 64));
    symlinkSync(join(outside, 'Escape_1.jpg'), join(img, 'Escape_1.jpg'));
    writeFileSync(join(tri, 'Escape_1.png'), await greyPng(new Uint8Array(64 * 64).fill(2), 64, 64));
    const names = ['Corrupt_1', 'Truncated_1', 'Small_1', 'Values_1', 'Lonely_1', 'Escape_1', '../../../etc/passwd'];
    appendFileSync(join(dir, 'annotations', 'trainval.txt'), names.map((n) => `${n} 1 1 1\n`).join(''));
    const { ds, lines, warnings } = await open(`oxford:${dir}`);
    try {
      assert.deepEqual(lines, ['dataset: 6 valid, 7 skipped (1 PAIR_MISSING, 2 PATH_OUTSIDE_ROOT, 2 SAMPLE_CORRUPT, 1 MASK_MISMATCH, 1 MASK_VALUES)']);
      const byId = new Map(ds.skipped.map((s) => [s.id, s.code]));
      assert.equal(byId.get('Corrupt_1'), 'SAMPLE_CORRUPT');
      assert.equal(byId.get('Truncated_1'), 'SAMPLE_CORRUPT');
      assert.equal(byId.get('Small_1'), 'MASK_MISMATCH');
      assert.equal(byId.get('Values_1'), 'MASK_VALUES');
      assert.equal(byId.get('Lonely_1'), 'PAIR_MISSING');
      assert.equal(byId.get('Escape_1'), 'PATH_OUTSIDE_ROOT');
      assert.equal(byId.get('../../../etc/passwd'), 'PATH_OUTSIDE_ROOT');
      assert.equal(warnings.length, 7, 'one warning per skipped file');
    } finally {
      await ds.close();
    }
  });

  it('fails only when nothing valid remains', async () => {
    const dir = tempDir('empty-oxford');
    mkdirSync(join(dir, 'images'));
    mkdirSync(join(dir, 'annotations', 'trimaps'), { recursive: true });
    writeFileSync(join(dir, 'images', 'Bad.jpg'), 'nope');
    writeFileSync(join(dir, 'annotations', 'trimaps', 'Bad.png'), 'nope');
    await assert.rejects(open(`oxford:${dir}`), (e: unknown) => e instanceof DatasetError && e.code === 'DATASET_EMPTY');
    await assert.rejects(open(`oxford:${join(dir, 'missing')}`), (e: unknown) => e instanceof DatasetError && e.code === 'DATASET_NOT_FOUND');
  });

  it('reads a folder pair and a feedback store version', async () => {
    const root = tempDir('folder');
    mkdirSync(join(root, 'images'));
    mkdirSync(join(root, 'masks'));
    const store = new FeedbackStore(join(root, 'feedback'));
    const samples = [];
    for (let i = 0; i < 5; i++) {
      const s = syntheticSample(i, { size: 64 });
      const image = await jpeg(i, 64);
      const mask = encodeMaskPng(s.mask);
      writeFileSync(join(root, 'images', `f${i}.jpg`), image);
      writeFileSync(join(root, 'masks', `f${i}.png`), mask);
      samples.push({ id: `frame-${i}`, image: store.putObject(image), mask: store.putObject(mask), source: 'test', at: new Date().toISOString() });
    }
    const folder = await open(`folder:${join(root, 'images')}:${join(root, 'masks')}`);
    assert.deepEqual(folder.lines, ['dataset: 5 valid, 0 skipped']);
    await folder.ds.close();
    const v1 = await store.append(samples.slice(0, 3));
    const v2 = await store.append(samples.slice(2));
    assert.equal(v1.version, 1);
    assert.equal(v2.samples.length, 5, 'a version holds every sample so far; a repeated id is replaced');
    const fb1 = await open(`feedback:${store.dir}@1`);
    const fb = await open(`feedback:${store.dir}`);
    assert.deepEqual(fb1.lines, ['dataset: 3 valid, 0 skipped']);
    assert.deepEqual(fb.lines, ['dataset: 5 valid, 0 skipped']);
    assert.notEqual(fb1.ds.manifest.hash, fb.ds.manifest.hash);
    await Promise.all([fb1.ds.close(), fb.ds.close()]);
  });
});

describe('batch pipeline', () => {
  it('shuffles through a buffer like tf.data, deterministically per seed and epoch', () => {
    const order = shuffleOrder(100, 10, 7);
    assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(order, shuffleOrder(100, 10, 7));
    assert.notDeepEqual(order, shuffleOrder(100, 10, 8));
    // A buffer of 10 cannot emit sample 50 before position 40.
    assert.ok(order.indexOf(50) >= 40);
  });

  it('flips image and mask together, and replays an epoch from any batch', async () => {
    const { ds } = await open('synthetic:count=40,size=64,seed=4');
    try {
      const opts = { batchSize: 4, shuffleBuffer: 16, flip: true, seed: 3, epoch: 2 };
      const all = [];
      for await (const b of batches(ds.train, opts)) all.push(b);
      const tail = [];
      for await (const b of batches(ds.train, { ...opts, startBatch: 3 })) tail.push(b);
      assert.deepEqual(tail.map((b) => b.ids), all.slice(3).map((b) => b.ids));
      assert.deepEqual(tail[0].images, all[3].images);
      let flipped = 0;
      for (const b of all) {
        for (let k = 0; k < b.size; k++) {
          const s = await ds.train.get(ds.train.ids.indexOf(b.ids[k]));
          const mask = b.masks.subarray(k * 128 * 128, (k + 1) * 128 * 128);
          const same = mask.every((v, i) => v === s.mask[i]);
          const mirrored = mask.every((v, i) => v === s.mask[Math.floor(i / 128) * 128 + 127 - (i % 128)]);
          assert.ok(same || mirrored);
          if (!same) {
            flipped++;
            // the image is mirrored with its mask
            const img = b.images.subarray(k * 128 * 128 * 3, (k + 1) * 128 * 128 * 3);
            assert.equal(img[0], s.image[127 * 3]);
          }
        }
      }
      assert.ok(flipped > 0 && flipped < all.length * 4, `some but not all samples flipped (${flipped})`);
    } finally {
      await ds.close();
    }
  });
});
