/**
 * A Keras model config + its stored variables → one flat tfjs layers model. Nested Functional and
 * Sequential models are inlined: each inner layer becomes a layer of the one graph, keeping its
 * own name (prefixed by its model's only when two nested models use the same name), so BatchNorm
 * folding, quantization, the accuracy gate and the ONNX export see every layer. The input is named
 * and sized by the contract (free height and width pinned to 128), and the layer that makes the
 * output is renamed to the contract's output name afterwards (see `renameLayer`).
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { INPUT_CHANNELS, INPUT_NAME, INPUT_SIZE, NUM_CLASSES, OUTPUT_NAME } from '../../core/index.js';
import { tf, tfl } from '../../core/node/tfjs.js';
import { ImportError } from '../../core/errors.js';
import { CONTAINER_CLASSES, inboundCalls, inputLayerShape, ioRefs, layerName, type KerasLayerConfig, type KerasModelConfig, type TensorRef } from './keras_config.js';
import { mapKerasLayer, VARIABLE_ALIASES, type TfLayer } from './keras_layers.js';
import type { LayerVariables, StoredVariable, WeightStore } from './keras_weights.js';

export interface FlatModel {
  model: LayersModel;
  /** Name of the layer that makes the output (renamed to the contract's by the caller). */
  outputLayer: string;
  sourceInput: string;
  sourceOutput: string;
  pinned: string[];
  flattened: string[];
  renamed: Record<string, string>;
  /**
   * The Rescaling on the input that shows the model takes raw 0–255 pixels (Keras' usual
   * `Rescaling(1/255)` first layer), scaled by 255 so the model takes core's unit input instead;
   * null when there is none.
   */
  pixelRescaling: string | null;
}

interface Placed {
  layer: TfLayer;
  path: string[];
  source: string;
  className: string;
  vars: string[];
  weights?: tf.Tensor[];
  /** The layer reads the model's input directly. */
  readsInput: boolean;
}

/** A Rescaling at most this scale on the input means the model takes raw 0–255 pixels (1/255, 1/127.5…). */
const PIXEL_SCALE_MAX = 1 / 100;

/** The contract's input shape from an InputLayer's declared one: refuses other ranks and sizes, pins free height and width. */
function pinInput(shape: (number | null)[] | null, name: string, pinned: string[]): void {
  if (!shape || shape.length !== 4) {
    throw new ImportError('IMPORT_BAD_RANK', `input ${name} has shape [${shape ?? '?'}]; edgeseg serves a 4-D image batch [N, 128, 128, 3]`, { subject: name });
  }
  const [, h, w, c] = shape;
  if (c === null) throw new ImportError('IMPORT_DYNAMIC_SHAPE', `input ${name} leaves its channels free ([${shape.map((d) => d ?? '?')}]); an RGB input has 3`, { subject: name });
  if (c !== INPUT_CHANNELS) throw new ImportError('IMPORT_BAD_SHAPE', `input ${name} has ${c} channels; edgeseg feeds RGB (3)`, { subject: name });
  for (const [axis, d] of [['H', h], ['W', w]] as const) {
    if (d === null) pinned.push(`${name}:${axis}=${INPUT_SIZE}`);
    else if (d !== INPUT_SIZE) throw new ImportError('IMPORT_BAD_SHAPE', `input ${name} is ${h}×${w}; edgeseg's contract is ${INPUT_SIZE}×${INPUT_SIZE}`, { subject: name });
  }
}

function variablesFor(p: Placed, stored: LayerVariables | null): StoredVariable[] {
  if (p.vars.length === 0) return [];
  if (!stored) throw new ImportError('IMPORT_MALFORMED', `the weights file has no variables for layer ${p.source}`, { subject: p.source });
  if ('byIndex' in stored) {
    if (stored.byIndex.length !== p.vars.length) {
      throw new ImportError('IMPORT_MALFORMED', `layer ${p.source} (${p.className}) has ${stored.byIndex.length} stored variables, expected ${p.vars.length} (${p.vars.join(', ')})`, { subject: p.source });
    }
    return stored.byIndex;
  }
  return p.vars.map((v) => {
    const hit = [v, ...(VARIABLE_ALIASES[v] ?? [])].map((n) => stored.byName.get(n)).find(Boolean);
    if (!hit) throw new ImportError('IMPORT_MALFORMED', `layer ${p.source} (${p.className}) has no stored '${v}' (it has ${[...stored.byName.keys()].join(', ')})`, { subject: p.source });
    return hit;
  });
}

