import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BackendUnavailableError, ChecksumError, ConfigError, EdgesegError, FrameError } from '../../core/index.js';
import { softwareAdapterReason } from '../../core/adapters.js';
import { resolveBackend } from '../../core/backend_resolver.js';
import { type ModelRunner } from '../../core/engine.js';
import { chooseEngine } from '../../core/engine_choice.js';
import { deserializeError, serializeError } from '../../core/error_codec.js';
import { ortSessionOptions } from '../../core/ort_runner.js';
import { calibrate, CALIBRATION_RUNS, type CalibrationStep } from '../../runtime-web/calibration.js';

describe('the error codec of every thread boundary', () => {
  it('keeps name, code, message, retriable, stack and named fields through structured clone', () => {
    const original = new ChecksumError('group1-shard1of1.bin', 'group1-shard1of1.bin: sha256 differs');
    const back = deserializeError(structuredClone(serializeError(original)));
    assert.ok(back instanceof EdgesegError);
    assert.deepEqual([back.name, back.code, back.message, back.retriable, (back as unknown as { file: string }).file], ['ChecksumError', 'CHECKSUM_MISMATCH', original.message, false, 'group1-shard1of1.bin']);
    assert.equal(back.stack, original.stack);
    const retriable = deserializeError(structuredClone(serializeError(new EdgesegError('BROKER_DOWN', 'broker hiccup', { retriable: true }))));
    assert.deepEqual([retriable.code, retriable.retriable], ['BROKER_DOWN', true]);
    const frame = deserializeError(serializeError(new FrameError('UNDECODABLE', 'not an image')));
    assert.deepEqual([frame.name, frame.code], ['FrameError', 'UNDECODABLE']);
  });

  it('gives plain errors and thrown non-errors the fallback code', () => {
    const plain = deserializeError(serializeError(new TypeError('x is not a function')), 'RETRAIN_FAILED');
    assert.deepEqual([plain.name, plain.code, plain.message, plain.retriable], ['TypeError', 'RETRAIN_FAILED', 'x is not a function', false]);
    assert.deepEqual([deserializeError(serializeError('boom')).code, deserializeError(serializeError('boom')).message], ['WORKER_ERROR', 'boom']);
  });
});

