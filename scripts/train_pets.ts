/**
 * `npm run train:pets`: makes the pets model the repository ships in `data/models/pets/`, with one
 * command, on this machine's CPUs. Two recipes:
 *
 * Distilled (`pets@2`, the default): a teacher that knows cats and dogs teaches the edge U-Net
 * every breed.
 *   1. import the DeepLabv3-MobileNetV2 teacher (`data/deeplabv3-mnv2-pascal/`, int8 TFLite,
 *      513×513, PASCAL VOC's 21 classes) into the work registry (`edgeseg import`)
 *   2. the teacher labels the unlabelled photos of the other 34 breeds (`edgeseg label`, cat|dog =
 *      pet, the border band fitted to real trimaps; resumes after a kill) and its agreement with
 *      the real trimaps of the labelled test split is measured
 *   3. the student (`pets@1-fp16`'s architecture and weights) is fine-tuned on the real labels
 *      (weighted ×realWeight) and the teacher's labels with soft targets (`data/models/pets.distill.json`)
 *   4. fp16 (+ fp16 ONNX) and uint8 (+ int8 QDQ ONNX) variants behind the mIoU gate on the labelled
 *      test split, shipped with `pets@1-fp16` kept as their parent
 *
 * Base (`--base`, how `pets@1` was made): `data/models/pets.train.json`, the ImageNet MobileNetV2
 * encoder, real labels only.
 *
 *   tsx scripts/train_pets.ts [--base] [--from <trained model dir>] [--workers N] [--max-steps N] [--limit N]
 *                             [--soft-targets W] [--stop-after train]
 *
 * `--limit N` labels only the first N photos of the label order (a subset spread over the breeds);
 * `--soft-targets` overrides the recipe's weight; `--stop-after train` trains and stops (compare
 * recipes, then ship the one to keep with `--from`).
 *
 * The developers' data (`../shared/data`) is what a user's clone does not have: `--labelled` and
 * `--unlabeled` name other copies (e.g. the full dataset `edgeseg data fetch oxford-pets` gets).
 * `--from` skips training and ships an already trained version. Each stage prints its wall time.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { printTrainResult, trainProgress } from '../cli/train_progress.js';
import { cliLogger } from '../cli/context.js';
import { ProgressBar } from '../cli/progress.js';
import { convert } from '../converter/convert.js';
import { parseLabelsOption } from '../converter/import/labels.js';
import { importModel } from '../converter/import/import_model.js';
import { sha256Hex } from '../core/artifacts.js';
import { selectBackend } from '../core/node/backends/select.js';
import { readCard, REGISTRY_FILE, setAlias } from '../core/node/registry.js';
import { PACKAGE_ROOT } from '../core/node/package_root.js';
import { train } from '../trainer/train.js';
import { DEFAULT_BORDER_RULE } from '../trainer/teacher/border.js';
import { borderAgreement } from '../trainer/teacher/border_check.js';
import { labelPhotos } from '../trainer/teacher/label.js';

const SHIPPED = join(PACKAGE_ROOT, 'data', 'models');
const NAME = 'pets';
/** What of the trained root's run ships beside the variants (its fp32 weights do not). */
const TRAINING_REPORT = ['report.md', 'loss.svg', 'miou.svg', 'samples.png', 'metrics.jsonl', 'card.json'];

const { values } = parseArgs({
  options: {
    base: { type: 'boolean' },
    data: { type: 'string' },
    labelled: { type: 'string' },
    unlabeled: { type: 'string' },
    from: { type: 'string' },
    workers: { type: 'string' },
    'max-steps': { type: 'string' },
    limit: { type: 'string' },
    'soft-targets': { type: 'string' },
    'teacher-border': { type: 'string' },
    'stop-after': { type: 'string' },
  },
});
const stopAfterTrain = values['stop-after'] === 'train';
if (values['stop-after'] !== undefined && !stopAfterTrain) throw new Error(`--stop-after takes 'train', got '${values['stop-after']}'`);
const log = cliLogger('train-pets');
await selectBackend('auto', log);
const stages: [string, number][] = [];
async function stage<T>(name: string, body: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const out = await body();
  const s = (Date.now() - t0) / 1000;
  stages.push([name, s]);
  console.log(`train-pets: ${name} took ${s.toFixed(0)} s`);
  return out;
}
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

