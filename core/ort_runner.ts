/**
 * ONNX Runtime, written once against onnxruntime-common's interfaces: the session options every
 * caller uses (runtime-web's worker, runtime-node's inference workers, the converter's accuracy
 * gate and its activation calibration), so the gate measures a session configured like the one
 * that serves. Which ORT package creates the session is injected by each platform:
 * onnxruntime-web bundles its own copy of onnxruntime-common, so its `InferenceSession` and
 * `Tensor` must be the ones that run the model.
 */
import type { InferenceSession, Tensor, TensorConstructor } from 'onnxruntime-common';
import { INPUT_CHANNELS, inputSizeOf, MODEL_CONTRACT, type ModelContract } from './contract.js';
import { ContractError } from './errors.js';
import type { ModelRunner } from './engine.js';
import { nchwToNhwc, nhwcToNchw } from './tensor_layout.js';

/** The part of an ORT package (onnxruntime-web, onnxruntime-node) edgeseg uses. */
export interface OrtApi {
  InferenceSession: { create(buffer: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: TensorConstructor;
}

/** How an ONNX Runtime session is created, the same for the converter's gate and both runtimes. */
export interface OrtSessionSettings {
  /** Execution provider: `cpu`/`cuda` (onnxruntime-node), `wasm`/`webgpu` (onnxruntime-web). @default 'cpu' */
  provider?: string;
  /**
   * Intra-op threads per session. onnxruntime-web takes its thread count from `env.wasm.numThreads`
   * instead. @default 1 (one session per worker thread: measured faster on 2 cores, see runtime-node)
   */
  threads?: number;
  /**
   * The card's contract: input and output tensor names, input size (`inputSizeOf`), NCHW or NHWC
   * layout and a batch fixed at 1 of an imported ONNX model. The session takes and gives NHWC
   * either way. @default the contract of edgeseg's own U-Nets (MODEL_CONTRACT)
   */
  contract?: ModelContract;
}

/** Execution provider when none is given. */
export const DEFAULT_ORT_PROVIDER = 'cpu';
/** Intra-op threads per session when none is given. */
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
    private readonly contract: ModelContract,
  ) {}

  static async create(ort: OrtApi, bytes: Uint8Array, settings: OrtSessionSettings = {}): Promise<OrtSession> {
    const options = ortSessionOptions(settings);
    return new OrtSession(ort, await ort.InferenceSession.create(bytes, options), options.executionProviders![0] as string, settings.contract ?? MODEL_CONTRACT);
  }

  /** Name of the logits output (the contract's: `logits`, or an imported model's own). */
  get outputName(): string {
    return this.contract.output.name;
  }

  /**
   * The values of `outputs` for `n` preprocessed images (NHWC float32 at the contract's size),
   * read back to memory; the logits output comes back NHWC whatever the model's layout. Throws
   * `CONTRACT_MISMATCH` when `images` does not hold n frames of that size.
   */
  async run(images: Float32Array, n: number, outputs: readonly string[] = [this.outputName]): Promise<Record<string, Tensor['data']>> {
    const { height, width } = inputSizeOf(this.contract);
    const frame = height * width * INPUT_CHANNELS;
    if (!(Number.isInteger(n) && n >= 1) || images.length !== n * frame) {
      throw new ContractError(`ONNX Runtime input holds ${images.length} values, not ${n} frame(s) of ${height}×${width}×${INPUT_CHANNELS}`);
    }
    // A model exported with its batch fixed at 1 (common for PyTorch exports) runs frame by frame.
    if (this.contract.input.shape[0] === 1 && n > 1) {
      const parts: Record<string, Tensor['data']>[] = [];
      for (let i = 0; i < n; i++) parts.push(await this.run(images.subarray(i * frame, (i + 1) * frame), 1, outputs));
      return Object.fromEntries(outputs.map((name) => [name, concat(parts.map((p) => p[name]))]));
    }
    const nchw = this.contract.input.layout === 'NCHW';
    const data = nchw ? nhwcToNchw(images, n, height, width, INPUT_CHANNELS) : images;
    const input = new this.ort.Tensor('float32', data, nchw ? [n, INPUT_CHANNELS, height, width] : [n, height, width, INPUT_CHANNELS]);
    const out = await this.session.run({ [this.contract.input.name]: input }, outputs as string[]);
    const values: Record<string, Tensor['data']> = {};
    for (const name of outputs) {
      const v = await out[name].getData();
      const [, c, h, w] = out[name].dims;
      values[name] = name === this.outputName && this.contract.output.layout === 'NCHW' ? nchwToNhwc(v as Float32Array, n, c, h, w) : v;
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
    predict: async (input) => (await session.run((await input.data()) as Float32Array, input.shape[0]))[session.outputName] as Float32Array,
    dispose: () => session.release(),
  };
}

function concat(parts: Tensor['data'][]): Tensor['data'] {
  const total = parts.reduce((k, p) => k + p.length, 0);
  const out = new (parts[0].constructor as new (n: number) => Float32Array)(total);
  let o = 0;
  for (const p of parts) {
    out.set(p as Float32Array, o);
    o += p.length;
  }
  return out as Tensor['data'];
}
