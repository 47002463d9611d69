/**
 * Input normalization over values in memory, without tfjs (the trainer's cached samples, and
 * runtime-web's lean ONNX Runtime worker, which has no tfjs); preprocess.ts holds the tensor op.
 */
import { DEFAULT_NORMALIZATION, INPUT_CHANNELS, INPUT_NORMALIZATIONS, isInputNormalization, type InputNormalization } from './contract.js';
import { ContractError } from './errors.js';

/** Throws CONTRACT_MISMATCH unless `normalization` is one of INPUT_NORMALIZATIONS. */
export function checkNormalization(normalization: InputNormalization): void {
  if (!isInputNormalization(normalization)) {
    throw new ContractError(`input normalization '${normalization}' is not one of ${Object.keys(INPUT_NORMALIZATIONS).join('|')}`);
  }
}

/**
 * `normalizeInput` over unit values held in memory, in a new array. Bit for bit the tensor op:
 * u × scale is exact for scale 2 and the double sum, exact too, rounds to float32 once, as
 * float32 addition does.
 */
export function normalizeInputData(unit: Float32Array, normalization: InputNormalization = DEFAULT_NORMALIZATION): Float32Array {
  checkNormalization(normalization);
  if (normalization === 'unit') return unit;
  const { scale, offset } = INPUT_NORMALIZATIONS[normalization];
  // float32 constants, as the tensor op holds them, so both paths round alike.
  const at = (v: number | readonly number[], i: number) => Math.fround(typeof v === 'number' ? v : v[i % INPUT_CHANNELS]);
  return Float32Array.from(unit, (u, i) => Math.fround(u * at(scale, i)) + at(offset, i));
}
