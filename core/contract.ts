/**
 * The model contract: the one place that declares what every edgeseg model takes and returns.
 * The trainer, converter, both runtimes and the tests import these values; nothing re-declares them.
 */

/** Side of the square model input, in pixels. */
export const INPUT_SIZE = 128;
/** Colour channels of the model input (RGB, no alpha). */
export const INPUT_CHANNELS = 3;
/** Number of segmentation classes (Oxford-IIIT Pet trimap minus one). */
export const NUM_CLASSES = 3;

/** Stable name of the model's input tensor (never an auto-generated layer name). */
export const INPUT_NAME = 'image';
/** Stable name of the model's output tensor: per-pixel class logits. */
export const OUTPUT_NAME = 'logits';

/** Input shape with a free batch dimension: NHWC float32. */
export const INPUT_SHAPE = [null, INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS] as const;
/** Output shape with a free batch dimension: NHWC float32 logits. */
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

/** Overlay colour of each class id, RGB 0–255. Background is drawn transparent by overlays. */
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

/** The contract of a model whose input is normalised by `normalization`. */
export function contractFor(normalization: InputNormalization = DEFAULT_NORMALIZATION): ModelContract {
  return {
    input: { name: INPUT_NAME, shape: INPUT_SHAPE, dtype: 'float32', range: INPUT_NORMALIZATIONS[normalization].range, layout: 'NHWC', normalization },
    output: { name: OUTPUT_NAME, shape: OUTPUT_SHAPE, dtype: 'float32', kind: 'logits' },
    classes: CLASS_NAMES,
  };
}

/** The contract with the default normalization. */
export const MODEL_CONTRACT: ModelContract = contractFor();

/** A contract's (or card's) input normalization; `unit` when it declares none. */
export function normalizationOf(source: ModelContract | { contract: ModelContract } | null | undefined): InputNormalization {
  const contract = source && 'contract' in source ? source.contract : source;
  return contract?.input.normalization ?? DEFAULT_NORMALIZATION;
}

/**
 * Name of the optional second output of an exported ONNX model: per-pixel class ids (argmax of the
 * logits over classes) as uint8 `[N, 128, 128]`, so an ONNX engine need not read the logits back.
 */
export const CLASS_IDS_NAME = 'class_ids';
