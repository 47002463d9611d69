/**
 * The model contract: the one place that declares what every edgeseg model takes and returns.
 * The trainer, converter, both runtimes and the tests import these values; nothing re-declares them.
 * A model's input size and class count are fields of its card's contract (`geometryOf`): the
 * constants below are those of edgeseg's own U-Nets, which the trainer and model builders use.
 */
import { ContractError } from './errors.js';

/**
 * Side of the square input of edgeseg's own U-Nets, in pixels: what the trainer and the model
 * builders use. A model's own size is its card's (`inputSizeOf`); nothing that serves a card reads this.
 */
export const INPUT_SIZE = 128;
/** Colour channels of the model input (RGB, no alpha). */
export const INPUT_CHANNELS = 3;
/**
 * Number of classes of edgeseg's own U-Nets (Oxford-IIIT Pet trimap minus one). A model's own count
 * is its card's (`classCountOf`); nothing that serves a card reads this.
 */
export const NUM_CLASSES = 3;
/** Largest input height or width a contract may declare, pixels (the mask codecs' bound too). */
export const MAX_SIDE = 16384;
/** Most classes a contract may declare: masks hold one byte per pixel, class ids 0–255. */
export const MAX_CLASSES = 256;

/** Stable name of the model's input tensor (never an auto-generated layer name). */
export const INPUT_NAME = 'image';
/** Stable name of the model's output tensor: per-pixel class logits. */
export const OUTPUT_NAME = 'logits';

/** Input shape of edgeseg's own U-Nets with a free batch dimension: NHWC float32. */
export const INPUT_SHAPE = [null, INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS] as const;
/** Output shape of edgeseg's own U-Nets with a free batch dimension: NHWC float32 logits. */
export const OUTPUT_SHAPE = [null, INPUT_SIZE, INPUT_SIZE, NUM_CLASSES] as const;

/** Pixel normalisation: model input = pixel × PIXEL_SCALE, so [0, 255] maps to [0, 1]. */
export const PIXEL_SCALE = 1 / 255;

/**
 * How a model's input is normalised, declared in its card's contract and applied from there by
 * every path (trainer data, evaluate, predict, the converter's gate and ONNX export, both
 * runtimes). Each is an affine map of the unit value u = pixel × PIXEL_SCALE: input = u × scale +
 * offset, so every path computes the same float operations in the same order (resize, × 1/255,
 * × scale, + offset) and gets the same bits.
 * - `unit`: u, in [0, 1] — edgeseg's own models; what a card without the field means.
 * - `symmetric`: 2u − 1 = pixel / 127.5 − 1, in [−1, 1] — Keras' `mobilenet_v2.preprocess_input`,
 *   what ImageNet MobileNetV2 weights were trained with.
 * - `imagenet`: (u − mean) / std per channel with ImageNet's RGB statistics (torchvision's
 *   `Normalize`), what most PyTorch models expect; scale and offset are per channel (R, G, B).
 */
export const INPUT_NORMALIZATIONS = {
  unit: { scale: 1, offset: 0, range: [0, 1] },
  symmetric: { scale: 2, offset: -1, range: [-1, 1] },
  imagenet: {
    scale: [1 / 0.229, 1 / 0.224, 1 / 0.225],
    offset: [-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225],
    range: [-0.485 / 0.229, (1 - 0.406) / 0.225],
  },
} as const satisfies Record<string, { scale: number | readonly number[]; offset: number | readonly number[]; range: readonly [number, number] }>;

/** Memory order of a 4-D image tensor: channels last (edgeseg's and Keras') or channels first (PyTorch's). */
export type TensorLayout = 'NHWC' | 'NCHW';

/** How a model expects pixels: a key of INPUT_NORMALIZATIONS (`unit` = ÷255). */
export type InputNormalization = keyof typeof INPUT_NORMALIZATIONS;

/** The normalization of a model that declares none. */
export const DEFAULT_NORMALIZATION: InputNormalization = 'unit';

/** Whether `value` names a known input normalization. */
export function isInputNormalization(value: unknown): value is InputNormalization {
  return typeof value === 'string' && Object.hasOwn(INPUT_NORMALIZATIONS, value);
}

/** Class ids. 0 = pet, 1 = background, 2 = border (Oxford trimap values 1, 2, 3 minus one). */
export const CLASS_PET = 0;
/** Class id of the background (trimap value 2 in the Oxford-IIIT Pet files). */
export const CLASS_BACKGROUND = 1;
/** Class id of the pet's border (trimap value 3). */
export const CLASS_BORDER = 2;

/** Human-readable label of each class id. */
export const CLASS_NAMES: readonly string[] = ['pet', 'background', 'border'];

/** Overlay colour of each of edgeseg's own class ids, RGB 0–255 (`classColor` extends it to any id). Background is drawn transparent by overlays. */
export const CLASS_COLORS: readonly (readonly [number, number, number])[] = [
  [255, 64, 129],
  [30, 136, 229],
  [255, 214, 0],
];

/** Offset between Oxford-IIIT trimap pixel values {1, 2, 3} and class ids {0, 1, 2}. */
export const TRIMAP_OFFSET = 1;

/** The contract as one serialisable object, written into every model card and checked by runtimes. */
export interface ModelContract {
  input: {
    name: string;
    shape: readonly (number | null)[];
    dtype: 'float32';
    range: readonly [number, number];
    /** `NCHW` only for an imported ONNX model: its runner transposes core's NHWC batch. */
    layout: TensorLayout;
    /** How pixels become input values; absent in cards written before it existed, which means `unit`. */
    normalization?: InputNormalization;
  };
  output: {
    name: string;
    shape: readonly (number | null)[];
    dtype: 'float32';
    kind: 'logits';
    /** `NCHW` only for an imported ONNX model (its runner transposes the logits back); absent means NHWC. */
    layout?: TensorLayout;
  };
  classes: readonly string[];
}

