/**
 * Inference worker: holds one or more verified models (so a hot swap never drops a frame), each
 * in one of core's engine runners (tfjs or ONNX Runtime); decodes frames with sharp (or takes raw RGB8), preprocesses them with
 * core's contract (the input size and normalization the model's card declares) on the worker's tfjs backend, runs the model and
 * encodes masks of the card's size and classes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { encodeMaskPng, encodeRle, FrameError, geometryOf, RAW_RGB8, toBase64, type PixelImage } from '../../core/index.js';
import { normalizationOf } from '../../core/contract.js';
import { imageDriftStats } from '../../core/drift.js';
import { summarizeOutput } from '../../core/engine.js';
import { outputDims } from '../../core/output_geometry.js';
import { type Segmentation } from '../../core/postprocess.js';
import { resizeMask, preprocessPixels } from '../../core/preprocess.js';
import { classMasksAt } from '../../core/upsample.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { tf } from '../../core/node/tfjs.js';
import { serveWorker } from '../../core/node/worker_pool.js';
import { loadRunner, type LoadedRunner } from './load_runner.js';
import type { FrameInput, FrameOutcome, InferenceRequest, InferenceResponse, InferenceWorkerData, InferOptions } from './protocol.js';

const models = new Map<string, LoadedRunner>();

async function decode(frame: FrameInput, maxSide: number): Promise<PixelImage> {
  let image: PixelImage;
  if (frame.contentType === RAW_RGB8) {
    image = { data: frame.bytes, width: frame.width!, height: frame.height!, channels: 3 };
  } else {
    try {
      image = await decodeImage(frame.bytes, { maxPixels: maxSide * maxSide });
    } catch (err) {
      throw new FrameError('UNDECODABLE', `cannot decode ${frame.contentType} frame: ${(err as Error).message.replace(/^cannot decode image: /, '')}`);
    }
  }
  if (image.width > maxSide || image.height > maxSide) {
    throw new FrameError('DIMENSIONS_OUT_OF_RANGE', `frame is ${image.width}x${image.height}; the limit is ${maxSide} per side`);
  }
  return image;
}

async function infer(key: string, frames: FrameInput[], options: InferOptions): Promise<FrameOutcome[]> {
  const entry = models.get(key);
  if (!entry) throw new Error(`model ${key} is not loaded in this worker`);
  const t0 = performance.now();
  const decoded = await Promise.all(frames.map((f) => decode(f, options.maxSide).catch((err: FrameError) => err)));
  const decodeMs = performance.now() - t0;
  const good = decoded.map((d, i) => [d, i] as const).filter((x): x is [PixelImage, number] => !(x[0] instanceof Error));
  const outcomes: FrameOutcome[] = decoded.map((d) => (d instanceof Error ? { ok: false, code: (d as FrameError).code ?? 'UNDECODABLE', message: d.message } : (null as never)));
  if (good.length === 0) return outcomes;
  const t1 = performance.now();
  const normalization = normalizationOf(entry.card);
  const geometry = geometryOf(entry.card);
  const batch = tf.tidy(() => tf.stack(good.map(([img]) => preprocessPixels(tf.tensor3d(img.data as Uint8Array, [img.height, img.width, 3], 'int32'), normalization, geometry))) as tf.Tensor4D);
  // `input` and sizes in pixels: the logits upsampled bilinearly, then the argmax (before the statistics dispose them).
  const outputSize = options.outputSize ?? null;
  let segs: Segmentation[];
  let upsampled: Uint8Array[] | null = null;
  try {
    const logits = await entry.runner.predict(batch);
    if (outputSize && outputSize !== 'model') upsampled = await classMasksAt(logits, geometry, good.map(([img]) => outputDims(outputSize, img, geometry)));
    segs = await summarizeOutput(logits, good.length, geometry);
  } finally {
    batch.dispose();
  }
  const inferenceMs = performance.now() - t1;
  good.forEach(([img, i], k) => {
    const seg = segs[k];
    const model = { data: seg.mask, width: geometry.width, height: geometry.height };
    const mask = upsampled ? { data: upsampled[k], ...outputDims(outputSize!, img, geometry) } : options.maskSize === 'frame' && !outputSize ? resizeMask(model, img.width, img.height) : model;
    outcomes[i] = {
      ok: true,
      width: mask.width,
      height: mask.height,
      mask: options.maskFormat === 'rle' ? encodeRle(mask) : toBase64(encodeMaskPng(mask)),
      classCoverage: seg.classCoverage,
      meanConfidence: seg.meanConfidence,
      entropy: seg.entropy,
      margin: seg.margin,
      input: imageDriftStats(img.data as Uint8Array, img.width, img.height),
      inferenceMs,
      decodeMs,
    };
  });
  return outcomes;
}

const settings = (workerData as { data: InferenceWorkerData }).data;
const { backend } = settings;
if (backend === 'wasm') await activateWasm();
else await tf.setBackend('cpu');

serveWorker<InferenceRequest, InferenceResponse>(parentPort!, async (req) => {
  switch (req.type) {
    case 'load': {
      if (!models.has(req.key)) models.set(req.key, await loadRunner(req.dir, req.engine, settings));
      const m = models.get(req.key)!;
      return { result: { type: 'load', key: req.key, version: `${m.card.name}@${m.card.version}`, engine: m.runner.engine } };
    }
    case 'unload':
      await models.get(req.key)?.runner.dispose();
      models.delete(req.key);
      return { result: { type: 'unload', key: req.key } };
    case 'infer':
      return { result: { type: 'infer', outcomes: await infer(req.key, req.frames, req.options) } };
    case 'memory':
      return { result: { type: 'memory', numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes, models: [...models.keys()] } };
  }
});
