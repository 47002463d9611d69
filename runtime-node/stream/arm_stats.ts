/**
 * Per-arm evidence of a rollout in the stream service: every result counts for the arm (champion
 * or canary) and version that made it — frames, model errors, model time (p95 over a recent
 * window), mean confidence, class coverage, drift PSI against the champion's reference — and each
 * label that arrives for a frame is scored against the mask that arm published (pixel agreement,
 * mIoU). Exposed on /metrics (`edgeseg_arm_*`, labelled by arm and version), as `evidence()` for
 * the loop's judge, and as periodic `edgeseg.arm-report.v1` records on `edgeseg.events`.
 * Accumulators start empty when a rollout starts, so both arms are measured over the same time.
 */
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ConfusionMatrix, decodeMaskPng, decodeRle, fromBase64, HEADER, type Logger, type RleMask } from '../../core/index.js';
import { driftClassCount, DriftMonitor, type FrameDriftStats } from '../../core/drift.js';
import { percentile } from '../../core/metrics.js';
import { resizeMask, type ClassMask } from '../../core/preprocess.js';
import { ARM_REPORT_SCHEMA, type Arm, type ArmEvidence, type ArmReport, type RolloutEvidence } from '../../core/rollout.js';
import type { FeedbackStore } from '../../core/node/feedback_store.js';
import type { OutRecord } from '../transport/transport.js';
import type { StreamDriftOptions } from './options.js';

/** Frames whose masks are kept for scoring labels that may arrive for them. */
const KEPT_MASKS = 4096;
/** Model times the p95 is taken over. */
const LATENCY_WINDOW = 500;
/**
 * Frames of each arm left out of its model times: a freshly loaded model's first runs are cold
 * (allocations, kernel set-up) and would decide a p95 of a few canary frames on their own (the
 * loop demo rolled back a sound canary at 297 vs 77 ms on them).
 */
const LATENCY_WARMUP = 5;

function armMetrics(registry: Registry) {
  const labelNames = ['arm', 'version'];
  return {
    frames: new Counter({ name: 'edgeseg_arm_frames_total', help: 'Frames segmented, by rollout arm and version', labelNames, registers: [registry] }),
    errors: new Counter({ name: 'edgeseg_arm_errors_total', help: 'Frames the model failed on, by rollout arm and version', labelNames, registers: [registry] }),
    inference: new Histogram({ name: 'edgeseg_arm_inference_seconds', help: 'Model time per frame batch, by rollout arm and version', labelNames, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] }),
    confidence: new Gauge({ name: 'edgeseg_arm_mean_confidence', help: "Mean of the frames' mean confidence since the rollout started, by arm and version", labelNames, registers: [registry] }),
    coverage: new Gauge({ name: 'edgeseg_arm_class_coverage', help: 'Mean share of each class in the masks since the rollout started, by arm and version', labelNames: [...labelNames, 'class'], registers: [registry] }),
    psi: new Gauge({ name: 'edgeseg_arm_drift_psi', help: "PSI of each drift feature over the arm's last window, by arm and version", labelNames: [...labelNames, 'feature'], registers: [registry] }),
    labels: new Counter({ name: 'edgeseg_arm_labels_total', help: 'Labels that arrived for frames of each arm and version', labelNames, registers: [registry] }),
    agreement: new Gauge({ name: 'edgeseg_arm_label_agreement', help: "Pixel agreement of the arm's masks with the labels of its frames", labelNames, registers: [registry] }),
    labelMiou: new Gauge({ name: 'edgeseg_arm_label_miou', help: "mIoU of the arm's masks against the labels of its frames", labelNames, registers: [registry] }),
  };
}

class ArmAccumulator {
  frames = 0;
  errors = 0;
  latencies: number[] = [];
  confidence = 0;
  /** The version's class names (its card's), known from its first segmented frame; null before. */
  classes: readonly string[] | null = null;
  /** Summed coverage of each class. */
  coverage: number[] = [];
  psi: Record<string, number> | null = null;
  labels: ConfusionMatrix | null = null;
  labelled = 0;
  drift: DriftMonitor | null = null;

  constructor(
    readonly version: string,
    private readonly driftOptions: StreamDriftOptions | null,
  ) {}

  /** Sizes the accumulators by the version's class count when its first frame is seen. */
  sizeFor(classes: readonly string[]): void {
    if (this.classes) return;
    this.classes = classes;
    this.coverage = new Array<number>(classes.length).fill(0);
    this.labels = new ConfusionMatrix(classes.length);
    // A reference measured on a model of another class count says nothing about this one's outputs.
    const d = this.driftOptions;
    this.drift = d && driftClassCount(d.reference) === classes.length ? new DriftMonitor(d.reference, d) : null;
  }

  evidence(): ArmEvidence {
    const m = this.labelled && this.labels ? this.labels.metrics() : null;
    return {
      version: this.version,
      frames: this.frames,
      errors: this.errors,
      latencyP95Ms: this.latencies.length ? percentile(this.latencies, 0.95) : null,
      meanConfidence: this.frames ? this.confidence / this.frames : null,
      classCoverage: this.frames ? this.coverage.map((c) => c / this.frames) : [],
      driftPsi: this.psi,
      labels: this.labelled,
      labelAgreement: m ? m.pixelAccuracy : null,
      labelMiou: m ? m.miou : null,
    };
  }
}

