/**
 * Named error classes. Every error edgeseg raises on purpose carries a stable `code` and a
 * `retriable` flag (a corrupt frame is not retriable; a broker hiccup is), in the manner of
 * kafkajs' errors.
 */

/** Options of every edgeseg error. */
export interface EdgesegErrorOptions {
  /** Whether retrying the same operation may succeed. @default false */
  retriable?: boolean;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Base class of edgeseg's named errors: `code` is stable and machine-readable, `retriable` says whether trying again may help. */
export class EdgesegError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: EdgesegErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A configuration value or CLI option is missing, malformed or inconsistent with another. */
export class ConfigError extends EdgesegError {
  constructor(message: string, options?: EdgesegErrorOptions) {
    super('CONFIG_INVALID', message, options);
  }
}

/** A dataset cannot be read, or holds no valid sample. */
export class DatasetError extends EdgesegError {
  constructor(code: 'DATASET_NOT_FOUND' | 'DATASET_EMPTY' | 'DATASET_SPEC_INVALID', message: string, options?: EdgesegErrorOptions) {
    super(code, message, options);
  }
}

/** Codes of a dataset download that went wrong (`edgeseg data fetch`). */
export type DatasetFetchErrorCode = 'DOWNLOAD_FAILED' | 'SIZE_MISMATCH' | 'DIGEST_MISMATCH' | 'ARCHIVE_CORRUPT' | 'ARCHIVE_UNSAFE' | 'TARGET_EXISTS';

/** A dataset archive could not be downloaded, was not the file expected, or could not be extracted safely. */
export class DatasetFetchError extends EdgesegError {
  declare readonly code: DatasetFetchErrorCode;
  constructor(code: DatasetFetchErrorCode, message: string, options?: EdgesegErrorOptions) {
    super(code, message, options);
  }
}

/** One sample of a dataset is unusable; the sample is skipped, the run goes on. */
export class SampleError extends EdgesegError {
  constructor(
    code: 'SAMPLE_UNREADABLE' | 'SAMPLE_CORRUPT' | 'MASK_MISMATCH' | 'MASK_VALUES' | 'PAIR_MISSING' | 'PATH_OUTSIDE_ROOT',
    message: string,
    options?: EdgesegErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** A model's input/output shape, dtype or classes differ from the contract in core/contract.ts. */
export class ContractError extends EdgesegError {
  constructor(message: string, options?: EdgesegErrorOptions) {
    super('CONTRACT_MISMATCH', message, options);
  }
}

/** A model artifact is missing, malformed, or its weights disagree with its manifest. */
export class ModelFormatError extends EdgesegError {
  constructor(code: 'MODEL_NOT_FOUND' | 'MODEL_MALFORMED' | 'WEIGHTS_MISMATCH', message: string, options?: EdgesegErrorOptions) {
    super(code, message, options);
  }
}

/** A file's sha256 differs from the one recorded in SHA256SUMS. */
export class ChecksumError extends EdgesegError {
  readonly file: string;
  constructor(file: string, message: string) {
    super('CHECKSUM_MISMATCH', message);
    this.file = file;
  }
}

/** No compute backend could be initialised; the message lists each backend's reason. */
export class BackendUnavailableError extends EdgesegError {
  readonly reasons: Readonly<Record<string, string>>;
  constructor(reasons: Record<string, string>) {
    const list = Object.entries(reasons)
      .map(([name, why]) => `${name}: ${why}`)
      .join('; ');
    super('BACKEND_UNAVAILABLE', `no backend available: ${list}`);
    this.reasons = reasons;
  }
}

/** Training produced a non-finite loss; the run stops instead of writing a broken model. */
export class TrainingDivergedError extends EdgesegError {
  constructor(message: string) {
    super('TRAINING_DIVERGED', message);
  }
}

/** A mask (PNG or RLE) cannot be decoded or does not fit the contract. */
export class MaskCodecError extends EdgesegError {
  constructor(message: string, options?: EdgesegErrorOptions) {
    super('MASK_INVALID', message, options);
  }
}

/** Formats any thrown value as one line, without a stack, for logs and client-facing messages. */
export function describeError(err: unknown): string {
  if (err instanceof EdgesegError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Codes a frame can be refused with; each lands in the dead-letter topic with its message. */
export type FrameErrorCode =
  | 'SCHEMA_MISMATCH'
  | 'MISSING_HEADER'
  | 'MISSING_KEY'
  | 'INVALID_HEADER'
  | 'UNKNOWN_CONTENT_TYPE'
  | 'FRAME_TOO_LARGE'
  | 'RAW_SIZE_MISMATCH'
  | 'DIMENSIONS_OUT_OF_RANGE'
  | 'UNDECODABLE';

/** A frame that can never be processed (not retriable): it goes to the dead-letter topic. */
export class FrameError extends EdgesegError {
  declare readonly code: FrameErrorCode;
  constructor(code: FrameErrorCode, message: string, options?: EdgesegErrorOptions) {
    super(code, message, options);
  }
}

/** The variant lost more accuracy than `--max-miou-drop` allows; nothing was written (converter's mIoU gate). */
export class AccuracyGateError extends EdgesegError {
  constructor(message: string) {
    super('ACCURACY_GATE_FAILED', message);
  }
}

/** Codes of pretrained-weight import (trainer/pretrained): the file is not what it claims, or does not fit the model. */
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

/** Codes of `edgeseg import` (converter/import): a foreign model edgeseg cannot serve, refused with what and where. */
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

/** Codes of a file that cannot be read as asked. */
export type FileAccessErrorCode =
  /** The path does not exist. */
  | 'FILE_NOT_FOUND'
  /** The path exists but is not a regular file (a directory, a device such as /dev/zero, a FIFO, a socket). */
  | 'FILE_NOT_REGULAR'
  /** The file is larger than the cap for what it is. */
  | 'FILE_TOO_LARGE'
  /** The file's size differs from the size declared for it, or changed while it was read. */
  | 'FILE_SIZE_MISMATCH'
  /** A path named by a file leaves the folder it must stay in (`..`, absolute, or a symlink out). */
  | 'PATH_OUTSIDE_FOLDER'
  /** Any other OS refusal (permissions, a name too long, a file where a folder was expected); the message names the OS reason. */
  | 'FILE_UNREADABLE';

/** A file could not be read as asked (core/node/safe_read.ts); `path` names it. */
export class FileAccessError extends EdgesegError {
  declare readonly code: FileAccessErrorCode;
  constructor(
    code: FileAccessErrorCode,
    readonly path: string,
    message: string,
    options?: EdgesegErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** Raised in a data-parallel training replica (trainer/parallel) when another one failed (or vanished) during a collective step. */
export class ReplicaAbortedError extends EdgesegError {
  constructor(message: string) {
    super('REPLICA_ABORTED', message);
  }
}

/** A teacher labelling run (`edgeseg label`) that cannot go on (the output folder holds another teacher's labels). */
export class LabelError extends EdgesegError {
  constructor(code: 'LABEL_TEACHER_MISMATCH' | 'LABEL_NO_IMAGES', message: string) {
    super(code, message);
  }
}
