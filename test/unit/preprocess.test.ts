import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import '@tensorflow/tfjs-backend-cpu';
import { ContractError, INPUT_SIZE, SampleError } from '../../core/index.js';
import { PIXEL_SCALE } from '../../core/contract.js';
import { checkClassIds, imageToInputData, maskToTarget, resizeMask, trimapToClassIds } from '../../core/preprocess.js';
import { createRandom } from '../../core/random.js';

describe('preprocessing (core/preprocess.ts)', () => {
  it('maps pixel value 1 to 1/255 and 255 to 1', () => {
    const size = INPUT_SIZE;
    const data = new Uint8Array(size * size * 3).fill(1);
    data.fill(255, 0, 3);
    const input = imageToInputData({ data, width: size, height: size, channels: 3 });
    assert.equal(input.length, size * size * 3);
    assert.ok(Math.abs(input[0] - 1) < 1e-6);
    assert.ok(Math.abs(input[size * 3 + 5] - 1 / 255) < 1e-7);
    assert.equal(PIXEL_SCALE, 1 / 255);
  });

  it('stretches any size to 128×128 with bilinear half-pixel sampling and drops alpha', () => {
    // A 2×1 RGBA image, black then white: half-pixel-centre bilinear gives a ramp across the middle.
    const data = Uint8Array.from([0, 0, 0, 9, 255, 255, 255, 9]);
    const input = imageToInputData({ data, width: 2, height: 1, channels: 4 });
    assert.equal(input.length, INPUT_SIZE * INPUT_SIZE * 3);
    const row = Array.from({ length: INPUT_SIZE }, (_, x) => input[x * 3]);
    assert.equal(row[0], 0);
    assert.equal(row[INPUT_SIZE - 1], 1);
    for (let x = 1; x < INPUT_SIZE; x++) assert.ok(row[x] >= row[x - 1], 'monotonic ramp');
    assert.ok(Math.abs(row[63] + row[64] - 1) < 1e-6, 'symmetric around the centre');
  });

  it('rejects image data whose length does not match its size', () => {
    assert.throws(() => imageToInputData({ data: new Uint8Array(10), width: 4, height: 4, channels: 3 }), ContractError);
  });

  it('maps trimap {1, 2, 3} to class ids {0, 1, 2} and names a bad value', () => {
    assert.deepEqual(Array.from(trimapToClassIds(Uint8Array.from([1, 2, 3, 1]))), [0, 1, 2, 0]);
    assert.throws(() => trimapToClassIds(Uint8Array.from([1, 4])), (e: unknown) => e instanceof SampleError && e.code === 'MASK_VALUES' && /4/.test(e.message));
    assert.throws(() => trimapToClassIds(Uint8Array.from([0])), SampleError);
    assert.throws(() => checkClassIds(Uint8Array.from([0, 3])), SampleError);
  });

  it('never creates a mask value that was not there when resizing (nearest neighbour)', () => {
    const rand = createRandom(5);
    for (const [w, h] of [[37, 53], [500, 375], [128, 128], [3, 200]]) {
      const data = new Uint8Array(w * h);
      // Only classes 0 and 2: a bilinear resize would invent 1s on every edge.
      for (let i = 0; i < data.length; i++) data[i] = rand() < 0.5 ? 0 : 2;
      const target = maskToTarget({ data, width: w, height: h });
      assert.equal(target.length, INPUT_SIZE * INPUT_SIZE);
      assert.ok(target.every((v) => v === 0 || v === 2), `${w}x${h}: only values present in the input`);
      const back = resizeMask({ data: target, width: INPUT_SIZE, height: INPUT_SIZE }, w, h);
      assert.ok(back.data.every((v) => v === 0 || v === 2));
    }
  });
});
