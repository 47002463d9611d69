/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASS_BACKGROUND, CLASS_COLORS, CLASS_PET, ConfigError } from '../../core/index.js';
import { maskToRgba } from '../../core/overlay.js';
import { zipSync } from 'fflate';
import { DEFAULT_BACKEND, DEFAULT_CACHE, DEFAULT_CALIBRATION_BUDGET_MS, DEFAULT_COMBINE_WITH_PREVIOUS_RATIO, DEFAULT_ENGINE, DEFAULT_FIT, DEFAULT_OUTPUT_SIZE, DEFAULT_WARMUP_RUNS, DEFAULT_WORKER, resolveOptions, WEB_ENGINES } from '../../runtime-web/segmenter_api.js';

describe('runtime-web options and overlay helpers', () => {
  it('fills documented defaults and normalises the model URL to a directory', () => {
    const o = resolveOptions({ model: '/models/unet-small/3' });
    assert.deepEqual(o, {
      model: '/models/unet-small/3/',
      backend: DEFAULT_BACKEND,
      engine: DEFAULT_ENGINE,
      engines: [...WEB_ENGINES],
      outputSize: DEFAULT_OUTPUT_SIZE,
      outputs: { categoryMask: true, confidenceMasks: false },
      fit: DEFAULT_FIT,
      mirror: false,
      rotation: 0,
      smoothing: null,
      transfer: false,
      worker: DEFAULT_WORKER,
      cache: DEFAULT_CACHE,
      frameSizeMask: false,
      wasmPaths: null,
      warmupRuns: DEFAULT_WARMUP_RUNS,
      calibrationBudgetMs: DEFAULT_CALIBRATION_BUDGET_MS,
      recalibrate: false,
    });
    assert.deepEqual(resolveOptions({ model: '/m/1/', smoothing: {} }).smoothing, { combineWithPreviousRatio: DEFAULT_COMBINE_WITH_PREVIOUS_RATIO });
  });

  it('takes a model as files by name, or as the bytes of a ZIP of its directory (one folder level dropped)', () => {
    const files = { SHA256SUMS: new Uint8Array([1]), 'card.json': new Uint8Array([2]) };
    assert.deepEqual(resolveOptions({ model: { files } }).model, { files });
    const zip = zipSync({ '1-uint8/SHA256SUMS': new Uint8Array([1]), '1-uint8/card.json': new Uint8Array([2]) });
    assert.deepEqual(resolveOptions({ model: zip }).model, { files: { SHA256SUMS: new Uint8Array([1]), 'card.json': new Uint8Array([2]) } });
    assert.throws(() => resolveOptions({ model: new Uint8Array([1, 2, 3]) }), (e: unknown) => (e as { code?: string }).code === 'MODEL_MALFORMED');
    assert.throws(() => resolveOptions({ model: zipSync({ 'a.txt': new Uint8Array([1]) }) }), (e: unknown) => (e as { code?: string }).code === 'MODEL_NOT_FOUND');
  });

  it('names the option and the fix in every error', () => {
    const bad: [unknown, RegExp][] = [
      [null, /'options' must be an object/],
      [{}, /'model' must be the URL of a model version directory/],
      [{ model: { files: {} } }, /'model' must be the URL of a model version directory/],
      [{ model: '/m/1/', backend: 'cuda' }, /'backend' must be 'auto' or one of webgpu, webgl, wasm, got 'cuda'/],
      [{ model: '/m/1/', engine: 'onnx' }, /'engine' must be 'auto' or one of tfjs, ort, got 'onnx'/],
      [{ model: '/m/1/', warmupRuns: -1 }, /'warmupRuns' must be an integer 0–10/],
      [{ model: '/m/1/', worker: 'yes' }, /'worker' must be a boolean/],
      [{ model: '/m/1/', recalibrate: 1 }, /'recalibrate' must be a boolean/],
      [{ model: '/m/1/', calibrationBudgetMs: -5 }, /'calibrationBudgetMs' must be a number of ms ≥ 0, got -5/],
      [{ model: '/m/1/', outputSize: 'full' }, /'outputSize' must be 'model', 'input' or \{ width, height \}/],
      [{ model: '/m/1/', fit: 'cover' }, /'fit' must be one of squash, letterbox, crop, got 'cover'/],
      [{ model: '/m/1/', rotation: 45 }, /'rotation' must be 0, 90, 180 or 270/],
      [{ model: '/m/1/', smoothing: { combineWithPreviousRatio: 1 } }, /'smoothing.combineWithPreviousRatio' must be a number in \[0, 1\)/],
      [{ model: '/m/1/', engines: [] }, /'engines' must be a non-empty list of tfjs, ort/],
      [{ model: '/m/1/', engines: ['tfjs'], engine: 'ort' }, /'engine' is 'ort' but 'engines' allows only tfjs/],
      [{ model: '/m/1/', outputs: { confidenceMasks: 'yes' } }, /'outputs.confidenceMasks' must be a boolean/],
      [{ model: '/m/1/', transfer: 1 }, /'transfer' must be a boolean/],
      [{ model: '/m/1/', onProgress: 5 }, /'onProgress' must be a function/],
      [{ model: '/m/1/', signal: {} }, /'signal' must be an AbortSignal/],
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
