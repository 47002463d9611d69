/**
 * `edgeseg retrain`: fine-tunes the champion on its base data plus the feedback store, converts
 * the result with the champion's precision behind the converter's accuracy gate, and judges the
 * challenger against the champion (the book's evaluator):
 *
 * - the challenger's held-out mIoU must reach an absolute floor;
 * - it must not fall more than `maxRegression` below the champion on the held-out set (the base
 *   data's validation split), nor more than `maxFeedbackRegression` on the feedback slice (the
 *   feedback store's validation split, held out of every retrain by frame-id hash: the newest
 *   version's labels the models were not fitted on);
 * - optionally (shadow) both models segment the frames the service kept for labelling and their
 *   mask agreement is reported.
 *
 * Every challenger is kept (alias `challenger`) with its report under `<models>/<name>/.gate/`;
 * promotion is promotion.ts's job.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  ConfigError,
  createLogger,
  DatasetError,
  describeError,
  formatDatasetSpecs,
  INPUT_SIZE,
  maskAgreement,
  parseDatasetSpecs,
  preprocessPixels,
  type Logger,
  type ModelCard,
  type Precision,
  type SegmentationMetrics,
} from '../../core/index.js';
import { AccuracyGateError, convert } from '../../converter/convert.js';
import { loadLayersModel } from '../../core/node/artifact_fs.js';
import { aliases, listVersions, resolveModelRef, setAlias } from '../../core/node/registry.js';
import { selectBackend, type TrainingBackend } from '../../core/node/backends/select.js';
import { openDataset } from '../../trainer/data/dataset.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { FeedbackStore } from '../../core/node/feedback_store.js';
import { evaluate } from '../../trainer/evaluate.js';
import { tf } from '../../core/node/tfjs.js';
import { train, type TrainEvent } from '../../trainer/train.js';

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

export interface RetrainOptions {
  /** Model name in the registry. */
  name: string;
  /** Registry root. @default 'models' */
  models?: string;
  /** Feedback store directory. */
  feedback: string;
  /** Base data spec. @default the champion's own training data (its feedback parts dropped) */
  base?: string;
  /** Optimizer steps of fine-tuning. @default 60 */
  steps?: number;
  /** @default 8 */
  batchSize?: number;
  /** @default 1e-3 */
  learningRate?: number;
  /** Precision of the challenger. @default the champion's */
  precision?: Precision;
  /** The converter's budget for the challenger's variant vs its own fp32 parent. @default 0.01 */
  maxConvertDrop?: number;
  gate?: GateRules;
  /** Segment up to this many kept live frames with both models and report their agreement; 0 disables. @default 32 */
  shadowFrames?: number;
  /** @default 'auto' */
  backend?: TrainingBackend;
  /** @default 1 */
  seed?: number;
  log?: Logger;
  onProgress?(message: string): void;
  onTrainEvent?(event: TrainEvent): void;
}

export interface RetrainResult {
  /** The challenger's version (its variant when the precision is not fp32). */
  version: string;
  dir: string;
  accepted: boolean;
  report: GateReport;
  reportPath: string;
}

/** The registry directory of a model's champion (its newest trained version when it has none). */
export function championDir(root: string, name: string): string {
  return aliases(root, name).champion ? resolveModelRef(`${name}@champion`, root) : resolveModelRef(name, root);
}

function readCard(dir: string): ModelCard {
  return JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8')) as ModelCard;
}

/** The fp32 trained version a model version came from (itself when it is one). */
export function trainedRoot(root: string, name: string, dir: string): { dir: string; card: ModelCard } {
  const card = readCard(dir);
  if (!card.version.includes('-')) return { dir, card };
  const parent = join(root, name, card.parentVersion!);
  return { dir: parent, card: readCard(parent) };
}

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

async function evaluateOn(model: LayersModel, spec: string, log: Logger): Promise<{ metrics: SegmentationMetrics; samples: number } | null> {
  const ds = await openDataset(spec, { splits: ['held-out'], workers: 0, log: log.child('data'), print: () => {} });
  try {
    if (ds.heldOut.size === 0) return null;
    return { metrics: (await evaluate(model, ds.heldOut)).metrics, samples: ds.heldOut.size };
  } finally {
    await ds.close();
  }
}

