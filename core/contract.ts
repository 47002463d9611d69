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

/** Class ids. 0 = pet, 1 = background, 2 = border (Oxford trimap values 1, 2, 3 minus one). */
export const CLASS_PET = 0;
export const CLASS_BACKGROUND = 1;
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
  input: { name: string; shape: readonly (number | null)[]; dtype: 'float32'; range: [number, number]; layout: 'NHWC' };
  output: { name: string; shape: readonly (number | null)[]; dtype: 'float32'; kind: 'logits' };
  classes: readonly string[];
}

export const MODEL_CONTRACT: ModelContract = {
  input: { name: INPUT_NAME, shape: INPUT_SHAPE, dtype: 'float32', range: [0, 1], layout: 'NHWC' },
  output: { name: OUTPUT_NAME, shape: OUTPUT_SHAPE, dtype: 'float32', kind: 'logits' },
  classes: CLASS_NAMES,
};

/**
 * Name of the optional second output of an exported ONNX model: per-pixel class ids (argmax of the
 * logits over classes) as uint8 `[N, 128, 128]`, so an ONNX engine need not read the logits back.
 */
export const CLASS_IDS_NAME = 'class_ids';
