import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tf } from '../../core/node/tfjs.js';
import { relativeError } from '../helpers/compare.js';
import { tinyBatch, traceSteps } from '../../bench/helpers/train_steps.js';

// No GPU here: Dawn runs on Vulkan's SwiftShader driver that Debian's chromium ships (CI installs it).
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

describe('WebGPU through Dawn (software Vulkan)', () => {
  it('runs a training step of a tiny U-Net that matches the cpu backend', async () => {
    assert.ok(existsSync(SWIFTSHADER), `${SWIFTSHADER} is missing: apt-get install chromium libvulkan1`);
    process.env.VK_ICD_FILENAMES = SWIFTSHADER;
    const { activateWebgpu } = await import('../../core/node/backends/webgpu.js');
    const batch = tinyBatch(2);
    await tf.setBackend('cpu');
    const cpu = await traceSteps(2, batch, 2);
    const adapter = await activateWebgpu();
    assert.equal(tf.getBackend(), 'webgpu');
    assert.ok(adapter.software, `SwiftShader is reported as a software adapter (${adapter.description})`);
    const gpu = await traceSteps(2, batch, 2);
    cpu.firstGrads.forEach((g, i) => assert.ok(relativeError(gpu.firstGrads[i], g) <= 1e-3, `gradient ${i}: ${relativeError(gpu.firstGrads[i], g)}`));
    gpu.losses.forEach((l, i) => assert.ok(Math.abs(l - cpu.losses[i]) <= 1e-3 * cpu.losses[i], `step ${i + 1}: webgpu ${l} vs cpu ${cpu.losses[i]}`));
    tf.engine().removeBackend('webgpu');
  });
});
