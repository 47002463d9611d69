/**
 * LayerGraph (a rewritten edgeseg U-Net) → ONNX ModelProto bytes, opset 13.
 *
 * The graph's boundary keeps the model contract: input `image` [N, 128, 128, 3] float32 NHWC, fed
 * by the same core preprocessing as tfjs (the card's input normalization applied before the
 * graph, recorded in the model's metadata), output `logits` [N, 128, 128, 3] NHWC. Inside, tensors
 * are NCHW, ONNX's layout: one Transpose after the input and one before the output, nothing in
 * between. An optional `class_ids` output (uint8 [N, 128, 128]) is the in-graph argmax.
 */
import { ContractError, INPUT_CHANNELS, INPUT_NAME, INPUT_NORMALIZATIONS, INPUT_SIZE, ModelFormatError, NUM_CLASSES, OUTPUT_NAME, type InputNormalization } from '../../core/index.js';
import { CLASS_IDS_NAME, DEFAULT_NORMALIZATION, isInputNormalization } from '../../core/contract.js';
import type { LayerGraph, LayerJson } from '../graph.js';
import { OnnxGraphBuilder } from './builder.js';
import { LAYER_EMITTERS, type OnnxTensor } from './layers.js';
import { encodeModel, IR_VERSION, ONNX_DTYPE, type ValueInfoProto } from '../../core/node/onnx/proto.js';
import { activationQuant, WeightWriter, type ActivationQuant, type OnnxWeightEncoding } from './weights.js';

export const ONNX_OPSET = 13;

export interface OnnxExportOptions {
  /** How weights are stored. `int8` needs `activationRanges`. @default 'float32' */
  weights?: OnnxWeightEncoding;
  /** int8: calibrated [min, max] of every layer's output, by layer name (see `activationTensorNames`). */
  activationRanges?: ReadonlyMap<string, readonly [number, number]>;
  /** Add the `class_ids` output (argmax over classes, uint8). @default true */
  argmax?: boolean;
  /** Also output every layer's result (NCHW float32, named by layer) — for calibration. @default false */
  exposeActivations?: boolean;
  /** Free text recorded in the model's doc string and metadata (model name, version). */
  metadata?: Record<string, string>;
  /**
   * The input normalization of the model (its card's contract). The graph takes the normalised
   * input, as tfjs does; for int8 it decides the input's quantization. @default 'unit'
   */
  normalization?: InputNormalization;
}

export interface OnnxExport {
  bytes: Uint8Array;
  /** Bytes of the initializers (weights, scales). */
  weightBytes: number;
  /** Layer names whose outputs `exposeActivations` adds, in graph order. */
  activations: string[];
}

/** Internal name of a layer's output tensor (the boundary names are the contract's). */
const tensorOf = (layer: string) => `${layer}:0`;

/** Layers in an order where every layer follows its inputs. */
function topologicalOrder(graph: LayerGraph): LayerJson[] {
  const done = new Set<string>();
  const order: LayerJson[] = [];
  const visit = (layer: LayerJson, path: Set<string>) => {
    if (done.has(layer.name)) return;
    if (path.has(layer.name)) throw new ModelFormatError('MODEL_MALFORMED', `topology has a cycle through ${layer.name}`);
    path.add(layer.name);
    for (const src of graph.inputsOf(layer)) visit(graph.layer(src), path);
    path.delete(layer.name);
    done.add(layer.name);
    order.push(layer);
  };
  for (const l of graph.layers) visit(l, new Set());
  return order;
}

function valueInfo(name: string, elemType: number, dims: (number | string)[] | null): ValueInfoProto {
  const shape = { dim: (dims ?? []).map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType: { elemType, ...(dims ? { shape } : {}) } } } as ValueInfoProto;
}

/** Layer names whose outputs are calibrated for int8 export: every layer but the input and the logits. */
export function activationTensorNames(graph: LayerGraph): string[] {
  return topologicalOrder(graph)
    .filter((l) => l.class_name !== 'InputLayer' && !graph.isOutput(l.name))
    .map((l) => l.name);
}

