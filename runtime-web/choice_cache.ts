/**
 * The `auto` choice and its measured table, kept in the Cache API per browser, adapter and model
 * version: a reload serves the chosen candidate at once, with no second calibration. A new
 * browser build, a different GPU (or driver) or a new model version measures again.
 */
import type { LoadedModel } from './model_loader.js';
import type { WebCandidate } from './segmenter_api.js';
import type { BackendChoice } from './segmenter_results.js';

const CHOICE_CACHE = 'edgeseg-backend-choice-v1';

export interface CachedChoice {
  chosen: WebCandidate;
  reason: string;
  table: BackendChoice['table'];
  at: string;
}

/** The cache key: the model version's files (by sha256), the browser, its adapters and what was asked for (the engines allowed too). */
export function choiceKey(loaded: LoadedModel, adapters: { webgpu: string | null; webgl: string | null }, requested: BackendChoice['requested'], engines: readonly string[]): string {
  const nav = globalThis.navigator;
  const device = [nav?.userAgent ?? 'unknown', nav?.hardwareConcurrency ?? 0, adapters.webgpu ?? '-', adapters.webgl ?? '-', `${requested.backend}/${requested.engine}/${[...engines].sort().join('+')}`].join('|');
  const model = `${loaded.card.name}@${loaded.card.version}:${loaded.card.files.map((f) => f.sha256.slice(0, 16)).join('.')}`;
  return `https://edgeseg.invalid/backend-choice/${encodeURIComponent(model)}/${encodeURIComponent(device)}`;
}

export async function readChoice(key: string): Promise<CachedChoice | null> {
  if (typeof caches === 'undefined') return null;
  const hit = await (await caches.open(CHOICE_CACHE)).match(key);
  return hit ? ((await hit.json()) as CachedChoice) : null;
}

export async function writeChoice(key: string, choice: CachedChoice): Promise<void> {
  if (typeof caches === 'undefined') return;
  await (await caches.open(CHOICE_CACHE)).put(key, new Response(JSON.stringify(choice), { headers: { 'content-type': 'application/json' } }));
}
