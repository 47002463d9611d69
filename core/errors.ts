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