/** Builds the flat model and sets every weight, checking each stored shape against the layer's. */
export function buildFlatModel(config: KerasModelConfig, store: WeightStore): FlatModel {
  const used = new Set<string>([INPUT_NAME, OUTPUT_NAME]);
  const renamed: Record<string, string> = {};
  const flattened: string[] = [];
  const pinned: string[] = [];
  const placed: Placed[] = [];
  let sourceInput = '';
  let input: SymbolicTensor | null = null;

  const flatName = (path: string[], name: string): string => {
    let candidate = name;
    if (used.has(candidate)) candidate = [...path, name].join('_');
    for (let i = 1; used.has(candidate); i++) candidate = `${[...path, name].join('_')}_${i}`;
    used.add(candidate);
    if (candidate !== name) renamed[[...path, name].join('/')] = candidate;
    return candidate;
  };

  const topInput = (l: KerasLayerConfig | null, shape: (number | null)[] | null): SymbolicTensor => {
    sourceInput = l ? layerName(l) : INPUT_NAME;
    pinInput(shape, sourceInput, pinned);
    if (sourceInput !== INPUT_NAME) renamed[sourceInput] = INPUT_NAME;
    input = tfl.input({ shape: [INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS], name: INPUT_NAME });
    return input;
  };

  const place = (l: KerasLayerConfig, path: string[], inputs: SymbolicTensor[]): SymbolicTensor[] => {
    const source = layerName(l);
    const name = flatName(path, source);
    const mapped = mapKerasLayer(l.class_name, l.config, { name, inputShapes: inputs.map((t) => t.shape) });
    if (mapped.kind === 'identity') return [inputs[0]];
    placed.push({ layer: mapped.layer, path, source: [...path, source].join('/'), className: l.class_name, vars: mapped.vars, weights: mapped.weights, readsInput: inputs.length === 1 && inputs[0] === input });
    const out = mapped.layer.apply(inputs.length === 1 ? inputs[0] : inputs) as SymbolicTensor | SymbolicTensor[];
    return Array.isArray(out) ? out : [out];
  };

  /** Runs a container's layers on `bound` (its inputs from outside; null at the top) and returns its outputs. */
  const run = (c: KerasModelConfig | KerasLayerConfig, path: string[], bound: SymbolicTensor[] | null): SymbolicTensor[] => {
    const layers = c.config.layers ?? [];
    if (c.class_name === 'Sequential') {
      const first = layers[0];
      let x: SymbolicTensor;
      if (bound) x = bound[0];
      else {
        const declared = first?.class_name === 'InputLayer' ? inputLayerShape(first) : ((first?.config as { batch_input_shape?: (number | null)[] })?.batch_input_shape ?? ((c.config as { build_input_shape?: (number | null)[] }).build_input_shape ?? null));
        x = topInput(first?.class_name === 'InputLayer' ? first : null, declared);
      }
      for (const l of layers) {
        if (l.class_name === 'InputLayer') continue;
        x = CONTAINER_CLASSES.has(l.class_name) ? enter(l, path, [x])[0] : place(l, path, [x])[0];
      }
      return [x];
    }
    const where = path.length ? path.join('/') : 'the model';
    const inputs = ioRefs(c.config.input_layers, where);
    const outputs = ioRefs(c.config.output_layers, where);
    if (!bound && inputs.length !== 1) throw new ImportError('IMPORT_BAD_RANK', `the model has ${inputs.length} inputs; edgeseg serves one image input`);
    const tensors = new Map<string, SymbolicTensor[]>();
    const resolve = (r: TensorRef, user: string): SymbolicTensor => {
      const t = tensors.get(r.layer)?.[r.tensor];
      if (!t) throw new ImportError('IMPORT_MALFORMED', `layer ${user} reads ${r.layer}[${r.tensor}], which is not computed before it`, { subject: user });
      return t;
    };
    for (const l of layers) {
      const name = layerName(l);
      if (l.class_name === 'InputLayer') {
        const at = inputs.findIndex((r) => r.layer === name);
        tensors.set(name, [bound ? bound[at] : topInput(l, inputLayerShape(l))]);
        continue;
      }
      const calls = inboundCalls(l);
      if (calls.length !== 1) {
        throw new ImportError('IMPORT_UNSUPPORTED_LAYER', `layer ${[...path, name].join('/')} is applied ${calls.length} times; shared layers are not imported`, { subject: name });
      }
      const args = calls[0].map((r) => resolve(r, name));
      tensors.set(name, CONTAINER_CLASSES.has(l.class_name) ? enter(l, path, args) : place(l, path, args));
    }
    return outputs.map((r) => resolve(r, `${where} output`));
  };

  const enter = (l: KerasLayerConfig, path: string[], args: SymbolicTensor[]): SymbolicTensor[] => {
    const inner = [...path, layerName(l)];
    flattened.push(inner.join('/'));
    return run(l, inner, args);
  };

  const outs = run(config, [], null);
  if (outs.length !== 1) throw new ImportError('IMPORT_BAD_RANK', `the model has ${outs.length} outputs; edgeseg serves one logits output`);
  const out = outs[0];
  const producer = placed.find((p) => p.layer.name === (out as unknown as { sourceLayer: TfLayer }).sourceLayer.name);
  if (!producer) throw new ImportError('IMPORT_MALFORMED', 'the model output is its input');
  const outName = producer.source;
  checkOutput(out.shape, outName);
  const pixelRescaling = rawPixelRescaling(placed);
  const model = tfl.model({ inputs: input!, outputs: out, name: (config.config.name as string | undefined) ?? 'imported' });
  try {
    for (const p of placed) {
      const current = (p.layer as unknown as { getWeights(): tf.Tensor[] }).getWeights();
      const values = p.weights ?? variablesFor(p, store.find(p.path, p.source.split('/').at(-1)!)).map((v, i) => {
        const want = current[i].shape;
        if (v.shape.length !== want.length || v.shape.some((d, k) => d !== want[k])) {
          throw new ImportError('IMPORT_MALFORMED', `layer ${p.source}: stored '${p.vars[i]}' is [${v.shape}], the layer needs [${want}]`, { subject: p.source });
        }
        return tf.tensor(v.data, v.shape);
      });
      try {
        p.layer.setWeights(values);
      } finally {
        tf.dispose(values);
      }
    }
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, outputLayer: producer.layer.name, sourceInput, sourceOutput: outName, pinned, flattened, renamed, pixelRescaling };
}