export function exportOnnx(graph: LayerGraph, options: OnnxExportOptions = {}): OnnxExport {
  const { weights: encoding = 'float32', argmax = true, exposeActivations = false, normalization = DEFAULT_NORMALIZATION } = options;
  if (!isInputNormalization(normalization)) throw new ContractError(`input normalization '${normalization}' is not one of ${Object.keys(INPUT_NORMALIZATIONS).join('|')}`);
  if (encoding === 'int8' && !options.activationRanges) throw new ModelFormatError('MODEL_MALFORMED', 'int8 ONNX export needs calibrated activation ranges');
  const inputs = graph.topology.config.input_layers;
  const outputs = graph.topology.config.output_layers;
  if (inputs.length !== 1 || outputs.length !== 1) throw new ModelFormatError('MODEL_MALFORMED', `ONNX export needs one input and one output, the model has ${inputs.length} and ${outputs.length}`);

  const b = new OnnxGraphBuilder();
  const writer = new WeightWriter(encoding, b);
  const tensors = new Map<string, OnnxTensor>();
  const quant = new Map<string, ActivationQuant>();
  const activations: string[] = [];
  const calibrated = new Set(encoding === 'int8' ? activationTensorNames(graph) : []);

  /** Final name of a layer's output; int8 routes it through Q → DQ first (MaxPool keeps its input's quantization). */
  const finish = (layer: LayerJson, produced: OnnxTensor, raw: string, inputQuant?: ActivationQuant): OnnxTensor => {
    const name = tensorOf(layer.name);
    if (calibrated.has(layer.name)) {
      const range = options.activationRanges!.get(layer.name);
      if (!range) throw new ModelFormatError('MODEL_MALFORMED', `no calibrated range for layer ${layer.name}`);
      const q = inputQuant ?? activationQuant(range[0], range[1]);
      writer.fakeQuantize(raw, name, q);
      quant.set(name, q);
    }
    return { ...produced, name };
  };

  for (const layer of topologicalOrder(graph)) {
    if (layer.class_name === 'InputLayer') {
      const shape = layer.config.batch_input_shape as (number | null)[] | undefined;
      if (shape && (shape[1] !== INPUT_SIZE || shape[2] !== INPUT_SIZE || shape[3] !== INPUT_CHANNELS)) {
        throw new ContractError(`input ${layer.name} has shape [${shape}], the contract's is [N, ${INPUT_SIZE}, ${INPUT_SIZE}, ${INPUT_CHANNELS}]`);
      }
      // The contract's input range, not a calibrated one: unit pixels are exactly q / 255. Symmetric
      // input (2p − 255) / 255 lies halfway between the points of any 8-bit grid over [−1, 1];
      // quantizing it would move every pixel by half a step, so it stays float and only the first
      // convolution reads float input (its weights are still int8).
      const quantizeInput = encoding === 'int8' && normalization === 'unit';
      const raw = quantizeInput ? `${tensorOf(layer.name)}/f` : tensorOf(layer.name);
      b.node('Transpose', [INPUT_NAME], [raw], { perm: { ints: [0, 3, 1, 2] } });
      const t: OnnxTensor = { name: tensorOf(layer.name), c: INPUT_CHANNELS, h: INPUT_SIZE, w: INPUT_SIZE };
      if (quantizeInput) {
        const q = activationQuant(0, 1);
        writer.fakeQuantize(raw, t.name, q);
        quant.set(t.name, q);
      }
      tensors.set(layer.name, t);
      continue;
    }
    const emit = LAYER_EMITTERS[layer.class_name];
    if (!emit) throw new ModelFormatError('MODEL_MALFORMED', `ONNX export: layer ${layer.name} is a ${layer.class_name}, which the exporter does not support (supported: ${Object.keys(LAYER_EMITTERS).join(', ')})`);
    const ins = graph.inputsOf(layer).map((src) => tensors.get(src)!);
    const raw = calibrated.has(layer.name) ? `${tensorOf(layer.name)}/f` : tensorOf(layer.name);
    const produced = emit({
      b,
      weights: writer,
      layer,
      inputs: ins,
      out: raw,
      param: (p) => ({ values: graph.weight(`${layer.name}/${p}`), shape: graph.shapes.get(`${layer.name}/${p}`)! }),
      hasParam: (p) => graph.weights.has(`${layer.name}/${p}`),
      quantOf: (t) => quant.get(t),
    });
    const t = finish(layer, produced, raw, layer.class_name === 'MaxPooling2D' ? quant.get(ins[0].name) : undefined);
    tensors.set(layer.name, t);
    if (exposeActivations && layer.class_name !== 'InputLayer' && !graph.isOutput(layer.name)) activations.push(layer.name);
  }

  const last = tensors.get(outputs[0][0])!;
  if (last.c !== NUM_CLASSES || last.h !== INPUT_SIZE || last.w !== INPUT_SIZE) {
    throw new ContractError(`model output is [N, ${last.h}, ${last.w}, ${last.c}], the contract's is [N, ${INPUT_SIZE}, ${INPUT_SIZE}, ${NUM_CLASSES}]`);
  }
  b.node('Transpose', [last.name], [OUTPUT_NAME], { perm: { ints: [0, 2, 3, 1] } });
  const graphOutputs = [valueInfo(OUTPUT_NAME, ONNX_DTYPE.float, ['N', INPUT_SIZE, INPUT_SIZE, NUM_CLASSES])];
  if (argmax) {
    // Over the NCHW logits (axis 1), first index on ties like tf.argMax.
    b.node('ArgMax', [last.name], [`${CLASS_IDS_NAME}/int64`], { axis: { i: 1 }, keepdims: { i: 0 } });
    b.node('Cast', [`${CLASS_IDS_NAME}/int64`], [CLASS_IDS_NAME], { to: { i: ONNX_DTYPE.uint8 } });
    graphOutputs.push(valueInfo(CLASS_IDS_NAME, ONNX_DTYPE.uint8, ['N', INPUT_SIZE, INPUT_SIZE]));
  }
  for (const a of activations) graphOutputs.push(valueInfo(tensors.get(a)!.name, ONNX_DTYPE.float, null));

  const metadata = Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value }));
  const bytes = encodeModel({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'edgeseg',
    producerVersion: '1',
    graph: {
      name: graph.topology.config.name,
      node: b.nodes,
      initializer: b.initializers,
      input: [valueInfo(INPUT_NAME, ONNX_DTYPE.float, ['N', INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS])],
      output: graphOutputs,
    },
    metadataProps: [...metadata, { key: 'weights', value: encoding }, { key: 'normalization', value: normalization }],
  });
  return { bytes, weightBytes: b.initializerBytes, activations };
}
