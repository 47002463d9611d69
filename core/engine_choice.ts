/**
 * What `engine: 'auto'` means, written once for every runtime: ONNX Runtime when the version has
 * an ONNX file and ONNX Runtime can run here, else tfjs. runtime-node and the CLI run the first
 * candidate; the browser (runtime-web) is the one difference: it measures every candidate on
 * every backend allowed and keeps the fastest. No tfjs here (types only), so runtime-web's lean
 * ONNX Runtime entry can use it too.
 */
import type { EngineKind, EngineRequest } from './engine.js';
import { ConfigError } from './errors.js';

/** `auto`'s preference, best first, where nothing is measured. */
export const AUTO_ENGINE_ORDER: readonly EngineKind[] = ['ort', 'tfjs'];

/** A model version's files and the engines a runtime has: what chooseEngine decides from. */
export interface EngineOffer {
  /** The version has a tfjs model (model.json); false for an ONNX-only version. */
  tfjs: boolean;
  /** The version's ONNX file, or null when it has none. */
  onnx: string | null;
  /** Engines this runtime can run (installed, bundled by the entry point, allowed by the caller). @default both */
  available?: readonly EngineKind[];
  /** The version's folder or URL, for messages. */
  where: string;
}

/** What runs a version, and why. */
export interface EngineDecision {
  /** The engine to run when nothing is measured: the first candidate. */
  chosen: EngineKind;
  /** Why: `requested`, or what the version has (the same words in every runtime's EngineChoice). */
  reason: string;
  /** Every engine that can run the version under the request, in AUTO_ENGINE_ORDER: the browser measures among these. */
  candidates: EngineKind[];
}

/**
 * The engine a version runs in under `requested`. An engine named is used as is, and refused
 * (ConfigError naming the fix) when the version lacks its file or the runtime lacks it; `auto`
 * takes the first of AUTO_ENGINE_ORDER that can run it.
 */
export function chooseEngine(requested: EngineRequest, offer: EngineOffer): EngineDecision {
  const available = offer.available ?? AUTO_ENGINE_ORDER;
  const hasFile = (e: EngineKind) => (e === 'ort' ? offer.onnx !== null : offer.tfjs);
  if (requested !== 'auto') {
    if (requested === 'ort' && !hasFile('ort')) throw new ConfigError(`engine 'ort' needs an ONNX model and ${offer.where} has none; convert it with --format both, or use --engine auto|tfjs`);
    if (requested === 'tfjs' && !hasFile('tfjs')) throw new ConfigError(`${offer.where} is ONNX only (${offer.onnx}); use --engine auto|ort`);
    if (!available.includes(requested)) throw new ConfigError(`engine '${requested}' is not available here; use --engine auto|${available.join('|')}`);
    return { chosen: requested, reason: 'requested', candidates: [requested] };
  }
  const candidates = AUTO_ENGINE_ORDER.filter((e) => hasFile(e) && available.includes(e));
  if (candidates.length === 0) {
    const has = [offer.tfjs && 'tfjs', offer.onnx && 'ONNX'].filter(Boolean).join(' and ') || 'no model';
    throw new ConfigError(`${offer.where} has no model file for the engines available here (${available.join(', ') || 'none'}): it has ${has}`);
  }
  const chosen = candidates[0];
  const reason = chosen === 'ort' ? `the version has an ONNX file (${offer.onnx})` : offer.onnx === null ? 'the version has no ONNX file' : 'ONNX Runtime is not available here';
  return { chosen, reason, candidates };
}
