/**
 * The champion/challenger gate (the book's evaluator): both models are measured on the held-out
 * set (the lineage's base data, its held-out split) and on the feedback slice (the feedback
 * store's held-out split: labels no model was fitted on), and the challenger must
 *
 * - reach an absolute held-out mIoU floor;
 * - fall at most `maxRegression` below the champion on the held-out set, and at most
 *   `maxFeedbackRegression` on the feedback slice.
 *
 * Each decision is written as a report (JSON + Markdown) under `<models>/<name>/.gate/`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { DatasetError, type InputNormalization, type Logger, type SegmentationMetrics } from '../../core/index.js';
import { openDataset } from '../../datasets/dataset.js';
import { evaluate } from '../../datasets/evaluate.js';

export const GATE_SCHEMA = 'edgeseg.gate.v1';

export interface GateRules {
  /** The challenger's held-out mIoU must be at least this (0–1). @default 0.5 */
  minMiou?: number;
  /** …and at most this far below the champion's on the held-out set. @default 0.01 */
  maxRegression?: number;
  /** …and at most this far below the champion's on the feedback slice. @default 0.02 */
  maxFeedbackRegression?: number;
}

export const GATE_DEFAULTS: Required<GateRules> = { minMiou: 0.5, maxRegression: 0.01, maxFeedbackRegression: 0.02 };

export interface GateSide {
  version: string;
  heldOut: SegmentationMetrics;
  feedback: SegmentationMetrics | null;
}

export interface GateReport {
  schema: typeof GATE_SCHEMA;
  name: string;
  champion: GateSide | null;
  challenger: GateSide | null;
  heldOut: { spec: string; samples: number };
  feedback: { spec: string; samples: number } | null;
  rules: Required<GateRules>;
  decision: 'accept' | 'refuse';
  /** Why the challenger was refused, one line per failed rule (empty when accepted). */
  reasons: string[];
  /** Champion/challenger mask agreement on the frames kept from live traffic. */
  shadow: { frames: number; agreement: number } | null;
  training: { version: string; data: string; steps: number; seconds: number } | null;
  at: string;
}

/** A model to measure, with the input normalization its card declares. */
export interface GateModel {
  version: string;
  model: LayersModel;
  normalization: InputNormalization;
}

async function evaluateOn(m: GateModel, spec: string, log: Logger): Promise<{ metrics: SegmentationMetrics; samples: number } | null> {
  const { model, normalization } = m;
  const ds = await openDataset(spec, { splits: ['held-out'], workers: 0, log: log.child('data'), print: () => {}, normalization });
  try {
    if (ds.heldOut.size === 0) return null;
    return { metrics: (await evaluate(model, ds.heldOut)).metrics, samples: ds.heldOut.size };
  } finally {
    await ds.close();
  }
}

/**
 * Measures champion and challenger on the held-out set and the feedback slice. Throws when the
 * held-out set has no sample (the gate cannot judge); the feedback slice may be empty.
 */
export async function measureGate(
  champion: GateModel,
  challenger: GateModel,
  heldOutSpec: string,
  feedbackSpec: string,
  log: Logger,
): Promise<{ champion: GateSide; challenger: GateSide; heldOutSamples: number; feedbackSamples: number | null }> {
  const [ch, cc] = [await evaluateOn(champion, heldOutSpec, log), await evaluateOn(challenger, heldOutSpec, log)];
  if (!ch || !cc) throw new DatasetError('DATASET_EMPTY', `held-out set ${heldOutSpec} has no held-out samples`);
  const [fh, fc] = [await evaluateOn(champion, feedbackSpec, log), await evaluateOn(challenger, feedbackSpec, log)];
  return {
    champion: { version: champion.version, heldOut: ch.metrics, feedback: fh?.metrics ?? null },
    challenger: { version: challenger.version, heldOut: cc.metrics, feedback: fc?.metrics ?? null },
    heldOutSamples: ch.samples,
    feedbackSamples: fh?.samples ?? null,
  };
}

