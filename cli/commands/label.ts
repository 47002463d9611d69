/** `edgeseg label`: a teacher model labels unlabelled photos as Oxford trimaps (trainer/teacher/). */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../core/index.js';
import { selectBackend } from '../../core/node/backends/select.js';
import { DEFAULT_BORDER_RULE, DEFAULT_SKIP_RULE, type BorderRule } from '../../trainer/teacher/border.js';
import { fitBorderOn } from '../../trainer/teacher/border_check.js';
import { labelPhotos } from '../../trainer/teacher/label.js';
import { cliLogger, numberOption, type GlobalOptions } from '../context.js';
import { ProgressBar } from '../progress.js';
import { DEFAULT_MODELS_ROOT } from '../../core/node/registry.js';

interface LabelFlags extends GlobalOptions {
  teacher: string;
  images: string;
  out: string;
  classes: string;
  models: string;
  limit?: number;
  threads: number;
  borderInner: number;
  borderOuter: number;
  fitBorder?: string;
  minPetShare: number;
  maxUnsureShare: number;
  sheetSize: number;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export function registerLabel(program: Command): void {
  program
    .command('label')
    .description("label unlabelled photos with a teacher model: Oxford-layout trimaps (pet, background, border) + soft targets, a manifest and a contact sheet; resumes after a kill")
    .requiredOption('--teacher <model>', 'teacher: a model directory or registry ref (e.g. an imported .tflite: deeplab)')
    .requiredOption('--images <dir>', 'a folder of photos (or an Oxford-layout folder: its images/)')
    .requiredOption('--out <dir>', 'output folder in the Oxford layout; train on it with --data oxford:<dir>')
    .requiredOption('--classes <map>', "teacher classes that are a pet, e.g. 'cat,dog=pet'")
    .option('--models <dir>', 'registry root the teacher ref is resolved in', DEFAULT_MODELS_ROOT)
    .option('--limit <n>', 'label only the first n photos of a fixed shuffled order: a subset spread over every breed (a rerun with a larger n adds to it)', numberOption('limit', 1, true))
    .option('--threads <n>', 'ONNX Runtime threads for the teacher', numberOption('threads', 1, true), 1)
    .option('--border-inner <fraction>', 'border band inside the teacher outline, fraction of √(width×height)', numberOption('border-inner', 0), DEFAULT_BORDER_RULE.inner)
    .option('--border-outer <fraction>', 'border band outside the teacher outline, fraction of √(width×height)', numberOption('border-outer', 0), DEFAULT_BORDER_RULE.outer)
    .option('--fit-border <dir>', 'fit the border band on an Oxford-layout folder with real trimaps (its trainval split) before labelling, and report the agreement')
    .option('--min-pet-share <fraction>', 'skip a photo whose pet covers less than this share', numberOption('min-pet-share', 0), DEFAULT_SKIP_RULE.minPetShare)
    .option('--max-unsure-share <fraction>', 'skip a photo where the teacher is unsure over more than this share', numberOption('max-unsure-share', 0), DEFAULT_SKIP_RULE.maxUnsureShare)
    .option('--sheet-size <n>', 'thumbnails in the contact sheet', numberOption('sheet-size', 0, true), 120)
    .action(async (flags: LabelFlags, cmd: Command) => {
      const log = cliLogger('label', cmd.optsWithGlobals());
      // The teacher's pre- and post-processing runs on tfjs: the fastest backend here, not tfjs' pure-JS default.
      await selectBackend('auto', log);
      if (flags.borderInner > 0.25 || flags.borderOuter > 0.25) throw new ConfigError('--border-inner and --border-outer are fractions of √(width×height): at most 0.25');
      let border: BorderRule = { inner: flags.borderInner, outer: flags.borderOuter };
      if (flags.fitBorder) {
        const dir = flags.fitBorder.replace(/^oxford:/, '');
        const fit = await fitBorderOn({ teacher: flags.teacher, models: flags.models, classes: flags.classes, dir, splits: ['train', 'val'], threads: flags.threads, progress: (total) => new ProgressBar({ label: 'fit border', total }) });
        border = fit.rule;
        const m = fit.metrics;
        console.log(`border rule fitted on ${fit.photos} photos of ${resolve(dir)} (trainval): inner ${border.inner}, outer ${border.outer} of √(width×height)`);
        console.log(`  teacher trimaps vs real: mIoU ${pct(m.miou)} (pet ${pct(m.perClassIou[0])}, background ${pct(m.perClassIou[1])}, border ${pct(m.perClassIou[2])}), pixel accuracy ${pct(m.pixelAccuracy)}`);
      }
      let bar: ProgressBar | null = null;
      const result = await labelPhotos({
        teacher: flags.teacher,
        models: flags.models,
        images: flags.images,
        out: flags.out,
        classes: flags.classes,
        border,
        skip: { minPetShare: flags.minPetShare, maxUnsureShare: flags.maxUnsureShare },
        limit: flags.limit,
        threads: flags.threads,
        sheetSize: flags.sheetSize,
        log,
        onProgress: (done, total, info) => {
          bar ??= new ProgressBar({ label: 'label', total });
          bar.update(done, info);
        },
      });
      (bar as ProgressBar | null)?.done();
      const codes = new Map<string, number>();
      for (const r of result.records) if (r.code) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
      console.log(
        `labelled ${result.labelled} photos, skipped ${result.skipped}${codes.size ? ` (${[...codes].map(([c, n]) => `${n} ${c}`).join(', ')})` : ''}` +
          `${result.resumed ? `; ${result.resumed} were already done` : ''} with ${result.teacher.name}@${result.teacher.version} (${result.teacher.engine}) in ${result.seconds.toFixed(0)} s`,
      );
      console.log(`  manifest ${resolve(result.out, 'labels.jsonl')}; contact sheet ${resolve(result.out, 'contact-sheet.html')}`);
      console.log(`dataset spec: oxford:${result.out}`);
    });
}
