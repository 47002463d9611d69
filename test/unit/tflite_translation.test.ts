import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { permuteBytes } from '../../converter/import/tflite/context.js';
import { onnxPads } from '../../converter/import/tflite/ops/geometry.js';

describe('TFLite → ONNX translation helpers', () => {
  it('permutes OHWI filters to OIHW whatever the element width, keeping every bit (int64 −1 included)', () => {
    // [O=2, H=1, W=2, I=3] → [O, I, H, W]
    const ohwi = Int32Array.from({ length: 12 }, (_, i) => i);
    const { data, shape } = permuteBytes(new Uint8Array(ohwi.buffer), [2, 1, 2, 3], [0, 3, 1, 2], 4);
    assert.deepEqual(shape, [2, 3, 1, 2]);
    assert.deepEqual(Array.from(new Int32Array(data.buffer)), [0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11]);
    const wide = BigInt64Array.from([-1n, 2n, 3n, -4n]);
    const t = permuteBytes(new Uint8Array(wide.buffer), [2, 2], [1, 0], 8);
    assert.deepEqual(Array.from(new BigInt64Array(t.data.buffer)), [-1n, 3n, 2n, -4n]);
  });

  it('pads SAME as TensorFlow: the odd pixel after, dilation widening the kernel; VALID not at all', () => {
    assert.deepEqual(onnxPads('same', [9, 9], [3, 3], [2, 2]), [1, 1, 1, 1]);
    assert.deepEqual(onnxPads('same', [9, 8], [2, 2], [2, 2]), [0, 0, 1, 0]);
    assert.deepEqual(onnxPads('same', [7, 7], [3, 3], [1, 1], [2, 2]), [2, 2, 2, 2]);
    assert.deepEqual(onnxPads('valid', [7, 7], [3, 3], [1, 1]), [0, 0, 0, 0]);
  });
});
