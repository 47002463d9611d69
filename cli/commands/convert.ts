import type { Command } from 'commander';
import { ConfigError } from '../../core/index.js';
import { convert, DEFAULT_CALIBRATION_SAMPLES, DEFAULT_MAX_MIOU_DROP, DEFAULT_MIXED_BUDGET } from '../../converter/convert.js';
import type { DtypeOverride } from '../../converter/quantize.js';
import type { TrainingBackend } from '../../core/node/backends/select.js';
import { cliLogger, numberOption, type GlobalOptions } from '../context.js';
import { DEFAULT_MODELS_ROOT } from '../../core/node/registry.js';

interface ConvertFlags extends GlobalOptions {
  precision: string;
  eval?: string;
  maxMiouDrop?: number;
  quantizeFloat16: string[];
  quantizeUint8: string[];
  quantizeUint16: string[];
  keepFloat32: string[];
  groupBy: 'layer' | 'block';
  out: string;
  backend: TrainingBackend;
  force?: boolean;
  format: string;
  calibrate?: string;
  calibrationSamples?: number;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('fold, fuse and quantize a trained model into <parent version>-<precision>, gated on held-out accuracy')
    .argument('<model>', 'model directory or registry ref (an fp32 model, or an imported ONNX/TFLite model)')
    .option('--precision <p>', 'fp32 | fp16 | uint8 | uint16 | mixed', 'uint8')
    .option('--eval <spec>', 'held-out set (its validation split): dataset spec')
    .option('--max-miou-drop <x>', `fail if mIoU falls more than x (0.01 = one point; with --eval, default ${DEFAULT_MAX_MIOU_DROP}, mixed ${DEFAULT_MIXED_BUDGET})`, numberOption('max-miou-drop', 0))
    .option('--quantize-float16 <glob>', 'store weights matching the glob as float16 (repeatable)', collect, [])
    .option('--quantize-uint8 <glob>', 'store weights matching the glob as uint8 (repeatable)', collect, [])
    .option('--quantize-uint16 <glob>', 'store weights matching the glob as uint16 (repeatable)', collect, [])
    .option('--keep-float32 <glob>', 'keep weights matching the glob at float32 (repeatable)', collect, [])
    .option('--group-by <g>', 'mixed: sensitivity groups, layer | block', 'layer')
    .option('--out <dir>', 'registry root', DEFAULT_MODELS_ROOT)
    .option('--backend <name>', 'evaluation backend', 'auto')
    .option('--force', 'replace an existing variant')
    .option('--format <f>', 'tfjs | onnx | both (ONNX: model.onnx for fp32, model.fp16.onnx, model.int8.onnx = int8 QDQ for uint8)', 'tfjs')
    .option('--calibrate <spec>', 'int8 ONNX: data set whose training split calibrates activation ranges (default: --eval)')
    .option('--calibration-samples <n>', 'int8 ONNX: calibration samples used', numberOption('calibration-samples', 1, true), DEFAULT_CALIBRATION_SAMPLES)
    .action(async (model: string, flags: ConvertFlags, cmd: Command) => {
      const log = cliLogger('convert', cmd.optsWithGlobals());
      if (flags.groupBy !== 'layer' && flags.groupBy !== 'block') throw new ConfigError(`--group-by must be layer or block, got '${flags.groupBy}'`);
      // Overrides apply in the order the dtypes are listed here; within one flag, in the order given.
      const overrides: DtypeOverride[] = [
        ...flags.quantizeFloat16.map((glob) => ({ dtype: 'float16' as const, glob })),
        ...flags.quantizeUint16.map((glob) => ({ dtype: 'uint16' as const, glob })),
        ...flags.quantizeUint8.map((glob) => ({ dtype: 'uint8' as const, glob })),
        ...flags.keepFloat32.map((glob) => ({ dtype: 'float32' as const, glob })),
      ];
      const r = await convert({
        model,
        precision: flags.precision,
        overrides,
        eval: flags.eval,
        maxMiouDrop: flags.maxMiouDrop,
        groupBy: flags.groupBy,
        models: flags.out,
        backend: flags.backend,
        force: flags.force,
        format: flags.format,
        calibrate: flags.calibrate,
        calibrationSamples: flags.calibrationSamples,
        log,
        onProgress: (m) => console.log(m),
      });
      console.log(`variant: ${r.dir}`);
      if (r.onnx?.qdq) {
        // An imported model's variant is its own graph in int8 QDQ ONNX, measured on ONNX Runtime.
        const c = r.onnx.comparison!;
        console.log(`precision uint8 (int8 QDQ ONNX), ${(r.card.bytes / 1024).toFixed(0)} KiB (${(r.card.bytes / r.parentBytes).toFixed(3)}× the fp32 parent)`);
        console.log(`held-out: mIoU ${pct(c.parent.miou)} → ${pct(c.variant.miou)} (${(100 * c.delta.miou).toFixed(2)} points), mask agreement ${pct(c.maskAgreement)}`);
        return;
      }
      console.log(`precision ${r.card.precision}, ${(r.card.bytes / 1024).toFixed(0)} KiB weights (${(r.card.bytes / r.parentBytes).toFixed(3)}× the fp32 parent), ${r.seconds.toFixed(1)} s`);
      if (r.comparison) {
        const c = r.comparison;
        console.log(`held-out: mIoU ${pct(c.parent.miou)} → ${pct(c.variant.miou)} (${(100 * c.delta.miou).toFixed(2)} points), pixel accuracy ${pct(c.parent.pixelAccuracy)} → ${pct(c.variant.pixelAccuracy)}, mask agreement ${pct(c.maskAgreement)}`);
      }
      if (r.onnx) {
        const o = r.onnx;
        const c = o.comparison;
        console.log(
          `onnx: ${o.file} (${o.weights} weights, opset ${o.opset}), ${(o.bytes / 1024).toFixed(0)} KiB (${o.ratioVsParent.toFixed(3)}× the fp32 parent's weights)` +
            (c ? `, held-out mIoU ${pct(c.variant.miou)} (${(100 * c.delta.miou).toFixed(2)} points), mask agreement ${pct(c.maskAgreement)}` : ''),
        );
      }
      if (r.mixed?.kept.length) console.log(`kept wide: ${r.mixed.kept.map((k) => `${k.group} (${k.dtype})`).join(', ')}`);
    });
}
