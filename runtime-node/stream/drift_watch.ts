/**
 * Drift watch of the stream service: every segmented frame's input and output statistics go into
 * a DriftMonitor against the serving champion's training reference; a drift report sets the
 * drift gauges and, while drifting, is published on `edgeseg.events`. The window starts empty
 * after a hot swap (the new model's outputs are not the old one's) and after a new reference.
 * Frames of a model whose class count is not the reference's are not compared (the service
 * checks the first model against its reference; a hot swap may bring another class count).
 */
import { HEADER, type DriftReference, type DriftReport, type Logger } from '../../core/index.js';
import { DRIFT_EVENT_SCHEMA, driftClassCount, DriftMonitor, type FrameDriftStats } from '../../core/drift.js';
import type { StreamMetrics } from './metrics.js';
import type { OutRecord } from '../transport/transport.js';
import type { StreamDriftOptions } from './options.js';

export class DriftWatch {
  private monitor: DriftMonitor;
  private active = false;
  /** Whether frames of another class count than the reference's were seen (logged once). */
  private mismatchLogged = false;

  constructor(
    private readonly o: StreamDriftOptions,
    private readonly eventsTopic: string,
    private readonly metrics: StreamMetrics,
    private readonly log: Logger,
    private readonly onDrift: (report: DriftReport) => void,
  ) {
    this.monitor = new DriftMonitor(o.reference, o);
  }

  /** Adds one frame; returns the drift event to publish with its result (none unless drifting). */
  observe(stats: FrameDriftStats, modelVersion: string, modelName: string): OutRecord[] {
    const classes = driftClassCount(this.monitor.reference);
    if (stats.classCoverage.length !== classes) {
      if (!this.mismatchLogged) this.log.warn('drift not measured: the model and its drift reference differ in class count', { modelVersion, classes: stats.classCoverage.length, reference: this.monitor.reference.source, referenceClasses: classes });
      this.mismatchLogged = true;
      return [];
    }
    const report = this.monitor.add(stats, modelVersion);
    if (!report) return [];
    for (const [feature, value] of Object.entries(report.psi)) this.metrics.driftPsi.set({ feature }, value);
    this.metrics.drift.set(report.drift ? 1 : 0);
    const changed = report.drift !== this.active;
    this.active = report.drift;
    if (!report.drift) return [];
    this.onDrift(report);
    if (changed) this.log.warn('input drift', { drifted: report.drifted, psi: report.drifted.map((f) => report.psi[f].toFixed(3)).join(', ') });
    return [{ topic: this.eventsTopic, key: modelName, value: JSON.stringify(report), headers: { [HEADER.schema]: DRIFT_EVENT_SCHEMA } }];
  }

  /** Starts an empty window against the same reference (after a hot swap). */
  reset(): void {
    this.monitor.reset();
  }

  /** Replaces the reference (after a promotion: the new champion's training data is the new normal); the window starts empty. */
  setReference(reference: DriftReference): void {
    this.monitor = new DriftMonitor(reference, this.o);
    this.active = false;
    this.mismatchLogged = false;
    this.metrics.drift.set(0);
  }
}
