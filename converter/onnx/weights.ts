/**
 * How weights enter an exported ONNX graph, per encoding:
 * - `float32`: initializers as they are;
 * - `float16`: half-precision initializers and a Cast to float (half the bytes, fp32 compute);
 * - `int8`: QDQ — int8 weights with one symmetric scale per output channel behind a
 *   DequantizeLinear, biases as int32 at scale input-scale × weight-scale (what onnxruntime's QDQ
 *   fusion turns into QLinearConv), and every activation through a uint8 QuantizeLinear →
 *   DequantizeLinear pair whose range was calibrated on a data set.
 */
import { toFloat16Bits } from '../quantize.js';
import type { OnnxGraphBuilder } from './builder.js';
import { ONNX_DTYPE } from '../../core/node/onnx/proto.js';

export type OnnxWeightEncoding = 'float32' | 'float16' | 'int8';
export const ONNX_WEIGHT_ENCODINGS: readonly OnnxWeightEncoding[] = ['float32', 'float16', 'int8'];

/** A uint8 activation quantization: v ≈ (q − zeroPoint) · scale. */
export interface ActivationQuant {
  scale: number;
  zeroPoint: number;
}

/** uint8 parameters covering [min, max] (widened to hold 0, which is then exact). */
export function activationQuant(min: number, max: number): ActivationQuant {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  return { scale, zeroPoint: Math.max(0, Math.min(255, Math.round(-lo / scale))) };
}

export class WeightWriter {
  /** Per-output-channel scales of each int8 weight tensor, for its bias. */
  private readonly weightScales = new Map<string, Float32Array>();

  constructor(
    readonly encoding: OnnxWeightEncoding,
    private readonly b: OnnxGraphBuilder,
  ) {}

  /** A weight tensor of `dims` (row-major `values`); `channelAxis` is its output-channel axis. */
  weight(name: string, dims: number[], values: Float32Array, channelAxis: number): string {
    if (this.encoding === 'float32') return this.b.floats(name, dims, values);
    if (this.encoding === 'float16') return this.half(name, dims, values);
    const channels = dims[channelAxis];
    const { q, scales } = quantizePerChannelInt8(values, dims, channelAxis);
    this.weightScales.set(name, scales);
    this.b.initializer(`${name}/q`, 'int8', dims, q);
    this.b.floats(`${name}/scale`, [channels], scales);
    this.b.initializer(`${name}/zero_point`, 'int8', [channels], new Int8Array(channels));
    return this.b.node('DequantizeLinear', [`${name}/q`, `${name}/scale`, `${name}/zero_point`], [name], { axis: { i: channelAxis } });
  }

  /** A bias of a convolution whose input is `input` (its quantization, int8 only) and weight `weightName`. */
  bias(name: string, values: Float32Array, input: ActivationQuant | undefined, weightName: string): string {
    if (this.encoding === 'float16') return this.half(name, [values.length], values);
    const weightScales = this.weightScales.get(weightName);
    if (this.encoding === 'float32' || !input || !weightScales) return this.b.floats(name, [values.length], values);
    const scales = Float32Array.from(weightScales, (s) => s * input.scale);
    const q = Int32Array.from(values, (v, c) => Math.round(v / scales[c]));
    this.b.initializer(`${name}/q`, 'int32', [values.length], q);
    this.b.floats(`${name}/scale`, [values.length], scales);
    this.b.initializer(`${name}/zero_point`, 'int32', [values.length], new Int32Array(values.length));
    return this.b.node('DequantizeLinear', [`${name}/q`, `${name}/scale`, `${name}/zero_point`], [name], { axis: { i: 0 } });
  }

  /** Routes float tensor `from` through uint8 QuantizeLinear → DequantizeLinear into `to`. */
  fakeQuantize(from: string, to: string, q: ActivationQuant): string {
    this.b.floats(`${to}/scale`, [], [q.scale]);
    this.b.initializer(`${to}/zero_point`, 'uint8', [], Uint8Array.of(q.zeroPoint));
    this.b.node('QuantizeLinear', [from, `${to}/scale`, `${to}/zero_point`], [`${to}/q`]);
    return this.b.node('DequantizeLinear', [`${to}/q`, `${to}/scale`, `${to}/zero_point`], [to]);
  }

  private half(name: string, dims: number[], values: Float32Array): string {
    this.b.initializer(`${name}/f16`, 'float16', dims, Uint16Array.from(values, toFloat16Bits));
    return this.b.node('Cast', [`${name}/f16`], [name], { to: { i: ONNX_DTYPE.float } });
  }
}

/** Symmetric int8 per output channel (scale = max|w| / 127, zero point 0): the weights of every int8 QDQ model. */
export function quantizePerChannelInt8(values: Float32Array, dims: number[], axis: number): { q: Int8Array; scales: Float32Array } {
  const channels = dims[axis];
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const maxAbs = new Float32Array(channels);
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / inner) % channels;
    maxAbs[c] = Math.max(maxAbs[c], Math.abs(values[i]));
  }
  const scales = Float32Array.from(maxAbs, (m) => (m > 0 ? m / 127 : 1));
  const q = Int8Array.from(values, (v, i) => Math.max(-127, Math.min(127, Math.round(v / scales[Math.floor(i / inner) % channels]))));
  return { q, scales };
}
