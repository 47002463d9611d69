/**
 * A small editable view of a tfjs layers topology (Keras JSON) plus its named weights, on which
 * the converter's rewrite rules operate. Only single-node, single-output layers are supported —
 * what edgeseg's functional U-Nets are made of.
 */
import { ModelFormatError } from '../core/index.js';

export interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown> & { name: string };
  /** [[[inboundLayer, nodeIndex, tensorIndex, kwargs], …]] */
  inbound_nodes: [string, number, number, Record<string, unknown>][][];
}

export interface TopologyJson {
  class_name: string;
  config: { name: string; layers: LayerJson[]; input_layers: [string, number, number][]; output_layers: [string, number, number][] };
  keras_version?: string;
  backend?: string;
}

export class LayerGraph {
  readonly topology: TopologyJson;
  /** Weight name (`layer/param`) → values; shapes in `shapes`. */
  readonly weights: Map<string, Float32Array>;
  readonly shapes: Map<string, number[]>;

  constructor(topology: TopologyJson, weights: Map<string, Float32Array>, shapes: Map<string, number[]>) {
    this.topology = structuredClone(topology);
    this.weights = weights;
    this.shapes = shapes;
    for (const l of this.layers) {
      if (l.inbound_nodes.length > 1) throw new ModelFormatError('MODEL_MALFORMED', `layer ${l.name} is applied more than once; shared layers are not supported by the converter`);
    }
  }

  get layers(): LayerJson[] {
    return this.topology.config.layers;
  }

  layer(name: string): LayerJson {
    const l = this.layers.find((x) => x.name === name);
    if (!l) throw new ModelFormatError('MODEL_MALFORMED', `topology has no layer ${name}`);
    return l;
  }

  /** Names of the layers that take `name` as an input, and whether it is a model output. */
  consumers(name: string): LayerJson[] {
    return this.layers.filter((l) => l.inbound_nodes.some((node) => node.some(([src]) => src === name)));
  }

  isOutput(name: string): boolean {
    return this.topology.config.output_layers.some(([n]) => n === name);
  }

  inputsOf(layer: LayerJson): string[] {
    return (layer.inbound_nodes[0] ?? []).map(([src]) => src);
  }

  /** Removes a single-input layer, wiring its consumers (and model outputs) to its input. */
  bypass(name: string): void {
    const layer = this.layer(name);
    const inputs = this.inputsOf(layer);
    if (inputs.length !== 1) throw new ModelFormatError('MODEL_MALFORMED', `cannot bypass ${name}: it has ${inputs.length} inputs`);
    const [src] = inputs;
    for (const c of this.consumers(name)) {
      for (const node of c.inbound_nodes) for (const edge of node) if (edge[0] === name) edge[0] = src;
    }
    for (const o of this.topology.config.output_layers) if (o[0] === name) o[0] = src;
    this.topology.config.layers = this.layers.filter((l) => l.name !== name);
    for (const key of [...this.weights.keys()]) {
      if (key.startsWith(`${name}/`)) {
        this.weights.delete(key);
        this.shapes.delete(key);
      }
    }
  }

  weight(name: string): Float32Array {
    const w = this.weights.get(name);
    if (!w) throw new ModelFormatError('WEIGHTS_MISMATCH', `weight ${name} is missing`);
    return w;
  }

  setWeight(name: string, values: Float32Array, shape: number[]): void {
    this.weights.set(name, values);
    this.shapes.set(name, shape);
  }
}
