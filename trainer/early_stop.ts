/**
 * Early stopping on validation mIoU: an epoch improves when it beats the best so far by
 * `minDelta`; `patience` epochs in a row without improvement stop the run (0: never).
 */
import type { LoopState } from './checkpoint.js';

export interface EpochJudgement {
  improved: boolean;
  /** Why the run stops after this epoch, or null to go on. */
  stopReason: string | null;
}

/** Records the epoch just validated (`state.epoch`, 0-based) in `state` and says whether to stop. */
export function judgeEpoch(state: LoopState, miou: number, o: { minDelta: number; patience: number }): EpochJudgement {
  const improved = miou > state.bestMiou + o.minDelta;
  if (improved) {
    state.bestMiou = miou;
    state.bestEpoch = state.epoch + 1;
    state.epochsWithoutImprovement = 0;
  } else {
    state.epochsWithoutImprovement++;
  }
  const stop = o.patience > 0 && state.epochsWithoutImprovement >= o.patience;
  return {
    improved,
    stopReason: stop ? `no validation mIoU gain ≥ ${o.minDelta} for ${o.patience} epochs (best ${state.bestMiou.toFixed(4)} at epoch ${state.bestEpoch})` : null,
  };
}
