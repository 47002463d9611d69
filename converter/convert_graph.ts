/**
 * `convert` of edgeseg's own graph (a model trained here, or an imported Keras/tfjs one): rewrite
 * the fp32 parent (training-only layers out, BatchNorm folded, activations fused: `rewriteParent`),
 * plan and encode the weights (`planWeights`; `mixed` searches the cheapest plan within budget),
 * gate the tfjs variant, and with `format` onnx or both export the rewritten graph to ONNX (fp32,
 * fp16 weights, or int8 QDQ calibrated on data) gated the same way (`exportOnnxModel`).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { tfjsModelOf } from '../core/artifacts.js';
import { normalizationOf } from '../core/contract.js';
import type { VerifiedModelDir } from '../core/node/artifact_fs.js';
import type { ActiveBackend } from '../core/node/backends/select.js';
import { tf, tfl } from '../core/node/tfjs.js';
import type { ResolvedConvertOptions } from './convert_options.js';
import { graphFromArtifacts, graphToArtifacts, rewrite } from './fold.js';
import { accuracyGate, calibrateRanges, predictMasks, predictMasksOnnx, type ConversionData, type HeldOutSet, type MaskEval } from './measure.js';
import { searchMixed, type MixedResult } from './mixed.js';
import { ONNX_OPSET, exportOnnx } from './onnx/export.js';
import { encodeWeights, planBytes, planDtypes, precisionOf, PRECISION_DTYPE, type WeightDtype } from './quantize.js';
import type { OnnxVariantInfo, Variant } from './variant_card.js';

type Progress = (message: string) => void;
type Rewritten = ReturnType<typeof rewriteParent>;
type HeldOut = { set: HeldOutSet; parentEval: MaskEval } | null;

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

async function modelFromArtifacts(topology: object, specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer): Promise<LayersModel> {
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: topology, weightSpecs: specs, weightData: data }));
}

/** Step 1: the fp32 parent's graph with training-only layers out, BatchNorm folded, activations fused. */
function rewriteParent(parent: VerifiedModelDir, progress: Progress) {
  const parentJson = tfjsModelOf(parent, parent.dir);
  const graph = graphFromArtifacts(parentJson, parent.weightData);
  const rewrites = rewrite(graph);
  progress(`rewrites: ${Object.entries(rewrites).map(([rule, changes]) => `${rule} ×${changes.length}`).join(', ')}`);
  return { parentJson, graph, rewrites, folded: graphToArtifacts(graph), names: [...graph.weights.keys()] };
}

/** Step 2: the weight dtype plan — the precision's (plus overrides), or for `mixed` the cheapest plan within budget. */
async function planWeights(o: ResolvedConvertOptions, r: Rewritten, held: HeldOut, progress: Progress): Promise<{ plan: Map<string, WeightDtype>; mixed: MixedResult | null }> {
  if (o.precision !== 'mixed') return { plan: planDtypes(r.names, PRECISION_DTYPE[o.precision], o.overrides), mixed: null };
  const foldedModel = await modelFromArtifacts(r.folded.modelTopology as object, r.folded.weightSpecs!, r.folded.weightData as ArrayBuffer);
  try {
    const mixed = await searchMixed(foldedModel, r.graph.weights, r.graph.shapes, held!.set, {
      budget: o.maxMiouDrop!,
      parentMiou: held!.parentEval.metrics.miou,
      groupBy: o.groupBy,
      onProgress: progress,
    });
    progress(`mixed: ${mixed.kept.length} of ${new Set(r.names.map((n) => n.slice(0, n.lastIndexOf('/')))).size} layers kept wide, ${(planBytes(r.graph.shapes, mixed.plan) / 1024).toFixed(0)} KiB, ${mixed.trials} trials`);
    return { plan: mixed.plan, mixed };
  } finally {
    foldedModel.dispose();
  }
}

