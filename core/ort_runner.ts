/**
 * ONNX Runtime, written once against onnxruntime-common's interfaces: the session options every
 * caller uses (runtime-web's worker, runtime-node's inference workers, the converter's accuracy
 * gate and its activation calibration), so the gate measures a session configured like the one
 * that serves. Which ORT package creates the session is injected by each platform:
 * onnxruntime-web bundles its own copy of onnxruntime-common, so its `InferenceSession` and
 * `Tensor` must be the ones that run the model.
 */
import type { InferenceSession, Tensor, TensorConstructor } from 'onnxruntime-common';
import { INPUT_CHANNELS, INPUT_NAME, INPUT_SIZE, OUTPUT_NAME } from './contract.js';
import type { ModelRunner } from './engine.js';

/** The part of an ORT package (onnxruntime-web, onnxruntime-node) edgeseg uses. */
export interface OrtApi {
  InferenceSession: { create(buffer: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: TensorConstructor;
}

export interface OrtSessionSettings {
  /** Execution provider: `cpu`/`cuda` (onnxruntime-node), `wasm`/`webgpu` (onnxruntime-web). @default 'cpu' */
  provider?: string;
  /**
   * Intra-op threads per session. onnxruntime-web takes its thread count from `env.wasm.numThreads`
   * instead. @default 1 (one session per worker thread: measured faster on 2 cores, see runtime-node)
   */
  threads?: number;
}

export const DEFAULT_ORT_PROVIDER = 'cpu';
export const DEFAULT_ORT_THREADS = 1;

/** The one set of session options: every graph optimisation, one inter-op thread, sequential execution. */
export function ortSessionOptions(settings: OrtSessionSettings = {}): InferenceSession.SessionOptions {
  return {
    executionProviders: [settings.provider ?? DEFAULT_ORT_PROVIDER],
    intraOpNumThreads: settings.threads ?? DEFAULT_ORT_THREADS,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
}

/** A session on a contract-shaped ONNX model: feeds an NHWC image batch, reads named outputs back. */
export class OrtSession {
  private constructor(
    private readonly ort: OrtApi,
    private readonly session: InferenceSession,
    readonly provider: string,
  ) {}

  static async create(ort: OrtApi, bytes: Uint8Array, settings: OrtSessionSettings = {}): Promise<OrtSession> {
    const options = ortSessionOptions(settings);
    return new OrtSession(ort, await ort.InferenceSession.create(bytes, options), options.executionProviders![0] as string);
  }

  /** The values of `outputs` for `n` preprocessed images (NHWC float32), read back to memory. */
  async run(images: Float32Array, n: number, outputs: readonly string[] = [OUTPUT_NAME]): Promise<Record<string, Tensor['data']>> {
    const input = new this.ort.Tensor('float32', images, [n, INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS]);
    const out = await this.session.run({ [INPUT_NAME]: input }, outputs as string[]);
    const values: Record<string, Tensor['data']> = {};
    for (const name of outputs) {
      values[name] = await out[name].getData();
      out[name].dispose();
    }
    return values;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** A ModelRunner on ONNX Runtime: logits come back as values in memory. */
export async function ortRunner(ort: OrtApi, bytes: Uint8Array, settings: OrtSessionSettings = {}): Promise<ModelRunner> {
  const session = await OrtSession.create(ort, bytes, settings);
  return {
    engine: 'ort',
    provider: session.provider,
    predict: async (input) => (await session.run((await input.data()) as Float32Array, input.shape[0]))[OUTPUT_NAME] as Float32Array,
    dispose: () => session.release(),
  };
}
