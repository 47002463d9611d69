/**
 * What a tfjs layers topology (Keras JSON in model.json) implies, worked out without building
 * the model: each layer's output shape and the shape of every weight it owns. The artifact check
 * compares the weights manifest against this, so a manifest whose shapes lie (two shapes
 * swapped, a dimension moved between weights) is refused even when the byte count adds up.
 *
 * Shapes are NHWC without the batch dimension. Layer classes edgeseg's models are made of are
 * known (convolutions, batch norm, dense, pooling, up-sampling, padding, merges, activations);
 * a layer of another class has an unknown output, and weights that depend on it are checked for
 * rank and sign only.
 */
import { ModelFormatError } from './errors.js';

/** One layer of a Keras functional topology. */
interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: unknown[][];
}

/** Output shape without the batch dimension; null where it cannot be worked out. */
type Shape = (number | null)[] | null;

/** A weight the topology expects: its full name and shape (null dimensions are unknown). */
export interface ExpectedWeight {
  name: string;
  shape: (number | null)[];
}

/** What the topology says about a model: its weights, and its single input and output. */
export interface TopologySummary {
  weights: ExpectedWeight[];
  /** Layers of a class this module does not know: their weights (`<layer>/…`) cannot be checked by shape. */
  opaque: string[];
  input: { name: string; shape: (number | null)[] };
  output: { name: string; shape: Shape };
}

function malformed(message: string): ModelFormatError {
  return new ModelFormatError('MODEL_MALFORMED', `model.json topology: ${message}`);
}

function pair(v: unknown, what: string, layer: string): [number, number] {
  const a = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(a) || a.length !== 2 || !a.every((x) => Number.isInteger(x) && x >= 1)) throw malformed(`layer ${layer}: ${what} must be one or two positive integers, got ${JSON.stringify(v)}`);
  return a as [number, number];
}