/** Frames the service kept for labelling (and labelled frames), newest first: the shadow set. */
async function keptFrames(store: FeedbackStore, limit: number): Promise<Float32Array[]> {
  const shas: string[] = [];
  for (const p of store.listPending().slice(-limit)) shas.push(p.image);
  if (store.latest() !== null) for (const s of store.read().samples.slice(-limit)) shas.push(s.image);
  const out: Float32Array[] = [];
  for (const sha of shas.slice(-limit)) {
    try {
      const img = await decodeImage(readFileSync(store.objectPath(sha)));
      const t = tf.tidy(() => preprocessPixels(tf.tensor3d(img.data as Uint8Array, [img.height, img.width, 3], 'int32')));
      out.push((await t.data()) as Float32Array);
      t.dispose();
    } catch {
      // A raw frame kept as bytes without a container: not a shadow candidate.
    }
  }
  return out;
}

async function shadowAgreement(a: LayersModel, b: LayersModel, frames: Float32Array[]): Promise<number> {
  let same = 0;
  let total = 0;
  for (let i = 0; i < frames.length; i += 8) {
    const chunk = frames.slice(i, i + 8);
    const data = new Float32Array(chunk.length * INPUT_SIZE * INPUT_SIZE * 3);
    chunk.forEach((f, k) => data.set(f, k * f.length));
    const [ma, mb] = tf.tidy(() => {
      const x = tf.tensor4d(data, [chunk.length, INPUT_SIZE, INPUT_SIZE, 3]);
      return [tf.argMax(a.predict(x) as tf.Tensor, -1), tf.argMax(b.predict(x) as tf.Tensor, -1)];
    });
    const [da, db] = await Promise.all([ma.data(), mb.data()]);
    tf.dispose([ma, mb]);
    same += maskAgreement(Uint8Array.from(da), Uint8Array.from(db)) * da.length;
    total += da.length;
  }
  return total ? same / total : 1;
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

function writeReport(root: string, name: string, version: string, report: GateReport): string {
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

export async function retrain(o: RetrainOptions): Promise<RetrainResult> {
  const started = Date.now();
  const root = resolve(o.models ?? 'models');
  const log = o.log ?? createLogger('retrain');
  const progress = o.onProgress ?? ((m: string) => log.info(m));
  const rules = { ...GATE_DEFAULTS, ...o.gate };
  if (listVersions(root, o.name).length === 0) throw new ConfigError(`no model named ${o.name} in ${root}`);
  const store = new FeedbackStore(o.feedback);
  const fbVersion = store.latest();
  if (fbVersion === null) throw new DatasetError('DATASET_EMPTY', `feedback store ${store.dir} has no labels yet; nothing to retrain on`);

  const champDir = championDir(root, o.name);
  const champCard = readCard(champDir);
  const parent = trainedRoot(root, o.name, champDir);
  const base = o.base ?? baseDataOf(parent.card);
  const feedbackSpec = `feedback:${store.dir}@${fbVersion}`;
  const data = `${base}+${feedbackSpec}`;
  const steps = o.steps ?? 60;
  progress(`retrain ${o.name}: champion ${champCard.version}, fine-tuning ${parent.card.version} for ${steps} steps on ${base} + feedback v${fbVersion} (${store.read(fbVersion).samples.length} labels)`);
  const trained = await train(
    {
      model: parent.card.architecture.name,
      name: o.name,
      data,
      initFrom: parent.dir,
      epochs: 1000,
      maxSteps: steps,
      batchSize: o.batchSize ?? 8,
      learningRate: o.learningRate ?? 1e-3,
      schedule: 'cosine',
      out: root,
      seed: o.seed ?? 1,
      patience: 0,
      backend: o.backend ?? 'auto',
      workers: 0,
      reportSamples: 0,
    },
    { log: log.child('trainer'), onEvent: o.onTrainEvent, print: () => {} },
  );
  const training = { version: trained.version, data, steps, seconds: (Date.now() - started) / 1000 };

  const precision = o.precision ?? champCard.precision;
  let challengerDir = trained.dir;
  let challengerVersion = trained.version;
  const heldOutSpec = base;
  const refuseEarly = (reason: string): RetrainResult => {
    const report: GateReport = {
      schema: GATE_SCHEMA,
      name: o.name,
      champion: null,
      challenger: null,
      heldOut: { spec: `${heldOutSpec}#val`, samples: 0 },
      feedback: null,
      rules,
      decision: 'refuse',
      reasons: [reason],
      shadow: null,
      training,
      at: new Date().toISOString(),
    };
    return { version: challengerVersion, dir: challengerDir, accepted: false, report, reportPath: writeReport(root, o.name, challengerVersion, report) };
  };
  if (precision !== 'fp32') {
    try {
      // A champion served through ONNX Runtime gets a challenger with an ONNX file too (and tfjs weights for the gate).
      const champFormat = (champCard.conversion as { format?: string } | undefined)?.format;
      const format = champFormat === 'onnx' || champFormat === 'both' ? 'both' : 'tfjs';
      const variant = await convert({ model: trained.dir, precision, format, eval: heldOutSpec, maxMiouDrop: o.maxConvertDrop ?? 0.01, out: root, force: true, backend: o.backend, log: log.child('converter'), onProgress: () => {} });
      challengerDir = variant.dir;
      challengerVersion = variant.card.version;
    } catch (err) {
      if (!(err instanceof AccuracyGateError)) throw err;
      await setAlias(root, o.name, 'challenger', challengerVersion, 'retrain (conversion refused)');
      return refuseEarly(`conversion to ${precision} refused: ${describeError(err)}`);
    }
  }
  await setAlias(root, o.name, 'challenger', challengerVersion, 'retrain');

  await selectBackend(o.backend ?? 'auto', log);
  const champ = await loadLayersModel(champDir);
  const chall = await loadLayersModel(challengerDir);
  try {
    progress(`gate: champion ${champCard.version} vs challenger ${challengerVersion} on ${heldOutSpec}#val and ${feedbackSpec}#val`);
    const [ch, cc] = [await evaluateOn(champ.model, heldOutSpec, log), await evaluateOn(chall.model, heldOutSpec, log)];
    if (!ch || !cc) throw new DatasetError('DATASET_EMPTY', `held-out set ${heldOutSpec} has no validation samples`);
    const [fh, fc] = [await evaluateOn(champ.model, feedbackSpec, log), await evaluateOn(chall.model, feedbackSpec, log)];
    const champion: GateSide = { version: champCard.version, heldOut: ch.metrics, feedback: fh?.metrics ?? null };
    const challenger: GateSide = { version: challengerVersion, heldOut: cc.metrics, feedback: fc?.metrics ?? null };
    const reasons = judge(champion, challenger, rules);
    let shadow: GateReport['shadow'] = null;
    if ((o.shadowFrames ?? 32) > 0) {
      const frames = await keptFrames(store, o.shadowFrames ?? 32);
      if (frames.length) shadow = { frames: frames.length, agreement: await shadowAgreement(champ.model, chall.model, frames) };
    }
    const report: GateReport = {
      schema: GATE_SCHEMA,
      name: o.name,
      champion,
      challenger,
      heldOut: { spec: `${heldOutSpec}#val`, samples: ch.samples },
      feedback: fh ? { spec: `${feedbackSpec}#val`, samples: fh.samples } : null,
      rules,
      decision: reasons.length ? 'refuse' : 'accept',
      reasons,
      shadow,
      training,
      at: new Date().toISOString(),
    };
    const reportPath = writeReport(root, o.name, challengerVersion, report);
    progress(
      `gate: held-out ${pts(ch.metrics.miou)} → ${pts(cc.metrics.miou)}${fh && fc ? `, feedback slice ${pts(fh.metrics.miou)} → ${pts(fc.metrics.miou)}` : ''}${shadow ? `, shadow agreement ${pts(shadow.agreement)}` : ''}: ${report.decision}`,
    );
    return { version: challengerVersion, dir: challengerDir, accepted: reasons.length === 0, report, reportPath };
  } finally {
    champ.model.dispose();
    chall.model.dispose();
  }
}