let trained: { dir: string; version: string };
let gateData: string;
let out: string;
let parent: string | null = null;

if (values.base) {
  const config = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'data', 'models', 'pets.train.json'), 'utf8')) as Record<string, unknown>;
  if (values.data) config.data = values.data;
  if (values.workers) config.workers = Number(values.workers);
  gateData = String(config.data);
  out = resolve(String(config.models));
  if (values.from) trained = { dir: resolve(values.from), version: readCard(resolve(values.from)).version };
  else {
    console.log(`train-pets (base): ${config.model} ${JSON.stringify(config.modelConfig)} on ${gateData}, encoder from ${config.init}`);
    trained = await stage('train', async () => {
      const r = await train(config, { log, onEvent: trainProgress() });
      printTrainResult(r);
      return r;
    });
  }
} else {
  const recipe = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'data', 'models', 'pets.distill.json'), 'utf8')) as {
    teacher: { file: string; labels: string; name: string; classes: string };
    unlabeled: string;
    labelled: string;
    realWeight: number;
    /** Label only the first N photos of the label order (a subset spread over every breed); absent: all. */
    labelLimit?: number;
    work: string;
    train: { initFrom: string; softTargets: number; temperature: number } & Record<string, unknown>;
  };
  const work = resolve(recipe.work);
  out = join(work, 'models');
  const labelled = resolve(values.labelled ?? recipe.labelled);
  const unlabeled = resolve(values.unlabeled ?? recipe.unlabeled);
  // The student's parent: the shipped pets@1-fp16, copied into the work registry (so this run's version is 2).
  const parentDir = join(out, NAME, '1-fp16');
  if (!existsSync(parentDir)) cpSync(join(SHIPPED, NAME, '1-fp16'), parentDir, { recursive: true });
  parent = '1-fp16';
  const teacherFile = join(PACKAGE_ROOT, recipe.teacher.file);
  const teacherSha = await sha256Hex(new Uint8Array(readFileSync(teacherFile)));
  const teacherRef = await stage('import teacher', async () => {
    const existing = join(out, recipe.teacher.name);
    if (existsSync(join(existing, '1', 'card.json')) && readCard(join(existing, '1')).source?.sha256 === teacherSha) return `${recipe.teacher.name}@1`;
    rmSync(existing, { recursive: true, force: true });
    const labels = parseLabelsOption(join(PACKAGE_ROOT, recipe.teacher.labels));
    const r = await importModel({ path: teacherFile, name: recipe.teacher.name, models: out, labels, log });
    return `${recipe.teacher.name}@${r.version}`;
  });
  // Measured once per teacher, rule and labelled set (kept in the work folder: the arms of a recipe comparison share it).
  const agreementFile = join(work, `teacher-agreement-${teacherSha.slice(0, 12)}.json`);
  const agreementKey = JSON.stringify({ labelled, rule: DEFAULT_BORDER_RULE, classes: recipe.teacher.classes });
  const agreement = await stage('teacher vs real trimaps (labelled test split)', async () => {
    if (existsSync(agreementFile)) {
      const kept = JSON.parse(readFileSync(agreementFile, 'utf8')) as { key: string; metrics: Awaited<ReturnType<typeof borderAgreement>>['metrics']; photos: number };
      if (kept.key === agreementKey) return kept;
    }
    const a = await borderAgreement({ teacher: teacherRef, models: out, classes: recipe.teacher.classes, dir: labelled, splits: ['test'], threads: 2 }, DEFAULT_BORDER_RULE);
    mkdirSync(work, { recursive: true });
    writeFileSync(agreementFile, `${JSON.stringify({ key: agreementKey, ...a }, null, 2)}\n`);
    return a;
  });
  console.log(`  teacher trimaps vs real on ${agreement.photos} test photos: mIoU ${pct(agreement.metrics.miou)} (pet ${pct(agreement.metrics.perClassIou[0])}, background ${pct(agreement.metrics.perClassIou[1])}, border ${pct(agreement.metrics.perClassIou[2])}), fg IoU ${pct(agreement.metrics.foregroundIou)}`);
  const labelsDir = join(work, 'teacher-labels');
  const labelled2 = await stage('label the unlabelled photos', async () => {
    let bar: ProgressBar | null = null;
    const r = await labelPhotos({
      teacher: teacherRef,
      models: out,
      images: unlabeled,
      out: labelsDir,
      classes: recipe.teacher.classes,
      limit: values.limit ? Number(values.limit) : recipe.labelLimit,
      threads: 2,
      log,
      onProgress: (done, total, info) => {
        bar ??= new ProgressBar({ label: 'label', total });
        bar.update(done, info);
      },
    });
    (bar as ProgressBar | null)?.done();
    console.log(`  labelled ${r.labelled}, skipped ${r.skipped}, ${r.resumed} already done; contact sheet ${join(labelsDir, 'contact-sheet.html')}`);
    return r;
  });
  void labelled2;
  gateData = `oxford:${labelled}`;
  const config = {
    ...recipe.train,
    data: `oxford:${labelled}*${recipe.realWeight}+oxford:${labelsDir}`,
    out,
    ...(values.workers ? { workers: Number(values.workers) } : {}),
    ...(values['max-steps'] ? { maxSteps: Number(values['max-steps']) } : {}),
    softTargets: values['soft-targets'] !== undefined ? Number(values['soft-targets']) : recipe.train.softTargets,
    ...(values['teacher-border'] ? { teacherBorder: values['teacher-border'] as 'learn' | 'ignore' } : {}),
  };
  if (values.from) trained = { dir: resolve(values.from), version: readCard(resolve(values.from)).version };
  else {
    console.log(`train-pets (distilled): fine-tune ${config.initFrom} on ${config.data}, soft targets ${config.softTargets} at T=${config.temperature}`);
    trained = await stage('train the student', async () => {
      const r = await train(config, { log, onEvent: trainProgress() });
      printTrainResult(r);
      return r;
    });
  }
  console.log(`  teacher agreement with the real test trimaps: fg IoU ${pct(agreement.metrics.foregroundIou)}`);
}

