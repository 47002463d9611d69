/** runtime-web's tfjs engine: a layers model loaded from the verified artifacts, on tfjs' active backend. */
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { tfjsRunner, type ModelRunner } from '../core/engine.js';

export async function webTfjsRunner(artifacts: tf.io.ModelArtifacts): Promise<ModelRunner> {
  return tfjsRunner(await loadLayersModel(tf.io.fromMemory(artifacts)));
}
