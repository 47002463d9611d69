/** Accumulates ONNX nodes and initializers with unique names; the exporter's only way to write a graph. */
import { ATTRIBUTE_TYPE, ONNX_DTYPE, type AttributeProto, type NodeProto, type OnnxDtype, type TensorProto } from '../../core/node/onnx/proto.js';

/** An attribute value: integers (`i`/`ints`) and floats (`f`/`floats`) are told apart explicitly; `s` is a string. */
export type Attr = { i: number } | { f: number } | { ints: number[] } | { floats: number[] } | { s: string };

const ELEMENT_BYTES: Record<OnnxDtype, number> = { float: 4, uint8: 1, int8: 1, int32: 4, int64: 8, float16: 2 };

function attribute(name: string, value: Attr): AttributeProto {
  if ('i' in value) return { name, type: ATTRIBUTE_TYPE.INT, i: value.i };
  if ('f' in value) return { name, type: ATTRIBUTE_TYPE.FLOAT, f: value.f };
  if ('ints' in value) return { name, type: ATTRIBUTE_TYPE.INTS, ints: value.ints };
  if ('s' in value) return { name, type: ATTRIBUTE_TYPE.STRING, s: new TextEncoder().encode(value.s) };
  return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: value.floats };
}

export class OnnxGraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly names = new Set<string>();
  private readonly reserved = new Set<string>();

  /** Adds a node; `outputs` must be new tensor names. Returns the first output's name. */
  node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}): string {
    for (const o of outputs) this.claim(o);
    this.nodes.push({
      name: `${opType}:${outputs[0]}`,
      opType,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs[0];
  }

  /** Adds a constant tensor from a typed array holding its elements in row-major order. */
  initializer(name: string, dtype: OnnxDtype, dims: number[], data: ArrayBufferView): string {
    this.claim(name);
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.byteLength !== n * ELEMENT_BYTES[dtype]) throw new Error(`initializer ${name}: ${data.byteLength} bytes for ${n} ${dtype} elements`);
    // rawData is little-endian, as every typed array is on the platforms Node and browsers run on.
    this.initializers.push({ name, dims, dataType: ONNX_DTYPE[dtype], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  floats(name: string, dims: number[], values: Float32Array | number[]): string {
    return this.initializer(name, 'float', dims, values instanceof Float32Array ? values : Float32Array.from(values));
  }

  /** Bytes of every initializer (the model's weight payload). */
  get initializerBytes(): number {
    return this.initializers.reduce((n, t) => n + t.rawData.byteLength, 0);
  }

  /** `base`, else `base_1`, `base_2`…: a name no tensor has and no earlier `fresh` gave out (for graphs translated from another format). */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name) || this.reserved.has(name); i++) name = `${base}_${i}`;
    this.reserved.add(name);
    return name;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX tensor name ${name} is used twice`);
    this.names.add(name);
  }
}
