/**
 * A model lineage's data, read from its cards: what a version was trained on, the base data of
 * its lineage (the training data without feedback parts: the held-out set of every gate), and the
 * feedback store version it already saw. The lineage's champion and trained root are registry
 * questions (core/node/registry.ts).
 */
import { resolve } from 'node:path';
import { ConfigError, type ModelCard } from '../../core/index.js';
import { formatDatasetSpecs, parseDatasetSpecs } from '../../core/dataset_spec.js';

function trainingData(card: ModelCard): string {
  const data = (card.training as { data?: string } | null)?.data ?? card.dataset?.spec;
  if (!data) throw new ConfigError(`${card.name}@${card.version} records no training data; pass --base <dataset spec>`);
  return data;
}

/** The champion lineage's base data: its training data without feedback parts. */
export function baseDataOf(card: ModelCard): string {
  const specs = parseDatasetSpecs(trainingData(card)).filter((s) => s.kind !== 'feedback');
  if (specs.length === 0) throw new ConfigError(`${card.name}@${card.version} was trained on feedback alone; pass --base <dataset spec>`);
  return formatDatasetSpecs(specs);
}

/** The feedback store version a model's training data included (0 when none). */
export function feedbackVersionOf(card: ModelCard, store: string): number {
  for (const s of parseDatasetSpecs(trainingData(card))) {
    if (s.kind === 'feedback' && resolve(s.dir) === resolve(store)) return s.version ?? 0;
  }
  return 0;
}
