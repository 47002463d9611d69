/**
 * Rollout moves with their announcements: a canary starting (a decision on `edgeseg.events`;
 * stream services pick the canary up from the registry), a canary promoted (the champion alias
 * moves, announced on `edgeseg.models` like any promotion, so every service hot-swaps), and a
 * canary rolled back or aborted (the champion stays; a decision on `edgeseg.events`).
 */
import type { RolloutState } from '../../core/rollout.js';
import { endRollout, startCanary, type RolloutOutcome } from '../../core/node/rollout.js';
import { modelEvent, publishDecision, type Publisher } from './promotion.js';

/** Starts a canary of `version` at `weight` percent and announces the decision. */
export async function beginCanary(root: string, name: string, version: string, weight: number, o: { publisher?: Publisher; reason?: string } = {}): Promise<RolloutState> {
  const r = await startCanary(root, name, version, weight, o.reason);
  await publishDecision(o.publisher, { name, decision: 'canary', version, champion: r.champion, reasons: [`canary at ${weight}%${o.reason ? `: ${o.reason}` : ''}`] });
  return r;
}

/** Ends the rollout of `name` and announces it. Returns the rollout as it ended. */
export async function finishCanary(root: string, name: string, outcome: RolloutOutcome, reason: string, o: { publisher?: Publisher } = {}): Promise<RolloutState> {
  const r = await endRollout(root, name, outcome, reason);
  if (!o.publisher) return r;
  if (outcome === 'promoted') {
    await o.publisher.transport.send([{ topic: o.publisher.topics.models, key: name, value: JSON.stringify(modelEvent(root, name, r.canary)) }]);
    await publishDecision(o.publisher, { name, decision: 'promoted', version: r.canary, champion: r.canary, reasons: [`canary promoted: ${reason}`] });
  } else {
    await publishDecision(o.publisher, { name, decision: 'canary-ended', version: r.canary, champion: r.champion, reasons: [`canary ${outcome}: ${reason}`] });
  }
  return r;
}
