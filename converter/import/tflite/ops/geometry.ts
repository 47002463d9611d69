/**
 * Window geometry shared by the convolution and pooling rules. TensorFlow's `SAME` padding, per
 * spatial axis, for input size n, kernel k, stride s and dilation d:
 *
 *   out = ceil(n / s);  total = max((out − 1)·s + (k − 1)·d + 1 − n, 0);
 *   before = floor(total / 2), after = total − before   (the odd pixel goes after)
 *
 * `VALID` pads nothing. ONNX takes explicit pads as [top, left, bottom, right].
 */
import type { Padding } from '../options.js';

export function onnxPads(padding: Padding, input: [number, number], kernel: [number, number], strides: [number, number], dilations: [number, number] = [1, 1]): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  const [before, after] = [0, 1].map((a) => {
    const out = Math.ceil(input[a] / strides[a]);
    const total = Math.max((out - 1) * strides[a] + (kernel[a] - 1) * dilations[a] + 1 - input[a], 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  }).reduce<[number[], number[]]>((acc, [b, e]) => [[...acc[0], b], [...acc[1], e]], [[], []]);
  return [...before, ...after];
}

/** [height, width] of an NHWC shape. */
export const spatial = (nhwc: number[]): [number, number] => [nhwc[1], nhwc[2]];
