/**
 * The model card (`card.json`), written beside every model version and read by the converter
 * and both runtimes before they trust a model.
 */
import { INPUT_CHANNELS, INPUT_NAME, INPUT_NORMALIZATIONS, isInputNormalization, MAX_CLASSES, MAX_SIDE, nhwcDims, OUTPUT_NAME, type ModelContract } from './contract.js';
import { ContractError, ModelFormatError } from './errors.js';
import { artifactPath, parseJsonText, parseWith, z } from './schemas.js';

/** Schema id written into every card.json. */
export const CARD_SCHEMA = 'edgeseg.card.v1';

/** Weight precisions a version can have (`mixed`: per-layer choice within an accuracy budget). */
export const PRECISIONS = ['fp32', 'fp16', 'uint8', 'uint16', 'mixed'] as const;
/** One of PRECISIONS. */
export type Precision = (typeof PRECISIONS)[number];

/** Held-out segmentation metrics recorded in a card (0–1). */
export interface CardMetrics {
  pixelAccuracy: number;
  miou: number;
  perClassIou: number[];
  dice: number;
  /** Pet vs the rest with border truth ignored (core/metrics.ts); absent in cards written before it was measured. */
  foregroundIou?: number;
}

/** A file of a version with its byte size and sha256, as listed in the card. */
export interface CardFile {
  /** Path relative to the version directory. */
  path: string;
  bytes: number;
  sha256: string;
}

/** card.json: what a model version is (architecture, contract, precision, files), how it was made and how well it does. */
export interface ModelCard {
  schema: typeof CARD_SCHEMA;
  name: string;
  version: string;
  /** Version this one was converted or fine-tuned from; null for a model trained from scratch. */
  parentVersion: string | null;
  /** ISO 8601 time the version was written. */
  created: string;
  architecture: { name: string; config: Record<string, unknown> };
  params: number;
  contract: ModelContract;
  precision: Precision;
  /** Weight name → dtype it is stored in (float32, float16, uint8, uint16). */
  weightDtypes: Record<string, string>;
  /** Bytes of all weight shards. */
  bytes: number;
  /** Every artifact file of the version (model.json, shards, model.onnx…), with its sha256. */
  files: CardFile[];
  /** Metrics on the held-out set named in `evaluation`. */
  metrics: CardMetrics | null;
  /** For converted variants: variant − parent, signed, on the 0–1 scale. */
  deltaVsParent?: { miou: number; pixelAccuracy: number; maskAgreement: number };
  /** The data the weights were fitted on. */
  dataset: { spec: string; manifestHash: string; train: number; validation: number; /** Samples in the source's own test split (absent in cards written before splits had one). */ test?: number; skipped: number; /** Teachers whose labels some sources hold (`edgeseg label`): name, version, model digest. */ teachers?: { spec: string; name: string; version: string; digest: string; classes: string[]; border: { inner: number; outer: number } }[] } | null;
  /** The held-out set `metrics` were measured on. */
  evaluation: { spec: string; manifestHash: string; samples: number } | null;
  /** Training (or conversion) configuration, as given. */
  training: Record<string, unknown> | null;
  conversion?: Record<string, unknown>;
  /** Where an imported model came from (`edgeseg import`); absent for a model edgeseg trained. */
  source?: ModelSource;
  backend: { name: string; adapter?: string } | null;
  /** Git commit of the code that wrote the version, or `unknown`. */
  codeRevision: string;
}

/** Formats a model was imported from by `edgeseg import`. */
export const SOURCE_FORMATS = ['keras', 'keras-h5', 'tfjs-layers', 'onnx', 'tflite'] as const;
/** One of SOURCE_FORMATS. */
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

/** Provenance of an imported model, and what the import found in or did to the file. */
export interface ModelSource {
  format: SourceFormat;
  /** The file or directory name as given (no directories above it). */
  file: string;
  /** sha256 of the file (of model.json for a tfjs directory). */
  sha256: string;
  /** What wrote the file, as it says (`keras 3.15.1`, `tf2onnx 1.17.0`…), or null. */
  producer: string | null;
  /** Input and output tensor names in the source file. */
  inputName: string;
  outputName: string;
  /** Where the normalization came from: the `--normalize` option, or the file itself. */
  normalizationFrom: 'option' | 'file';
  /** Dimensions the file left free and the import fixed, e.g. `input:H=128`. */
  pinned: string[];
  /** Nested Functional/Sequential models flattened into the one graph, outermost first. */
  flattened: string[];
  /** Layers renamed on the way (collisions between submodels, the contract's input/output names): old → new. */
  renamed: Record<string, string>;
}

