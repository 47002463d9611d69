/**
 * bench:pets `teacher` part: the DeepLab teacher (`data/deeplabv3-mnv2-pascal/`, imported as
 * `edgeseg import` does) against the shipped student on the labelled held-out split, at the
 * student's 128² with border pixels ignored (the measure): the teacher's pet = cat|dog,
 * its per-pixel log-odds resized from 513² to 128²; the student's masks from its int8 ONNX model.
 * Latency: both on ONNX Runtime, one intra-op thread, batch 1, each at its own input size
 * (513² vs 128²), interleaved runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { CLASS_BACKGROUND, CLASS_PET, ConfusionMatrix, type SegmentationMetrics } from '../../core/index.js';
import { onnxFileOf } from '../../core/artifacts.js';
import { percentile } from '../../core/metrics.js';
import { ortSessionOptions } from '../../core/ort_runner.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { readCard } from '../../core/node/registry.js';
import { PACKAGE_ROOT } from '../../core/node/package_root.js';
import { parseLabelsOption } from '../../converter/import/labels.js';
import { importModel } from '../../converter/import/import_model.js';
import { openRunner } from '../../cli/open_model.js';
import { ProgressBar } from '../../cli/progress.js';
import type { SampleSet } from '../../datasets/dataset.js';
import { evaluate } from '../../datasets/evaluate.js';
import { openTeacher, resizeFloatMap } from '../../trainer/teacher/teacher.js';
import { interleaved } from './interleaved.js';

export const TEACHER_FILE = 'data/deeplabv3-mnv2-pascal/deeplabv3_mnv2_pascal_quant.tflite';
const TEACHER_LABELS = 'data/deeplabv3-mnv2-pascal/pascal_voc_segmentation_labels.txt';
const TEACHER_CLASSES = 'cat,dog=pet';
const SIDE = 128;

export interface TeacherVsStudent {
  teacher: { version: string; file: string; foregroundIou: number; p50Ms: number; inputSize: number };
  student: { version: string; file: string; foregroundIou: number; miou: number; p50Ms: number; inputSize: number };
  ratios: { 'student/teacher latency': number; 'student - teacher fg IoU': number };
  runs: number;
}

/** Imports the teacher into `root` and scores both on `set` (the held-out split, unit-normalised samples with their files). */
export async function teacherVsStudent(o: { models: string; student: string; set: SampleSet; runs: number }): Promise<TeacherVsStudent> {
  const labels = parseLabelsOption(join(PACKAGE_ROOT, TEACHER_LABELS));
  const imported = await importModel({ path: join(PACKAGE_ROOT, TEACHER_FILE), name: 'deeplab', models: o.models, labels });
  const teacher = await openTeacher(imported.dir, { classes: TEACHER_CLASSES, threads: 1 });
  const confusion = new ConfusionMatrix();
  const bar = new ProgressBar({ label: 'teacher', total: o.set.size });
  try {
    for (let i = 0; i < o.set.size; i++) {
      const s = await o.set.get(i);
      const image = await decodeImage(new Uint8Array(readFileSync(s.files[0].path)));
      const m = await teacher.logOdds(image);
      const small = resizeFloatMap(m.data, m, SIDE, SIDE);
      confusion.accumulate(s.mask, Uint8Array.from(small, (v) => (v > 0 ? CLASS_PET : CLASS_BACKGROUND)));
      bar.update(i + 1);
    }
  } finally {
    bar.done();
    await teacher.dispose();
  }
  const teacherMetrics = confusion.metrics();
  const studentCard = readCard(o.student);
  const { runner } = await openRunner(o.student, { engine: 'ort', backend: 'wasm' });
  let studentMetrics: SegmentationMetrics;
  try {
    const sbar = new ProgressBar({ label: 'student', total: o.set.size });
    studentMetrics = (await evaluate(runner, o.set, { batchSize: 8, onProgress: (d) => sbar.update(d) })).metrics;
    sbar.done();
  } finally {
    await runner.dispose();
  }
  // Latency, one core each, at its own input size.
  const options = ortSessionOptions({ threads: 1 });
  const studentFile = onnxFileOf(studentCard)!;
  const sessions = {
    teacher: { s: await ort.InferenceSession.create(readFileSync(join(imported.dir, onnxFileOf(imported.card)!)), options), card: imported.card },
    student: { s: await ort.InferenceSession.create(readFileSync(join(o.student, studentFile)), options), card: studentCard },
  };
  const feeds = Object.fromEntries(
    Object.entries(sessions).map(([k, { card }]) => {
      const shape = card.contract.input.shape.map((d) => d ?? 1) as number[];
      return [k, { [card.contract.input.name]: new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.1), shape) }];
    }),
  );
  const ms = await interleaved(o.runs, 3, {
    teacher: () => sessions.teacher.s.run(feeds.teacher, [sessions.teacher.card.contract.output.name]),
    student: () => sessions.student.s.run(feeds.student, [sessions.student.card.contract.output.name]),
  });
  for (const { s } of Object.values(sessions)) await s.release();
  const p50 = { teacher: percentile(ms.teacher, 0.5), student: percentile(ms.student, 0.5) };
  return {
    teacher: { version: `deeplab@${imported.version}`, file: TEACHER_FILE, foregroundIou: teacherMetrics.foregroundIou, p50Ms: p50.teacher, inputSize: Number(imported.card.contract.input.shape[1]) },
    student: { version: `${studentCard.name}@${studentCard.version}`, file: studentFile, foregroundIou: studentMetrics.foregroundIou, miou: studentMetrics.miou, p50Ms: p50.student, inputSize: SIDE },
    ratios: { 'student/teacher latency': p50.student / p50.teacher, 'student - teacher fg IoU': studentMetrics.foregroundIou - teacherMetrics.foregroundIou },
    runs: o.runs,
  };
}
