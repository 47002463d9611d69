/** Messages between runtime-node's main thread and its inference workers. */
import type { EngineKind, FrameContentType, OutputSize, RleMask } from '../../core/index.js';

export interface FrameInput {
  bytes: Uint8Array;
  contentType: FrameContentType;
  /** Required for raw RGB8 frames. */
  width?: number;
  height?: number;
}

export interface InferOptions {
  /** Mask at the model's input size (its card's) or at the frame's size. */
  maskSize: 'model' | 'frame';
  /** Mask size, overriding maskSize: `input` and sizes in pixels upsample the logits bilinearly before the argmax. */
  outputSize?: OutputSize;
  maskFormat: 'png' | 'rle';
  /** Largest accepted decoded width/height. */
  maxSide: number;
}

/** Settings of every inference worker, fixed at start. */
export interface InferenceWorkerData {
  /** tfjs backend (preprocessing, statistics, and the tfjs engine's model). */
  backend: 'wasm' | 'cpu';
  /** ONNX Runtime intra-op threads per session. */
  ortThreads: number;
  /** ONNX Runtime execution provider. */
  ortProvider: 'cpu' | 'cuda';
}

export type InferenceRequest =
  | { type: 'load'; key: string; dir: string; engine: EngineKind }
  | { type: 'unload'; key: string }
  | { type: 'infer'; key: string; frames: FrameInput[]; options: InferOptions }
  | { type: 'memory' };

export type FrameOutcome =
  | {
      ok: true;
      width: number;
      height: number;
      mask: string | RleMask;
      classCoverage: number[];
      meanConfidence: number;
      entropy: number;
      margin: number;
      /** Input statistics for drift detection (decoded frame's channel means and luma). */
      input: { channelMeans: number[]; brightness: number };
      /** Shared by the frames of one batch. */
      inferenceMs: number;
      decodeMs: number;
    }
  | { ok: false; code: string; message: string };

export type InferenceResponse =
  | { type: 'load'; key: string; version: string; engine: EngineKind }
  | { type: 'unload'; key: string }
  | { type: 'infer'; outcomes: FrameOutcome[] }
  | { type: 'memory'; numTensors: number; numBytes: number; models: string[] };
