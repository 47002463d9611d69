/**
 * Renames a layer in saved tfjs artifacts: its topology entry, every reference to it (inbound
 * nodes, model inputs and outputs) and its weights' names. The import gives the layer that makes
 * the output the contract's output name this way, after the graph is built (a tfjs layer's name is
 * fixed when it is made, before the import knows which one ends the graph).
 */
import type { io } from '@tensorflow/tfjs-core';
import type { TopologyJson } from '../graph.js';

export function renameLayer(artifacts: io.ModelArtifacts, from: string, to: string): io.ModelArtifacts {
  if (from === to) return artifacts;
  const topology = structuredClone(artifacts.modelTopology) as TopologyJson;
  const ref = (r: unknown[]) => (r[0] === from ? [to, ...r.slice(1)] : r);
  for (const l of topology.config.layers) {
    if (l.name === from) {
      l.name = to;
      l.config.name = to;
    }
    l.inbound_nodes = l.inbound_nodes.map((node) => node.map((r) => ref(r) as (typeof node)[number]));
  }
  topology.config.input_layers = topology.config.input_layers.map((r) => ref(r) as [string, number, number]);
  topology.config.output_layers = topology.config.output_layers.map((r) => ref(r) as [string, number, number]);
  const weightSpecs = (artifacts.weightSpecs ?? []).map((s) => (s.name.startsWith(`${from}/`) ? { ...s, name: `${to}/${s.name.slice(from.length + 1)}` } : s));
  return { ...artifacts, modelTopology: topology as unknown as object, weightSpecs };
}
