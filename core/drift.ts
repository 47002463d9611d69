/**
 * Drift detection for the closed loop: live input and output statistics compared with the
 * training reference by the population stability index (PSI).
 *
 * Each frame contributes one value per feature: the mean of each RGB channel and the mean
 * brightness (Rec. 601 luma) of the decoded input, the fraction of pixels of each class and the
 * mean confidence of the output (one coverage feature per class of the model, so a reference is
 * tied to the class count it was measured with). The reference holds, per feature, ten bins cut at the deciles
 * of the training frames' values and the share of training frames in each. Over a sliding window
 * of live frames, PSI = Σ (live − ref) · ln(live / ref) per feature (shares floored at 1e-4). The
 * rule of thumb the test follows: PSI < 0.1 stable, 0.1–0.25 moderate, > 0.25 a significant
 * shift; drift is raised when any feature's PSI exceeds the threshold (default 0.25).
 */
import { MAX_CLASSES } from './contract.js';
import { ConfigError, ContractError } from './errors.js';

/** Schema id of a drift reference file (a model's training-data feature histograms). */
export const DRIFT_SCHEMA = 'edgeseg.drift-reference.v1';
/** Schema id of the drift reports published on `edgeseg.events`. */
export const DRIFT_EVENT_SCHEMA = 'edgeseg.drift.v1';

/** What one frame contributes to drift statistics. */
export interface FrameDriftStats {
  /** Mean of R, G, B over the decoded frame, 0–1. */
  channelMeans: number[];
  /** Mean Rec. 601 luma, 0–1. */
  brightness: number;
  classCoverage: number[];
  meanConfidence: number;
}

/**
 * The per-frame features drift is tested on for a model of `classes` classes (`classCountOf(card)`):
 * channel means, brightness, the coverage of each class, confidence.
 */
export function driftFeatureNames(classes: number): string[] {
  if (!Number.isInteger(classes) || classes < 1 || classes > MAX_CLASSES) throw new ConfigError(`a drift reference covers 1–${MAX_CLASSES} classes, not ${classes}`);
  return ['mean_r', 'mean_g', 'mean_b', 'brightness', ...Array.from({ length: classes }, (_, c) => `coverage_${c}`), 'confidence'];
}

/** Features of a reference that are not class coverages (channel means, brightness, confidence). */
const NON_COVERAGE_FEATURES = 5;

/** Number of classes a drift reference was measured with (its coverage features). */
export function driftClassCount(reference: DriftReference): number {
  return reference.features.length - NON_COVERAGE_FEATURES;
}

/** The `driftFeatureNames` values of one frame's statistics, in that order. */
export function driftFeatures(s: FrameDriftStats): number[] {
  return [...s.channelMeans, s.brightness, ...s.classCoverage, s.meanConfidence];
}

/** Per-channel means and luma of RGB8 (or RGBA8) pixels, sampled on a grid of at most ~16k pixels. */
export function imageDriftStats(data: Uint8Array | Uint8ClampedArray, width: number, height: number, channels = 3): Pick<FrameDriftStats, 'channelMeans' | 'brightness'> {
  const step = Math.max(1, Math.floor(Math.sqrt((width * height) / 16384)));
  let r = 0;
  let g = 0;
  let b = 0;
  let n = 0;
  for (let y = 0; y < height; y += step) {
    for (let x = 0; x < width; x += step) {
      const i = (y * width + x) * channels;
      r += data[i];
      g += data[i + 1];
      b += data[i + 2];
      n++;
    }
  }
  const means = [r, g, b].map((v) => v / n / 255);
  return { channelMeans: means, brightness: 0.299 * means[0] + 0.587 * means[1] + 0.114 * means[2] };
}

/** Histogram bins of every drift feature over a model's training data: what live frames are compared with. */
export interface DriftReference {
  schema: typeof DRIFT_SCHEMA;
  /** What the reference was measured on (model and dataset). */
  source: string;
  frames: number;
  features: { name: string; edges: number[]; shares: number[] }[];
}

const BINS = 10;
const FLOOR = 1e-4;

function binOf(edges: number[], v: number): number {
  let k = 0;
  while (k < edges.length && v > edges[k]) k++;
  return k;
}

function shares(edges: number[], values: number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) counts[binOf(edges, v)]++;
  return counts.map((c) => c / Math.max(1, values.length));
}

/** The reference from the training frames' statistics (all of one model: one class count): decile bins per feature. */
export function buildDriftReference(frames: FrameDriftStats[], source: string): DriftReference {
  if (frames.length < BINS) throw new ConfigError(`a drift reference needs at least ${BINS} frames, got ${frames.length}`);
  const classes = frames[0].classCoverage.length;
  const odd = frames.findIndex((f) => f.classCoverage.length !== classes);
  if (odd >= 0) throw new ConfigError(`drift frame ${odd} has ${frames[odd].classCoverage.length} class coverages, frame 0 has ${classes}`);
  const rows = frames.map(driftFeatures);
  return {
    schema: DRIFT_SCHEMA,
    source,
    frames: frames.length,
    features: driftFeatureNames(classes).map((name, f) => {
      const values = rows.map((r) => r[f]).sort((a, b) => a - b);
      const edges = [...new Set(Array.from({ length: BINS - 1 }, (_, k) => values[Math.floor(((k + 1) * values.length) / BINS)]))];
      return { name, edges, shares: shares(edges, values) };
    }),
  };
}

