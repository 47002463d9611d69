/**
 * A small segmentation model of any input size and class count, written with the repository's
 * own ONNX builder: what an imported model that is not 128×128 with 3 classes looks like (a
 * 513×513 PASCAL DeepLab has 21), small enough for unit and broker tests.
 *
 * logits[k, y, x] = Σ_c W[k, c] · input[c, y, x] + b[k] + band[k, y, x]: a 1×1 convolution over the
 * pixels plus a fixed map that favours class k in the k-th vertical band of the image, so every
 * class shows up in every frame and a mask whose height and width were swapped or transposed
 * cannot match. The image's colours move the band edges.
 */
import { OnnxGraphBuilder } from '../../converter/onnx/builder.js';
import { encodeModel, IR_VERSION, ONNX_DTYPE, type ValueInfoProto } from '../../core/node/onnx/proto.js';

export interface SizedOnnxOptions {
  height: number;
  width: number;
  classes: number;
  /** Memory order of the input and the logits. @default 'NHWC' (a TFLite-converted model's) */
  layout?: 'NHWC' | 'NCHW';
  /** @default 'pixels' */
  inputName?: string;
  /** @default 'scores' */
  outputName?: string;
}

function valueInfo(name: string, dims: (number | string)[]): ValueInfoProto {
  return { name, type: { tensorType: { elemType: ONNX_DTYPE.float, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}

/** `.onnx` bytes of the model above, with a free batch dimension `N`. */
export function sizedOnnx(o: SizedOnnxOptions): Uint8Array {
  const { height: h, width: w, classes: k } = o;
  const layout = o.layout ?? 'NHWC';
  const input = o.inputName ?? 'pixels';
  const output = o.outputName ?? 'scores';
  const b = new OnnxGraphBuilder();
  const weights = Float32Array.from({ length: k * 3 }, (_, i) => (((i * 7) % 5) - 2) * 0.6);
  const bias = Float32Array.from({ length: k }, (_, c) => 0.1 * c);
  const band = new Float32Array(k * h * w);
  for (let c = 0; c < k; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) band[(c * h + y) * w + x] = Math.floor((x * k) / w) === c ? 2.5 : 0;
  const nchwIn = layout === 'NCHW' ? input : b.node('Transpose', [input], ['input/nchw'], { perm: { ints: [0, 3, 1, 2] } });
  const conv = b.node('Conv', [nchwIn, b.floats('conv/W', [k, 3, 1, 1], weights), b.floats('conv/b', [k], bias)], ['conv'], { kernel_shape: { ints: [1, 1] } });
  const added = b.node('Add', [conv, b.floats('band', [1, k, h, w], band)], [layout === 'NCHW' ? output : 'logits/nchw']);
  if (layout === 'NHWC') b.node('Transpose', [added], [output], { perm: { ints: [0, 2, 3, 1] } });
  const shape = (c: number) => (layout === 'NCHW' ? ['N', c, h, w] : ['N', h, w, c]);
  return encodeModel({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'edgeseg-test',
    producerVersion: '1',
    graph: { name: 'sized', node: b.nodes, initializer: b.initializers, input: [valueInfo(input, shape(3))], output: [valueInfo(output, shape(k))] },
  });
}
