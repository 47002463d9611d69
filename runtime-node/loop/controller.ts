/**
 * The retraining loop's controller: watches its triggers, runs `retrain` when one fires, and
 * promotes or refuses the challenger by the gate's decision.
 *
 * Triggers (each configurable, checked every `intervalMs`):
 * - labels: at least `labels` feedback samples the champion was not trained on;
 * - schedule: `everyMs` since the last retrain (needs `minLabels` new labels);
 * - drift: a drift report from the stream service (needs `minLabels` new labels).
 * One retrain runs at a time; the loop never promotes a refused challenger. With `canary` rules,
 * an accepted challenger starts a canary rollout instead of becoming the champion (the canary
 * judge, canary.ts, ends it on live evidence), and no retrain starts while a rollout runs.
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { createLogger, type DriftReport, type Logger } from '../../core/index.js';
import { describeError } from '../../core/errors.js';
import { FeedbackStore } from '../../core/node/feedback_store.js';
import { promote, publishDecision, type Publisher } from './promotion.js';
import { championDir, trainedRoot } from '../../core/node/registry.js';
import { readRollout } from '../../core/node/rollout.js';
import { CANARY_DEFAULTS, type CanaryRules } from './canary.js';
import { beginCanary } from './rollout_moves.js';
import { feedbackVersionOf } from './lineage.js';
import { retrain, type RetrainOptions, type RetrainResult } from './retrain.js';
import { retrainInWorker } from './retrain_isolated.js';

export interface LoopTriggers {
  /** Retrain once this many new labels arrived; 0 disables. @default 50 */
  labels?: number;
  /** Retrain this often (ms); null disables. @default null */
  everyMs?: number | null;
  /** Retrain on a drift report. @default true */
  drift?: boolean;
  /** New labels the schedule and drift triggers need. @default 8 */
  minLabels?: number;
  /**
   * Which drift reports count: only those measured against the champion's own reference
   * (`champion`, when the loop refreshes the reference at each promotion), or any (`any`, a fixed
   * reference file). @default 'champion'
   */
  driftReference?: 'champion' | 'any';
}

export interface LoopOptions {
  name: string;
  /** @default 'models' */
  models?: string;
  /** Feedback store directory. */
  feedback: string;
  triggers?: LoopTriggers;
  /** Passed to each retrain (steps, precision, gate rules…). */
  retrain?: Omit<RetrainOptions, 'name' | 'models' | 'feedback'>;
  /** Announce promotions on `edgeseg.models` and decisions on `edgeseg.events`. */
  publisher?: Publisher;
  /**
   * Rollout of an accepted challenger: null promotes it straight to champion (every consumer and
   * browser at once); rules start a canary at `weight` percent instead. @default null
   */
  canary?: CanaryRules | null;
  /** Retrain in a worker thread so serving never waits on training. @default true */
  isolate?: boolean;
  /** Trigger checks. @default 2000 (ms) */
  intervalMs?: number;
  log?: Logger;
}

export interface LoopDecision {
  trigger: string;
  version: string;
  accepted: boolean;
  /** True when the accepted challenger started a canary rather than becoming the champion. */
  canary: boolean;
  reasons: string[];
  /** The champion after the decision. */
  champion: string;
  result: RetrainResult;
}

export interface LoopEvents {
  trigger: [string];
  decision: [LoopDecision];
  error: [Error];
}

export class RetrainLoop extends EventEmitter<LoopEvents> {
  private readonly root: string;
  private readonly store: FeedbackStore;
  private readonly log: Logger;
  private drift: DriftReport | null = null;
  private lastRun = Date.now();
  private running: Promise<LoopDecision> | null = null;
  /** Store version a refused (or failed) retrain used: the next retrain waits for labels beyond it. */
  private refusedAt = 0;
  private triggers: LoopTriggers;
  private timer: NodeJS.Timeout | null = null;
  readonly decisions: LoopDecision[] = [];

  constructor(private readonly o: LoopOptions) {
    super();
    this.root = resolve(o.models ?? 'models');
    this.store = new FeedbackStore(o.feedback);
    this.log = o.log ?? createLogger('loop');
    this.triggers = { ...o.triggers };
  }

  /** Feedback samples the champion's lineage was not fitted on. */
  labelsSinceChampion(): number {
    const { card } = trainedRoot(this.root, this.o.name, championDir(this.root, this.o.name));
    return this.labelsSince(feedbackVersionOf(card, this.store.dir));
  }

  /** A drift report from the service; only reports about the current champion count. */
  noteDrift(report: DriftReport): void {
    if (report.drift && this.driftApplies(report)) this.drift = report;
  }

