/**
 * Which engine runs a version: the one asked for, or with `auto` the only one the version has,
 * or — when it has both a tfjs and an ONNX model — the faster on this device, measured by a short
 * calibration at first load and remembered per model version and device in the Cache API.
 */
import { ConfigError, ModelFormatError, percentile } from '../core/index.js';
import type { LoadedModel } from './model_loader.js';
import { ortRunner, tfjsRunner, timeRuns, type ModelRunner } from './runners.js';
import type { EngineChoice, ResolvedSegmenterOptions, WebBackend, WebEngine } from './segmenter.js';

const CHOICE_CACHE = 'edgeseg-engine-choice-v1';
/** Timed runs per engine in the calibration (after the warm-up runs). */
export const CALIBRATION_RUNS = 5;

function createRunner(engine: WebEngine, loaded: LoadedModel, backend: WebBackend, options: ResolvedSegmenterOptions): Promise<ModelRunner> {
  return engine === 'ort' ? ortRunner(loaded.onnx!.bytes, backend, options.wasmPaths) : tfjsRunner(loaded.artifacts!);
}

/** Cache key of a choice: the model version's files (by the card's sha256s) and the device. */
function choiceKey(loaded: LoadedModel, backend: WebBackend): string {
  const nav = globalThis.navigator;
  const device = `${nav?.userAgent ?? 'unknown'}|${nav?.hardwareConcurrency ?? 0}|${backend}`;
  const model = `${loaded.card.name}@${loaded.card.version}:${loaded.card.files.map((f) => f.sha256.slice(0, 16)).join('.')}`;
  return `https://edgeseg.invalid/engine-choice/${encodeURIComponent(model)}/${encodeURIComponent(device)}`;
}

async function cached(key: string, use: boolean): Promise<WebEngine | null> {
  if (!use || typeof caches === 'undefined') return null;
  const hit = await (await caches.open(CHOICE_CACHE)).match(key);
  if (!hit) return null;
  const { chosen } = (await hit.json()) as { chosen?: string };
  return chosen === 'tfjs' || chosen === 'ort' ? chosen : null;
}

async function warm(runner: ModelRunner, runs: number): Promise<void> {
  if (runs > 0) await timeRuns(runner, runs);
}

/** Creates, warms and returns the runner that will serve frames, with how it was chosen. */
export async function chooseEngine(loaded: LoadedModel, backend: WebBackend, options: ResolvedSegmenterOptions): Promise<{ runner: ModelRunner; choice: EngineChoice }> {
  const requested = options.engine;
  const has = { tfjs: loaded.artifacts !== null, ort: loaded.onnx !== null };
  const single = async (engine: WebEngine, fromCache: boolean): Promise<{ runner: ModelRunner; choice: EngineChoice }> => {
    const runner = await createRunner(engine, loaded, backend, options);
    await warm(runner, options.warmupRuns);
    return { runner, choice: { requested, chosen: engine, provider: runner.provider, measuredMs: null, fromCache } };
  };
  if (requested === 'ort' && !has.ort) throw new ConfigError(`engine 'ort' needs an ONNX model and ${options.model} has none; convert it with --format both, or use engine 'auto' or 'tfjs'`);
  if (requested === 'tfjs' && !has.tfjs) throw new ModelFormatError('MODEL_MALFORMED', `${options.model} is ONNX only (${loaded.onnx!.file}); use engine 'auto' or 'ort'`);
  if (requested !== 'auto') return single(requested, false);
  if (!has.ort || !has.tfjs) return single(has.ort ? 'ort' : 'tfjs', false);

  const key = choiceKey(loaded, backend);
  const remembered = await cached(key, options.cache);
  if (remembered) return single(remembered, true);

  const measuredMs: Partial<Record<WebEngine, number>> = {};
  const failed: Partial<Record<WebEngine, string>> = {};
  const runners: ModelRunner[] = [];
  for (const engine of ['tfjs', 'ort'] as const) {
    let runner: ModelRunner | null = null;
    try {
      runner = await createRunner(engine, loaded, backend, options);
      await warm(runner, Math.max(1, options.warmupRuns));
      measuredMs[engine] = percentile(await timeRuns(runner, CALIBRATION_RUNS), 0.5);
      runners.push(runner);
    } catch (err) {
      await runner?.dispose().catch(() => {});
      failed[engine] = err instanceof Error ? err.message : String(err);
    }
  }
  if (runners.length === 0) throw new ConfigError(`no engine could run ${options.model}: ${Object.entries(failed).map(([e, why]) => `${e}: ${why}`).join('; ')}`);
  const chosen: WebEngine = runners.length === 1 ? runners[0].engine : measuredMs.ort! < measuredMs.tfjs! ? 'ort' : 'tfjs';
  for (const r of runners) if (r.engine !== chosen) await r.dispose();
  const runner = runners.find((r) => r.engine === chosen)!;
  // A choice forced by a failure is not remembered: the next load measures again.
  if (runners.length === 2 && options.cache && typeof caches !== 'undefined') {
    await (await caches.open(CHOICE_CACHE)).put(key, new Response(JSON.stringify({ chosen, measuredMs, at: new Date().toISOString() }), { headers: { 'content-type': 'application/json' } }));
  }
  return { runner, choice: { requested, chosen, provider: runner.provider, measuredMs, fromCache: false, ...(runners.length < 2 ? { failed } : {}) } };
}
