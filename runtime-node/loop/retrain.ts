/**
 * `edgeseg retrain`, orchestrated in named steps: fine-tune the champion's trained root on its
 * base data plus the feedback store (`fineTune`), convert the result to the champion's precision
 * behind the converter's accuracy gate (`convertChallenger`), then judge the challenger against
 * the champion (`judgeChallenger`: gate.ts's metrics and rules, shadow.ts's agreement on kept live
 * frames). Every challenger is kept (alias `challenger`) with its report under
 * `<models>/<name>/.gate/`; promotion is promotion.ts's job.
 */
import { resolve } from 'node:path';
import { ConfigError, createLogger, DatasetError, type Logger, type ModelCard, type Precision } from '../../core/index.js';
import { normalizationOf } from '../../core/contract.js';
import { describeError } from '../../core/errors.js';
import { AccuracyGateError, convert } from '../../converter/convert.js';
import { loadLayersModel } from '../../core/node/artifact_fs.js';
import { selectBackend, type TrainingBackend } from '../../core/node/backends/select.js';
import { FeedbackStore } from '../../core/node/feedback_store.js';
import { championDir, listVersions, readCard, setAlias, trainedRoot } from '../../core/node/registry.js';
import { train, type TrainEvent, type TrainResult } from '../../trainer/train.js';
import { GATE_DEFAULTS, GATE_SCHEMA, gateSummary, judge, measureGate, writeGateReport, type GateReport, type GateRules } from './gate.js';
import { baseDataOf } from './lineage.js';
import { shadowScore } from './shadow.js';

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

/** What the steps share: the registry, the champion, the data and the reporting. */
interface RetrainContext {
  o: RetrainOptions;
  root: string;
  log: Logger;
  progress(message: string): void;
  rules: Required<GateRules>;
  store: FeedbackStore;
  champion: { dir: string; card: ModelCard };
  /** The held-out set: the lineage's base data. */
  base: string;
  feedbackVersion: number;
  feedbackSpec: string;
  started: number;
}

type Training = NonNullable<GateReport['training']>;

/** Step 1: fine-tunes the champion's trained root on base + feedback; a new trained version. */
async function fineTune(c: RetrainContext, parent: { dir: string; card: ModelCard }): Promise<{ trained: TrainResult; training: Training }> {
  const { o } = c;
  const data = `${c.base}+${c.feedbackSpec}`;
  const steps = o.steps ?? 60;
  c.progress(`retrain ${o.name}: champion ${c.champion.card.version}, fine-tuning ${parent.card.version} for ${steps} steps on ${c.base} + feedback v${c.feedbackVersion} (${c.store.read(c.feedbackVersion).samples.length} labels)`);
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
      models: c.root,
      seed: o.seed ?? 1,
      patience: 0,
      backend: o.backend ?? 'auto',
      workers: 0,
      reportSamples: 0,
    },
    { log: c.log.child('trainer'), onEvent: o.onTrainEvent, print: () => {} },
  );
  return { trained, training: { version: trained.version, data, steps, seconds: (Date.now() - c.started) / 1000 } };
}

/**
 * Step 2: the challenger in the champion's precision (and, for a champion served through ONNX
 * Runtime, with an ONNX file too; tfjs weights stay for the gate). Returns the refusal reason
 * when the converter's accuracy gate refuses the variant.
 */
async function convertChallenger(c: RetrainContext, trained: TrainResult): Promise<{ version: string; dir: string; refused: string | null }> {
  const precision = c.o.precision ?? c.champion.card.precision;
  if (precision === 'fp32') return { version: trained.version, dir: trained.dir, refused: null };
  const champFormat = (c.champion.card.conversion as { format?: string } | undefined)?.format;
  const format = champFormat === 'onnx' || champFormat === 'both' ? 'both' : 'tfjs';
  try {
    const variant = await convert({ model: trained.dir, precision, format, eval: c.base, maxMiouDrop: c.o.maxConvertDrop ?? 0.01, models: c.root, force: true, backend: c.o.backend, log: c.log.child('converter'), onProgress: () => {} });
    return { version: variant.card.version, dir: variant.dir, refused: null };
  } catch (err) {
    if (!(err instanceof AccuracyGateError)) throw err;
    return { version: trained.version, dir: trained.dir, refused: `conversion to ${precision} refused: ${describeError(err)}` };
  }
}