const pts = (x: number) => `${(100 * x).toFixed(2)}%`;

/** Applies the gate's rules to measured metrics. */
export function judge(champion: GateSide, challenger: GateSide, rules: Required<GateRules>): string[] {
  const reasons: string[] = [];
  if (challenger.heldOut.miou < rules.minMiou) reasons.push(`held-out mIoU ${pts(challenger.heldOut.miou)} is below the floor ${pts(rules.minMiou)}`);
  const drop = champion.heldOut.miou - challenger.heldOut.miou;
  if (drop > rules.maxRegression) reasons.push(`held-out mIoU ${pts(challenger.heldOut.miou)} is ${(100 * drop).toFixed(2)} points below the champion's ${pts(champion.heldOut.miou)} (allowed ${(100 * rules.maxRegression).toFixed(2)})`);
  if (champion.feedback && challenger.feedback) {
    const fdrop = champion.feedback.miou - challenger.feedback.miou;
    if (fdrop > rules.maxFeedbackRegression) {
      reasons.push(`feedback-slice mIoU ${pts(challenger.feedback.miou)} is ${(100 * fdrop).toFixed(2)} points below the champion's ${pts(champion.feedback.miou)} (allowed ${(100 * rules.maxFeedbackRegression).toFixed(2)})`);
    }
  }
  return reasons;
}

function reportMarkdown(r: GateReport): string {
  const row = (label: string, side: GateSide | null) =>
    side ? `| ${label} | ${side.version} | ${pts(side.heldOut.miou)} | ${side.feedback ? pts(side.feedback.miou) : 'n/a'} |` : `| ${label} | — | — | — |`;
  return [
    `# Gate: ${r.name}@${r.challenger?.version ?? '?'} — ${r.decision === 'accept' ? 'accepted' : 'refused'}`,
    '',
    `Held-out: \`${r.heldOut.spec}\` (${r.heldOut.samples} images). Feedback slice: ${r.feedback ? `\`${r.feedback.spec}\` (${r.feedback.samples} images)` : 'none yet'}.`,
    '',
    '| model | version | held-out mIoU | feedback-slice mIoU |',
    '|---|---|---|---|',
    row('champion', r.champion),
    row('challenger', r.challenger),
    '',
    `Rules: floor ${pts(r.rules.minMiou)}, held-out regression ≤ ${(100 * r.rules.maxRegression).toFixed(2)} points, feedback-slice regression ≤ ${(100 * r.rules.maxFeedbackRegression).toFixed(2)} points.`,
    r.shadow ? `\nShadow: the two models agree on ${pts(r.shadow.agreement)} of pixels over ${r.shadow.frames} kept live frames.` : '',
    r.reasons.length ? `\n## Reasons\n${r.reasons.map((x) => `- ${x}`).join('\n')}` : '',
    '',
  ].join('\n');
}

/** Writes a challenger's gate report (`.gate/<version>.json` and `.md`); returns the JSON's path. */
export function writeGateReport(root: string, name: string, version: string, report: GateReport): string {
  const dir = join(root, name, '.gate');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${version}.json`);
  writeFileSync(path, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(dir, `${version}.md`), reportMarkdown(report));
  return path;
}

/** Reads a challenger's gate report. */
export function readGateReport(root: string, name: string, version: string): GateReport | null {
  const path = join(root, name, '.gate', `${version}.json`);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as GateReport) : null;
}

/** One line for progress output: the measured metrics and the decision. */
export function gateSummary(r: GateReport): string {
  const [a, b] = [r.champion, r.challenger];
  const metrics = a && b ? `held-out ${pts(a.heldOut.miou)} → ${pts(b.heldOut.miou)}${a.feedback && b.feedback ? `, feedback slice ${pts(a.feedback.miou)} → ${pts(b.feedback.miou)}` : ''}` : 'not measured';
  return `gate: ${metrics}${r.shadow ? `, shadow agreement ${pts(r.shadow.agreement)}` : ''}: ${r.decision}`;
}