/**
 * Throws `CONTRACT_MISMATCH` if a model's declared contract is not one edgeseg can serve: a 4-D
 * image input of 3 channels with a fixed height and width, logits of the same height and width
 * with one channel per class name (2–256 classes, so class ids fit a byte), a known
 * normalization. The size and the classes are the model's own (edgeseg's U-Nets: 128×128 and 3;
 * an imported DeepLab: 513×513 and 21). Only an imported ONNX model (`foreign`) may keep its own
 * tensor names and be NCHW.
 */
export function assertContract(contract: ModelContract | undefined, where = 'model', o: { foreign?: boolean } = {}): void {
  if (!contract) throw new ContractError(`${where} declares no input/output contract`);
  if (!o.foreign && (contract.input.layout !== 'NHWC' || (contract.output.layout ?? 'NHWC') !== 'NHWC')) {
    throw new ContractError(`${where} declares an ${contract.input.layout} layout, which only an imported ONNX model may have`);
  }
  const input = nhwcDims(contract.input.shape, contract.input.layout);
  const output = nhwcDims(contract.output.shape, contract.output.layout);
  if (input.length !== 4 || input[3] !== INPUT_CHANNELS) {
    throw new ContractError(`${where} input shape [${contract.input.shape}] is not a ${contract.input.layout ?? 'NHWC'} batch of ${INPUT_CHANNELS}-channel images`);
  }
  const [, height, width] = input;
  if (![height, width].every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 1 && d <= MAX_SIDE)) {
    throw new ContractError(`${where} input shape [${contract.input.shape}] fixes no height and width (1–${MAX_SIDE} pixels)`);
  }
  if (output.length !== 4 || output[1] !== height || output[2] !== width) {
    throw new ContractError(`${where} output shape [${contract.output.shape}] is not ${height}×${width} logits like its input [${contract.input.shape}] (masks have the input's size)`);
  }
  const classes = contract.classes.length;
  if (classes < 2 || classes > MAX_CLASSES) throw new ContractError(`${where} declares ${classes} classes; a segmentation model has 2–${MAX_CLASSES}`);
  if (output[3] !== classes) {
    throw new ContractError(`${where} classes [${contract.classes}] (${classes}) disagree with its output shape [${contract.output.shape}] (${output[3]} channels)`);
  }
  const normalization = contract.input.normalization;
  if (normalization !== undefined && !isInputNormalization(normalization)) {
    throw new ContractError(`${where} input normalization '${normalization}' is not one of ${Object.keys(INPUT_NORMALIZATIONS).join('|')}`);
  }
  if (!o.foreign && (contract.input.name !== INPUT_NAME || contract.output.name !== OUTPUT_NAME)) {
    throw new ContractError(`${where} tensor names ${contract.input.name} → ${contract.output.name} differ from the contract's ${INPUT_NAME} → ${OUTPUT_NAME}`);
  }
}

const dims = z.array(z.number().int().min(1).nullable()).min(1).max(8);

/**
 * The structure card.json must have before any field is trusted (unknown extra fields pass: newer
 * writers may add some). The contract's values are then checked by `assertContract`.
 */
export const cardSchema = z.looseObject({
  schema: z.literal(CARD_SCHEMA, { error: `is not an edgeseg card (schema must be '${CARD_SCHEMA}')` }),
  name: z.string().regex(/^[\w.-]{1,128}$/, 'must be 1–128 letters, digits, _ . -'),
  version: z.string().regex(/^[\w.-]{1,128}$/, 'must be 1–128 letters, digits, _ . -'),
  precision: z.enum(PRECISIONS, { error: (i) => `'${String(i.input)}' is not one of ${PRECISIONS.join('|')}` }),
  contract: z.looseObject({
    input: z.looseObject({ name: z.string().min(1).max(256), shape: dims }),
    output: z.looseObject({ name: z.string().min(1).max(256), shape: dims }),
    classes: z.array(z.string().max(64)).min(1).max(256),
  }),
  params: z.number().int().min(0).optional(),
  weightDtypes: z.record(z.string(), z.string().regex(/^[a-z0-9]{2,16}$/, 'must be a dtype name')).optional(),
  bytes: z.number().int().min(0).optional(),
  files: z.array(z.looseObject({ path: artifactPath, bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })).optional(),
});

/** Parses and checks a card.json text: its structure (`cardSchema`), then its contract (`assertContract`). */
export function parseCard(text: string, where = 'card.json'): ModelCard {
  const fail = (m: string) => new ModelFormatError('MODEL_MALFORMED', m);
  const json = parseJsonText(text, where, fail);
  if (json === null || typeof json !== 'object' || (json as { schema?: unknown }).schema !== CARD_SCHEMA) {
    throw fail(`${where} is not an edgeseg card (schema must be '${CARD_SCHEMA}')`);
  }
  const card = parseWith(cardSchema, json, where, fail) as unknown as ModelCard;
  assertContract(card.contract, where, { foreign: card.source?.format === 'onnx' });
  return card;
}
