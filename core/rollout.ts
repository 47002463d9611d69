/**
 * Canary rollouts, the platform-free part: which arm a sensor (runtime-node) or a browser
 * (runtime-web) is on, and the shape of the evidence each arm gathers. Routing is a stable hash
 * of the key salted with the rollout (`<name>@<canary version>`), compared with the weight in
 * basis points, so a key stays on its arm for the whole rollout, every runtime agrees on it
 * without talking to another, and raising the weight only moves keys from the champion to the
 * canary, never back.
 */
import { ConfigError } from './errors.js';
import { fmix32 } from './random.js';

/** The two arms of a rollout. */
export const ARMS = ['champion', 'canary'] as const;
/** One of ARMS. */
export type Arm = (typeof ARMS)[number];

/** Schema id of the periodic per-arm reports on `edgeseg.events`. */
export const ARM_REPORT_SCHEMA = 'edgeseg.arm-report.v1';

/** Hash buckets a weight is measured in: 10,000, so a weight is exact to 0.01 %. */
const BUCKETS = 10_000;

/**
 * 32-bit FNV-1a of the key's UTF-16 code units, then murmur3's finalizer: FNV alone spreads
 * keys that differ only in their last characters (sensor-0001, sensor-0002…) poorly over the
 * low buckets.
 */
export function stableHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** Checks a canary weight: a percentage 0–100 (0 routes nothing to the canary, 100 everything). */
export function checkWeight(weight: number): number {
  if (!(Number.isFinite(weight) && weight >= 0 && weight <= 100)) throw new ConfigError(`canary weight must be a percentage 0–100, got ${weight}`);
  return weight;
}

/**
 * The arm `key` (a sensor id, a browser's client id) is on in the rollout named by `salt`
 * (`<name>@<canary version>`) at `weight` percent.
 */
export function armOf(key: string, weight: number, salt: string): Arm {
  return stableHash(`${salt}\u0000${key}`) % BUCKETS < Math.round(checkWeight(weight) * (BUCKETS / 100)) ? 'canary' : 'champion';
}

/** What one arm of a rollout has shown so far. */
export interface ArmEvidence {
  /** `<name>@<version>` serving this arm. */
  version: string;
  /** Frames segmented. */
  frames: number;
  /** Frames the model failed on (inference errors, not bad input). */
  errors: number;
  /** 95th percentile of model time per frame over the recent window, ms (null before any frame). */
  latencyP95Ms: number | null;
  /** Mean of the frames' mean confidence. */
  meanConfidence: number | null;
  /** Mean share of each class over the frames. */
  classCoverage: number[];
  /** PSI of each drift feature over the arm's last window, against the champion's reference (null without drift detection or a full window). */
  driftPsi: Record<string, number> | null;
  /** Labels that arrived for frames this arm segmented. */
  labels: number;
  /** Pixel agreement of this arm's masks with those labels (null before any). */
  labelAgreement: number | null;
  /** mIoU of this arm's masks against those labels (null before any). */
  labelMiou: number | null;
}

/** Both arms' evidence at one moment. */
export interface RolloutEvidence {
  at: string;
  champion: ArmEvidence;
  canary: ArmEvidence;
}

/** A periodic report of a stream service on `edgeseg.events`. */
export interface ArmReport extends RolloutEvidence {
  schema: typeof ARM_REPORT_SCHEMA;
  /** Model name. */
  name: string;
  /** The canary's weight, percent. */
  weight: number;
}

/** A rollout in progress, as the registry keeps it beside the aliases. */
export interface RolloutState {
  /** The version serving the rest (the `champion` alias when the rollout started). */
  champion: string;
  /** The version on trial (the `canary` alias). */
  canary: string;
  /** Share of keys on the canary, percent. */
  weight: number;
  startedAt: string;
  /** The latest evidence recorded (by the loop's judge), null before any. */
  evidence: RolloutEvidence | null;
}