  /** Whether a drift report is about the serving champion (and drift triggers are on). */
  private driftApplies(report: DriftReport): boolean {
    if (!(this.triggers.drift ?? true)) return false;
    const champion = `${this.o.name}@${championDir(this.root, this.o.name).split(/[\\/]/).pop()}`;
    if (report.modelVersion && report.modelVersion !== champion) return false;
    return (this.triggers.driftReference ?? 'champion') === 'any' || report.reference.startsWith(`${champion} `);
  }

  /** Changes the triggers from now on. */
  setTriggers(triggers: LoopTriggers): void {
    this.triggers = { ...this.triggers, ...triggers };
  }

  /** True while a retrain runs. */
  get busy(): boolean {
    return this.running !== null;
  }

  private labelsSince(version: number): number {
    const latest = this.store.latest();
    if (latest === null) return 0;
    const known = new Set(version > 0 ? this.store.read(version).samples.map((s) => `${s.id}\t${s.mask}`) : []);
    return this.store.read(latest).samples.filter((s) => !known.has(`${s.id}\t${s.mask}`)).length;
  }

  /** The trigger that fires now, or null. */
  dueTrigger(): string | null {
    const t = this.triggers;
    // A canary on trial is judged first: a new challenger would be compared with the wrong champion.
    if (readRollout(this.root, this.o.name)) return null;
    // After a refusal, only labels that arrived since can change the outcome.
    if (this.refusedAt > 0 && this.labelsSince(this.refusedAt) < (t.minLabels ?? 8)) return null;
    const fresh = this.labelsSinceChampion();
    const want = t.labels ?? 50;
    if (want > 0 && fresh >= want) return `labels: ${fresh} new ≥ ${want}`;
    if (fresh < (t.minLabels ?? 8)) return null;
    // A report noted before a promotion or a trigger change no longer counts.
    if (this.drift && !this.driftApplies(this.drift)) this.drift = null;
    if (this.drift) return `drift: ${this.drift.drifted.map((f) => `${f} PSI ${this.drift!.psi[f].toFixed(2)}`).join(', ')}`;
    if (t.everyMs && Date.now() - this.lastRun >= t.everyMs) return `schedule: ${Math.round((Date.now() - this.lastRun) / 1000)} s since the last retrain`;
    return null;
  }

  /** Retrains now and acts on the gate's decision. */
  runOnce(trigger: string): Promise<LoopDecision> {
    if (this.running) return this.running;
    const run = (async () => {
      this.log.info('retrain triggered', { trigger });
      this.emit('trigger', trigger);
      this.drift = null;
      this.lastRun = Date.now();
      const attempted = this.store.latest() ?? 0;
      const run = this.o.isolate === false ? retrain : retrainInWorker;
      let result: RetrainResult;
      try {
        result = await run({ ...this.o.retrain, name: this.o.name, models: this.root, feedback: this.store.dir, log: this.o.retrain?.log ?? this.log });
      } catch (err) {
        // A failed retrain (diverged, bad data) is not retried until new labels arrive.
        this.refusedAt = attempted;
        throw err;
      }
      let champion = championDir(this.root, this.o.name).split(/[\\/]/).pop()!;
      const canary = result.accepted && this.o.canary != null;
      if (canary) {
        await beginCanary(this.root, this.o.name, result.version, this.o.canary!.weight ?? CANARY_DEFAULTS.weight, { publisher: this.o.publisher, reason: `gate accepted (${trigger})` });
        this.refusedAt = 0;
      } else if (result.accepted) {
        await promote(this.root, this.o.name, result.version, { publisher: this.o.publisher, reason: `gate accepted (${trigger})` });
        champion = result.version;
        this.refusedAt = 0;
      } else {
        this.refusedAt = attempted;
        await publishDecision(this.o.publisher, { name: this.o.name, decision: 'refused', version: result.version, champion, reasons: result.report.reasons });
      }
      const decision: LoopDecision = { trigger, version: result.version, accepted: result.accepted, canary, reasons: result.report.reasons, champion, result };
      this.decisions.push(decision);
      this.emit('decision', decision);
      return decision;
    })();
    this.running = run;
    void run.finally(() => (this.running = null)).catch(() => {});
    return run;
  }

  /** Runs a retrain when a trigger is due and none is running. */
  async check(): Promise<LoopDecision | null> {
    if (this.running) return null;
    const trigger = this.dueTrigger();
    return trigger ? this.runOnce(trigger) : null;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.check().catch((err: Error) => {
        this.log.error('retrain failed; the champion keeps serving', { error: describeError(err) });
        if (this.listenerCount('error') > 0) this.emit('error', err);
      });
    }, this.o.intervalMs ?? 2000);
  }

  /** Stops checking and waits for a retrain in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }
}
