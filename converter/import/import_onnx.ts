/**
 * An ONNX segmentation model as it is (the file is kept byte for byte): its one image input and
 * its logits output found, checked and described as a contract the ONNX Runtime runner serves —
 * tensor names, NCHW or NHWC, a batch fixed at 1 or free, its own height, width and classes
 * (height and width pinned to 128 when free; masks have the input's size).
 * The output's real shape is measured by running the model once on a blank frame (tf2onnx and
 * PyTorch exports often leave it symbolic), which also proves ONNX Runtime loads it.
 */
import * as ort from 'onnxruntime-node';
import { INPUT_CHANNELS, INPUT_NORMALIZATIONS, INPUT_SIZE, type InputNormalization, type ModelContract } from '../../core/index.js';
import { type TensorLayout } from '../../core/contract.js';
import { decodeModel, ONNX_DTYPE, type ModelProto, type ValueInfoProto } from '../../core/node/onnx/proto.js';
import { ImportError } from '../../core/errors.js';

export interface ImportedOnnx {
  contract: ModelContract;
  /** Channels of the logits output; the caller names them (`contract.classes` is left empty). */
  classes: number;
  producer: string | null;
  pinned: string[];
  /** Initializers by name → shape (for the card's params count). */
  initializers: { name: string; shape: number[] }[];
  opset: number | null;
}

type Dim = number | string | null;

function dimsOf(v: ValueInfoProto): Dim[] | null {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return null;
  return shape.dim.map((d) => ('dimValue' in d && d.dimValue ? Number(d.dimValue) : 'dimParam' in d && d.dimParam ? d.dimParam : null));
}

const show = (dims: Dim[]) => `[${dims.map((d) => (typeof d === 'number' ? d : (d ?? '?'))).join(', ')}]`;

/** Reads the input's layout and size, pinning a free height or width to INPUT_SIZE. */
function inputContract(v: ValueInfoProto, pinned: string[]): { layout: TensorLayout; batch: 1 | null; height: number; width: number } {
  const dims = dimsOf(v);
  if (!dims || dims.length !== 4) {
    throw new ImportError('IMPORT_BAD_RANK', `input ${v.name} has shape ${dims ? show(dims) : 'unknown'}; edgeseg feeds a 4-D image batch (NCHW or NHWC)`, { subject: v.name });
  }
  if (v.type.tensorType.elemType !== ONNX_DTYPE.float) {
    throw new ImportError('IMPORT_BAD_SHAPE', `input ${v.name} has ONNX element type ${v.type.tensorType.elemType}; edgeseg feeds float32 (1)`, { subject: v.name });
  }
  const layout: TensorLayout | null = dims[1] === INPUT_CHANNELS ? 'NCHW' : dims[3] === INPUT_CHANNELS ? 'NHWC' : null;
  if (!layout) {
    const free = typeof dims[1] !== 'number' || typeof dims[3] !== 'number';
    throw new ImportError(
      free ? 'IMPORT_DYNAMIC_SHAPE' : 'IMPORT_BAD_SHAPE',
      free ? `input ${v.name} ${show(dims)} leaves its channels free, so neither its layout nor its channels can be pinned` : `input ${v.name} ${show(dims)} has no axis of 3 RGB channels`,
      { subject: v.name },
    );
  }
  const [h, w] = layout === 'NCHW' ? [dims[2], dims[3]] : [dims[1], dims[2]];
  const [height, width] = [h, w].map((d, i) => {
    if (typeof d === 'number') return d;
    pinned.push(`${v.name}:${i === 0 ? 'H' : 'W'}=${INPUT_SIZE}`);
    return INPUT_SIZE;
  });
  const batch = dims[0];
  if (typeof batch === 'number' && batch !== 1) throw new ImportError('IMPORT_BAD_SHAPE', `input ${v.name} ${show(dims)} fixes its batch at ${batch}; edgeseg runs 1 frame or a free batch`, { subject: v.name });
  return { layout, batch: batch === 1 ? 1 : null, height, width };
}

