/**
 * Static int8 QDQ of an ONNX graph edgeseg did not write (an imported model), the form onnxruntime
 * fuses into QLinearConv: every Conv/ConvTranspose whose weight is a float initializer gets int8
 * weights with one symmetric scale per output channel behind a DequantizeLinear and, when its
 * input is quantized, an int32 bias at input scale × weight scale; its input and output
 * activations pass through a uint8 QuantizeLinear → DequantizeLinear pair whose range was
 * calibrated on data (the model's logits output stays float). Everything else is left as it is.
 */
import { activationQuant, quantizePerChannelInt8, type ActivationQuant } from '../onnx/weights.js';
import { ATTRIBUTE_TYPE, decodeModel, encodeModel, ONNX_DTYPE, type ModelProto, type NodeProto, type TensorProto } from '../../core/node/onnx/proto.js';
import { ImportError } from '../../core/errors.js';

const QUANTIZABLE = new Set(['Conv', 'ConvTranspose']);

/** A convolution the quantizer rewrites: its activation input and output, weight and bias initializers. */
export interface QdqTarget {
  node: NodeProto;
  x: string;
  y: string;
  weight: TensorProto;
  bias: TensorProto | null;
}

/** Parses an ONNX file the quantizer can rewrite: weights inside the file, opset 13 or later (per-channel DequantizeLinear). */
export function parseForeignOnnx(bytes: Uint8Array): ModelProto {
  const model = decodeModel(bytes);
  for (const t of model.graph.initializer) {
    if (t.dataLocation === 1) throw new ImportError('IMPORT_UNSUPPORTED_FORMAT', `initializer ${t.name} is stored in an external file; save the ONNX model with its weights inside`, { subject: t.name });
  }
  const opset = model.opsetImport.find((s) => !s.domain || s.domain === 'ai.onnx')?.version ?? 0;
  if (opset < 13) throw new ImportError('IMPORT_UNSUPPORTED_FORMAT', `opset ${opset}: per-channel QDQ needs opset 13 or later; re-export the model with a newer opset`);
  return model;
}

/** Float values of an initializer, whichever field holds them. */
export function floatsOf(t: TensorProto): Float32Array {
  if (t.dataType !== ONNX_DTYPE.float) throw new ImportError('IMPORT_MALFORMED', `initializer ${t.name} has data type ${t.dataType}, not float`, { subject: t.name });
  if (t.rawData?.byteLength) return new Float32Array(t.rawData.buffer.slice(t.rawData.byteOffset, t.rawData.byteOffset + t.rawData.byteLength));
  return Float32Array.from(t.floatData ?? []);
}

/** The standard-domain Conv and ConvTranspose nodes whose 4-D weight is a float initializer, in graph order. */
export function qdqTargets(model: ModelProto): QdqTarget[] {
  const inits = new Map(model.graph.initializer.map((t) => [t.name, t]));
  const targets: QdqTarget[] = [];
  for (const node of model.graph.node) {
    if (!QUANTIZABLE.has(node.opType) || (node.domain && node.domain !== 'ai.onnx')) continue;
    const weight = inits.get(node.input[1]);
    if (!weight || weight.dataType !== ONNX_DTYPE.float || weight.dims.length !== 4) continue;
    const bias = node.input[2] ? (inits.get(node.input[2]) ?? null) : null;
    targets.push({ node, x: node.input[0], y: node.output[0], weight, bias: bias && bias.dataType === ONNX_DTYPE.float ? bias : null });
  }
  return targets;
}

/** Activation tensors the QDQ model quantizes: each target's input and output, except the model's output. */
export function activationTensors(targets: QdqTarget[], outputName: string): string[] {
  return [...new Set(targets.flatMap((t) => [t.x, t.y]))].filter((n) => n !== outputName);
}

