import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContractError, INPUT_SIZE, NUM_CLASSES } from '../../core/index.js';
import { DEFAULT_GEOMETRY } from '../../core/contract.js';
import { summarizeLogits, summarizeLogitsData } from '../../core/postprocess.js';
import { tf } from '../../core/node/tfjs.js';

describe('logits summaries (core/postprocess.ts)', () => {
  it('summarizeLogitsData gives summarizeLogits\' masks and statistics for logits in memory, ties to the first class', async () => {
    await tf.setBackend('cpu');
    const n = 2;
    const logits = tf.randomNormal([n, INPUT_SIZE, INPUT_SIZE, NUM_CLASSES], 0, 3, 'float32', 8);
    const data = Float32Array.from(logits.dataSync());
    // Exact ties on a few pixels: both take the first of the tied classes.
    for (const p of [0, 5, 999]) data[p * NUM_CLASSES + 2] = data[p * NUM_CLASSES + 1] = Math.max(data[p * NUM_CLASSES], data[p * NUM_CLASSES + 1], data[p * NUM_CLASSES + 2]);
    const tied = tf.tensor4d(data, [n, INPUT_SIZE, INPUT_SIZE, NUM_CLASSES]);
    const [want, got] = [await summarizeLogits(tied), summarizeLogitsData(data, n, DEFAULT_GEOMETRY)];
    tf.dispose([logits, tied]);
    for (let f = 0; f < n; f++) {
      assert.deepEqual(got[f].mask, want[f].mask);
      assert.deepEqual(got[f].classCoverage, want[f].classCoverage);
      for (const key of ['meanConfidence', 'margin', 'entropy'] as const) assert.ok(Math.abs(got[f][key] - want[f][key]) < 1e-5, `${key}: ${got[f][key]} vs ${want[f][key]}`);
    }
    assert.throws(() => summarizeLogitsData(data.subarray(1), n, DEFAULT_GEOMETRY), ContractError);
  });
});