/** Step 3 (format onnx|both): the ONNX model, calibrated for int8, measured in ONNX Runtime behind the gate. */
async function exportOnnxModel(o: ResolvedConvertOptions, parent: VerifiedModelDir, r: Rewritten, data: ConversionData, held: HeldOut, progress: Progress): Promise<{ info: OnnxVariantInfo; bytes: Uint8Array }> {
  const variant = o.onnxVariant!;
  let ranges: Map<string, [number, number]> | undefined;
  let calibrated: OnnxVariantInfo['calibration'] = null;
  if (variant.weights === 'int8') {
    // The fp32 export with every calibrated layer output exposed (`activationTensorNames`).
    const probe = exportOnnx(r.graph, { argmax: false, exposeActivations: true });
    const calibration = data.calibration!;
    const measured = await calibrateRanges(probe.bytes, probe.activations.map((a) => `${a}:0`), calibration);
    ranges = new Map(probe.activations.map((a) => [a, measured.get(`${a}:0`)!]));
    calibrated = { spec: `${calibration.spec}#train`, samples: calibration.samples };
    progress(`onnx: activation ranges of ${ranges.size} tensors calibrated on ${calibration.samples} samples of ${calibration.spec}`);
  }
  const exported = exportOnnx(r.graph, {
    weights: variant.weights,
    activationRanges: ranges,
    metadata: { name: parent.card.name, parentVersion: parent.card.version },
    normalization: normalizationOf(parent.card),
  });
  const comparison = held
    ? accuracyGate(
        { label: `onnx ${variant.file}`, subject: `ONNX ${variant.weights} model` },
        held.parentEval,
        await predictMasksOnnx(exported.bytes, held.set),
        { budget: o.maxMiouDrop, heldOut: held.set.spec, fix: 'Try a wider --precision, a larger --calibrate set, or a larger --max-miou-drop.' },
        progress,
      )
    : null;
  return {
    info: { file: variant.file, weights: variant.weights, opset: ONNX_OPSET, bytes: exported.bytes.byteLength, ratioVsParent: exported.bytes.byteLength / parent.card.bytes, comparison, calibration: calibrated },
    bytes: exported.bytes,
  };
}

/** The variant of edgeseg's own graph: rewritten, planned and encoded, the tfjs model (on `backend`) and its ONNX model gated. */
export async function graphVariant(o: ResolvedConvertOptions, parent: VerifiedModelDir, data: ConversionData, backend: ActiveBackend, progress: Progress): Promise<Variant> {
  const r = rewriteParent(parent, progress);
  let held: HeldOut = null;
  if (data.heldOut) {
    const parentModel = await modelFromArtifacts(r.parentJson.modelTopology as object, r.parentJson.weightsManifest.flatMap((g) => g.weights), parent.weightData);
    try {
      held = { set: data.heldOut, parentEval: await predictMasks(parentModel, data.heldOut) };
    } finally {
      parentModel.dispose();
    }
    progress(`parent ${parent.card.name}@${parent.card.version}: mIoU ${pct(held.parentEval.metrics.miou)} on ${data.heldOut.samples} held-out images`);
  }
  const { plan, mixed } = await planWeights(o, r, held, progress);
  const encoded = encodeWeights(r.graph.weights, r.graph.shapes, plan);
  const variantModel = await modelFromArtifacts(r.folded.modelTopology as object, encoded.specs, encoded.data);
  try {
    // An ONNX-only variant is gated on the ONNX model below; its tfjs weights are never written.
    const comparison =
      held && o.format !== 'onnx'
        ? accuracyGate(
            { label: 'variant', subject: `${precisionOf(plan)} variant` },
            held.parentEval,
            await predictMasks(variantModel, held.set),
            { budget: o.maxMiouDrop, heldOut: held.set.spec, fix: 'Try --precision mixed, a wider dtype, or a larger --max-miou-drop.' },
            progress,
          )
        : null;
    const onnx = o.onnxVariant ? await exportOnnxModel(o, parent, r, data, held, progress) : null;
    return {
      precision: precisionOf(plan),
      format: o.format,
      artifacts: { ...r.folded, weightSpecs: encoded.specs, weightData: encoded.data },
      extras: onnx ? [{ path: onnx.info.file, data: onnx.bytes }] : [],
      write: o.format === 'onnx' ? { tfjs: false, weightDtypes: Object.fromEntries(r.names.map((n) => [n, o.onnxVariant!.weights])) } : {},
      rewrites: r.rewrites,
      comparison,
      onnx: onnx?.info ?? null,
      mixed,
      backend,
    };
  } finally {
    variantModel.dispose();
  }
}
