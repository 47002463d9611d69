import type { Command } from 'commander';
import { readModelDir } from '../../core/node/artifact_fs.js';
import { onnxFileOf } from '../../core/artifacts.js';
import { resolveModelRef, DEFAULT_MODELS_ROOT } from '../../core/node/registry.js';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description("check every file's sha256 and the weights manifest (shapes × dtypes = bytes) of a model directory")
    .argument('<model>', 'model directory or registry ref')
    .option('--models <dir>', 'registry root', DEFAULT_MODELS_ROOT)
    .action(async (model: string, flags: { models: string }) => {
      const v = await readModelDir(resolveModelRef(model, flags.models));
      for (const f of v.checked) console.log(`ok  ${f}`);
      const weights = v.modelJson ? `${v.modelJson.weightsManifest.flatMap((g) => g.weights).length} weights match their shards` : `ONNX only (${onnxFileOf(v.card)})`;
      console.log(`verified ${v.dir}: ${v.checked.length} files match SHA256SUMS, ${weights}, contract ok (${v.card.name} ${v.card.version}, ${v.card.precision})`);
    });
}
