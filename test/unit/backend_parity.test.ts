import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { tf } from '../../core/node/tfjs.js';
import { relativeError } from '../helpers/compare.js';
import { tinyBatch, traceSteps } from '../../bench/helpers/train_steps.js';

describe('training on wasm matches the cpu backend', () => {
  // Kernels agree to 1e-4 (wasm_gradient_kernels.test.ts). Whole-model gradients get 1e-3: BatchNorm's
  // beta gradient is Σdy over 32K pixels with heavy cancellation, so float32 summation order alone
  // moves it by a few 1e-4 of its largest element.
  it('same first-step gradients (≤ 1e-3 relative) and loss trajectory (≤ 1e-4 relative) over 4 Adam steps', async () => {
    const batch = tinyBatch(2);
    await tf.setBackend('cpu');
    const cpu = await traceSteps(4, batch, 2);
    await activateWasm();
    const wasm = await traceSteps(4, batch, 2);
    cpu.firstGrads.forEach((g, i) => assert.ok(relativeError(wasm.firstGrads[i], g) <= 1e-3, `gradient ${i}: ${relativeError(wasm.firstGrads[i], g)}`));
    wasm.losses.forEach((l, i) => assert.ok(Math.abs(l - cpu.losses[i]) <= 1e-4 * cpu.losses[i], `step ${i + 1}: wasm ${l} vs cpu ${cpu.losses[i]}`));
    assert.ok(cpu.losses[3] < cpu.losses[0], 'the loss falls');
  });
});
