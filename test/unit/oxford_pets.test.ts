/** The Oxford-IIIT Pet source on the real sample shipped in data/oxford-pets-sample/ (official lists and upstream quirks). */
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImageDescribed } from '../../core/node/decode_image.js';
import { openDataset, type Dataset } from '../../datasets/dataset.js';
import type { SplitChoice } from '../../datasets/dataset.js';
import { tempDir } from '../../bench/helpers/fixtures.js';

const SAMPLE = fileURLToPath(new URL('../../data/oxford-pets-sample', import.meta.url));
const names = (list: string) =>
  readFileSync(join(SAMPLE, 'annotations', list), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[0]);

async function open(spec: string, splits?: SplitChoice[]): Promise<{ ds: Dataset; lines: string[]; warnings: string[] }> {
  const lines: string[] = [];
  const warnings: string[] = [];
  const log = { debug() {}, info() {}, error() {}, warn: (m: string) => warnings.push(m), child: () => log, level: 'info' as const };
  const ds = await openDataset(spec, { workers: 1, print: (l) => lines.push(l), log, splits });
  return { ds, lines, warnings };
}

/** A writable copy of the sample (tests that change its lists). */
function copyOfSample(prefix: string): string {
  const dir = join(tempDir(prefix), 'pets');
  cpSync(SAMPLE, dir, { recursive: true });
  return dir;
}

