import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfusionMatrix, DatasetError, decodeMaskPng, decodeRle, encodeMaskPng, encodeRle, fromBase64, MaskCodecError, syntheticSample, toBase64, CLASS_BORDER, CLASS_PET } from '../../core/index.js';
import { formatDatasetSpec, parseDatasetSpec } from '../../core/dataset_spec.js';
import { decodePngChannel } from '../../core/mask_codec.js';
import { maskAgreement, percentile } from '../../core/metrics.js';
import { createRandom, shuffledIndices } from '../../core/random.js';
import { SYNTHETIC_BORDER_PX } from '../../core/synthetic.js';

function randomMask(w: number, h: number, seed: number) {
  const rand = createRandom(seed);
  const data = new Uint8Array(w * h);
  let v = 0;
  for (let i = 0; i < data.length; i++) {
    if (rand() < 0.05) v = Math.floor(rand() * 3);
    data[i] = v;
  }
  return { data, width: w, height: h };
}

describe('metrics (core/metrics.ts)', () => {
  it('computes pixel accuracy, per-class IoU, mIoU and Dice from a known confusion', () => {
    const truth = [0, 0, 0, 1, 1, 2];
    const pred = [0, 0, 1, 1, 1, 1];
    const m = new ConfusionMatrix().accumulate(truth, pred).metrics();
    assert.equal(m.pixelAccuracy, 4 / 6);
    assert.deepEqual(m.perClassIou, [2 / 3, 2 / 4, 0]);
    assert.equal(m.miou, (2 / 3 + 0.5 + 0) / 3);
    assert.deepEqual(m.perClassDice, [(2 * 2) / 5, (2 * 2) / 6, 0]);
  });

  it('accumulates across batches like one big batch, and ignores classes absent from both', () => {
    const a = new ConfusionMatrix().accumulate([0, 1], [0, 0]).accumulate([1, 1], [1, 1]);
    const b = new ConfusionMatrix().accumulate([0, 1, 1, 1], [0, 0, 1, 1]);
    assert.deepEqual(a.metrics(), b.metrics());
    assert.ok(Number.isNaN(a.metrics().perClassIou[2]));
    assert.equal(a.metrics().miou, (0.5 + 2 / 3) / 2);
  });

  it('takes nearest-rank percentiles without reordering the input', () => {
    const values = [5, 1, 4, 2, 3];
    assert.equal(percentile(values, 0.5), 3);
    assert.equal(percentile(values, 0.99), 5);
    assert.equal(percentile(values, 0), 1);
    assert.deepEqual(values, [5, 1, 4, 2, 3]);
    assert.ok(Number.isNaN(percentile([], 0.5)));
  });

  it('rejects class ids out of range and masks of different sizes', () => {
    assert.throws(() => new ConfusionMatrix().accumulate([3], [0]));
    assert.throws(() => new ConfusionMatrix().accumulate([0, 1], [0]));
    assert.equal(maskAgreement([0, 1, 2, 2], [0, 1, 1, 2]), 0.75);
  });
});

describe('mask codecs (core/mask_codec.ts)', () => {
  it('round-trips RLE and PNG on random masks of several sizes', () => {
    for (const [w, h, seed] of [[128, 128, 1], [1, 1, 2], [640, 480, 3], [7, 300, 4]]) {
      const mask = randomMask(w, h, seed);
      const rle = encodeRle(mask);
      assert.equal(rle.counts.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0), w * h);
      assert.deepEqual(decodeRle(JSON.parse(JSON.stringify(rle))), mask);
      const png = encodeMaskPng(mask);
      assert.deepEqual(decodeMaskPng(png), mask);
      assert.deepEqual(decodeMaskPng(fromBase64(toBase64(png))), mask);
    }
  });

  it('documents RLE as (class, run) pairs in row-major order', () => {
    const rle = encodeRle({ data: Uint8Array.from([1, 1, 1, 0, 2, 2]), width: 3, height: 2 });
    assert.deepEqual(rle, { encoding: 'rle1', width: 3, height: 2, counts: [1, 3, 0, 1, 2, 2] });
  });

  it('refuses malformed RLE and PNG with MASK_INVALID', () => {
    const bad = [
      { encoding: 'rle1', width: 2, height: 1, counts: [0, 1] },
      { encoding: 'rle1', width: 2, height: 1, counts: [0, 3] },
      { encoding: 'rle1', width: 2, height: 1, counts: [5, 2] },
      { encoding: 'rle1', width: 2, height: 1, counts: [0, 0, 1, 2] },
      { encoding: 'rle2', width: 2, height: 1, counts: [0, 2] },
    ];
    for (const b of bad) assert.throws(() => decodeRle(b as never), MaskCodecError, JSON.stringify(b));
    const png = encodeMaskPng(randomMask(16, 16, 9));
    const flipped = png.slice();
    flipped[40] ^= 0xff;
    assert.throws(() => decodeMaskPng(flipped), MaskCodecError);
    assert.throws(() => decodeMaskPng(png.subarray(0, png.length - 20)), MaskCodecError);
    assert.throws(() => decodeMaskPng(new Uint8Array(50)), MaskCodecError);
    const values = encodeMaskPng({ data: Uint8Array.from([0, 1, 7, 2]), width: 2, height: 2 });
    assert.throws(() => decodeMaskPng(values), /value 7/);
    assert.deepEqual(Array.from(decodePngChannel(values).data), [0, 1, 7, 2]);
  });
});