describe('the backend resolver', () => {
  const table = (log: string[]) => [
    { name: 'gpu', probe: async () => 'SwiftShader is a software adapter', activate: async () => (log.push('gpu'), 'gpu!') },
    { name: 'native', probe: async () => null, activate: async (): Promise<string> => (log.push('native'), Promise.reject(new Error('not installed'))) },
    { name: 'wasm', probe: async () => null, activate: async () => (log.push('wasm'), 'wasm!') },
    { name: 'cpu', probe: async () => null, activate: async () => (log.push('cpu'), 'cpu!') },
  ];

  it('activates the first candidate whose probe passes, in priority order, and says why each earlier one was passed over', async () => {
    const log: string[] = [];
    const r = await resolveBackend(table(log), 'auto');
    assert.deepEqual(log, ['native', 'wasm']);
    assert.deepEqual(r, { name: 'wasm', activated: 'wasm!', skipped: { gpu: 'SwiftShader is a software adapter', native: 'not installed' } });
  });

  it('activates a named candidate without its probe, and lists every failure together when none starts', async () => {
    assert.equal((await resolveBackend(table([]), 'gpu')).activated, 'gpu!');
    await assert.rejects(resolveBackend(table([]), 'native'), (e: unknown) => e instanceof BackendUnavailableError && e.message === 'no backend available: native: not installed');
    const none = table([]).slice(0, 2);
    await assert.rejects(resolveBackend(none), (e: unknown) => e instanceof BackendUnavailableError && e.message === 'no backend available: gpu: SwiftShader is a software adapter; native: not installed');
  });

  it('names software and fallback adapters', () => {
    assert.match(softwareAdapterReason('google swiftshader SwiftShader Device (Subzero)')!, /software adapter \(swiftshader/);
    assert.match(softwareAdapterReason('Microsoft Basic Render Driver')!, /software adapter/);
    assert.match(softwareAdapterReason('llvmpipe (LLVM 15.0.6, 256 bits)')!, /software adapter/);
    assert.match(softwareAdapterReason('nvidia ampere', true)!, /fallback adapter/);
    assert.equal(softwareAdapterReason('ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11)'), null);
  });

  it('gives ONNX Runtime one set of session options everywhere', () => {
    assert.deepEqual(ortSessionOptions(), { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    assert.deepEqual(ortSessionOptions({ provider: 'webgpu', threads: 2 }).executionProviders, ['webgpu']);
  });
});

describe('the auto calibration', () => {
  const runner = (disposed: string[], name: string): ModelRunner => ({ engine: 'tfjs', provider: null, predict: async () => new Float32Array(0), dispose: async () => void disposed.push(name) });
  /** A candidate whose runs take the given (reported) times, in order. */
  const step = (candidate: CalibrationStep['candidate'], times: number[], disposed: string[], serving = false, sleepMs = 0): CalibrationStep => {
    const r = runner(disposed, candidate);
    let i = 0;
    return {
      candidate,
      serving: serving ? r : null,
      load: async () => r,
      time: async () => {
        if (sleepMs) await new Promise((res) => setTimeout(res, sleepMs));
        return times[Math.min(i++, times.length - 1)];
      },
    };
  };

  it('keeps the fastest, cuts a clearly slower candidate short, reports failures, and disposes every runner it does not keep', async () => {
    const disposed: string[] = [];
    const failing: CalibrationStep = { ...step('tfjs-webgl', [1], disposed), load: () => Promise.reject(new Error('no WebGL2 context')) };
    const { rows, best } = await calibrate([step('tfjs-wasm', [60], disposed, true), step('ort-wasm', [40], disposed), failing, step('tfjs-webgpu', [999, 300, 70, 70, 90, 80, 100, 20], disposed)], 60_000);
    assert.equal(best?.candidate, 'ort-wasm');
    assert.deepEqual(
      rows.map((r) => [r.candidate, r.status, r.runs]),
      [
        ['tfjs-wasm', 'measured', CALIBRATION_RUNS],
        ['ort-wasm', 'chosen', CALIBRATION_RUNS],
        ['tfjs-webgl', 'failed', 0],
        ['tfjs-webgpu', 'cut', 3],
      ],
    );
    assert.match(rows[3].reason!, /fastest run 80\.0 ms, over 1\.5× the best so far \(ort-wasm, 40\.0 ms\)/);
    assert.equal(rows[2].reason, 'no WebGL2 context');
    assert.deepEqual(disposed, ['tfjs-webgpu'], 'the serving runner is left to its owner; the winner is kept');
  });

  it('stops at the time budget and lists the candidates it did not reach', async () => {
    const { rows, best } = await calibrate([step('tfjs-wasm', [50], [], true, 5), step('ort-wasm', [10], [])], 1);
    assert.equal(best?.candidate, 'tfjs-wasm');
    assert.deepEqual([rows[0].runs, rows[1].status], [2, 'not-measured']);
    assert.match(rows[1].reason!, /the 1 ms calibration budget was spent/);
  });
});

describe('what engine auto means (chooseEngine, one rule for every runtime)', () => {
  const both = { tfjs: true, onnx: 'model.onnx', where: 'models/m/1' };
  it('takes ONNX Runtime when the version has an ONNX file and ONNX Runtime is available, else tfjs', () => {
    assert.deepEqual(chooseEngine('auto', both), { chosen: 'ort', reason: 'the version has an ONNX file (model.onnx)', candidates: ['ort', 'tfjs'] });
    assert.deepEqual(chooseEngine('auto', { ...both, onnx: null }), { chosen: 'tfjs', reason: 'the version has no ONNX file', candidates: ['tfjs'] });
    assert.deepEqual(chooseEngine('auto', { ...both, available: ['tfjs'] }), { chosen: 'tfjs', reason: 'ONNX Runtime is not available here', candidates: ['tfjs'] });
    assert.deepEqual(chooseEngine('auto', { ...both, tfjs: false }).candidates, ['ort']);
  });

  it('uses an engine named as is, and refuses one the version or the runtime lacks, naming the fix', () => {
    assert.deepEqual(chooseEngine('tfjs', both), { chosen: 'tfjs', reason: 'requested', candidates: ['tfjs'] });
    assert.throws(() => chooseEngine('ort', { ...both, onnx: null }), (e: unknown) => e instanceof ConfigError && /needs an ONNX model and models\/m\/1 has none; convert it with --format both/.test(e.message));
    assert.throws(() => chooseEngine('tfjs', { ...both, tfjs: false }), (e: unknown) => e instanceof ConfigError && /is ONNX only \(model\.onnx\)/.test(e.message));
    assert.throws(() => chooseEngine('ort', { ...both, available: ['tfjs'] }), (e: unknown) => e instanceof ConfigError && /'ort' is not available here/.test(e.message));
    assert.throws(() => chooseEngine('auto', { ...both, onnx: null, available: ['ort'] }), (e: unknown) => e instanceof ConfigError && /no model file for the engines available here \(ort\): it has tfjs/.test(e.message));
  });
});