/** A published mask kept until its label arrives. */
interface KeptMask {
  arm: Arm;
  version: string;
  classes: readonly string[];
  mask: string | RleMask;
  width: number;
  height: number;
}

/** What one served frame tells its arm. */
export interface ArmObservation {
  frameId: string;
  arm: Arm;
  modelVersion: string;
  /** The class names of the version's card, one per `classCoverage` entry. */
  classes: readonly string[];
  inferenceMs: number;
  meanConfidence: number;
  classCoverage: number[];
  /** The decoded frame's input statistics. */
  drift: Pick<FrameDriftStats, 'channelMeans' | 'brightness'>;
  mask: string | RleMask;
  width: number;
  height: number;
}

export class ArmStats {
  private readonly metrics: ReturnType<typeof armMetrics>;
  private readonly arms = new Map<string, ArmAccumulator>();
  private readonly kept = new Map<string, KeptMask>();

  constructor(
    registry: Registry,
    private readonly drift: StreamDriftOptions | null,
    private readonly log: Logger,
  ) {
    this.metrics = armMetrics(registry);
  }

  private arm(arm: Arm, version: string): ArmAccumulator {
    const key = `${arm}\t${version}`;
    let a = this.arms.get(key);
    if (!a) this.arms.set(key, (a = new ArmAccumulator(version, this.drift)));
    return a;
  }

  /** Both arms start empty (a rollout started or its canary changed). */
  restart(): void {
    this.arms.clear();
    this.kept.clear();
    for (const m of Object.values(this.metrics)) m.reset();
  }

  /** Counts one segmented frame for its arm and keeps its mask for a label that may come. */
  observe(o: ArmObservation): void {
    const a = this.arm(o.arm, o.modelVersion);
    a.sizeFor(o.classes);
    const labels = { arm: o.arm, version: o.modelVersion };
    a.frames++;
    if (a.frames > LATENCY_WARMUP) a.latencies.push(o.inferenceMs);
    if (a.latencies.length > LATENCY_WINDOW) a.latencies.shift();
    a.confidence += o.meanConfidence;
    o.classCoverage.forEach((c, i) => (a.coverage[i] += c));
    const report = a.drift?.add({ ...o.drift, classCoverage: o.classCoverage, meanConfidence: o.meanConfidence }, o.modelVersion);
    if (report) {
      a.psi = report.psi;
      for (const [feature, value] of Object.entries(report.psi)) this.metrics.psi.set({ ...labels, feature }, value);
    }
    this.metrics.frames.inc(labels);
    this.metrics.inference.observe(labels, o.inferenceMs / 1000);
    this.metrics.confidence.set(labels, a.confidence / a.frames);
    a.coverage.forEach((c, i) => this.metrics.coverage.set({ ...labels, class: o.classes[i] ?? String(i) }, c / a.frames));
    this.kept.delete(o.frameId);
    this.kept.set(o.frameId, { arm: o.arm, version: o.modelVersion, classes: o.classes, mask: o.mask, width: o.width, height: o.height });
    if (this.kept.size > KEPT_MASKS) this.kept.delete(this.kept.keys().next().value!);
  }

  /** Counts a frame the model failed on. */
  error(arm: Arm, version: string): void {
    this.arm(arm, version).errors++;
    this.metrics.errors.inc({ arm, version });
  }

  /** Scores the labels of feedback store version `version` that are for frames kept here. */
  labelled(store: FeedbackStore, version: number): void {
    if (this.kept.size === 0) return;
    for (const s of store.read(version).samples) {
      const k = this.kept.get(s.id);
      if (!k) continue;
      this.kept.delete(s.id);
      try {
        const classes = k.classes.length;
        const served = typeof k.mask === 'string' ? decodeMaskPng(fromBase64(k.mask), {}, classes) : decodeRle(k.mask, classes);
        const truth = resizeMask(decodeMaskPng(readFileSync(store.objectPath(s.mask)), {}, classes), served.width, served.height);
        this.score(k, truth, served);
      } catch (err) {
        this.log.warn('label not scored for its arm', { frameId: s.id, error: (err as Error).message });
      }
    }
  }

  private score(k: KeptMask, truth: ClassMask, served: ClassMask): void {
    const a = this.arm(k.arm, k.version);
    a.sizeFor(k.classes);
    a.labels!.accumulate(truth.data, served.data);
    a.labelled++;
    const m = a.labels!.metrics();
    const labels = { arm: k.arm, version: k.version };
    this.metrics.labels.inc(labels);
    this.metrics.agreement.set(labels, m.pixelAccuracy);
    this.metrics.labelMiou.set(labels, m.miou);
  }

  /** Both arms' evidence for a rollout of `canary` beside `champion` (versions as `<name>@<version>`). */
  evidence(champion: string, canary: string): RolloutEvidence {
    return { at: new Date().toISOString(), champion: this.arm('champion', champion).evidence(), canary: this.arm('canary', canary).evidence() };
  }

  /** The periodic report record for `edgeseg.events`. */
  report(eventsTopic: string, name: string, champion: string, canary: string, weight: number): OutRecord {
    const report: ArmReport = { schema: ARM_REPORT_SCHEMA, name, weight, ...this.evidence(champion, canary) };
    return { topic: eventsTopic, key: name, value: JSON.stringify(report), headers: { [HEADER.schema]: ARM_REPORT_SCHEMA } };
  }
}
