/**
 * The canary judge: while a rollout runs, it reads both arms' live evidence from the stream
 * service, records it in the registry (so `edgeseg models status` shows it) and decides:
 *
 * - at once, roll back a canary that errors (more than `maxErrors` failed frames) or whose model
 *   time p95 exceeds the champion's by more than `latencyFactor` (once each arm has
 *   `minLatencyFrames` frames);
 * - once each arm has `minLabels` labels and `minFrames` frames, promote the canary when its
 *   mIoU against the labels of its own frames is at most `maxRegression` below the champion's
 *   (the gate's feedback-slice budget), else roll it back, saying why.
 *
 * It also notes when the canary first looked worse on live labels beyond the budget, so the time
 * from that moment to the rollback is reported: the evidence rule bounds it (the labels still
 * missing when it first looked worse).
 */
import { EventEmitter } from 'node:events';
import { createLogger, type Logger } from '../../core/index.js';
import { describeError } from '../../core/errors.js';
import { type RolloutEvidence, type RolloutState } from '../../core/rollout.js';
import { readRollout, recordEvidence } from '../../core/node/rollout.js';
import { GATE_DEFAULTS } from './gate.js';
import type { Publisher } from './promotion.js';
import { finishCanary } from './rollout_moves.js';

/** When a canary is judged and by what rules. */
export interface CanaryRules {
  /** Share of keys a new canary starts with, percent. @default 5 */
  weight?: number;
  /** Labels each arm needs before the live comparison. @default 8 */
  minLabels?: number;
  /** Frames each arm needs before the live comparison. @default 40 */
  minFrames?: number;
  /** mIoU the canary may lose against the champion on live labels (0–1). @default GATE_DEFAULTS.maxFeedbackRegression (0.02) */
  maxRegression?: number;
  /** Roll back at once when the canary's model-time p95 exceeds the champion's by this factor. @default 3 */
  latencyFactor?: number;
  /** Frames each arm needs before the latency rule applies. @default 30 */
  minLatencyFrames?: number;
  /** Roll back at once when the canary failed on more frames than this. @default 0 */
  maxErrors?: number;
}

/** The defaults of CanaryRules. */
export const CANARY_DEFAULTS: Required<CanaryRules> = { weight: 5, minLabels: 8, minFrames: 40, maxRegression: GATE_DEFAULTS.maxFeedbackRegression, latencyFactor: 3, minLatencyFrames: 30, maxErrors: 0 };

/** What the judge makes of the evidence now. */
export type CanaryVerdict =
  | { action: 'wait'; reason: string; worse: boolean }
  | { action: 'promote'; reason: string; worse: false }
  | { action: 'rollback'; reason: string; worse: boolean; immediate: boolean };

const pts = (x: number) => `${(100 * x).toFixed(2)}%`;

/** Applies the rules to both arms' evidence. `worse`: the canary's live-label mIoU is below the champion's beyond the budget now. */
export function judgeCanary(e: RolloutEvidence, rules: CanaryRules = {}): CanaryVerdict {
  const r = { ...CANARY_DEFAULTS, ...rules };
  const { champion: a, canary: b } = e;
  const worse = a.labelMiou !== null && b.labelMiou !== null && a.labelMiou - b.labelMiou > r.maxRegression;
  if (b.errors > r.maxErrors) return { action: 'rollback', reason: `the canary failed on ${b.errors} frame${b.errors === 1 ? '' : 's'} (allowed ${r.maxErrors})`, worse, immediate: true };
  if (a.frames >= r.minLatencyFrames && b.frames >= r.minLatencyFrames && a.latencyP95Ms !== null && b.latencyP95Ms !== null && b.latencyP95Ms > r.latencyFactor * a.latencyP95Ms) {
    return { action: 'rollback', reason: `latency p95 ${b.latencyP95Ms.toFixed(1)} ms is over ${r.latencyFactor} × the champion's ${a.latencyP95Ms.toFixed(1)} ms`, worse, immediate: true };
  }
  const missing = [a, b].flatMap((arm, i) => {
    const label = i === 0 ? 'champion' : 'canary';
    return [...(arm.labels < r.minLabels ? [`${label} ${arm.labels}/${r.minLabels} labels`] : []), ...(arm.frames < r.minFrames ? [`${label} ${arm.frames}/${r.minFrames} frames`] : [])];
  });
  if (missing.length) return { action: 'wait', reason: `evidence so far: ${missing.join(', ')}`, worse };
  const live = `live-label mIoU ${pts(b.labelMiou!)} vs the champion's ${pts(a.labelMiou!)} over ${b.labels} / ${a.labels} labels`;
  if (worse) return { action: 'rollback', reason: `worse on live labels: ${live}, ${(100 * (a.labelMiou! - b.labelMiou!)).toFixed(2)} points below (allowed ${(100 * r.maxRegression).toFixed(2)})`, worse, immediate: false };
  return { action: 'promote', reason: `not worse on live labels: ${live} (allowed ${(100 * r.maxRegression).toFixed(2)} points below)`, worse: false };
}