if (stopAfterTrain) {
  console.log(`trained ${trained.dir}; ship it with: npm run train:pets -- --from ${trained.dir}`);
  console.log(`stages: ${stages.map(([n, s]) => `${n} ${s.toFixed(0)} s`).join('; ')}`);
  process.exit(0);
}

const gate = { eval: gateData, maxMiouDrop: 0.01, out, force: true, log, onProgress: (m: string) => console.log(`  ${m}`) };
const [fp16, uint8] = await stage('convert (fp16 + ONNX, uint8 + int8 ONNX, gated)', async () => {
  console.log('fp16 variant + fp16 ONNX (gate: at most 1 mIoU point below fp32)…');
  const a = await convert({ ...gate, model: trained.dir, precision: 'fp16', format: 'both' });
  console.log('uint8 variant + int8 QDQ ONNX (same gate, calibrated on the training split)…');
  const b = await convert({ ...gate, model: trained.dir, precision: 'uint8', format: 'both' });
  return [a, b];
});

const target = join(SHIPPED, NAME);
const keep = parent ? join(out, NAME, parent) : null;
// The folder's README (model card in words, licences, attributions) is kept as it is.
const readme = existsSync(join(target, 'README.md')) ? readFileSync(join(target, 'README.md')) : null;
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
if (readme) writeFileSync(join(target, 'README.md'), readme);
if (keep) cpSync(keep, join(target, parent!), { recursive: true });
for (const variant of [fp16, uint8]) cpSync(variant.dir, join(target, variant.card.version), { recursive: true });
mkdirSync(join(target, 'training'));
for (const file of TRAINING_REPORT) if (existsSync(join(trained.dir, file))) cpSync(join(trained.dir, file), join(target, 'training', file));
// The shipped registry holds this model only: a fresh file, champion = the fp16 variant.
rmSync(join(SHIPPED, REGISTRY_FILE), { force: true });
await setAlias(SHIPPED, NAME, 'champion', fp16.card.version, 'shipped by npm run train:pets');
for (const v of [fp16, uint8]) {
  const m = v.card.metrics!;
  console.log(`${NAME}/${v.card.version}: ${(v.card.bytes / 1e6).toFixed(2)} MB, held-out mIoU ${pct(m.miou)}, fg IoU ${pct(m.foregroundIou ?? NaN)}`);
}
console.log(`shipped: ${target} (champion ${fp16.card.version}${parent ? `, parent ${parent} kept` : ''})`);
console.log(`stages: ${stages.map(([n, s]) => `${n} ${s.toFixed(0)} s`).join('; ')}`);
