/**
 * The stored variables of a Keras model, from any of the files that hold them, keyed so the graph
 * builder finds each layer's: by its path of names through nested models
 * (`down_stack/stem_conv`) and by its own name when that is unique.
 * - Keras 3 `model.weights.h5` (inside `.keras`): `layers/<key>/vars/<i>`, nested models under
 *   `layers/<key>/layers/…`; `<key>` is a class-based name and `vars` carries the layer's real
 *   `name` (older files lack it: the key is then matched as Keras derives it from the config).
 * - Full-model HDF5 (Keras 3 or tf.keras 2): `model_weights/<top layer>/` with a `weight_names`
 *   list of `[…/]<layer>/<variable>[:0]` paths.
 * - tfjs layers weights: a manifest of `[…/]<layer>/<variable>` names.
 */
import type { io } from '@tensorflow/tfjs-core';
import { tf } from '../../core/node/tfjs.js';
import type { Hdf5File } from './hdf5.js';
import { ImportError } from '../../core/errors.js';
import { CONTAINER_CLASSES, layerName, snakeCase, type KerasLayerConfig, type KerasModelConfig } from './keras_config.js';

export interface StoredVariable {
  shape: number[];
  data: Float32Array;
}

/** A layer's variables: by name (HDF5 full models, tfjs) or in the layer's own order (`.keras`). */
export type LayerVariables = { byName: Map<string, StoredVariable> } | { byIndex: StoredVariable[] };

export class WeightStore {
  private readonly entries = new Map<string, LayerVariables>();
  /** Plain layer names registered from more than one path. */
  private readonly ambiguous = new Set<string>();

  /** Registers a layer's variables under its path (outermost model first) and its own name. */
  add(path: readonly string[], layer: string, vars: LayerVariables): void {
    if (path.length) this.entries.set([...path, layer].join('/'), vars);
    if (this.entries.has(layer) && path.length) this.ambiguous.add(layer);
    else if (!path.length || !this.entries.has(layer)) this.entries.set(layer, vars);
  }

  /** A layer's variables, found by its full path, its outermost model and name, or its name. */
  find(path: readonly string[], layer: string): LayerVariables | null {
    const keys = [[...path, layer].join('/'), ...(path.length > 1 ? [`${path[0]}/${layer}`] : [])];
    for (const k of keys) {
      const hit = this.entries.get(k);
      if (hit) return hit;
    }
    if (this.ambiguous.has(layer)) {
      throw new ImportError('IMPORT_MALFORMED', `layer name ${layer} appears in several nested models and the weights file does not say which is which`, { subject: layer });
    }
    return this.entries.get(layer) ?? null;
  }
}

function addByName(store: WeightStore, names: { path: string[]; layer: string; variable: string; value: StoredVariable }[]): void {
  const grouped = new Map<string, { path: string[]; layer: string; vars: Map<string, StoredVariable> }>();
  for (const n of names) {
    const key = [...n.path, n.layer].join('/');
    const g = grouped.get(key) ?? { path: n.path, layer: n.layer, vars: new Map() };
    g.vars.set(n.variable, n.value);
    grouped.set(key, g);
  }
  for (const g of grouped.values()) store.add(g.path, g.layer, { byName: g.vars });
}

/** `[…/]<layer>/<variable>[:0]` → its parts. */
function splitWeightName(name: string, top: string | null): { path: string[]; layer: string; variable: string } {
  const parts = name.replace(/:\d+$/, '').split('/');
  const variable = parts.pop()!;
  const layer = parts.pop() ?? top ?? '';
  const path = top && top !== layer ? [top, ...parts.filter((p) => p !== top)] : parts;
  return { path, layer, variable };
}

/** Variables of a full-model HDF5 file (`model_weights/…`), Keras 3 or tf.keras 2. */
export function weightsFromModelH5(h5: Hdf5File): WeightStore {
  const store = new WeightStore();
  const root = 'model_weights';
  const layers = (h5.attr(root, 'layer_names') as string[] | null) ?? h5.keys(root);
  const found: Parameters<typeof addByName>[1] = [];
  for (const top of layers) {
    const names = h5.attr(`${root}/${top}`, 'weight_names');
    for (const name of Array.isArray(names) ? names : names ? [names] : []) {
      found.push({ ...splitWeightName(name, top), value: h5.dataset(`${root}/${top}/${name}`) });
    }
  }
  addByName(store, found);
  return store;
}

/** Variables of a tfjs layers model's weights (quantized ones dequantized as tfjs loads them). */
export function weightsFromTfjs(specs: io.WeightsManifestEntry[], data: ArrayBuffer): WeightStore {
  const store = new WeightStore();
  const tensors = tf.io.decodeWeights(data, specs);
  try {
    addByName(
      store,
      Object.entries(tensors).map(([name, t]) => ({ ...splitWeightName(name, null), value: { shape: t.shape, data: Float32Array.from(t.dataSync()) } })),
    );
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return store;
}

/** The keys Keras 3 gives a container's layers in its weights file, from the config, for files whose `vars` carry no name. */
function derivedKeys(layers: KerasLayerConfig[], sequential: boolean): Map<string, string> {
  const counts = new Map<string, number>();
  const keys = new Map<string, string>();
  for (const l of layers) {
    if (sequential && l.class_name === 'InputLayer') continue;
    const base = snakeCase(CONTAINER_CLASSES.has(l.class_name) && l.class_name !== 'Sequential' ? 'Functional' : l.class_name);
    const n = counts.get(base) ?? 0;
    counts.set(base, n + 1);
    keys.set(n === 0 ? base : `${base}_${n}`, layerName(l));
  }
  return keys;
}

/** Variables of a Keras 3 `model.weights.h5`, walked alongside the model config. */
export function weightsFromKeras3(h5: Hdf5File, config: KerasModelConfig): WeightStore {
  const store = new WeightStore();
  const visit = (group: string, container: KerasModelConfig | KerasLayerConfig, path: string[]) => {
    const layers = container.config.layers ?? [];
    const derived = derivedKeys(layers, container.class_name === 'Sequential');
    const byName = new Map(layers.map((l) => [layerName(l), l]));
    for (const key of h5.keys(`${group}/layers`)) {
      const child = `${group}/layers/${key}`;
      const name = (h5.attr(`${child}/vars`, 'name') as string | null) ?? derived.get(key);
      const l = name === undefined ? undefined : byName.get(name);
      if (!name || !l) throw new ImportError('IMPORT_MALFORMED', `${h5.name}: weights group ${child} matches no layer of the config`);
      if (h5.has(`${child}/layers`)) {
        visit(child, l, [...path, name]);
        continue;
      }
      const vars = h5
        .keys(`${child}/vars`)
        .filter((k) => /^\d+$/.test(k))
        .sort((a, b) => Number(a) - Number(b))
        .map((k) => h5.dataset(`${child}/vars/${k}`));
      if (vars.length) store.add(path, name, { byIndex: vars });
    }
  };
  visit('', config, []);
  return store;
}
