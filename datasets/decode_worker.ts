/** Decode worker: loads sample refs with sharp and the contract's preprocessing on tfjs' cpu backend. */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { parentPort } from 'node:worker_threads';
import { serveWorker } from '../core/node/worker_pool.js';
import { loadSample } from './load_sample.js';
import type { LoadedSample, LoadRequest, SampleRef } from './sample_types.js';

tf.env().set('PROD', true);
await tf.setBackend('cpu');

serveWorker<LoadRequest, LoadedSample>(parentPort!, async ({ target, ...ref }) => {
  const sample = await loadSample(ref as SampleRef, target);
  return { result: sample, transfer: [sample.image.buffer, sample.mask.buffer] as ArrayBuffer[] };
});