/** The contract of edgeseg's own U-Nets (128×128, the 3 classes above) whose input is normalised by `normalization`. */
export function contractFor(normalization: InputNormalization = DEFAULT_NORMALIZATION): ModelContract {
  return {
    input: { name: INPUT_NAME, shape: INPUT_SHAPE, dtype: 'float32', range: INPUT_NORMALIZATIONS[normalization].range, layout: 'NHWC', normalization },
    output: { name: OUTPUT_NAME, shape: OUTPUT_SHAPE, dtype: 'float32', kind: 'logits' },
    classes: CLASS_NAMES,
  };
}

/** The contract of edgeseg's own U-Nets with the default normalization. */
export const MODEL_CONTRACT: ModelContract = contractFor();

/** A contract's (or card's) input normalization; `unit` when it declares none. */
export function normalizationOf(source: ModelContract | { contract: ModelContract } | null | undefined): InputNormalization {
  const contract = source && 'contract' in source ? source.contract : source;
  return contract?.input.normalization ?? DEFAULT_NORMALIZATION;
}

/**
 * Name of the optional second output of an exported ONNX model: per-pixel class ids (argmax of the
 * logits over classes) as uint8 `[N, H, W]`, so an ONNX engine need not read the logits back.
 */
export const CLASS_IDS_NAME = 'class_ids';

/** A card, or its contract: what the accessors below read. */
export type ContractSource = ModelContract | { contract: ModelContract };

/** Height and width of a model's input, pixels; its masks have the same size. */
export interface InputSize {
  height: number;
  width: number;
}

/** What the serving path needs of a contract: the input (and mask) size and the class count. */
export interface ModelGeometry extends InputSize {
  /** Output channels = class names = distinct mask values (ids 0 … classes − 1). */
  classes: number;
}

/** Input size and class count of edgeseg's own U-Nets (128×128, 3 classes). */
export const DEFAULT_GEOMETRY: Readonly<ModelGeometry> = Object.freeze({ height: INPUT_SIZE, width: INPUT_SIZE, classes: NUM_CLASSES });

const contractOf = (source: ContractSource): ModelContract => ('contract' in source ? source.contract : source);

/** [N, H, W, C] of a 4-D shape in `layout` (a null dimension stays null). */
export function nhwcDims(shape: readonly (number | null)[], layout: TensorLayout | undefined): readonly (number | null)[] {
  return layout === 'NCHW' ? [shape[0], shape[2], shape[3], shape[1]] : shape;
}

/**
 * The input height and width a card's contract declares (read per its layout: `[N, H, W, 3]` or
 * `[N, 3, H, W]`). Throws `CONTRACT_MISMATCH` when they are not fixed positive integers.
 */
export function inputSizeOf(source: ContractSource): InputSize {
  const { input } = contractOf(source);
  const dims = nhwcDims(input.shape, input.layout);
  const [height, width] = [dims[1], dims[2]];
  if (dims.length !== 4 || !isSide(height) || !isSide(width)) {
    throw new ContractError(`input shape [${input.shape}] (${input.layout}) declares no fixed height and width`);
  }
  return { height, width };
}

/** Number of classes a card's contract declares: its class names, one per output channel (`assertContract` checks they agree). */
export function classCountOf(source: ContractSource): number {
  const { classes } = contractOf(source);
  if (!Array.isArray(classes) || classes.length < 1 || classes.length > MAX_CLASSES) {
    throw new ContractError(`a contract declares 1–${MAX_CLASSES} classes, this one ${Array.isArray(classes) ? classes.length : 'none'}`);
  }
  return classes.length;
}

/** `inputSizeOf` and `classCountOf` together: what preprocessing, postprocessing, codecs and metrics are sized by. */
export function geometryOf(source: ContractSource): ModelGeometry {
  return { ...inputSizeOf(source), classes: classCountOf(source) };
}

/**
 * The class id an overlay leaves transparent: the class named `background` (any case), or null
 * when the card names none (every class is drawn). edgeseg's own models: CLASS_BACKGROUND.
 */
export function backgroundClassOf(source: ContractSource): number | null {
  const i = contractOf(source).classes.findIndex((name) => name.trim().toLowerCase() === 'background');
  return i < 0 ? null : i;
}

/**
 * Overlay colour of class `id`, RGB 0–255: CLASS_COLORS for edgeseg's three, then hues a golden
 * angle apart (saturation 0.7, value 0.95), so every id up to 255 gets a fixed colour and
 * neighbouring ids look unlike each other whatever the class count.
 */
export function classColor(id: number): readonly [number, number, number] {
  if (!Number.isInteger(id) || id < 0 || id >= MAX_CLASSES) throw new ContractError(`class id ${id} is not one of 0–${MAX_CLASSES - 1}`);
  if (id < CLASS_COLORS.length) return CLASS_COLORS[id];
  const hue = ((id - CLASS_COLORS.length) * 137.508 + 200) % 360;
  return hsvToRgb(hue, 0.7, 0.95);
}

/** Overlay colours of classes 0 … count − 1 (`classColor` of each). */
export function classPalette(count: number): (readonly [number, number, number])[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_CLASSES) throw new ContractError(`a palette has 1–${MAX_CLASSES} classes, not ${count}`);
  return Array.from({ length: count }, (_, id) => classColor(id));
}

function isSide(d: number | null | undefined): d is number {
  return typeof d === 'number' && Number.isInteger(d) && d >= 1 && d <= MAX_SIDE;
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const f = (n: number) => {
    const k = (n + h / 60) % 6;
    return Math.round(255 * (v - v * s * Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [f(5), f(3), f(1)];
}
