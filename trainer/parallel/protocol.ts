/**
 * Messages between the coordinator (the thread running the training loop) and the replica
 * workers of a data-parallel run. Bulk data never crosses as messages: batches and gradients
 * move through the shared buffers named in `init`; only weights cross, at start and on a
 * checkpoint, as typed arrays.
 */
import type { LossOptions } from '../loss.js';
import type { AllReduceBuffers } from './all_reduce.js';
import type { SharedBatchBuffers } from './shared_batch.js';
import type { TensorData } from './tensor_data.js';

export interface ReplicaInit {
  type: 'init';
  /** Backend every replica trains on (single-threaded kernels each). */
  backend: 'wasm' | 'cpu';
  /** The model's topology (LayersModel.toJSON), so any architecture or loaded model works. */
  topology: string;
  /** Every weight of the model, trainable or not, in `model.weights` order. */
  weights: TensorData[];
  /** Layers that do not train (a frozen encoder). */
  frozenLayers: string[];
  learningRate: number;
  /** The loss each replica differentiates (hard labels, or with a teacher's soft targets). */
  loss: LossOptions;
  /** Adam state to continue from (a resumed run), or null for a fresh optimizer. */
  optimizer: TensorData[] | null;
  allReduce: AllReduceBuffers;
  batch: SharedBatchBuffers;
}

/** Train on the batch now in the shared batch buffers: each replica takes its slice. */
export interface ReplicaStep {
  type: 'step';
  size: number;
  learningRate: number;
}

/** Replica 0 answers with its weights and optimizer state (they are the same in every replica). */
export interface ReplicaPull {
  type: 'pull';
}

export type ReplicaRequest = ReplicaInit | ReplicaStep | ReplicaPull;

export type ReplicaResponse =
  | { type: 'ready'; rank: number; trainableWeights: number }
  /** This replica's share of the global batch's mean loss (the shares sum to the loss). */
  | { type: 'stepped'; rank: number; loss: number; ms: number; waitedMs: number; barriers: number }
  | { type: 'state'; rank: number; weights: TensorData[]; optimizer: TensorData[] }
  | { type: 'none'; rank: number }
  /** This replica left its step because another one failed (whose error is the one to report). */
  | { type: 'aborted'; rank: number };

/** Rows [lo, hi) of a global batch of `size` rows that replica `rank` of `world` trains on. */
export function sliceOf(rank: number, world: number, size: number): { lo: number; hi: number } {
  return { lo: Math.floor((rank * size) / world), hi: Math.floor(((rank + 1) * size) / world) };
}
