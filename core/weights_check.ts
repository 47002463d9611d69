/**
 * The weights manifest checked against what the model says it is: every weight has the shape its
 * layer in the topology expects (not just a byte count that happens to add up), its stored dtype
 * is the one the card records and the card's precision allows, each weight's byte range lies in
 * its group's shards, and the topology's input/output agree with the card's contract. Shared by
 * `edgeseg verify`, predict, stream and the browser loader through `readVerifiedModel`.
 */
import type { io } from '@tensorflow/tfjs-core';
import type { ModelCard } from './card.js';
import { ContractError, ModelFormatError } from './errors.js';
import { summarizeTopology } from './topology.js';

const PRECISION_DTYPES: Record<string, readonly string[]> = {
  fp32: ['float32'],
  fp16: ['float16'],
  uint8: ['uint8'],
  uint16: ['uint16'],
  mixed: ['float32', 'float16', 'uint8', 'uint16'],
};

const mismatch = (message: string) => new ModelFormatError('WEIGHTS_MISMATCH', message);

/** Stored dtype of a manifest entry (quantized weights are stored in their quantization dtype). */
function storedDtype(spec: io.WeightsManifestEntry): string {
  return spec.quantization?.dtype ?? spec.dtype;
}

/**
 * Throws `WEIGHTS_MISMATCH` (weights vs topology/card), `CONTRACT_MISMATCH` (input/output vs the
 * card's contract) or `MODEL_MALFORMED` (a topology that cannot be read). `groupBytes` holds each
 * manifest group's shard bytes, in manifest order.
 */
export function checkWeightsAgainstModel(modelJson: io.ModelJSON, card: ModelCard, groupBytes: number[], where: string): void {
  const topo = summarizeTopology(modelJson.modelTopology);
  const expected = new Map(topo.weights.map((w) => [w.name, w.shape]));
  const seen = new Set<string>();
  const dtypes = new Set<string>();
  const bytesPer: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };
  for (const [g, group] of modelJson.weightsManifest.entries()) {
    let offset = 0;
    for (const spec of group.weights) {
      if (seen.has(spec.name)) throw mismatch(`${where}: weight ${spec.name} is listed twice in model.json`);
      seen.add(spec.name);
      const want = expected.get(spec.name);
      const opaque = !want && topo.opaque.some((l) => spec.name.startsWith(`${l}/`));
      if (!want && !opaque) throw mismatch(`${where}: weight ${spec.name} belongs to no layer of the model's topology`);
      const same = opaque || (want!.length === spec.shape.length && want!.every((d, i) => d === null || d === spec.shape[i]));
      if (!same) throw mismatch(`${where}: weight ${spec.name} has shape [${spec.shape}] in model.json, but its layer needs [${want!.map((d) => d ?? '?')}]`);
      const stored = storedDtype(spec);
      if (spec.quantization && spec.dtype !== 'float32') throw mismatch(`${where}: quantized weight ${spec.name} must dequantize to float32, not ${spec.dtype}`);
      const recorded = card.weightDtypes?.[spec.name];
      if (recorded !== stored) throw mismatch(`${where}: weight ${spec.name} is stored as ${stored} in model.json but card.json records ${recorded ?? 'nothing'}`);
      if (!PRECISION_DTYPES[card.precision]?.includes(stored)) throw mismatch(`${where}: weight ${spec.name} is stored as ${stored}, which a ${card.precision} model does not hold`);
      dtypes.add(stored);
      const size = spec.shape.reduce((a, b) => a * b, 1) * bytesPer[stored];
      if (offset + size > groupBytes[g]) throw mismatch(`${where}: weight ${spec.name} needs bytes ${offset}–${offset + size} but group ${g + 1}'s shards hold ${groupBytes[g]}`);
      offset += size;
    }
  }
  const missing = [...expected.keys()].filter((n) => !seen.has(n));
  if (missing.length) throw mismatch(`${where}: model.json lacks ${missing.length} weight(s) its topology needs: ${missing.slice(0, 5).join(', ')}`);
  const extra = Object.keys(card.weightDtypes ?? {}).filter((n) => !seen.has(n));
  if (extra.length) throw mismatch(`${where}: card.json records dtypes of weights model.json does not hold: ${extra.slice(0, 5).join(', ')}`);
  if (card.precision === 'mixed' && dtypes.size < 2 && seen.size > 1) throw mismatch(`${where}: card.json says mixed precision but every weight is ${[...dtypes][0]}`);
  const total = groupBytes.reduce((a, b) => a + b, 0);
  if (card.bytes !== total) throw mismatch(`${where}: card.json says the weights take ${card.bytes} bytes, the shards hold ${total}`);

  const c = card.contract;
  const dims = (s: readonly (number | null)[] | null) => `[${(s ?? []).map((d) => d ?? '?')}]`;
  if (topo.input.name !== c.input.name) throw new ContractError(`${where}: model.json's input layer is ${topo.input.name}, the card's contract names ${c.input.name}`);
  const inWant = c.input.shape.slice(1);
  if (topo.input.shape.length !== inWant.length || topo.input.shape.some((d, i) => d !== inWant[i])) {
    throw new ContractError(`${where}: model.json's input ${topo.input.name} is ${dims(topo.input.shape)}, the card's contract says ${dims(inWant)}`);
  }
  if (topo.output.name !== c.output.name) throw new ContractError(`${where}: model.json's output layer is ${topo.output.name}, the card's contract names ${c.output.name}`);
  const outWant = c.output.shape.slice(1);
  const out = topo.output.shape;
  if (out !== null && (out.length !== outWant.length || out.some((d, i) => d !== null && d !== outWant[i]))) {
    throw new ContractError(`${where}: model.json's output ${topo.output.name} is ${dims(out)}, the card's contract says ${dims(outWant)}`);
  }
}