/** Step 3: measures both models, applies the gate's rules, scores them in shadow; the report. */
async function judgeChallenger(c: RetrainContext, challenger: { version: string; dir: string }, training: Training): Promise<GateReport> {
  await selectBackend(c.o.backend ?? 'auto', c.log);
  const champ = await loadLayersModel(c.champion.dir);
  const chall = await loadLayersModel(challenger.dir);
  try {
    c.progress(`gate: champion ${c.champion.card.version} vs challenger ${challenger.version} on ${c.base}#val and ${c.feedbackSpec}#val`);
    const [champion, contender] = [
      { version: c.champion.card.version, model: champ.model, normalization: normalizationOf(champ.card) },
      { version: challenger.version, model: chall.model, normalization: normalizationOf(chall.card) },
    ];
    const m = await measureGate(champion, contender, c.base, c.feedbackSpec, c.log);
    const reasons = judge(m.champion, m.challenger, c.rules);
    const shadowFrames = c.o.shadowFrames ?? 32;
    return {
      schema: GATE_SCHEMA,
      name: c.o.name,
      champion: m.champion,
      challenger: m.challenger,
      heldOut: { spec: `${c.base}#val`, samples: m.heldOutSamples },
      feedback: m.feedbackSamples !== null ? { spec: `${c.feedbackSpec}#val`, samples: m.feedbackSamples } : null,
      rules: c.rules,
      decision: reasons.length ? 'refuse' : 'accept',
      reasons,
      shadow: shadowFrames > 0 ? await shadowScore(c.store, champion, contender, shadowFrames) : null,
      training,
      at: new Date().toISOString(),
    };
  } finally {
    champ.model.dispose();
    chall.model.dispose();
  }
}

/** A refusal before measuring (the converter refused the variant). */
function refusedReport(c: RetrainContext, reason: string, training: Training): GateReport {
  return {
    schema: GATE_SCHEMA,
    name: c.o.name,
    champion: null,
    challenger: null,
    heldOut: { spec: `${c.base}#val`, samples: 0 },
    feedback: null,
    rules: c.rules,
    decision: 'refuse',
    reasons: [reason],
    shadow: null,
    training,
    at: new Date().toISOString(),
  };
}

export async function retrain(o: RetrainOptions): Promise<RetrainResult> {
  const started = Date.now();
  const root = resolve(o.models ?? 'models');
  const log = o.log ?? createLogger('retrain');
  if (listVersions(root, o.name).length === 0) throw new ConfigError(`no model named ${o.name} in ${root}`);
  const store = new FeedbackStore(o.feedback);
  const fbVersion = store.latest();
  if (fbVersion === null) throw new DatasetError('DATASET_EMPTY', `feedback store ${store.dir} has no labels yet; nothing to retrain on`);
  const champDir = championDir(root, o.name);
  const parent = trainedRoot(root, o.name, champDir);
  const c: RetrainContext = {
    o,
    root,
    log,
    progress: o.onProgress ?? ((m: string) => log.info(m)),
    rules: { ...GATE_DEFAULTS, ...o.gate },
    store,
    champion: { dir: champDir, card: readCard(champDir) },
    base: o.base ?? baseDataOf(parent.card),
    feedbackVersion: fbVersion,
    feedbackSpec: `feedback:${store.dir}@${fbVersion}`,
    started,
  };

  const { trained, training } = await fineTune(c, parent);
  const challenger = await convertChallenger(c, trained);
  if (challenger.refused) {
    await setAlias(root, o.name, 'challenger', challenger.version, 'retrain (conversion refused)');
    const report = refusedReport(c, challenger.refused, training);
    return { version: challenger.version, dir: challenger.dir, accepted: false, report, reportPath: writeGateReport(root, o.name, challenger.version, report) };
  }
  await setAlias(root, o.name, 'challenger', challenger.version, 'retrain');
  const report = await judgeChallenger(c, challenger, training);
  const reportPath = writeGateReport(root, o.name, challenger.version, report);
  c.progress(gateSummary(report));
  return { version: challenger.version, dir: challenger.dir, accepted: report.decision === 'accept', report, reportPath };
}
