/** `edgeseg import`: a Keras, tfjs, ONNX or TFLite model trained elsewhere → a registry version (converter/import/). */
import type { Command } from 'commander';
import { ConfigError, INPUT_NORMALIZATIONS, type InputNormalization } from '../../core/index.js';
import { isInputNormalization } from '../../core/contract.js';
import { importModel } from '../../converter/import/import_model.js';
import { parseLabelsOption } from '../../converter/import/labels.js';
import { cliLogger, type GlobalOptions } from '../context.js';
import { DEFAULT_MODELS_ROOT } from '../../core/node/registry.js';

interface ImportFlags extends GlobalOptions {
  name: string;
  models: string;
  normalize?: string;
  labels?: string;
  output?: string;
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('bring your own model: a Keras .keras/.h5, a tensorflowjs_converter directory, an ONNX or a TFLite file → a registry version')
    .argument('<path>', '.keras or .h5 file, tfjs layers model directory, .onnx or .tflite file')
    .requiredOption('--name <name>', 'registry model name to write the version under')
    .option('--models <dir>', 'registry root', DEFAULT_MODELS_ROOT)
    .option('--normalize <kind>', `how the model wants its pixels: ${Object.keys(INPUT_NORMALIZATIONS).join(' | ')} (unit = [0, 1], symmetric = [-1, 1], imagenet = mean/std); a quantized TFLite input says it itself`)
    .option('--labels <names>', 'class names in output-channel order: comma-separated, or a labels file with one per line (default: pet,background,border for 3 classes; a TFLite model\'s metadata labels)')
    .option('--output <name>', 'the logits output of an ONNX model with several outputs (default: its first)')
    .action(async (path: string, flags: ImportFlags, cmd: Command) => {
      const log = cliLogger('import', cmd.optsWithGlobals());
      if (flags.normalize !== undefined && !isInputNormalization(flags.normalize)) {
        throw new ConfigError(`--normalize must be one of ${Object.keys(INPUT_NORMALIZATIONS).join('|')}, got '${flags.normalize}'`);
      }
      const labels = flags.labels === undefined ? undefined : parseLabelsOption(flags.labels);
      const { dir, card } = await importModel({ path, name: flags.name, models: flags.models, normalize: flags.normalize as InputNormalization | undefined, labels, output: flags.output, log });
      const s = card.source!;
      const c = card.contract;
      console.log(`imported ${s.file} (${s.format}${s.producer ? `, ${s.producer}` : ''}) as ${card.name}@${card.version} in ${dir}`);
      console.log(`  input  ${s.inputName} → ${c.input.name} [${c.input.shape.map((d) => d ?? 'N')}] ${c.input.layout}, normalization ${c.input.normalization}${s.pinned.length ? `, pinned ${s.pinned.join(' ')}` : ''}`);
      console.log(`  output ${s.outputName} → ${c.output.name} [${c.output.shape.map((d) => d ?? 'N')}] ${c.output.layout ?? 'NHWC'}, classes ${c.classes.join(', ')}`);
      if (s.format === 'tflite') console.log(`  translated to ONNX: ${Object.entries(card.architecture.config.ops as Record<string, number>).map(([op, n]) => `${op} ${n}`).join(', ')}`);
      if (s.flattened.length) console.log(`  flattened ${s.flattened.join(', ')}`);
      console.log(`  ${card.params} parameters; ${card.files.map((f) => f.path).join(', ')} + card.json in SHA256SUMS`);
    });
}