/** The float model with `tensors` exposed as extra outputs, to measure their ranges. */
export function exposeTensors(model: ModelProto, tensors: string[]): Uint8Array {
  const m = structuredClone(model);
  const have = new Set(m.graph.output.map((o) => o.name));
  for (const name of tensors) {
    if (!have.has(name)) m.graph.output.push({ name, type: { tensorType: { elemType: ONNX_DTYPE.float } } } as never);
  }
  return encodeModel(m);
}

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The QDQ model: `ranges` holds [min, max] of every tensor `activationTensors` names. */
export function quantizeQdq(model: ModelProto, ranges: Map<string, [number, number]>, outputName: string): Uint8Array {
  const m = structuredClone(model);
  const g = m.graph;
  const targets = qdqTargets(m);
  const taken = new Set([...g.node.flatMap((n) => [n.name, ...n.output]), ...g.initializer.map((t) => t.name), ...g.input.map((v) => v.name)]);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  const init = (name: string, dataType: number, dims: number[], data: ArrayBufferView) => {
    const n = fresh(name);
    g.initializer.push({ name: n, dims, dataType, rawData: bytes(data) });
    return n;
  };
  const added: NodeProto[] = [];
  const node = (opType: string, input: string[], output: string[], axis?: number) => {
    const n: NodeProto = { name: fresh(`${output[0]}/${opType}`), opType, input, output, attribute: axis === undefined ? [] : [{ name: 'axis', type: ATTRIBUTE_TYPE.INT, i: axis }] };
    added.push(n);
    return n;
  };
  // Activations: t → QuantizeLinear → DequantizeLinear → t/dq, and every reader of t reads t/dq.
  const quant = new Map<string, ActivationQuant>();
  const renamed = new Map<string, string>();
  for (const [tensor, [lo, hi]] of ranges) {
    if (tensor === outputName) continue;
    const q = activationQuant(lo, hi);
    quant.set(tensor, q);
    const scale = init(`${tensor}/scale`, ONNX_DTYPE.float, [], Float32Array.of(q.scale));
    const zero = init(`${tensor}/zero_point`, ONNX_DTYPE.uint8, [], Uint8Array.of(q.zeroPoint));
    const dq = fresh(`${tensor}/dq`);
    const qName = fresh(`${tensor}/q`);
    node('QuantizeLinear', [tensor, scale, zero], [qName]);
    node('DequantizeLinear', [qName, scale, zero], [dq]);
    renamed.set(tensor, dq);
  }
  for (const n of g.node) n.input = n.input.map((i) => renamed.get(i) ?? i);
  // Weights (and biases whose input is quantized): int8 per output channel behind DequantizeLinear.
  const removed = new Set<string>();
  for (const t of targets) {
    const axis = t.node.opType === 'ConvTranspose' ? 1 : 0;
    const { q, scales } = quantizePerChannelInt8(floatsOf(t.weight), t.weight.dims.map(Number), axis);
    const wq = init(`${t.weight.name}/q`, ONNX_DTYPE.int8, t.weight.dims.map(Number), q);
    const ws = init(`${t.weight.name}/scale`, ONNX_DTYPE.float, [scales.length], scales);
    const wz = init(`${t.weight.name}/zero_point`, ONNX_DTYPE.int8, [scales.length], new Int8Array(scales.length));
    const w = fresh(`${t.weight.name}/dq`);
    node('DequantizeLinear', [wq, ws, wz], [w], axis);
    t.node.input[1] = w;
    removed.add(t.weight.name);
    const xq = quant.get(t.x);
    if (t.bias && xq) {
      const values = floatsOf(t.bias);
      if (values.length === scales.length) {
        const bs = Float32Array.from(scales, (s) => s * xq.scale);
        const bq = init(`${t.bias.name}/q`, ONNX_DTYPE.int32, [values.length], Int32Array.from(values, (v, c) => Math.round(v / bs[c])));
        const bsn = init(`${t.bias.name}/scale`, ONNX_DTYPE.float, [values.length], bs);
        const bz = init(`${t.bias.name}/zero_point`, ONNX_DTYPE.int32, [values.length], new Int32Array(values.length));
        const b = fresh(`${t.bias.name}/dq`);
        node('DequantizeLinear', [bq, bsn, bz], [b], 0);
        t.node.input[2] = b;
        removed.add(t.bias.name);
      }
    }
  }
  // An initializer another node still reads stays.
  const stillRead = new Set(g.node.flatMap((n) => n.input));
  g.initializer = g.initializer.filter((t) => !removed.has(t.name) || stillRead.has(t.name));
  g.node = topologicalOrder([...g.node, ...added], new Set([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name), '']));
  return encodeModel(m);
}

/** Nodes in an order where each runs after the producers of its inputs (stable: the given order where free). */
function topologicalOrder(nodes: NodeProto[], available: Set<string>): NodeProto[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.output.forEach((o) => producer.set(o, i)));
  const waiting = nodes.map((n) => new Set(n.input.filter((t) => !available.has(t) && producer.has(t))));
  const readers = new Map<number, number[]>();
  waiting.forEach((deps, i) => deps.forEach((t) => readers.set(producer.get(t)!, [...(readers.get(producer.get(t)!) ?? []), i])));
  const ready = nodes.map((_, i) => i).filter((i) => waiting[i].size === 0);
  const out: NodeProto[] = [];
  while (ready.length) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    out.push(nodes[i]);
    for (const r of readers.get(i) ?? []) {
      for (const o of nodes[i].output) waiting[r].delete(o);
      if (waiting[r].size === 0 && !out.includes(nodes[r]) && !ready.includes(r)) ready.push(r);
    }
  }
  if (out.length !== nodes.length) throw new ImportError('IMPORT_MALFORMED', 'the ONNX graph has a cycle or reads a tensor nothing produces');
  return out;
}
