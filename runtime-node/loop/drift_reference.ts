/**
 * The drift reference of a model: the statistics core/drift.ts compares live traffic with,
 * measured by running the model over its training data (input channel means and luma of each
 * preprocessed image, class coverage and mean confidence of each output).
 */
import { writeFileSync } from 'node:fs';
import { geometryOf, type DriftReference, type Logger } from '../../core/index.js';
import { normalizationOf } from '../../core/contract.js';
import { buildDriftReference, imageDriftStats, type FrameDriftStats } from '../../core/drift.js';
import { summarizeLogits } from '../../core/postprocess.js';
import { normalizeInput } from '../../core/preprocess.js';
import { loadLayersModel } from '../../core/node/artifact_fs.js';
import { selectBackend, type TrainingBackend } from '../../core/node/backends/select.js';
import { openDataset } from '../../datasets/dataset.js';
import { batches } from '../../datasets/pipeline.js';
import { tf } from '../../core/node/tfjs.js';

export async function measureDriftReference(modelDir: string, data: string, o: { split?: 'train' | 'val'; backend?: TrainingBackend; limit?: number; log?: Logger; out?: string } = {}): Promise<DriftReference> {
  await selectBackend(o.backend ?? 'auto', o.log);
  const split = o.split ?? 'train';
  const { model, card } = await loadLayersModel(modelDir);
  const normalization = normalizationOf(card);
  const geometry = geometryOf(card);
  const { height, width } = geometry;
  const ds = await openDataset(data, { splits: [split], workers: 0, log: o.log, print: () => {}, geometry });
  const frames: FrameDriftStats[] = [];
  try {
    const set = split === 'train' ? ds.train : ds.val;
    for await (const batch of batches(set, { batchSize: 16, size: geometry })) {
      if (o.limit !== undefined && frames.length >= o.limit) break;
      // The images stay unit input (the input statistics are of pixels); the model gets its own normalization.
      const logits = tf.tidy(() => model.predict(normalizeInput(tf.tensor4d(batch.images, [batch.size, height, width, 3]), normalization)) as tf.Tensor4D);
      const segs = await summarizeLogits(logits);
      logits.dispose();
      segs.forEach((seg, k) => {
        const px = batch.images.subarray(k * height * width * 3, (k + 1) * height * width * 3);
        const bytes = Uint8Array.from(px, (v) => Math.round(v * 255));
        frames.push({ ...imageDriftStats(bytes, width, height), classCoverage: seg.classCoverage, meanConfidence: seg.meanConfidence });
      });
    }
  } finally {
    model.dispose();
    await ds.close();
  }
  const reference = buildDriftReference(frames, `${card.name}@${card.version} on ${ds.spec}#${split}`);
  if (o.out) writeFileSync(o.out, JSON.stringify(reference, null, 1));
  return reference;
}