describe('synthetic data (core/synthetic.ts)', () => {
  it('is deterministic per (seed, index) and differs across seeds', () => {
    const a = syntheticSample(3, { seed: 1, size: 64 });
    const b = syntheticSample(3, { seed: 1, size: 64 });
    const c = syntheticSample(3, { seed: 2, size: 64 });
    assert.deepEqual(a.image.data, b.image.data);
    assert.deepEqual(a.mask.data, b.mask.data);
    assert.notDeepEqual(a.image.data, c.image.data);
  });

  it('surrounds every pet with a border band no wider than 2 px, and has all three classes', () => {
    for (let i = 0; i < 10; i++) {
      const { mask } = syntheticSample(i, { size: 96 });
      const { data, width: w } = mask;
      assert.ok(data.includes(CLASS_PET) && data.includes(CLASS_BORDER) && data.includes(1));
      for (let y = 0; y < w; y++) {
        for (let x = 0; x < w; x++) {
          if (data[y * w + x] !== CLASS_BORDER) continue;
          // Every border pixel lies within 2 px (Euclidean) of a pet pixel.
          let near = false;
          for (let dy = -SYNTHETIC_BORDER_PX; dy <= SYNTHETIC_BORDER_PX && !near; dy++) {
            for (let dx = -SYNTHETIC_BORDER_PX; dx <= SYNTHETIC_BORDER_PX && !near; dx++) {
              const ny = y + dy;
              const nx = x + dx;
              near = dx * dx + dy * dy <= 4 && ny >= 0 && nx >= 0 && ny < w && nx < w && data[ny * w + nx] === CLASS_PET;
            }
          }
          assert.ok(near, `sample ${i}: border pixel (${x}, ${y}) is more than 2 px from a pet`);
        }
      }
    }
  });

  it('recoats the same scene\'s pets smoothly with smooth=1: same mask and background, far less texture on the pets', () => {
    /** Mean absolute difference between pet pixels 3 px apart in a row, per channel (fur stripes and spots change within that; the pixel noise is the same in both). */
    const roughness = (s: ReturnType<typeof syntheticSample>) => {
      let sum = 0;
      let count = 0;
      const { width: w, data: mask } = s.mask;
      for (let i = 0; i < mask.length; i++) {
        if (i % w >= w - 3 || mask[i] !== CLASS_PET || mask[i + 3] !== CLASS_PET) continue;
        for (let c = 0; c < 3; c++) sum += Math.abs(s.image.data[3 * i + c] - s.image.data[3 * (i + 3) + c]);
        count += 3;
      }
      return sum / count;
    };
    for (let i = 0; i < 6; i++) {
      const fur = syntheticSample(i, { size: 96, seed: 4, shift: 1 });
      const coat = syntheticSample(i, { size: 96, seed: 4, shift: 1, smooth: 1 });
      assert.deepEqual(coat.mask.data, fur.mask.data);
      const bg = fur.mask.data.findIndex((v) => v === 1);
      assert.equal(coat.image.data[3 * bg], fur.image.data[3 * bg]);
      assert.ok(roughness(coat) < 0.6 * roughness(fur), `sample ${i}: pet roughness ${roughness(coat).toFixed(2)} smooth vs ${roughness(fur).toFixed(2)} fur`);
    }
    assert.throws(() => syntheticSample(0, { smooth: 2 }), /smooth must be 0 or 1/);
  });
});

describe('dataset specs (core/dataset_spec.ts)', () => {
  it('parses every source kind and round-trips the canonical text', () => {
    for (const text of ['synthetic:count=500,size=128,seed=1', 'oxford:/data/pets', 'folder:/a/images:/a/masks', 'feedback:/fb', 'feedback:/fb@3', 'synthetic:count=5,size=64,seed=2,shift=1', 'synthetic:count=5,size=64,seed=2,shift=1,smooth=1']) {
      assert.equal(formatDatasetSpec(parseDatasetSpec(text)), text);
    }
    assert.deepEqual(parseDatasetSpec('synthetic:count=9'), { kind: 'synthetic', count: 9, size: 128, seed: 1, shift: 0, smooth: 0 });
  });

  it('names the problem in a malformed spec', () => {
    const cases: [string, RegExp][] = [
      ['imagenet:/x', /unknown source kind 'imagenet'/],
      ['synthetic:size=64', /count=N/],
      ['synthetic:count=5,colour=2', /unknown or malformed parameter 'colour=2'/],
      ['synthetic:count=-1', /non-negative integer/],
      ['folder:/only-one', /folder:<images dir>:<masks dir>/],
      ['nocolon', /missing the source kind/],
      ['feedback:/x@zero', /positive integer/],
    ];
    for (const [text, re] of cases) assert.throws(() => parseDatasetSpec(text), (e: unknown) => e instanceof DatasetError && re.test(e.message), text);
  });

  it('shuffles deterministically', () => {
    assert.deepEqual(shuffledIndices(10, 4), shuffledIndices(10, 4));
    assert.deepEqual([...shuffledIndices(10, 4)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