function positiveInt(v: unknown, what: string, layer: string): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw malformed(`layer ${layer}: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

/** Spatial size after a convolution or pooling window. */
function windowed(size: number | null, kernel: number, stride: number, dilation: number, padding: unknown): number | null {
  if (size === null) return null;
  const effective = (kernel - 1) * dilation + 1;
  return padding === 'same' ? Math.ceil(size / stride) : Math.max(0, Math.ceil((size - effective + 1) / stride));
}

/** The layers list, input and output names of a topology (plain or wrapped in `model_config`). */
function layersOf(topology: unknown): { layers: LayerJson[]; inputs: string[]; outputs: string[] } {
  const t = topology as { model_config?: unknown; config?: { layers?: unknown; input_layers?: unknown; output_layers?: unknown } } | null;
  const model = (t && typeof t === 'object' && 'model_config' in t ? t.model_config : t) as { config?: { layers?: unknown; input_layers?: unknown; output_layers?: unknown } } | null;
  const config = model?.config;
  if (!config || !Array.isArray(config.layers)) throw malformed('it is not a functional model (no config.layers)');
  const names = (v: unknown, what: string) => {
    if (!Array.isArray(v) || !v.every((e) => Array.isArray(e) && typeof e[0] === 'string')) throw malformed(`${what} is not a list of [layer, node, tensor]`);
    return v.map((e) => e[0] as string);
  };
  for (const [i, l] of (config.layers as unknown[]).entries()) {
    const ok = l && typeof l === 'object' && typeof (l as LayerJson).name === 'string' && typeof (l as LayerJson).class_name === 'string' && typeof (l as LayerJson).config === 'object' && (l as LayerJson).config !== null && Array.isArray((l as LayerJson).inbound_nodes);
    if (!ok) throw malformed(`layer ${i} lacks name, class_name, config or inbound_nodes`);
  }
  return { layers: config.layers as LayerJson[], inputs: names(config.input_layers, 'input_layers'), outputs: names(config.output_layers, 'output_layers') };
}

/** Works out every layer's output shape and weights, in topological order. */
export function summarizeTopology(topology: unknown): TopologySummary {
  const { layers, inputs, outputs } = layersOf(topology);
  if (inputs.length !== 1 || outputs.length !== 1) throw malformed(`edgeseg models have one input and one output, this one has ${inputs.length} and ${outputs.length}`);
  const byName = new Map<string, LayerJson>();
  for (const l of layers) {
    if (byName.has(l.name)) throw malformed(`two layers are named ${l.name}`);
    byName.set(l.name, l);
  }
  const shapes = new Map<string, Shape>();
  const weights: ExpectedWeight[] = [];
  const visiting = new Set<string>();
  const shapeOf = (name: string): Shape => {
    if (shapes.has(name)) return shapes.get(name)!;
    const layer = byName.get(name);
    if (!layer) throw malformed(`a layer takes its input from ${name}, which does not exist`);
    if (visiting.has(name)) throw malformed(`layer ${name} is part of a cycle`);
    visiting.add(name);
    const node = (layer.inbound_nodes[0] ?? []) as unknown[];
    if (layer.inbound_nodes.length > 1) throw malformed(`layer ${name} is applied more than once; shared layers are not supported`);
    const ins = node.map((edge) => {
      if (!Array.isArray(edge) || typeof edge[0] !== 'string') throw malformed(`layer ${name} has a malformed inbound node`);
      return shapeOf(edge[0]);
    });
    const out = layerShape(layer, ins, weights);
    visiting.delete(name);
    shapes.set(name, out);
    return out;
  };
  for (const l of layers) shapeOf(l.name);
  const opaque = layers.filter((l) => !KNOWN.has(l.class_name)).map((l) => l.name);
  const input = byName.get(inputs[0]);
  if (!input || input.class_name !== 'InputLayer') throw malformed(`input ${inputs[0]} is not an InputLayer`);
  return { weights, opaque, input: { name: inputs[0], shape: shapes.get(inputs[0])! }, output: { name: outputs[0], shape: shapeOf(outputs[0]) } };
}

const KNOWN = new Set(['InputLayer', 'Conv2D', 'DepthwiseConv2D', 'Conv2DTranspose', 'BatchNormalization', 'Dense', 'MaxPooling2D', 'AveragePooling2D', 'UpSampling2D', 'ZeroPadding2D', 'ReLU', 'Activation', 'LeakyReLU', 'Softmax', 'Dropout', 'SpatialDropout2D', 'GaussianNoise', 'Add', 'Multiply', 'Maximum', 'Minimum', 'Average', 'Subtract', 'Concatenate']);

function layerShape(layer: LayerJson, ins: Shape[], weights: ExpectedWeight[]): Shape {
  const c = layer.config;
  const name = layer.name;
  const one = (): Shape => {
    if (ins.length !== 1) throw malformed(`layer ${name} (${layer.class_name}) takes one input, it has ${ins.length}`);
    const s = ins[0];
    if (s !== null && s.length !== 3 && ['Conv2D', 'DepthwiseConv2D', 'Conv2DTranspose', 'MaxPooling2D', 'AveragePooling2D', 'UpSampling2D', 'ZeroPadding2D'].includes(layer.class_name)) {
      throw malformed(`layer ${name} (${layer.class_name}) needs an image input, it gets shape [${s}]`);
    }
    return s;
  };
  const add = (param: string, shape: (number | null)[]) => weights.push({ name: `${name}/${param}`, shape });
  const channels = (s: Shape) => (s === null ? null : s[s.length - 1]);
  switch (layer.class_name) {
    case 'InputLayer': {
      const b = c.batch_input_shape ?? (c.batchInputShape as unknown);
      if (!Array.isArray(b) || b.length < 2 || !b.slice(1).every((d) => d === null || (Number.isInteger(d) && d >= 1))) throw malformed(`input ${name} has no valid batch_input_shape`);
      return b.slice(1) as (number | null)[];
    }
    case 'Conv2D': {
      const s = one();
      const [kh, kw] = pair(c.kernel_size, 'kernel_size', name);
      const [sh, sw] = pair(c.strides ?? 1, 'strides', name);
      const [dh, dw] = pair(c.dilation_rate ?? 1, 'dilation_rate', name);
      const filters = positiveInt(c.filters, 'filters', name);
      add('kernel', [kh, kw, channels(s), filters]);
      if (c.use_bias !== false) add('bias', [filters]);
      return s === null ? null : [windowed(s[0], kh, sh, dh, c.padding), windowed(s[1], kw, sw, dw, c.padding), filters];
    }
    case 'DepthwiseConv2D': {
      const s = one();
      const [kh, kw] = pair(c.kernel_size, 'kernel_size', name);
      const [sh, sw] = pair(c.strides ?? 1, 'strides', name);
      const [dh, dw] = pair(c.dilation_rate ?? 1, 'dilation_rate', name);
      const m = positiveInt(c.depth_multiplier ?? 1, 'depth_multiplier', name);
      const cin = channels(s);
      add('depthwise_kernel', [kh, kw, cin, m]);
      if (c.use_bias !== false) add('bias', [cin === null ? null : cin * m]);
      return s === null ? null : [windowed(s[0], kh, sh, dh, c.padding), windowed(s[1], kw, sw, dw, c.padding), cin === null ? null : cin * m];
    }
    case 'Conv2DTranspose': {
      const s = one();
      const [kh, kw] = pair(c.kernel_size, 'kernel_size', name);
      const [sh, sw] = pair(c.strides ?? 1, 'strides', name);
      const filters = positiveInt(c.filters, 'filters', name);
      add('kernel', [kh, kw, filters, channels(s)]);
      if (c.use_bias !== false) add('bias', [filters]);
      const up = (n: number | null, k: number, st: number) => (n === null ? null : c.padding === 'same' ? n * st : n * st + Math.max(k - st, 0));
      return s === null ? null : [up(s[0], kh, sh), up(s[1], kw, sw), filters];
    }
    case 'BatchNormalization': {
      const s = one();
      if (c.axis !== undefined && c.axis !== -1 && !(Array.isArray(c.axis) && c.axis.length === 1 && c.axis[0] === -1) && !(s && (c.axis === s.length || (Array.isArray(c.axis) && c.axis[0] === s.length)))) {
        throw malformed(`layer ${name}: batch norm over axis ${JSON.stringify(c.axis)} is not supported (channels last only)`);
      }
      const ch = channels(s);
      if (c.scale !== false) add('gamma', [ch]);
      if (c.center !== false) add('beta', [ch]);
      add('moving_mean', [ch]);
      add('moving_variance', [ch]);
      return s;
    }
    case 'Dense': {
      const s = one();
      const units = positiveInt(c.units, 'units', name);
      add('kernel', [channels(s), units]);
      if (c.use_bias !== false) add('bias', [units]);
      return s === null ? null : [...s.slice(0, -1), units];
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const s = one();
      const [ph, pw] = pair(c.pool_size ?? 2, 'pool_size', name);
      const [sh, sw] = pair(c.strides ?? [ph, pw], 'strides', name);
      return s === null ? null : [windowed(s[0], ph, sh, 1, c.padding), windowed(s[1], pw, sw, 1, c.padding), s[2]];
    }
    case 'UpSampling2D': {
      const s = one();
      const [uh, uw] = pair(c.size ?? 2, 'size', name);
      return s === null ? null : [s[0] === null ? null : s[0] * uh, s[1] === null ? null : s[1] * uw, s[2]];
    }
    case 'ZeroPadding2D': {
      const s = one();
      const p = c.padding ?? 1;
      const flat = (typeof p === 'number' ? [p, p, p, p] : Array.isArray(p) ? p.flatMap((x) => (Array.isArray(x) ? x : [x, x])) : []) as unknown[];
      if (flat.length !== 4 || !flat.every((x) => Number.isInteger(x) && (x as number) >= 0)) throw malformed(`layer ${name}: padding ${JSON.stringify(p)} is malformed`);
      const [t, b, l, r] = flat as number[];
      return s === null ? null : [s[0] === null ? null : s[0] + t + b, s[1] === null ? null : s[1] + l + r, s[2]];
    }
    case 'ReLU':
    case 'Activation':
    case 'LeakyReLU':
    case 'Softmax':
    case 'Dropout':
    case 'SpatialDropout2D':
    case 'GaussianNoise':
      return one();
    case 'Add':
    case 'Multiply':
    case 'Maximum':
    case 'Minimum':
    case 'Average':
    case 'Subtract': {
      if (ins.length < 2) throw malformed(`layer ${name} (${layer.class_name}) merges two or more inputs, it has ${ins.length}`);
      const known = ins.filter((s): s is (number | null)[] => s !== null);
      for (const s of known.slice(1)) {
        if (s.length !== known[0].length || s.some((d, i) => d !== null && known[0][i] !== null && d !== known[0][i])) throw malformed(`layer ${name} (${layer.class_name}) merges shapes [${known[0]}] and [${s}]`);
      }
      return known.length === ins.length ? known[0] : null;
    }
    case 'Concatenate': {
      if (ins.length < 2) throw malformed(`layer ${name} (Concatenate) joins two or more inputs, it has ${ins.length}`);
      if (ins.some((s) => s === null)) return null;
      const all = ins as (number | null)[][];
      const rank = all[0].length;
      const axis = (c.axis as number | undefined) ?? -1;
      const at = axis < 0 ? rank + axis : axis - 1;
      if (at < 0 || at >= rank) throw malformed(`layer ${name}: concat axis ${axis} is out of range`);
      for (const s of all) {
        if (s.length !== rank || s.some((d, i) => i !== at && d !== null && all[0][i] !== null && d !== all[0][i])) throw malformed(`layer ${name} (Concatenate) joins shapes that differ off its axis: [${all[0]}] and [${s}]`);
      }
      return all[0].map((d, i) => (i === at ? (all.some((s) => s[i] === null) ? null : all.reduce((n, s) => n + (s[i] as number), 0)) : d));
    }
    default:
      return null;
  }
}
