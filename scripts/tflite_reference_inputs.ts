/**
 * Dumps the bytes LiteRT is fed for a parity run (scripts/tflite_reference.py): each photo
 * decoded and preprocessed as every edgeseg runtime does it, at the model's input size and
 * normalization, then turned into the 8-bit code the imported graph feeds its first layer.
 *
 *   npx tsx scripts/tflite_reference_inputs.ts --model <file.tflite> --images <dir> [--list <names.txt>] --out <codes.bin>
 *
 * Writes `<out>` (the codes, one frame after another, NHWC) and `<out>.names` (one photo name a
 * line, in the same order). `--list` takes Oxford split lists (`name class species breed` lines).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage } from '../core/node/decode_image.js';
import { inputNormalizationOf, parseTflite } from '../core/node/tflite/reader.js';
import { InputCoder, modelInput } from '../bench/helpers/tflite_parity.js';

const { values } = parseArgs({ options: { model: { type: 'string' }, images: { type: 'string' }, list: { type: 'string' }, out: { type: 'string' } } });
if (!values.model || !values.images || !values.out) throw new Error('usage: --model <file.tflite> --images <dir> [--list <names.txt>] --out <codes.bin>');
const model = parseTflite(new Uint8Array(readFileSync(values.model)), basename(values.model));
const normalization = inputNormalizationOf(model);
const [, height, width] = model.tensors[model.inputs[0]].shape;
const files = readdirSync(values.images).filter((f) => /\.(jpe?g|png)$/i.test(f));
const names = values.list
  ? readFileSync(values.list, 'utf8').split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((n) => n && !n.startsWith('#'))
  : files.map((f) => basename(f, extname(f))).sort();
const fileOf = new Map(files.map((f) => [basename(f, extname(f)), f]));
const coder = await InputCoder.create(model, normalization);
const chunks: Uint8Array[] = [];
const kept: string[] = [];
for (const name of names) {
  const file = fileOf.get(name);
  if (!file) continue;
  const img = await decodeImage(new Uint8Array(readFileSync(join(values.images, file))));
  chunks.push(await coder.code(modelInput(img, normalization, { height, width })));
  kept.push(name);
}
await coder.release();
writeFileSync(values.out, Buffer.concat(chunks));
writeFileSync(`${values.out}.names`, kept.join('\n') + '\n');
console.log(`${kept.length} frames of ${height}×${width}×3 (${normalization}) → ${values.out}`);
