/**
 * Training checkpoints: model weights (incl. BatchNorm statistics), optimizer state and the loop's
 * position, written every N steps and at each epoch end. Each checkpoint is a directory written
 * in full before `latest.json` is atomically switched to it, so a run killed at any instant
 * resumes from a complete checkpoint.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from '../core/node/fs_atomic.js';
import { tf } from '../core/node/tfjs.js';

export interface LoopState {
  /** Optimizer steps taken. */
  step: number;
  /** Epoch in progress (0-based) and batches of it already trained. */
  epoch: number;
  batchInEpoch: number;
  /** Best validation mIoU so far and its epoch (1-based), for early stopping. */
  bestMiou: number;
  bestEpoch: number;
  epochsWithoutImprovement: number;
}

interface CheckpointFile {
  state: LoopState;
  model: { specs: tf.io.WeightsManifestEntry[] };
  optimizer: { specs: tf.io.WeightsManifestEntry[] };
  saved: string;
}

const LATEST = 'latest.json';

/**
 * Saved weights (`<index>:<name>`) by name alone. The index is the weight's place in
 * `model.weights`, which lists trainable weights first: freezing or unfreezing layers
 * (`--freeze-encoder`) reorders it between a save and a load, while the names stay.
 */
function byWeightName(saved: tf.NamedTensorMap): tf.NamedTensorMap {
  return Object.fromEntries(Object.entries(saved).map(([key, t]) => [key.slice(key.indexOf(':') + 1), t]));
}

async function encode(tensors: { name: string; tensor: tf.Tensor }[]): Promise<{ data: Uint8Array; specs: tf.io.WeightsManifestEntry[] }> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return { data: new Uint8Array(tf.io.CompositeArrayBuffer.join(data)), specs };
}

export async function saveCheckpoint(dir: string, model: LayersModel, optimizer: tf.Optimizer, state: LoopState): Promise<void> {
  const name = `step-${String(state.step).padStart(8, '0')}`;
  const target = join(dir, name);
  mkdirSync(target, { recursive: true });
  const modelWeights = await encode(model.weights.map((w, i) => ({ name: `${i}:${w.originalName}`, tensor: w.read() })));
  const optimizerWeights = await encode(await optimizer.getWeights());
  writeFileSync(join(target, 'model.bin'), modelWeights.data);
  writeFileSync(join(target, 'optimizer.bin'), optimizerWeights.data);
  const file: CheckpointFile = { state, model: { specs: modelWeights.specs }, optimizer: { specs: optimizerWeights.specs }, saved: new Date().toISOString() };
  writeFileSync(join(target, 'checkpoint.json'), JSON.stringify(file));
  writeFileAtomic(join(dir, LATEST), JSON.stringify({ checkpoint: name }));
  for (const old of readdirSync(dir)) {
    if (old.startsWith('step-') && old !== name) rmSync(join(dir, old), { recursive: true, force: true });
  }
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, LATEST));
}

/** Restores model weights and optimizer state; returns the loop state to continue from. */
export async function loadCheckpoint(dir: string, model: LayersModel, optimizer: tf.Optimizer): Promise<LoopState> {
  const { checkpoint } = JSON.parse(readFileSync(join(dir, LATEST), 'utf8')) as { checkpoint: string };
  const base = join(dir, checkpoint);
  const file = JSON.parse(readFileSync(join(base, 'checkpoint.json'), 'utf8')) as CheckpointFile;
  const modelMap = byWeightName(tf.io.decodeWeights(new Uint8Array(readFileSync(join(base, 'model.bin'))).buffer, file.model.specs));
  const weights = model.weights.map((w) => {
    const t = modelMap[w.originalName];
    if (!t) throw new Error(`checkpoint ${base} has no weight ${w.originalName}; it belongs to a different model`);
    return t;
  });
  model.setWeights(weights);
  tf.dispose(Object.values(modelMap));
  const optMap = tf.io.decodeWeights(new Uint8Array(readFileSync(join(base, 'optimizer.bin'))).buffer, file.optimizer.specs);
  await optimizer.setWeights(file.optimizer.specs.map((s) => ({ name: s.name, tensor: optMap[s.name] })));
  return file.state;
}

/** Keeps a copy of the current weights as the best so far. */
export async function saveBestWeights(dir: string, model: LayersModel): Promise<void> {
  const w = await encode(model.weights.map((v, i) => ({ name: `${i}:${v.originalName}`, tensor: v.read() })));
  writeFileAtomic(join(dir, 'best.bin'), w.data);
  writeFileAtomic(join(dir, 'best.json'), JSON.stringify(w.specs));
}

export function restoreBestWeights(dir: string, model: LayersModel): boolean {
  if (!existsSync(join(dir, 'best.json'))) return false;
  const specs = JSON.parse(readFileSync(join(dir, 'best.json'), 'utf8')) as tf.io.WeightsManifestEntry[];
  const map = byWeightName(tf.io.decodeWeights(new Uint8Array(readFileSync(join(dir, 'best.bin'))).buffer, specs));
  model.setWeights(model.weights.map((w) => map[w.originalName]));
  tf.dispose(Object.values(map));
  return true;
}