/**
 * Finds a Rescaling (a 1×1 depthwise convolution by now) that reads the input with a pixel-sized
 * scale and multiplies its scale by 255: pixel × s + o = (pixel / 255) × 255s + o.
 */
function rawPixelRescaling(placed: Placed[]): string | null {
  const p = placed.find((q) => q.readsInput && q.className === 'Rescaling');
  if (!p?.weights) return null;
  const scale = p.weights[0].dataSync();
  if (!scale.every((s) => s !== 0 && Math.abs(s) <= PIXEL_SCALE_MAX)) return null;
  const unit = tf.mul(p.weights[0], 255);
  p.weights[0].dispose();
  p.weights[0] = unit;
  return p.source;
}

function checkOutput(shape: (number | null)[], name: string): void {
  if (shape.length !== 4) throw new ImportError('IMPORT_BAD_RANK', `output ${name} has shape [${shape.map((d) => d ?? '?')}]; edgeseg serves per-pixel logits [N, 128, 128, classes]`, { subject: name });
  const [, h, w, c] = shape;
  if (h !== INPUT_SIZE || w !== INPUT_SIZE) throw new ImportError('IMPORT_BAD_SHAPE', `output ${name} is ${h}×${w}; edgeseg's masks are ${INPUT_SIZE}×${INPUT_SIZE}`, { subject: name });
  if (c !== NUM_CLASSES) throw new ImportError('IMPORT_CLASSES_MISMATCH', `output ${name} has ${c} classes; edgeseg serves ${NUM_CLASSES}`, { subject: name });
}
