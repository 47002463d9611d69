/**
 * Builtin options of the operators the translation covers, read from each operator's options
 * table by slot (tensorflow/lite/schema/schema.fbs; slot i is vtable offset 4 + 2i, and a
 * deprecated field keeps its slot):
 *
 *   Pool2DOptions          { padding; stride_w; stride_h; filter_width; filter_height; fused_activation_function }
 *   AddOptions / MulOptions / SubOptions { fused_activation_function; … }
 *   ConcatenationOptions   { axis:int; fused_activation_function }
 *   ReducerOptions         { keep_dims:bool }
 *   ResizeBilinearOptions  { new_height (deprecated); new_width (deprecated); align_corners:bool; half_pixel_centers:bool }
 *   ArgMaxOptions          { output_type:TensorType }
 *   ReshapeOptions         { new_shape:[int] }
 *   TransposeConvOptions   { padding; stride_w; stride_h; fused_activation_function }
 *   SoftmaxOptions         { beta:float }
 *   ResizeNearestNeighborOptions { align_corners:bool; half_pixel_centers:bool }
 *
 * CONV_2D and DEPTHWISE_CONV_2D options are read by core/node/tflite/schema.ts (`TfliteOperator.conv`).
 */
import { ACTIVATION, PADDING, type Table } from '../../../core/node/tflite/schema.js';

/** ActivationFunctionType by name; `sign_bit` and unknown values are refused by the context. */
export type FusedActivation = (typeof ACTIVATION)[number] | `activation_${number}`;
export type Padding = (typeof PADDING)[number];

const activation = (o: Table | null, slot: number): FusedActivation => {
  const code = o?.int8(slot) ?? 0;
  return ACTIVATION[code] ?? `activation_${code}`;
};
const padding = (o: Table | null): Padding => PADDING[o?.int8(0) ?? 0] ?? 'same';

export interface PoolOptions {
  padding: Padding;
  strides: [number, number];
  filter: [number, number];
  activation: FusedActivation;
}

export function poolOptions(o: Table | null): PoolOptions {
  return { padding: padding(o), strides: [o?.int32(2) ?? 1, o?.int32(1) ?? 1], filter: [o?.int32(4) ?? 1, o?.int32(3) ?? 1], activation: activation(o, 5) };
}

/** The fused activation of ADD, SUB, MUL (slot 0). */
export function elementwiseActivation(o: Table | null): FusedActivation {
  return activation(o, 0);
}

export function concatenationOptions(o: Table | null): { axis: number; activation: FusedActivation } {
  return { axis: o?.int32(0) ?? 0, activation: activation(o, 1) };
}

export function reducerKeepDims(o: Table | null): boolean {
  return (o?.uint8(0) ?? 0) !== 0;
}

export function resizeBilinearOptions(o: Table | null): { alignCorners: boolean; halfPixelCenters: boolean } {
  return { alignCorners: (o?.uint8(2) ?? 0) !== 0, halfPixelCenters: (o?.uint8(3) ?? 0) !== 0 };
}

export function transposeConvOptions(o: Table | null): { padding: Padding; strides: [number, number]; activation: FusedActivation } {
  return { padding: padding(o), strides: [o?.int32(2) ?? 1, o?.int32(1) ?? 1], activation: activation(o, 3) };
}

/** ReshapeOptions.new_shape, when the op carries it there instead of as its second input. */
export function reshapeNewShape(o: Table | null): number[] {
  return o?.int32s(0) ?? [];
}

export function softmaxBeta(o: Table | null): number {
  return o?.float32(0, 1) ?? 1;
}

export function resizeNearestOptions(o: Table | null): { alignCorners: boolean; halfPixelCenters: boolean } {
  return { alignCorners: (o?.uint8(0) ?? 0) !== 0, halfPixelCenters: (o?.uint8(1) ?? 0) !== 0 };
}
