/**
 * Shadow scoring: champion and challenger segment the frames the stream service kept from live
 * traffic (pending label requests and labelled frames) and their pixel agreement is reported
 * beside the gate's decision. It does not decide anything: live frames have no ground truth.
 */
import { readFileSync } from 'node:fs';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { INPUT_SIZE, type InputNormalization } from '../../core/index.js';
import { maskAgreement } from '../../core/metrics.js';
import { normalizeInput, preprocessPixels } from '../../core/preprocess.js';
import { decodeImage } from '../../core/node/decode_image.js';
import type { FeedbackStore } from '../../core/node/feedback_store.js';
import { tf } from '../../core/node/tfjs.js';

/** Frames the service kept for labelling (and labelled frames), newest first: the shadow set. */
async function keptFrames(store: FeedbackStore, limit: number): Promise<Float32Array[]> {
  const shas: string[] = [];
  for (const p of store.listPending().slice(-limit)) shas.push(p.image);
  if (store.latest() !== null) for (const s of store.read().samples.slice(-limit)) shas.push(s.image);
  const out: Float32Array[] = [];
  for (const sha of shas.slice(-limit)) {
    try {
      const img = await decodeImage(readFileSync(store.objectPath(sha)));
      // Unit input here; each model's own normalization is applied when it runs.
      const t = tf.tidy(() => preprocessPixels(tf.tensor3d(img.data as Uint8Array, [img.height, img.width, 3], 'int32')));
      out.push((await t.data()) as Float32Array);
      t.dispose();
    } catch {
      // A raw frame kept as bytes without a container: not a shadow candidate.
    }
  }
  return out;
}

/** A model with the input normalization its card declares. */
export interface ShadowModel {
  model: LayersModel;
  normalization: InputNormalization;
}

async function shadowAgreement(a: ShadowModel, b: ShadowModel, frames: Float32Array[]): Promise<number> {
  let same = 0;
  let total = 0;
  for (let i = 0; i < frames.length; i += 8) {
    const chunk = frames.slice(i, i + 8);
    const data = new Float32Array(chunk.length * INPUT_SIZE * INPUT_SIZE * 3);
    chunk.forEach((f, k) => data.set(f, k * f.length));
    const [ma, mb] = tf.tidy(() => {
      const x = tf.tensor4d(data, [chunk.length, INPUT_SIZE, INPUT_SIZE, 3]);
      const masks = (m: ShadowModel) => tf.argMax(m.model.predict(normalizeInput(x, m.normalization)) as tf.Tensor, -1);
      return [masks(a), masks(b)];
    });
    const [da, db] = await Promise.all([ma.data(), mb.data()]);
    tf.dispose([ma, mb]);
    same += maskAgreement(Uint8Array.from(da), Uint8Array.from(db)) * da.length;
    total += da.length;
  }
  return total ? same / total : 1;
}

/** Mask agreement of two models on up to `limit` kept live frames; null when the store kept none. */
export async function shadowScore(store: FeedbackStore, a: ShadowModel, b: ShadowModel, limit: number): Promise<{ frames: number; agreement: number } | null> {
  const frames = await keptFrames(store, limit);
  return frames.length ? { frames: frames.length, agreement: await shadowAgreement(a, b, frames) } : null;
}
