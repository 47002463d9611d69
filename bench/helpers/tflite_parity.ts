/**
 * Parity of an imported `.tflite` model with Google's LiteRT interpreter, shared by the reference
 * input dump (scripts/tflite_reference_inputs.ts), the parity test and the measurement
 * (bench/tflite_parity.ts): the photo is preprocessed once, as every edgeseg runtime does, and
 * the 8-bit code the imported graph derives from it is what LiteRT is fed, so both run the very
 * same bytes.
 */
import * as ort from 'onnxruntime-node';
import { INPUT_NAME, type InputNormalization, type InputSize, type PixelImage } from '../../core/index.js';
import { ortSessionOptions } from '../../core/ort_runner.js';
import { imageToInputData } from '../../core/preprocess.js';
import { tfliteToOnnx } from '../../converter/import/tflite/to_onnx.js';
// tfjs set up for Node (core's preprocessing runs on its cpu backend).
import '../../core/node/tfjs.js';
import type { TfliteModel } from '../../core/node/tflite/reader.js';

/** Output name of the 8-bit code in the input-only graph. */
const CODE_NAME = 'image_code';

/**
 * A photo → the model's input (NHWC float at its size and normalization; for a card,
 * `normalizationOf(card)` and `inputSizeOf(card)`): core's preprocessing, the one to swap when
 * core's signature changes.
 */
export function modelInput(img: PixelImage, normalization: InputNormalization, size: InputSize): Float32Array {
  return imageToInputData(img, normalization, size);
}

/** The imported graph's input stage alone (no ops), giving the 8-bit code of a preprocessed image. */
export class InputCoder {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly shape: number[],
  ) {}

  static async create(model: TfliteModel, normalization: InputNormalization): Promise<InputCoder> {
    const stage = tfliteToOnnx({ ...model, operators: [], outputs: model.inputs }, { image: { name: INPUT_NAME, normalization }, exposeQuantizedInput: CODE_NAME });
    const session = await ort.InferenceSession.create(stage.bytes, { ...ortSessionOptions(), logSeverityLevel: 3 });
    return new InputCoder(session, stage.inputs[0].shape);
  }

  async code(input: Float32Array): Promise<Uint8Array> {
    const out = await this.session.run({ [INPUT_NAME]: new ort.Tensor('float32', input, this.shape) }, [CODE_NAME]);
    const data = out[CODE_NAME].data as Uint8Array | Int8Array;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Per-pixel class ids of NHWC logits, the first class on ties (LiteRT's ARG_MAX and tf.argMax alike). */
export function classIds(logits: Float32Array, classes: number): Uint8Array {
  const ids = new Uint8Array(logits.length / classes);
  for (let p = 0; p < ids.length; p++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[p * classes + c] > logits[p * classes + best]) best = c;
    ids[p] = best;
  }
  return ids;
}

/** Share of pixels where two class-id masks agree. */
export function agreement(a: Uint8Array, b: Uint8Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/**
 * Foreground intersection and union of a class-id mask against an Oxford trimap of the same size:
 * predicted foreground = any of `pet` ids; true foreground = trimap 1; trimap 3 (border) ignored.
 */
export function foregroundCounts(ids: Uint8Array, trimap: Uint8Array, pet: ReadonlySet<number>): { intersection: number; union: number } {
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < ids.length; i++) {
    if (trimap[i] === 3) continue;
    const p = pet.has(ids[i]);
    const t = trimap[i] === 1;
    if (p && t) intersection++;
    if (p || t) union++;
  }
  return { intersection, union };
}
