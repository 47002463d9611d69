/**
 * Canary rollouts in the registry: the `canary` alias plus the rollout state beside it (champion
 * at the start, weight, started-at, evidence so far), changed together under the registry lock.
 * Every move — start, weight change, promotion, rollback, abort — is an alias move in the
 * history with its reason, so `rollback` and `gc` see canaries like any alias.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CARD_JSON, ConfigError, ModelFormatError } from '../index.js';
import { checkWeight, type RolloutEvidence, type RolloutState } from '../rollout.js';
import { registryEntry, updateRegistryEntry, type AliasMove, type RegistryEntry } from './registry.js';

/** How a rollout ended. */
export type RolloutOutcome = 'promoted' | 'rolled back' | 'aborted';

function move(entry: RegistryEntry, alias: string, to: string | null, reason: string, force = false): void {
  const from = entry.aliases[alias] ?? null;
  if (to === null) delete entry.aliases[alias];
  else entry.aliases[alias] = to;
  if (from !== to || force) (entry.history ??= []).push({ alias, from, to, at: new Date().toISOString(), reason } satisfies AliasMove);
}

/** The rollout in progress for `name`, or null. */
export function readRollout(root: string, name: string): RolloutState | null {
  return registryEntry(root, name).rollout ?? null;
}

/**
 * Starts a canary: `version` serves `weight` percent of keys beside the champion. Refuses a
 * model with no champion, a version that is the champion or does not exist, and a second rollout.
 */
export async function startCanary(root: string, name: string, version: string, weight: number, reason = 'canary started'): Promise<RolloutState> {
  checkWeight(weight);
  if (!existsSync(join(root, name, version, CARD_JSON))) throw new ModelFormatError('MODEL_NOT_FOUND', `${name} has no complete version ${version}`);
  return updateRegistryEntry(root, name, (entry) => {
    const champion = entry.aliases.champion;
    if (!champion) throw new ConfigError(`${name} has no champion: a canary needs one to be compared with (promote a version first)`);
    if (champion === version) throw new ConfigError(`${name}@${version} is already the champion`);
    if (entry.rollout) throw new ConfigError(`${name} already has a canary (${entry.rollout.canary} at ${entry.rollout.weight}%); promote, roll back or abort it first`);
    move(entry, 'canary', version, `${reason} at ${weight}%`);
    entry.rollout = { champion, canary: version, weight, startedAt: new Date().toISOString(), evidence: null };
    return structuredClone(entry.rollout);
  });
}

/** Changes the canary's weight (recorded as a move of the `canary` alias onto itself). */
export async function setCanaryWeight(root: string, name: string, weight: number, reason = 'weight changed'): Promise<RolloutState> {
  checkWeight(weight);
  return updateRegistryEntry(root, name, (entry) => {
    const r = entry.rollout;
    if (!r) throw new ConfigError(`${name} has no canary in progress`);
    move(entry, 'canary', r.canary, `${reason}: ${r.weight}% → ${weight}%`, true);
    r.weight = weight;
    return structuredClone(r);
  });
}

/** Records the latest evidence of the rollout of `canary` (ignored when that rollout has ended). */
export async function recordEvidence(root: string, name: string, canary: string, evidence: RolloutEvidence): Promise<boolean> {
  return updateRegistryEntry(root, name, (entry) => {
    if (entry.rollout?.canary !== canary) return false;
    entry.rollout.evidence = evidence;
    return true;
  });
}

/**
 * Ends the rollout: `promoted` moves the champion to the canary; `rolled back` and `aborted`
 * leave the champion. The `canary` alias is removed either way. Returns the rollout as it ended.
 */
export async function endRollout(root: string, name: string, outcome: RolloutOutcome, reason: string): Promise<RolloutState> {
  return updateRegistryEntry(root, name, (entry) => {
    const r = entry.rollout;
    if (!r) throw new ConfigError(`${name} has no canary in progress`);
    if (outcome === 'promoted') move(entry, 'champion', r.canary, `canary promoted: ${reason}`);
    move(entry, 'canary', null, `canary ${outcome}: ${reason}`);
    delete entry.rollout;
    return r;
  });
}
