/** Errors of `edgeseg import`: a foreign model edgeseg cannot serve, refused with what and where. */
import { EdgesegError, type EdgesegErrorOptions } from '../../core/index.js';

export type ImportErrorCode =
  /** The path is no format `edgeseg import` reads, or a format it reads but cannot serve (a tfjs graph model). */
  | 'IMPORT_UNSUPPORTED_FORMAT'
  /** A layer class, or a setting of one, that edgeseg cannot run or convert faithfully; names the layer. */
  | 'IMPORT_UNSUPPORTED_LAYER'
  /** The input or output is not a 4-D image tensor; names the tensor. */
  | 'IMPORT_BAD_RANK'
  /** A fixed size edgeseg cannot serve (not 3 RGB channels in, output not the input's H×W); names the tensor. */
  | 'IMPORT_BAD_SHAPE'
  /** A free dimension the import cannot pin (channels, classes); names the tensor. */
  | 'IMPORT_DYNAMIC_SHAPE'
  /** The file does not say how pixels are normalised and `--normalize` was not given. */
  | 'IMPORT_NORMALIZATION_UNKNOWN'
  /** The number of classes differs from the contract's, or `--labels` does not match it. */
  | 'IMPORT_CLASSES_MISMATCH'
  /** A TFLite operator (or a setting of one: a tensor type, an option) the TFLite→ONNX translation does not cover; names the op and its output tensor. */
  | 'IMPORT_UNSUPPORTED_OP'
  /** An imported model's class names are neither given (`--labels`) nor in the file's metadata. */
  | 'IMPORT_LABELS_MISSING'
  /** The file is damaged or inconsistent (a config without layers, a weight of the wrong shape or missing). */
  | 'IMPORT_MALFORMED';

/** Thrown by `importModel`; `subject` is the layer or tensor the refusal is about, when there is one. */
export class ImportError extends EdgesegError {
  declare readonly code: ImportErrorCode;
  readonly subject: string | null;
  constructor(code: ImportErrorCode, message: string, options: EdgesegErrorOptions & { subject?: string } = {}) {
    super(code, message, options);
    this.subject = options.subject ?? null;
  }
}
