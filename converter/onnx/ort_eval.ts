/**
 * Runs exported ONNX models with onnxruntime-node over a sample set: activation calibration for
 * int8 QDQ export, and predicted masks + metrics for the converter's accuracy gate. Sessions come
 * from core's ORT runner with its one set of session options, so the gate measures a session
 * configured like the one runtime-node serves with.
 */
import * as ort from 'onnxruntime-node';
import { CLASS_IDS_NAME, ConfusionMatrix, OrtSession, type SegmentationMetrics } from '../../core/index.js';
import type { SampleSet } from '../../trainer/data/dataset.js';
import { batches } from '../../trainer/data/pipeline.js';
import type { LayerGraph } from '../graph.js';
import { exportOnnx } from './export.js';

/**
 * [min, max] of every calibrated layer output (see `activationTensorNames`) over the first
 * `maxSamples` samples of `set`, measured by running the fp32 export in onnxruntime.
 */
export async function calibrateActivations(graph: LayerGraph, set: SampleSet, maxSamples = 64, batchSize = 8): Promise<Map<string, [number, number]>> {
  const probe = exportOnnx(graph, { argmax: false, exposeActivations: true });
  const session = await OrtSession.create(ort, probe.bytes);
  const outputs = probe.activations.map((a) => `${a}:0`);
  const ranges = new Map<string, [number, number]>(probe.activations.map((a) => [a, [Infinity, -Infinity]]));
  let seen = 0;
  try {
    for await (const batch of batches(set, { batchSize })) {
      if (seen >= maxSamples) break;
      const out = await session.run(batch.images, batch.size, outputs);
      for (const layer of probe.activations) {
        const r = ranges.get(layer)!;
        const data = out[`${layer}:0`] as Float32Array;
        for (let i = 0; i < data.length; i++) {
          const v = data[i];
          if (v < r[0]) r[0] = v;
          if (v > r[1]) r[1] = v;
        }
      }
      seen += batch.size;
    }
  } finally {
    await session.release();
  }
  if (seen === 0) throw new Error('calibration set is empty');
  return ranges;
}

/** Masks and metrics of an ONNX model (with a `class_ids` output) over a set, in set order. */
export async function predictMasksOnnx(bytes: Uint8Array, set: SampleSet, batchSize = 16): Promise<{ metrics: SegmentationMetrics; masks: Uint8Array[] }> {
  const session = await OrtSession.create(ort, bytes);
  const confusion = new ConfusionMatrix();
  const masks: Uint8Array[] = [];
  try {
    for await (const batch of batches(set, { batchSize })) {
      const out = await session.run(batch.images, batch.size, [CLASS_IDS_NAME]);
      const ids = Uint8Array.from(out[CLASS_IDS_NAME] as Uint8Array);
      confusion.accumulate(batch.masks, ids);
      masks.push(ids);
    }
  } finally {
    await session.release();
  }
  return { metrics: confusion.metrics(), masks };
}
