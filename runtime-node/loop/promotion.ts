/**
 * Promotion: moves the registry's `champion` alias and announces the version on `edgeseg.models`
 * (stream services hot-swap on it; browsers load the new champion on their next visit through
 * `/models/index.json`). Decisions — promoted, refused, rolled back — also go to `edgeseg.events`.
 */
import { resolve, join } from 'node:path';
import { MODEL_EVENT_SCHEMA, type ModelCard, type ModelEvent, type Topics } from '../../core/index.js';
import { rollbackAlias, setAlias } from '../../core/node/registry.js';
import { modelDigest } from '../../core/node/registry.js';
import type { Transport } from '../transport/transport.js';
import { readFileSync } from 'node:fs';

export const DECISION_SCHEMA = 'edgeseg.decision.v1';

export interface DecisionEvent {
  schema: typeof DECISION_SCHEMA;
  name: string;
  /** `canary`: a rollout started (or changed weight); `canary-ended`: it was rolled back or aborted (a promoted canary is `promoted`). */
  decision: 'promoted' | 'refused' | 'rollback' | 'canary' | 'canary-ended';
  version: string;
  /** The champion after the decision. */
  champion: string;
  reasons: string[];
  at: string;
}

export interface Publisher {
  transport: Transport;
  topics: Topics;
}

/** The `edgeseg.models` message for a registry version. */
export function modelEvent(root: string, name: string, version: string): ModelEvent {
  const dir = resolve(root, name, version);
  const card = JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8')) as ModelCard;
  return {
    schema: MODEL_EVENT_SCHEMA,
    name,
    version,
    path: dir,
    sha256: modelDigest(dir),
    metrics: card.metrics ? { miou: card.metrics.miou, pixelAccuracy: card.metrics.pixelAccuracy } : null,
    at: new Date().toISOString(),
  };
}

export async function publishDecision(p: Publisher | undefined, event: Omit<DecisionEvent, 'schema' | 'at'>): Promise<void> {
  if (!p) return;
  await p.transport.send([{ topic: p.topics.events, key: event.name, value: JSON.stringify({ schema: DECISION_SCHEMA, ...event, at: new Date().toISOString() } satisfies DecisionEvent) }]);
}

/** Makes `version` the champion and, with a publisher, announces it. Returns the model event. */
export async function promote(root: string, name: string, version: string, o: { publisher?: Publisher; reason?: string } = {}): Promise<ModelEvent> {
  await setAlias(root, name, 'champion', version, o.reason ?? 'promote');
  const event = modelEvent(root, name, version);
  if (o.publisher) {
    await o.publisher.transport.send([{ topic: o.publisher.topics.models, key: name, value: JSON.stringify(event) }]);
    await publishDecision(o.publisher, { name, decision: 'promoted', version, champion: version, reasons: o.reason ? [o.reason] : [] });
  }
  return event;
}

/** Moves the champion back to the version it held before and announces it. */
export async function rollback(root: string, name: string, o: { publisher?: Publisher } = {}): Promise<{ from: string; to: string; event: ModelEvent }> {
  const { from, to } = await rollbackAlias(root, name, 'champion');
  const event = modelEvent(root, name, to);
  if (o.publisher) {
    await o.publisher.transport.send([{ topic: o.publisher.topics.models, key: name, value: JSON.stringify(event) }]);
    await publishDecision(o.publisher, { name, decision: 'rollback', version: to, champion: to, reasons: [`rolled back from ${from}`] });
  }
  return { from, to, event };
}
