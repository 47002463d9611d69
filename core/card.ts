/**
 * The model card (`card.json`), written beside every model version and read by the converter
 * and both runtimes before they trust a model.
 */
import { INPUT_NORMALIZATIONS, isInputNormalization, MODEL_CONTRACT, NUM_CLASSES, type ModelContract, type TensorLayout } from './contract.js';
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
export const SOURCE_FORMATS = ['keras', 'keras-h5', 'tfjs-layers', 'onnx'] as const;
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

/** A contract's shape as NHWC, whatever its layout. */
function nhwc(shape: readonly (number | null)[], layout: TensorLayout | undefined): readonly (number | null)[] {
  return layout === 'NCHW' ? [shape[0], shape[2], shape[3], shape[1]] : shape;
}

/**
 * Throws `CONTRACT_MISMATCH` if a model's declared contract differs from core's. An imported model
 * may name its classes (their number is core's); an imported ONNX model (`foreign`) keeps its own
 * tensor names and may be NCHW: its sizes must still be core's.
 */
export function assertContract(contract: ModelContract | undefined, where = 'model', o: { foreign?: boolean; imported?: boolean } = {}): void {
  if (!contract) throw new ContractError(`${where} declares no input/output contract`);
  const want = MODEL_CONTRACT;
  const same = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  if (!o.foreign && (contract.input.layout !== 'NHWC' || (contract.output.layout ?? 'NHWC') !== 'NHWC')) {
    throw new ContractError(`${where} declares an ${contract.input.layout} layout, which only an imported ONNX model may have`);
  }
  if (!same(nhwc(contract.input.shape, contract.input.layout).slice(1), want.input.shape.slice(1))) {
    throw new ContractError(`${where} input shape [${contract.input.shape}] differs from the contract's [${want.input.shape}]`);
  }
  if (!same(nhwc(contract.output.shape, contract.output.layout).slice(1), want.output.shape.slice(1))) {
    throw new ContractError(`${where} output shape [${contract.output.shape}] differs from the contract's [${want.output.shape}]`);
  }
  if (o.imported ? contract.classes.length !== want.classes.length : !same(contract.classes, want.classes)) {
    throw new ContractError(`${where} classes [${contract.classes}] differ from the contract's [${want.classes}] (${NUM_CLASSES} classes)`);
  }
  const normalization = contract.input.normalization;
  if (normalization !== undefined && !isInputNormalization(normalization)) {
    throw new ContractError(`${where} input normalization '${normalization}' is not one of ${Object.keys(INPUT_NORMALIZATIONS).join('|')}`);
  }
  if (!o.foreign && (contract.input.name !== want.input.name || contract.output.name !== want.output.name)) {
    throw new ContractError(
      `${where} tensor names ${contract.input.name} → ${contract.output.name} differ from the contract's ${want.input.name} → ${want.output.name}`,
    );
  }
}

const dims = z.array(z.number().int().min(1).nullable()).min(1).max(8);

/**
 * The structure card.json must have before any field is trusted (unknown extra fields pass: newer
 * writers may add some). The contract's values are then checked against core's by `assertContract`.
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

/** Parses and checks a card.json text: its structure (`cardSchema`), then its contract against core's. */
export function parseCard(text: string, where = 'card.json'): ModelCard {
  const fail = (m: string) => new ModelFormatError('MODEL_MALFORMED', m);
  const json = parseJsonText(text, where, fail);
  if (json === null || typeof json !== 'object' || (json as { schema?: unknown }).schema !== CARD_SCHEMA) {
    throw fail(`${where} is not an edgeseg card (schema must be '${CARD_SCHEMA}')`);
  }
  const card = parseWith(cardSchema, json, where, fail) as unknown as ModelCard;
  assertContract(card.contract, where, { foreign: card.source?.format === 'onnx', imported: card.source !== undefined });
  return card;
}
