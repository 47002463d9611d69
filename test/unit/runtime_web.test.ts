/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASS_BACKGROUND, CLASS_COLORS, CLASS_PET, ConfigError, maskToRgba } from '../../core/index.js';
import { DEFAULT_BACKEND, DEFAULT_CACHE, DEFAULT_CALIBRATION_BUDGET_MS, DEFAULT_ENGINE, DEFAULT_WARMUP_RUNS, DEFAULT_WORKER, resolveOptions } from '../../runtime-web/segmenter.js';

describe('runtime-web options and overlay helpers', () => {
  it('fills documented defaults and normalises the model URL to a directory', () => {
    const o = resolveOptions({ model: '/models/unet-small/3' });
    assert.deepEqual(o, { model: '/models/unet-small/3/', backend: DEFAULT_BACKEND, engine: DEFAULT_ENGINE, worker: DEFAULT_WORKER, cache: DEFAULT_CACHE, frameSizeMask: false, wasmPaths: null, warmupRuns: DEFAULT_WARMUP_RUNS, calibrationBudgetMs: DEFAULT_CALIBRATION_BUDGET_MS, recalibrate: false });
  });

  it('names the option and the fix in every error', () => {
    const bad: [unknown, RegExp][] = [
      [null, /'options' must be an object/],
      [{}, /'model' must be the URL of a model version directory/],
      [{ model: '/m/1/', backend: 'cuda' }, /'backend' must be 'auto' or one of webgpu, webgl, wasm, got 'cuda'/],
      [{ model: '/m/1/', engine: 'onnx' }, /'engine' must be 'auto' or one of tfjs, ort, got 'onnx'/],
      [{ model: '/m/1/', warmupRuns: -1 }, /'warmupRuns' must be an integer 0–10/],
      [{ model: '/m/1/', worker: 'yes' }, /'worker' must be a boolean/],
      [{ model: '/m/1/', recalibrate: 1 }, /'recalibrate' must be a boolean/],
      [{ model: '/m/1/', calibrationBudgetMs: -5 }, /'calibrationBudgetMs' must be a number of ms ≥ 0, got -5/],
    ];
    for (const [options, message] of bad) assert.throws(() => resolveOptions(options as never), (e: unknown) => e instanceof ConfigError && message.test(e.message));
  });

  it('paints class colours at the given opacity and leaves the background transparent', () => {
    const rgba = maskToRgba(Uint8Array.from([CLASS_PET, CLASS_BACKGROUND, 2]), { opacity: 0.4 });
    assert.deepEqual(Array.from(rgba.subarray(0, 4)), [...CLASS_COLORS[CLASS_PET], 102]);
    assert.deepEqual(Array.from(rgba.subarray(4, 8)), [0, 0, 0, 0]);
    assert.deepEqual(Array.from(rgba.subarray(8, 12)), [...CLASS_COLORS[2], 102]);
    assert.equal(maskToRgba(Uint8Array.from([CLASS_BACKGROUND]), { includeBackground: true })[3], 128);
    assert.throws(() => maskToRgba(Uint8Array.from([7])), /mask value 7 at pixel 0 is not a class id/);
    assert.throws(() => maskToRgba(Uint8Array.from([0]), { opacity: 2 }), /opacity must be in \[0, 1\]/);
  });
});
