/** The committed import fixtures (test/fixtures/import/, made by make_fixtures.py) and the parity measure the tests apply. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';

export const IMPORT_FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'import');

interface FixtureMeta {
  shape: number[];
  maxAbsLogit: number;
  layout?: 'NHWC' | 'NCHW';
  input?: string;
  output?: string;
}

export const FIXTURES = JSON.parse(readFileSync(join(IMPORT_FIXTURES, 'fixtures.json'), 'utf8')) as { fixtures: Record<string, FixtureMeta> };

/** The fixed input as the contract's unit values (pixel / 255), NHWC [1, 128, 128, 3]. */
export function fixedInput(): Float32Array {
  return Float32Array.from(readFileSync(join(IMPORT_FIXTURES, 'input.u8.bin')), (v) => v / 255);
}

/** Keras' (or ONNX Runtime's) logits of a fixture on the fixed input, NHWC. */
export function referenceLogits(fixture: string): Float32Array {
  const bytes = readFileSync(join(IMPORT_FIXTURES, `${fixture}.logits.bin`));
  const raw = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const meta = FIXTURES.fixtures[fixture];
  if (meta.layout !== 'NCHW') return raw;
  const [, c, h, w] = meta.shape;
  const out = new Float32Array(raw.length);
  for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) out[p * c + k] = raw[k * h * w + p];
  return out;
}

/** max |a − b| / max |reference|: the parity measure (pass: ≤ 1e-4). */
export function relativeError(got: ArrayLike<number>, reference: Float32Array): number {
  if (got.length !== reference.length) throw new Error(`${got.length} logits, expected ${reference.length}`);
  let diff = 0;
  let max = 0;
  for (let i = 0; i < reference.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - reference[i]));
    max = Math.max(max, Math.abs(reference[i]));
  }
  return diff / max;
}

/** The fixture `.keras` with its config.json changed by `edit` (for refusal cases). */
export function editedKeras(edit: (config: { config: { layers: Record<string, any>[] } }) => void): Uint8Array {
  const files = unzipSync(readFileSync(join(IMPORT_FIXTURES, 'unet_k3.keras')));
  const config = JSON.parse(new TextDecoder().decode(files['config.json']));
  edit(config);
  files['config.json'] = new TextEncoder().encode(JSON.stringify(config));
  return zipSync(files);
}

/** A layer config anywhere in a Keras config tree, by name. */
export function findLayer(config: { config: { layers: Record<string, any>[] } }, name: string): Record<string, any> {
  const stack = [...config.config.layers];
  while (stack.length) {
    const l = stack.pop()!;
    if ((l.config?.name ?? l.name) === name) return l;
    if (Array.isArray(l.config?.layers)) stack.push(...l.config.layers);
  }
  throw new Error(`no layer ${name}`);
}