/** Runs the model once on a blank frame and returns the output's real shape. */
async function probeOutput(bytes: Uint8Array, input: string, layout: TensorLayout, output: string, height: number, width: number): Promise<number[]> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  } catch (err) {
    throw new ImportError('IMPORT_MALFORMED', `ONNX Runtime cannot load the model: ${(err as Error).message}`, { cause: err });
  }
  try {
    const dims = layout === 'NCHW' ? [1, INPUT_CHANNELS, height, width] : [1, height, width, INPUT_CHANNELS];
    const feed = new ort.Tensor('float32', new Float32Array(height * width * INPUT_CHANNELS), dims);
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await session.run({ [input]: feed }, [output]);
    } catch (err) {
      throw new ImportError('IMPORT_DYNAMIC_SHAPE', `the model does not run with input ${input} pinned to [${dims}]: ${(err as Error).message}`, { subject: input, cause: err });
    }
    const shape = [...out[output].dims];
    out[output].dispose();
    return shape;
  } finally {
    await session.release();
  }
}

/** Output layout from its measured shape (the input's layout breaks a tie). */
function outputLayout(name: string, shape: number[], inputLayout: TensorLayout, height: number, width: number): { layout: TensorLayout; classes: number } {
  if (shape.length !== 4) throw new ImportError('IMPORT_BAD_RANK', `output ${name} has shape [${shape}]; edgeseg serves per-pixel logits (NCHW or NHWC)`, { subject: name });
  const nhwc = shape[1] === height && shape[2] === width;
  const nchw = shape[2] === height && shape[3] === width;
  if (!nhwc && !nchw) throw new ImportError('IMPORT_BAD_SHAPE', `output ${name} is [${shape}] for one ${height}×${width} frame; edgeseg's masks have the input's size`, { subject: name });
  const layout: TensorLayout = nhwc && nchw ? inputLayout : nhwc ? 'NHWC' : 'NCHW';
  return { layout, classes: layout === 'NHWC' ? shape[3] : shape[1] };
}

export interface OnnxImportOptions {
  normalization: InputNormalization;
  /** The logits output, when the model has several. @default the first output */
  output?: string;
}

/** Checks an ONNX model against what edgeseg serves and describes its contract (class names left to the caller). */
export async function importOnnx(bytes: Uint8Array, file: string, o: OnnxImportOptions): Promise<ImportedOnnx> {
  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    throw new ImportError('IMPORT_MALFORMED', `${file} is not an ONNX model: ${(err as Error).message}`, { cause: err });
  }
  const graph = model.graph;
  if (!graph || !graph.output?.length) throw new ImportError('IMPORT_MALFORMED', `${file} has no graph outputs; it is not an ONNX model`);
  // Older exporters list initializers among the graph inputs too.
  const initializerNames = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.filter((v) => !initializerNames.has(v.name));
  if (inputs.length !== 1) {
    throw new ImportError('IMPORT_BAD_RANK', `${file} has ${inputs.length} inputs (${inputs.map((v) => v.name).join(', ')}); edgeseg feeds one image input`);
  }
  const pinned: string[] = [];
  const input = inputs[0];
  const { layout, batch, height, width } = inputContract(input, pinned);
  const out = o.output ? graph.output.find((v) => v.name === o.output) : graph.output[0];
  if (!out) throw new ImportError('IMPORT_MALFORMED', `${file} has no output '${o.output}' (it has ${graph.output.map((v) => v.name).join(', ')})`, { subject: o.output });
  const measured = await probeOutput(bytes, input.name, layout, out.name, height, width);
  const { layout: outLayout, classes } = outputLayout(out.name, measured, layout, height, width);
  const shape = (l: TensorLayout, c: number) => (l === 'NCHW' ? [batch, c, height, width] : [batch, height, width, c]);
  const contract: ModelContract = {
    input: { name: input.name, shape: shape(layout, INPUT_CHANNELS), dtype: 'float32', range: INPUT_NORMALIZATIONS[o.normalization].range, layout, normalization: o.normalization },
    output: { name: out.name, shape: shape(outLayout, classes), dtype: 'float32', kind: 'logits', layout: outLayout },
    classes: [],
  };
  const producer = [model.producerName, model.producerVersion].filter(Boolean).join(' ') || null;
  const opset = model.opsetImport.find((s) => !s.domain || s.domain === 'ai.onnx')?.version ?? null;
  return { contract, classes, producer, pinned, initializers: graph.initializer.map((t) => ({ name: t.name, shape: t.dims.map(Number) })), opset };
}
