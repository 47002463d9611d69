/** Errors of pretrained-weight import: the file is not what it claims, or does not fit the model. */
import { EdgesegError, type EdgesegErrorOptions } from '../../core/index.js';

export type PretrainedErrorCode =
  /** The file is not a TFLite flatbuffer (no `TFL3` identifier, or a structure that does not parse). */
  | 'PRETRAINED_NOT_TFLITE'
  /** The graph lacks a tensor or operator the import expects (a weight, a bias, a quantization). */
  | 'PRETRAINED_TENSOR_MISSING'
  /** A weight's shape, stride or padding differs from the layer it maps onto. */
  | 'PRETRAINED_SHAPE_MISMATCH'
  /** A tensor type, quantization or input range the import does not handle. */
  | 'PRETRAINED_UNSUPPORTED';

/** Pretrained weights cannot be imported; the message names the file and, where one is at fault, the layer. */
export class PretrainedWeightsError extends EdgesegError {
  declare readonly code: PretrainedErrorCode;
  constructor(code: PretrainedErrorCode, message: string, options?: EdgesegErrorOptions) {
    super(code, message, options);
  }
}