describe('Oxford-IIIT Pet sample', () => {
  it('reads the official lists: trainval is training plus a stable 10% validation, test.txt is the held-out test split, unlisted images are skipped', async () => {
    const { ds, lines, warnings } = await open(`oxford:${SAMPLE}`);
    try {
      assert.deepEqual(lines, ['dataset: 96 valid, 2 skipped (2 NOT_IN_SPLIT_LIST); converted to RGB: 1 RGBA']);
      assert.equal(warnings.length, 2);
      assert.deepEqual(
        ds.skipped.map((s) => [s.id, s.code]),
        [
          ['Abyssinian_34', 'NOT_IN_SPLIT_LIST'],
          ['Abyssinian_82', 'NOT_IN_SPLIT_LIST'],
        ],
      );
      assert.deepEqual([...ds.test.ids].sort(), names('test.txt').sort());
      assert.deepEqual([...ds.train.ids, ...ds.val.ids].sort(), names('trainval.txt').sort());
      // Pinned: a change to the name hash would silently move images between training and validation.
      assert.deepEqual([...ds.val.ids].sort(), ['Abyssinian_102', 'Abyssinian_108', 'Abyssinian_14', 'Bengal_100', 'Bengal_14', 'american_bulldog_109', 'american_bulldog_19']);
      assert.equal(ds.heldOutSplit, 'test');
      assert.equal(ds.heldOut.size, 36);
      assert.notEqual(ds.manifest.splitHashes.test, ds.manifest.splitHashes.val);
      for (const split of ['train', 'val', 'test'] as const) {
        const s = await ds[split].get(0);
        assert.equal(s.split, split);
        assert.equal(s.image.length, 128 * 128 * 3);
        for (const c of [0, 1, 2]) assert.ok(s.mask.includes(c), `${s.id}'s trimap has class ${c}`);
      }
    } finally {
      await ds.close();
    }
  });

  it('decodes only the held-out test split when asked for held-out, and falls back to val for data without a test split', async () => {
    const pets = await open(`oxford:${SAMPLE}`, ['held-out']);
    try {
      assert.deepEqual(pets.lines, ['dataset: 36 valid, 2 skipped (2 NOT_IN_SPLIT_LIST); converted to RGB: 1 RGBA']);
      assert.equal(pets.ds.heldOutSplit, 'test');
      assert.equal(pets.ds.train.size + pets.ds.val.size, 0);
    } finally {
      await pets.ds.close();
    }
    const synthetic = await open('synthetic:count=40,size=32,seed=3', ['held-out']);
    try {
      assert.equal(synthetic.ds.heldOutSplit, 'val');
      assert.equal(synthetic.ds.test.size, 0);
      assert.ok(synthetic.ds.heldOut.size > 0 && synthetic.ds.heldOut.size === synthetic.ds.val.size);
      assert.equal(synthetic.ds.train.size, 0);
    } finally {
      await synthetic.ds.close();
    }
  });

  it('decodes a GIF named .jpg (first frame) and an RGBA PNG named .jpg to RGB, and counts them', async () => {
    const dir = copyOfSample('pets-gif');
    appendFileSync(join(dir, 'annotations', 'trainval.txt'), 'Abyssinian_34 1 1 1\n');
    const { ds, lines } = await open(`oxford:${dir}`);
    try {
      assert.deepEqual(lines, ['dataset: 97 valid, 1 skipped (1 NOT_IN_SPLIT_LIST); converted to RGB: 1 GIF, 1 RGBA']);
      const set = ds.train.ids.includes('Abyssinian_34') ? ds.train : ds.val;
      const gif = await set.get(set.ids.indexOf('Abyssinian_34'));
      assert.equal(gif.converted, 'GIF');
      assert.ok(gif.mask.every((c) => c === 1), 'its upstream trimap is all background');
      assert.ok(gif.image.some((v) => v > 0.1), 'the frame decoded to real pixels');
    } finally {
      await ds.close();
    }
    const gifBytes = readFileSync(join(SAMPLE, 'images', 'Abyssinian_34.jpg'));
    const rgbaBytes = readFileSync(join(SAMPLE, 'images', 'Abyssinian_5.jpg'));
    const gif = await decodeImageDescribed(gifBytes);
    assert.deepEqual([gif.converted, gif.image.width, gif.image.height, gif.image.channels], ['GIF', 250, 202, 3]);
    const rgba = await decodeImageDescribed(rgbaBytes);
    assert.deepEqual([rgba.converted, rgba.image.width, rgba.image.height, rgba.image.channels], ['RGBA', 200, 150, 3]);
    const { data } = await sharp(rgbaBytes).raw().toBuffer({ resolveWithObject: true });
    for (const i of [0, 1234, 200 * 150 - 1]) {
      assert.deepEqual([...rgba.image.data.subarray(i * 3, i * 3 + 3)], [...data.subarray(i * 4, i * 4 + 3)], 'alpha dropped, colour kept');
    }
  });

  it('expands palette and greyscale images to RGB', async () => {
    const photo = readFileSync(join(SAMPLE, 'images', 'Bengal_1.jpg'));
    const palette = await decodeImageDescribed(await sharp(photo).png({ palette: true }).toBuffer());
    assert.equal(palette.converted, 'palette');
    assert.equal(palette.image.channels, 3);
    const grey = await decodeImageDescribed(await sharp(photo).toColourspace('b-w').jpeg().toBuffer());
    assert.equal(grey.converted, 'greyscale');
    const d = grey.image.data;
    assert.ok(d.length === grey.image.width * grey.image.height * 3 && d[300] === d[301] && d[301] === d[302], 'grey replicated to three channels');
    assert.equal((await decodeImageDescribed(photo)).converted, null);
  });

  it('splits by name hash with no test split when there are no lists', async () => {
    const dir = copyOfSample('pets-nolists');
    for (const list of ['trainval.txt', 'test.txt', 'list.txt']) rmSync(join(dir, 'annotations', list));
    const { ds, lines } = await open(`oxford:${dir}`);
    try {
      assert.deepEqual(lines, ['dataset: 98 valid, 0 skipped; converted to RGB: 1 GIF, 1 RGBA']);
      assert.equal(ds.test.size, 0);
      assert.equal(ds.heldOutSplit, 'val');
      assert.equal(ds.train.size + ds.val.size, 98);
      assert.ok(ds.val.size > 0 && ds.val.size < 20);
    } finally {
      await ds.close();
    }
  });
});
