/** The `edgeseg` command line. */
import { Command, CommanderError } from 'commander';
import { registerConvert } from './commands/convert.js';
import { registerData } from './commands/data.js';
import { registerEval } from './commands/eval.js';
import { registerImport } from './commands/import.js';
import { registerLabel } from './commands/label.js';
import { registerInspect } from './commands/inspect.js';
import { registerLoop } from './commands/loop.js';
import { registerModels } from './commands/models.js';
import { registerPredict } from './commands/predict.js';
import { registerProduce } from './commands/produce.js';
import { registerRetrain } from './commands/retrain.js';
import { registerStream } from './commands/stream.js';
import { registerTrain } from './commands/train.js';
import { registerVerify } from './commands/verify.js';
import { reportError } from './context.js';

export function buildProgram(): Command {
  const program = new Command('edgeseg')
    .description('image-segmentation U-Net from training to the edge')
    .option('--log-level <level>', 'debug | info | warn | error | silent')
    .option('--log-format <format>', 'pretty | json')
    .showHelpAfterError()
    .exitOverride();
  registerTrain(program);
  registerPredict(program);
  registerEval(program);
  registerConvert(program);
  registerImport(program);
  registerLabel(program);
  registerVerify(program);
  registerInspect(program);
  registerStream(program);
  registerProduce(program);
  registerModels(program);
  registerRetrain(program);
  registerLoop(program);
  registerData(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    reportError(err);
  }
}
