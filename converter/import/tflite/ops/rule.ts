import type { TfliteOperator } from '../../../../core/node/tflite/schema.js';
import type { TranslationContext } from '../context.js';

/** One TFLite builtin op → ONNX nodes: reads its inputs' values from the context and records its outputs' values there. */
export interface OpRule {
  /** The TFLite op names this rule translates (op_names.ts). */
  ops: readonly string[];
  translate(ctx: TranslationContext, op: TfliteOperator): void;
}
