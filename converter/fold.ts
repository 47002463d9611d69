/**
 * Layers artifacts ⇄ the editable LayerGraph, and the rewrite pass (training-only layers out,
 * BatchNorm folded, activations fused). The result is still a tfjs layers model that stock
 * `tf.loadLayersModel` loads.
 */
import type { io } from '@tensorflow/tfjs-core';
import { ModelFormatError } from '../core/index.js';
import { tf } from '../core/node/tfjs.js';
import { LayerGraph, type TopologyJson } from './graph.js';
import { REWRITE_RULES } from './rules/index.js';
import type { RewriteRule } from './rules/rule.js';

export function graphFromArtifacts(modelJson: io.ModelJSON, weightData: ArrayBuffer): LayerGraph {
  const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
  const decoded = tf.io.decodeWeights(weightData, specs);
  const weights = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  for (const spec of specs) {
    const t = decoded[spec.name];
    if (t.dtype !== 'float32') throw new ModelFormatError('MODEL_MALFORMED', `weight ${spec.name} is ${t.dtype}; the converter handles float weights only`);
    weights.set(spec.name, t.dataSync() as Float32Array);
    shapes.set(spec.name, spec.shape);
    t.dispose();
  }
  return new LayerGraph(modelJson.modelTopology as TopologyJson, weights, shapes);
}

export type RewriteReport = Record<string, string[]>;

export function rewrite(graph: LayerGraph, rules: readonly RewriteRule[] = REWRITE_RULES): RewriteReport {
  const report: RewriteReport = {};
  for (const rule of rules) report[rule.name] = rule.apply(graph);
  return report;
}

/** fp32 artifacts of a graph (the quantizer re-encodes weights later). */
export function graphToArtifacts(graph: LayerGraph): io.ModelArtifacts {
  const specs: io.WeightsManifestEntry[] = [];
  const parts: Float32Array[] = [];
  for (const [name, values] of graph.weights) {
    specs.push({ name, shape: graph.shapes.get(name)!, dtype: 'float32' });
    parts.push(values);
  }
  const data = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  return { modelTopology: graph.topology as unknown as object, format: 'layers-model', weightSpecs: specs, weightData: data.buffer };
}
