import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASS_BACKGROUND, CLASS_BORDER, CLASS_PET } from '../../core/index.js';
import { formatDatasetSpecs, parseDatasetSpecs } from '../../core/dataset_spec.js';
import { tf } from '../../core/node/tfjs.js';
import { packSoftTargets, SOFT_TARGET_SHIFT } from '../../datasets/soft_targets.js';
import type { SampleRef } from '../../datasets/sample_types.js';
import { weightRefs } from '../../datasets/sources/index.js';
import { sparseCrossEntropy } from '../../datasets/cross_entropy.js';
import { trainingLoss } from '../../trainer/loss.js';
import { decodeSoftValue, encodeSoftTarget, teacherTrimap, verdictOf } from '../../trainer/teacher/border.js';
import { parseClassMap, petLogOdds } from '../../trainer/teacher/class_map.js';
import { distanceTo } from '../../trainer/teacher/distance.js';

const PASCAL = ['background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse'];

describe('teacher labels', () => {
  it('the distance transform is exact: it matches brute force on random sets', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const [w, h, density] of [[17, 11, 0.05], [9, 23, 0.3], [30, 30, 0.01]] as const) {
      const set = Array.from({ length: w * h }, () => rand() < density);
      set[3] = true;
      const d = distanceTo(w, h, (i) => set[i]);
      for (let i = 0; i < w * h; i++) {
        let best = Infinity;
        for (let j = 0; j < w * h; j++) if (set[j]) best = Math.min(best, Math.hypot((i % w) - (j % w), Math.floor(i / w) - Math.floor(j / w)));
        assert.ok(Math.abs(d[i] - best) < 1e-5, `pixel ${i} of ${w}×${h}: ${d[i]} vs ${best}`);
      }
    }
    assert.equal(distanceTo(4, 4, () => false)[5], Infinity);
  });

  it('draws the border band inside and outside the outline, in widths proportional to the image', () => {
    // A disc of radius 30 in a 100×100 frame: log-odds +4 inside, −4 outside.
    const size = 100;
    const logOdds = Float32Array.from({ length: size * size }, (_, i) => (Math.hypot((i % size) - 50, Math.floor(i / size) - 50) < 30 ? 4 : -4));
    const trimap = teacherTrimap(logOdds, size, size, { inner: 0.05, outer: 0.03 }); // 5 px in, 3 px out
    const at = (x: number, y: number) => trimap[y * size + x];
    assert.equal(at(50, 50), CLASS_PET);
    assert.equal(at(50, 50 + 27), CLASS_BORDER, '3 px inside the outline is border');
    assert.equal(at(50, 50 + 23), CLASS_PET, '7 px inside is pet');
    assert.equal(at(50, 50 + 31), CLASS_BORDER, '2 px outside is border');
    assert.equal(at(50, 50 + 35), CLASS_BACKGROUND, '5 px outside is background');
    assert.equal(at(0, 0), CLASS_BACKGROUND);
    // No band: the teacher's own argmax.
    const bare = teacherTrimap(logOdds, size, size, { inner: 0, outer: 0 });
    assert.equal(bare.filter((c) => c === CLASS_BORDER).length, 0);
    // Twice the image, the same rule: the band doubles with it.
    const big = 200;
    const logOdds2 = Float32Array.from({ length: big * big }, (_, i) => (Math.hypot((i % big) - 100, Math.floor(i / big) - 100) < 60 ? 4 : -4));
    const band = (t: Uint8Array) => t.filter((c) => c === CLASS_BORDER).length;
    const ratio = band(teacherTrimap(logOdds2, big, big, { inner: 0.05, outer: 0.03 })) / band(trimap);
    assert.ok(ratio > 3.5 && ratio < 4.5, `band area scales with the image area (×${ratio.toFixed(2)})`);
  });

  it('maps teacher classes to the pet by name and refuses names the teacher does not have', () => {
    assert.deepEqual(parseClassMap('cat,dog=pet', PASCAL), { pet: [8, 12], names: ['cat', 'dog'] });
    assert.deepEqual(parseClassMap('Cat, DOG', PASCAL).pet, [8, 12]);
    assert.throws(() => parseClassMap('cat,unicorn=pet', PASCAL), /no class 'unicorn' \(it has background, aeroplane/);
    assert.throws(() => parseClassMap('cat=animal', PASCAL), /one foreground class is 'pet'/);
    assert.throws(() => parseClassMap('', PASCAL), /--classes is required/);
    // Pet log-odds: log Σ_pet e^z − log Σ_other e^z.
    const logits = new Float32Array(PASCAL.length);
    logits[8] = 2;
    logits[12] = 2;
    const m = petLogOdds(logits, 1, PASCAL.length, parseClassMap('cat,dog', PASCAL))[0];
    const expect = Math.log(2 * Math.exp(2)) - Math.log(PASCAL.length - 2);
    assert.ok(Math.abs(m - expect) < 1e-5, `${m} vs ${expect}`);
  });

  it('judges a photo by pet share and unsure share, and stores log-odds in 1/8 steps', () => {
    const v = verdictOf(Float32Array.from([5, 5, -5, -5, 0.5, -0.5, -5, -5]));
    assert.equal(v.petShare, 3 / 8);
    assert.equal(v.unsureShare, 2 / 8);
    const soft = encodeSoftTarget(Float32Array.from([0, 1.5, -1.5, 40, -40]));
    assert.deepEqual([...soft], [128, 140, 116, 255, 1]);
    assert.equal(decodeSoftValue(140), 1.5);
    assert.ok(Number.isNaN(decodeSoftValue(0)));
  });

  it('parses and formats dataset weights, and repeats or subsamples only the training split', () => {
    const specs = parseDatasetSpecs('oxford:a*3+oxford:b+synthetic:count=10,size=64,seed=1*0.5');
    assert.deepEqual(specs.map((s) => s.weight), [3, undefined, 0.5]);
    assert.equal(formatDatasetSpecs(specs), 'oxford:a*3+oxford:b+synthetic:count=10,size=64,seed=1*0.5');
    assert.throws(() => parseDatasetSpecs('oxford:a*0'), /weight \*0 must be above 0/);
    assert.throws(() => parseDatasetSpecs('oxford:a*50'), /at most 20/);
    const refs: SampleRef[] = [
      ...Array.from({ length: 10 }, (_, i): SampleRef => ({ kind: 'file', id: `t${i}`, split: 'train', image: `i${i}`, mask: `m${i}`, maskFormat: 'trimap' })),
      { kind: 'file', id: 'v0', split: 'val', image: 'v', mask: 'v', maskFormat: 'trimap' },
      { kind: 'file', id: 'x0', split: 'test', image: 'x', mask: 'x', maskFormat: 'trimap' },
    ];
    const ids = (w: number) => weightRefs(refs, w).map((r) => r.id);
    assert.equal(ids(2.5).length, 25 + 2);
    assert.equal(new Set(ids(2.5)).size, 27, 'repeats get ids of their own');
    assert.equal(ids(2.5).filter((id) => id.startsWith('v0') || id.startsWith('x0')).length, 2, 'val and test once');
    assert.equal(ids(0.3).length, 3 + 2);
    assert.deepEqual(ids(0.3), ids(0.3), 'the subset is the same every time');
    assert.deepEqual(ids(1), refs.map((r) => r.id));
  });

  it('the distillation loss is the hard loss without soft targets, and pulls toward the teacher with them', () => {
    const n = 1;
    const h = 1;
    const w = 3;
    // Three pixels: a confident-pet teacher (soft 8·4 + 128), a border pixel with a soft value, a real label with none.
    const classIds = Uint8Array.from([CLASS_BACKGROUND, CLASS_BORDER, CLASS_PET]);
    const soft = Uint8Array.from([160, 160, 0]);
    const packed = packSoftTargets(classIds, soft);
    assert.deepEqual([...packed], [CLASS_BACKGROUND + (160 << SOFT_TARGET_SHIFT), CLASS_BORDER + (160 << SOFT_TARGET_SHIFT), CLASS_PET]);
    const logits = tf.tensor4d([0, 0, 0, 0, 0, 3, 3, 0, 0], [n, h, w, 3]);
    const hardLabels = tf.tensor3d(Array.from(classIds), [n, h, w], 'int32');
    const packedLabels = tf.tensor3d(Array.from(packed), [n, h, w], 'int32');
    const plain = sparseCrossEntropy(logits, hardLabels).dataSync()[0];
    assert.ok(Math.abs(trainingLoss({ softTargets: 0, temperature: 2, teacherBorder: 'learn' })(logits, hardLabels).dataSync()[0] - plain) < 1e-6);
    // Soft weight 1: pixel 0 follows the teacher (pet, p = σ(4/T)), pixels 1 (border) and 2 (no soft) keep their hard labels.
    const t = 2;
    const distilled = trainingLoss({ softTargets: 1, temperature: t, teacherBorder: 'learn' })(logits, packedLabels).dataSync()[0];
    const q = 1 / (1 + Math.exp(-4 / t));
    const softPixel0 = -t * t * (q * Math.log(1 / 3) + (1 - q) * Math.log(1 / 3));
    const hard = (z: number[], y: number) => -(z[y] - Math.log(z.reduce((s, v) => s + Math.exp(v), 0)));
    const expect = (softPixel0 + hard([0, 0, 3], CLASS_BORDER) + hard([3, 0, 0], CLASS_PET)) / 3;
    assert.ok(Math.abs(distilled - expect) < 1e-4, `${distilled} vs ${expect}`);
    // Its gradient at pixel 0 raises the pet logit (the teacher says pet; the hard label says background).
    const grad = tf.grad((z: tf.Tensor) => trainingLoss({ softTargets: 1, temperature: t, teacherBorder: 'learn' })(z as tf.Tensor4D, packedLabels))(logits).dataSync();
    assert.ok(grad[CLASS_PET] < 0 && grad[CLASS_BACKGROUND] > 0, `pixel 0 gradient ${[...grad.slice(0, 3)]}`);
    // teacherBorder 'ignore': the teacher's band pixel (1) leaves the loss; the mean is over the other two.
    const ignored = trainingLoss({ softTargets: 1, temperature: t, teacherBorder: 'ignore' })(logits, packedLabels).dataSync()[0];
    const expectIgnored = (softPixel0 + hard([3, 0, 0], CLASS_PET)) / 2;
    assert.ok(Math.abs(ignored - expectIgnored) < 1e-4, `${ignored} vs ${expectIgnored}`);
    const bandGrad = tf.grad((z: tf.Tensor) => trainingLoss({ softTargets: 0, temperature: t, teacherBorder: 'ignore' })(z as tf.Tensor4D, packedLabels))(logits).dataSync();
    assert.ok([...bandGrad.slice(3, 6)].every((g) => g === 0), 'no gradient from an ignored band pixel');
    tf.dispose([logits, hardLabels, packedLabels]);
  });
});

describe('teacher map resize', () => {
  it("matches tfjs' resizeBilinear with half-pixel centres, down and up, several channels", async () => {
    const { resizeFloatMap } = await import('../../trainer/teacher/teacher.js');
    for (const [w, h, c, W, H] of [[51, 37, 5, 22, 16], [7, 9, 3, 20, 25], [33, 33, 21, 40, 30]] as const) {
      const data = Float32Array.from({ length: w * h * c }, (_, i) => Math.sin(i * 0.37) * 5);
      const mine = resizeFloatMap(data, { width: w, height: h }, W, H, c);
      const ref = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(data, [h, w, c]), [H, W], false, true).dataSync());
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i] - mine[i]));
      assert.ok(worst < 1e-4, `${w}×${h}×${c} → ${W}×${H}: worst difference ${worst}`);
    }
  });
});