/**
 * Parses and validates a drift reference file; throws a named error naming `where`. With
 * `classes` (the serving model's, `classCountOf(card)`), the reference must cover that many.
 */
export function parseDriftReference(text: string, where = 'drift reference', classes?: number): DriftReference {
  let ref: DriftReference;
  try {
    ref = JSON.parse(text) as DriftReference;
  } catch {
    throw new ConfigError(`${where} is not valid JSON`);
  }
  const names = Array.isArray(ref?.features) && ref.features.length > NON_COVERAGE_FEATURES ? driftFeatureNames(ref.features.length - NON_COVERAGE_FEATURES) : null;
  if (ref?.schema !== DRIFT_SCHEMA || !names || ref.features.some((f, i) => f?.name !== names[i])) {
    throw new ConfigError(`${where} is not an ${DRIFT_SCHEMA} file (features mean_r, mean_g, mean_b, brightness, coverage_0 … coverage_<classes − 1>, confidence)`);
  }
  if (classes !== undefined && driftClassCount(ref) !== classes) {
    throw new ConfigError(`${where} covers ${driftClassCount(ref)} classes, the model has ${classes}; measure a reference for this model`);
  }
  return ref;
}

/** Population stability index of live values against one reference feature. */
export function psi(feature: DriftReference['features'][number], values: number[]): number {
  const live = shares(feature.edges, values);
  let sum = 0;
  for (let k = 0; k < live.length; k++) {
    const p = Math.max(live[k], FLOOR);
    const q = Math.max(feature.shares[k], FLOOR);
    sum += (p - q) * Math.log(p / q);
  }
  return sum;
}

/** One test of the live window against the reference (population stability index per feature). */
export interface DriftReport {
  schema: typeof DRIFT_EVENT_SCHEMA;
  /** True when some feature's PSI exceeds the threshold. */
  drift: boolean;
  test: 'psi';
  threshold: number;
  window: number;
  /** PSI per feature. */
  psi: Record<string, number>;
  /** Features over the threshold, worst first. */
  drifted: string[];
  /** The reference's `source`: which model on which data the live window was compared with. */
  reference: string;
  modelVersion?: string;
  at: string;
}

/** Window, threshold and cadence of the drift test. */
export interface DriftMonitorOptions {
  /** Live frames per window. @default DRIFT_MONITOR_DEFAULTS.window (200) */
  window?: number;
  /** PSI above which a feature has drifted. @default DRIFT_MONITOR_DEFAULTS.threshold (0.25) */
  threshold?: number;
  /** Evaluate every this many frames once the window is full. @default window / 4 */
  every?: number;
}

/** The fixed defaults of DriftMonitorOptions (`every` follows the window). */
export const DRIFT_MONITOR_DEFAULTS = { window: 200, threshold: 0.25 } as const;

/** A sliding window of live frames tested against the reference every `every` frames. */
export class DriftMonitor {
  readonly window: number;
  readonly threshold: number;
  private readonly every: number;
  private readonly rows: number[][] = [];
  private sinceCheck = 0;
  last: DriftReport | null = null;

  constructor(
    readonly reference: DriftReference,
    o: DriftMonitorOptions = {},
  ) {
    this.window = o.window ?? DRIFT_MONITOR_DEFAULTS.window;
    this.threshold = o.threshold ?? DRIFT_MONITOR_DEFAULTS.threshold;
    this.every = o.every ?? Math.max(1, Math.floor(this.window / 4));
    if (!(Number.isInteger(this.window) && this.window >= BINS)) throw new ConfigError(`drift window must be an integer ≥ ${BINS}, got ${this.window}`);
    if (!(this.threshold > 0)) throw new ConfigError(`drift threshold must be > 0, got ${this.threshold}`);
  }

  /**
   * Adds a frame; returns a report when one is due (window full and `every` frames since the
   * last). Throws `CONTRACT_MISMATCH` when the frame's class count is not the reference's.
   */
  add(stats: FrameDriftStats, modelVersion?: string): DriftReport | null {
    const row = driftFeatures(stats);
    if (row.length !== this.reference.features.length) {
      throw new ContractError(`frame has ${stats.classCoverage.length} class coverages, the drift reference (${this.reference.source}) ${driftClassCount(this.reference)}`);
    }
    this.rows.push(row);
    if (this.rows.length > this.window) this.rows.shift();
    this.sinceCheck++;
    if (this.rows.length < this.window || this.sinceCheck < this.every) return null;
    this.sinceCheck = 0;
    return (this.last = this.evaluate(modelVersion));
  }

  /** Forgets the window (a new model serves: its outputs are not comparable with the old one's). */
  reset(): void {
    this.rows.length = 0;
    this.sinceCheck = 0;
  }

  evaluate(modelVersion?: string): DriftReport {
    const byFeature: Record<string, number> = {};
    this.reference.features.forEach((f, i) => {
      byFeature[f.name] = psi(f, this.rows.map((r) => r[i]));
    });
    const drifted = Object.entries(byFeature)
      .filter(([, v]) => v > this.threshold)
      .sort((a, b) => b[1] - a[1])
      .map(([k]) => k);
    return { schema: DRIFT_EVENT_SCHEMA, drift: drifted.length > 0, test: 'psi', threshold: this.threshold, window: this.rows.length, psi: byFeature, drifted, reference: this.reference.source, modelVersion, at: new Date().toISOString() };
  }
}
