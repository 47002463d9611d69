/**
 * The outputs of one frame on the tfjs engine: the mask statistics at the model's resolution, and
 * the category mask and confidence planes the options ask for, sampled from the model's map over
 * the frame (bilinearly, on the serving backend) before the argmax. `map` is the logits, or with
 * smoothing the blended probabilities; `forStats` the logit map the statistics are taken from.
 */
import * as tf from '@tensorflow/tfjs-core';
import { outputDims, type FrameWindow } from '../core/output_geometry.js';
import { summarizeLogits } from '../core/postprocess.js';
import { resampleMap } from '../core/upsample.js';
import { samplingWindow, type ServedGeometry } from './model_geometry.js';
import type { RawMask } from './protocol.js';
import type { ResolvedSegmenterOptions } from './segmenter_api.js';

export async function frameOutputs(map: tf.Tensor4D, forStats: tf.Tensor4D, o: ResolvedSegmenterOptions, g: ServedGeometry, window: FrameWindow, frameWidth: number, frameHeight: number) {
  const [seg] = await summarizeLogits(forStats);
  const dims = outputDims(o.outputSize, { width: frameWidth, height: frameHeight }, g);
  let category: RawMask | null = null;
  let confidence: RawMask | null = null;
  if (o.outputs.categoryMask || o.outputs.confidenceMasks) {
    const wanted = tf.tidy(() => {
      const up = resampleMap(map, samplingWindow(o.outputSize, window, g), dims.width, dims.height);
      const out: tf.NamedTensorMap = {};
      if (o.outputs.categoryMask) out.ids = tf.argMax(up, -1);
      if (o.outputs.confidenceMasks) out.planes = tf.transpose(o.smoothing ? up : tf.softmax(up), [0, 3, 1, 2]);
      return out;
    });
    const [idData, planeData] = await Promise.all([wanted.ids?.data(), wanted.planes?.data()]);
    tf.dispose(wanted);
    if (idData) category = { width: dims.width, height: dims.height, ids: Uint8Array.from(idData) };
    if (planeData) confidence = { width: dims.width, height: dims.height, planes: planeData as Float32Array, classes: g.classes };
  }
  return { mask: seg.mask, classCoverage: seg.classCoverage, meanConfidence: seg.meanConfidence, category, confidence };
}
