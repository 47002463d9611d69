/**
 * Keras model configs as Keras 2 (tf.keras, tfjs) and Keras 3 write them, read into one shape.
 * The dialects differ in how a layer names its inputs: Keras 2 lists `[layer, node, tensor,
 * kwargs]` arrays per call; Keras 3 serialises the call's arguments, with each input a
 * `__keras_tensor__` whose `keras_history` is `[layer, node, tensor]`. Model inputs and outputs are
 * lists of `[layer, node, tensor]`, or one such triple bare when there is a single one.
 */
import { ImportError } from '../../core/errors.js';

/** One layer entry of a Functional/Sequential config. */
export interface KerasLayerConfig {
  class_name: string;
  /** Keras 3 keeps it beside `config`; Keras 2 inside. */
  name?: string;
  config: Record<string, unknown> & { name?: string; layers?: KerasLayerConfig[] };
  inbound_nodes?: unknown[];
  build_config?: { input_shape?: unknown };
}

/** A model config: `{class_name: Functional|Model|Sequential, config: {...}}`. */
export interface KerasModelConfig {
  class_name: string;
  config: Record<string, unknown> & { name?: string; layers: KerasLayerConfig[]; input_layers?: unknown; output_layers?: unknown };
}

/** A reference to one output tensor of one call of a layer. */
export interface TensorRef {
  layer: string;
  node: number;
  tensor: number;
}

export const CONTAINER_CLASSES = new Set(['Functional', 'Model', 'Sequential']);

export function layerName(l: KerasLayerConfig): string {
  const name = l.config?.name ?? l.name;
  if (typeof name !== 'string' || !name) throw new ImportError('IMPORT_MALFORMED', `a ${l.class_name} layer has no name`);
  return name;
}

function isTriple(v: unknown): v is [string, number, number, ...unknown[]] {
  return Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'number';
}

/** `input_layers`/`output_layers` in either form → refs. */
export function ioRefs(value: unknown, where: string): TensorRef[] {
  if (isTriple(value)) return [{ layer: value[0], node: value[1], tensor: value[2] }];
  if (Array.isArray(value) && value.every(isTriple)) return value.map((v) => ({ layer: v[0], node: v[1], tensor: v[2] }));
  throw new ImportError('IMPORT_MALFORMED', `${where}: input/output layers ${JSON.stringify(value)?.slice(0, 80)} are not [layer, node, tensor] lists`);
}

/** Every Keras 3 `__keras_tensor__` in a call's arguments, in argument order. */
function kerasTensors(value: unknown, out: TensorRef[]): void {
  if (Array.isArray(value)) {
    for (const v of value) kerasTensors(v, out);
  } else if (value && typeof value === 'object') {
    const o = value as { class_name?: string; config?: { keras_history?: unknown } };
    if (o.class_name === '__keras_tensor__' && isTriple(o.config?.keras_history)) {
      const [layer, node, tensor] = o.config.keras_history;
      out.push({ layer, node, tensor });
    }
  }
}

/**
 * The input tensors of each call of a layer, in either dialect. Keras 3 call keyword arguments
 * (a `mask: null`, `training`) carry no tensors and are ignored.
 */
export function inboundCalls(l: KerasLayerConfig): TensorRef[][] {
  const nodes = l.inbound_nodes ?? [];
  return nodes.map((node) => {
    const refs: TensorRef[] = [];
    if (Array.isArray(node)) {
      for (const t of node) if (isTriple(t)) refs.push({ layer: t[0], node: t[1], tensor: t[2] });
    } else if (node && typeof node === 'object' && 'args' in node) {
      kerasTensors((node as { args: unknown }).args, refs);
      for (const v of Object.values((node as { kwargs?: Record<string, unknown> }).kwargs ?? {})) kerasTensors(v, refs);
    } else {
      throw new ImportError('IMPORT_MALFORMED', `layer ${layerName(l)} has an inbound node edgeseg cannot read: ${JSON.stringify(node).slice(0, 80)}`);
    }
    return refs;
  });
}

/** The input shape an InputLayer declares (Keras 3 `batch_shape`, Keras 2 `batch_input_shape`). */
export function inputLayerShape(l: KerasLayerConfig): (number | null)[] | null {
  const c = l.config as { batch_shape?: (number | null)[]; batch_input_shape?: (number | null)[] };
  return c.batch_shape ?? c.batch_input_shape ?? null;
}

/**
 * A model config, checked: what tfjs' topology (`modelTopology`, or its `model_config`), a Keras 3
 * `config.json` or an HDF5 `model_config` attribute holds.
 */
export function modelConfigOf(json: unknown, where: string): KerasModelConfig {
  let c = json as { class_name?: string; config?: { layers?: unknown }; model_config?: unknown };
  if (c && typeof c === 'object' && c.model_config) c = c.model_config as typeof c;
  if (!c || typeof c !== 'object' || typeof c.class_name !== 'string' || !Array.isArray(c.config?.layers)) {
    throw new ImportError('IMPORT_MALFORMED', `${where} holds no Keras model config (class_name + config.layers)`);
  }
  if (!CONTAINER_CLASSES.has(c.class_name)) {
    throw new ImportError('IMPORT_UNSUPPORTED_FORMAT', `${where} holds a ${c.class_name}, not a Functional or Sequential model`);
  }
  return c as KerasModelConfig;
}

/** Keras' snake_case of a class name (`Conv2DTranspose` → `conv2d_transpose`), as its weight files name layers. */
export function snakeCase(name: string): string {
  return name
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}
