/**
 * Caps of `edgeseg import`, checked before anything of that size is allocated: a model file (or
 * archive entry, or all weight shards together) and a model's JSON (config, model.json,
 * metadata). A U-Net of the contract's size is a few MiB; a Keras config a few hundred KiB. The
 * JSON cap also keeps text below what V8 can hold as one string (about 512 MiB, past which it
 * aborts rather than throws).
 */
import { MAX_MODEL_FILE_BYTES } from '../../core/node/safe_read.js';

export const IMPORT_LIMITS = {
  /** Largest model file, archive entry or sum of weight shards, bytes. */
  maxFileBytes: MAX_MODEL_FILE_BYTES,
  /** Largest JSON document of a model (config.json, model.json, model_config, metadata.json), bytes. */
  maxJsonBytes: 64 << 20,
} as const;
