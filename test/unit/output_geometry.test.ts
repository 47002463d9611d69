import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASS_COLORS, ConfigError } from '../../core/index.js';
import { argmaxData, bilinearTaps, fitPlan, parseOutputSize, checkOutputSize, resampleData, resizeBilinearPixels, softmaxData, staircaseExcess } from '../../core/output_geometry.js';
import { maskToRgba } from '../../core/overlay.js';
import { preprocessPixels, resizeMask } from '../../core/preprocess.js';
import { classMasksAt, fitPixels, resampleMap } from '../../core/upsample.js';
import { tf } from '../../core/node/tfjs.js';

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** A seeded smooth-ish map [h, w, c]. */
function map(h: number, w: number, c: number): Float32Array {
  return Float32Array.from({ length: h * w * c }, (_, i) => Math.sin(i * 0.37) * 3 + Math.cos(i * 0.011) * 2);
}

describe('output geometry and resampling (core/output_geometry.ts, core/upsample.ts)', () => {
  it('resampleData over the whole grid is tfjs resizeBilinear with half-pixel centres, upsampling and downsampling', async () => {
    await tf.setBackend('cpu');
    const data = map(16, 12, 3);
    for (const [w, h] of [[40, 37], [5, 7], [12, 16]]) {
      const want = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(data, [16, 12, 3]), [h, w], false, true).dataSync());
      const got = resampleData(data, 12, 16, 3, { x: 0, y: 0, width: 12, height: 16 }, w, h);
      assert.ok(maxDiff(got, want) < 1e-5, `${w}×${h}: ${maxDiff(got, want)}`);
    }
  });

  it('resampleMap (tensor ops on the backend) gives resampleData\'s values for any window, letterbox and crop included', async () => {
    await tf.setBackend('cpu');
    const data = map(32, 32, 3);
    for (const fit of ['squash', 'letterbox', 'crop'] as const) {
      const { window } = fitPlan(64, 48, 32, 32, fit);
      const t = tf.tensor4d(data, [1, 32, 32, 3]);
      const out = resampleMap(t, window, 64, 48);
      assert.ok(maxDiff(out.dataSync(), resampleData(data, 32, 32, 3, window, 64, 48)) < 1e-5, fit);
      tf.dispose([t, out]);
    }
  });

  it('fits a 640×480 frame into 128×128: squash stretches, letterbox pads top and bottom, crop cuts left and right', () => {
    assert.deepEqual(fitPlan(640, 480, 128, 128, 'squash').window, { x: 0, y: 0, width: 128, height: 128 });
    assert.deepEqual(fitPlan(640, 480, 128, 128, 'letterbox'), { resize: { width: 128, height: 96 }, left: 0, top: 16, window: { x: 0, y: 16, width: 128, height: 96 } });
    assert.deepEqual(fitPlan(640, 480, 128, 128, 'crop'), { resize: { width: 171, height: 128 }, left: -22, top: 0, window: { x: -22, y: 0, width: 171, height: 128 } });
  });

  it('fitPixels: squash is preprocessPixels bit for bit; letterbox pads black (the normalised 0); crop keeps the middle', async () => {
    await tf.setBackend('cpu');
    const pixels = tf.tensor3d(Int32Array.from({ length: 48 * 64 * 3 }, (_, i) => (i * 7) % 256), [48, 64, 3], 'int32');
    const squash = fitPixels(pixels, 32, 32, 'squash', 'symmetric');
    const reference = preprocessPixels(pixels, 'symmetric');
    // preprocessPixels stretches to the contract's 128; at 32 compare against the same resize by hand.
    const by = tf.tidy(() => tf.sub(tf.mul(tf.mul(tf.image.resizeBilinear(tf.cast(pixels, 'float32'), [32, 32], false, true), tf.scalar(1 / 255)), tf.scalar(2)), tf.scalar(1)));
    assert.deepEqual(Array.from(squash.input.dataSync()), Array.from(by.dataSync()));
    const at128 = fitPixels(pixels, 128, 128, 'squash', 'symmetric');
    assert.deepEqual(Array.from(at128.input.dataSync()), Array.from(reference.dataSync()));
    const letterbox = fitPixels(pixels, 32, 32, 'letterbox');
    assert.deepEqual(letterbox.window, { x: 0, y: 4, width: 32, height: 24 });
    const rows = letterbox.input.arraySync() as number[][][];
    assert.ok(rows[0].every((px) => px.every((v) => v === 0)) && rows[31].every((px) => px.every((v) => v === 0)), 'black bands');
    const crop = fitPixels(pixels, 32, 32, 'crop');
    assert.deepEqual(crop.input.shape, [32, 32, 3]);
    tf.dispose([pixels, squash.input, reference, by, at128.input, letterbox.input, crop.input]);
  });

  it('resizeBilinearPixels (the lean worker\'s preprocessing without tfjs) is tfjs resizeBilinear of the RGB channels', async () => {
    await tf.setBackend('cpu');
    const rgba = Uint8Array.from({ length: 30 * 20 * 4 }, (_, i) => (i * 13) % 256);
    const got = resizeBilinearPixels(rgba, 20, 30, 4, 16, 16);
    const want = tf.tidy(() => tf.image.resizeBilinear(tf.slice(tf.cast(tf.tensor3d(rgba, [30, 20, 4], 'int32'), 'float32'), [0, 0, 0], [-1, -1, 3]) as tf.Tensor3D, [16, 16], false, true).dataSync());
    assert.ok(maxDiff(got, want) < 1e-3);
  });

  it('classMasksAt takes the argmax after the bilinear upsampling, from a tensor or from values in memory', async () => {
    await tf.setBackend('cpu');
    const data = map(8, 8, 3);
    const want = argmaxData(resampleData(data, 8, 8, 3, { x: 0, y: 0, width: 8, height: 8 }, 30, 20), 3);
    const t = tf.tensor4d(data, [1, 8, 8, 3]);
    const [fromTensor] = await classMasksAt(t, { width: 8, height: 8, classes: 3 }, [{ width: 30, height: 20 }]);
    const [fromData] = await classMasksAt(data, { width: 8, height: 8, classes: 3 }, [{ width: 30, height: 20 }]);
    t.dispose();
    assert.deepEqual(fromTensor, want);
    assert.deepEqual(fromData, want);
  });

  it('staircase excess: a nearest-neighbour upsample puts every class change on a grid column (the maximum); a bilinear one about 1', () => {
    // A disc on a 128 grid whose logit is the signed distance to its edge (a model's logits vary
    // smoothly, so the edge falls between grid columns), upsampled to 640×480 both ways.
    const grid = new Float32Array(128 * 128 * 2);
    for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) grid[(y * 128 + x) * 2] = 40.2 - Math.hypot(x - 61.3, y - 66.8);
    const ids = argmaxData(grid, 2);
    const nearest = resizeMask({ data: ids, width: 128, height: 128 }, 640, 480).data;
    const bilinear = argmaxData(resampleData(grid, 128, 128, 2, { x: 0, y: 0, width: 128, height: 128 }, 640, 480), 2);
    const max = 639 / 127;
    assert.ok(Math.abs(staircaseExcess(nearest, 640, 480, 128) - max) < 1e-9, `nearest: ${staircaseExcess(nearest, 640, 480, 128)}`);
    const smooth = staircaseExcess(bilinear, 640, 480, 128);
    assert.ok(smooth < 1.5, `bilinear: ${smooth}`);
    assert.ok(Number.isNaN(staircaseExcess(new Uint8Array(640 * 480), 640, 480, 128)), 'no edge, no figure');
  });

  it('softmaxData sums to 1 per pixel and bilinearTaps clamps at the edges', () => {
    const p = softmaxData(map(4, 4, 3), 3);
    for (let i = 0; i < 16; i++) assert.ok(Math.abs(p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2] - 1) < 1e-6);
    const taps = bilinearTaps(4, 0, 4, 8);
    assert.deepEqual([taps.i0[0], taps.i1[0], taps.w[0]], [0, 1, 0]);
    assert.deepEqual([taps.i0[7], taps.i1[7], taps.w[7]], [3, 3, 0]);
  });

  it('checks outputSize and parses --output-size, naming the option', () => {
    assert.equal(parseOutputSize('input'), 'input');
    assert.deepEqual(parseOutputSize('640x480'), { width: 640, height: 480 });
    assert.throws(() => parseOutputSize('big'), (e: Error) => e instanceof ConfigError && e.message.includes('--output-size'));
    assert.throws(() => checkOutputSize({ width: 0, height: 10 }), ConfigError);
    assert.throws(() => checkOutputSize({ width: 1.5, height: 10 }), ConfigError);
  });
});

describe('overlay colours given by the caller (core/overlay.ts maskToRgba colors)', () => {
  it('paints a class in the colour given for its id, the others in core\'s palette, the background transparent', () => {
    const rgba = maskToRgba(Uint8Array.from([0, 1, 2]), { opacity: 1, colors: [undefined, undefined, [1, 2, 3]] });
    assert.deepEqual(Array.from(rgba), [...CLASS_COLORS[0], 255, 0, 0, 0, 0, 1, 2, 3, 255]);
    const voc = maskToRgba(Uint8Array.from([0, 20]), { opacity: 1, classes: 21, background: 0 });
    assert.deepEqual(Array.from(voc.slice(0, 4)), [0, 0, 0, 0], 'class 0 is the background of a 21-class model that names it so');
    assert.equal(voc[7], 255);
  });
});