/** How a rollout ended, with the evidence it ended on. */
export interface CanaryOutcome {
  name: string;
  version: string;
  outcome: 'promoted' | 'rolled back';
  reason: string;
  rollout: RolloutState;
  evidence: RolloutEvidence;
  /** Milliseconds from the first check at which the canary was worse on live labels to its rollback (null when it never was). */
  worseToRollbackMs: number | null;
  /** Milliseconds the rollout ran. */
  durationMs: number;
}

export interface CanaryJudgeOptions {
  /** Registry root. */
  models: string;
  name: string;
  /** Both arms' live evidence (the stream service's), null while no canary serves there. */
  evidence(): RolloutEvidence | null;
  rules?: CanaryRules;
  /** Announce promotions and rollbacks. */
  publisher?: Publisher;
  /** How often the evidence is judged. @default 1000 (ms) */
  intervalMs?: number;
  log?: Logger;
}

export interface CanaryJudgeEvents {
  /** Each judged check while the rollout goes on (the reason says what is missing). */
  wait: [CanaryVerdict & { version: string }];
  /** The canary first looked worse on live labels. */
  worse: [{ version: string; evidence: RolloutEvidence }];
  end: [CanaryOutcome];
  error: [Error];
}

export class CanaryJudge extends EventEmitter<CanaryJudgeEvents> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<CanaryOutcome | null> | null = null;
  /** Canary version → when it first looked worse on live labels. */
  private worseSince = new Map<string, number>();
  private readonly log: Logger;
  readonly outcomes: CanaryOutcome[] = [];

  constructor(private readonly o: CanaryJudgeOptions) {
    super();
    this.log = o.log ?? createLogger('canary');
  }

  /** Judges the rollout in progress once; resolves with its outcome when this check ended it. */
  check(): Promise<CanaryOutcome | null> {
    this.running ??= this.judgeOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async judgeOnce(): Promise<CanaryOutcome | null> {
    const { models, name } = this.o;
    const rollout = readRollout(models, name);
    if (!rollout) return null;
    const evidence = this.o.evidence();
    // Until the service serves this canary, there is nothing to judge.
    if (!evidence || evidence.canary.version !== `${name}@${rollout.canary}` || evidence.champion.version !== `${name}@${rollout.champion}`) return null;
    await recordEvidence(models, name, rollout.canary, evidence);
    const verdict = judgeCanary(evidence, this.o.rules);
    if (verdict.worse && !this.worseSince.has(rollout.canary)) {
      this.worseSince.set(rollout.canary, Date.now());
      this.emit('worse', { version: rollout.canary, evidence });
    }
    if (verdict.action === 'wait') {
      this.emit('wait', { ...verdict, version: rollout.canary });
      return null;
    }
    const outcome = verdict.action === 'promote' ? 'promoted' : 'rolled back';
    const ended = await finishCanary(models, name, outcome, verdict.reason, { publisher: this.o.publisher });
    const since = this.worseSince.get(rollout.canary);
    const result: CanaryOutcome = {
      name,
      version: rollout.canary,
      outcome,
      reason: verdict.reason,
      rollout: { ...ended, evidence },
      evidence,
      worseToRollbackMs: outcome === 'rolled back' && since !== undefined ? Date.now() - since : null,
      durationMs: Date.now() - Date.parse(rollout.startedAt),
    };
    this.worseSince.delete(rollout.canary);
    this.outcomes.push(result);
    this.log.info(`canary ${outcome}`, { version: rollout.canary, reason: verdict.reason });
    this.emit('end', result);
    return result;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.check().catch((err: Error) => {
        this.log.error('canary check failed', { error: describeError(err) });
        if (this.listenerCount('error') > 0) this.emit('error', err);
      });
    }, this.o.intervalMs ?? 1000);
  }

  /** Stops judging and waits for a check in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }
}
