/**
 * Model directories that lie, with their SHA256SUMS recomputed so checksums pass (whoever can
 * write the directory can write that file too): shapes that keep the byte count, negative or
 * fractional dimensions, dtype lies, paths that leave the directory, a topology that breaks the
 * card's contract. Each must be refused with a named error by the check `verify`, `predict`,
 * `stream` and the browser loader share; `edgeseg verify` and `predict` keep the
 * `error: <CODE>: <message>` form.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jpeg, tempDir } from '../../bench/helpers/fixtures.js';
import { untrainedCard } from '../../bench/helpers/models.js';
import { EdgesegError } from '../../core/index.js';
import { formatSha256Sums, parseSha256Sums, sha256Hex } from '../../core/artifacts.js';
import { readModelDir, saveLayersModel } from '../../core/node/artifact_fs.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { buildModel } from '../../trainer/models/index.js';
import { runCli } from '../helpers/cli.js';
import { FaultTally } from '../helpers/fault_tally.js';

const tally = new FaultTally('artifacts');
after(() => tally.report());

type Json = Record<string, any>;
interface Parts {
  model: Json;
  card: Json;
  /** Extra SHA256SUMS entries: file → bytes (hashed as given; the file is not written). */
  sums: Map<string, string>;
}

/** Copies the good version, applies `lie` to its model.json/card.json, rewrites SHA256SUMS to match. */
async function liar(good: string, name: string, lie: (p: Parts, dir: string) => void | Promise<void>): Promise<string> {
  const dir = join(tempDir('faults-art'), name);
  cpSync(good, dir, { recursive: true });
  const parts: Parts = { model: JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')), card: JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8')), sums: parseSha256Sums(readFileSync(join(dir, 'SHA256SUMS'), 'utf8')) };
  await lie(parts, dir);
  const write = async (file: string, text: string) => {
    writeFileSync(join(dir, file), text);
    parts.sums.set(file, await sha256Hex(new TextEncoder().encode(text)));
  };
  await write('model.json', JSON.stringify(parts.model));
  await write('card.json', JSON.stringify(parts.card));
  const text = [...parts.sums].map(([f, h]) => `${h}  ${f}\n`).join('');
  writeFileSync(join(dir, 'SHA256SUMS'), text);
  return dir;
}

const weights = (p: Parts): Json[] => p.model.weightsManifest[0].weights;
const weight = (p: Parts, name: string): Json => weights(p).find((w) => w.name === name)!;

describe('faults: model artifacts', () => {
  let good = '';
  before(async () => {
    await activateWasm();
    good = join(tempDir('faults-art'), 'good');
    const { model } = buildModel('unet-small', { baseFilters: 4, depth: 2 });
    await saveLayersModel(model, good, untrainedCard('unet-small', '1', 'unet-small', { baseFilters: 4, depth: 2 }));
    model.dispose();
  });

  it('refuses every lie in a model directory with a named error', async () => {
    await readModelDir(good);
    const specs = JSON.parse(readFileSync(join(good, 'model.json'), 'utf8')).weightsManifest[0].weights as Json[];
    const kernels = specs.filter((w) => w.shape.length === 4);
    const count = (w: Json) => w.shape.reduce((a: number, b: number) => a * b, 1);
    // Two kernels with the same number of elements but different shapes, to swap.
    const [ka, kb] = kernels.flatMap((a, i) => kernels.slice(i + 1).filter((b) => count(a) === count(b) && a.shape.join() !== b.shape.join()).map((b) => [a, b]))[0] ?? [];
    const k = kernels.find((w) => w.shape[2] !== w.shape[3])!;
    const bias = specs.find((w) => w.shape.length === 1)!;
    const outside = join(tempDir('faults-art'), 'outside.bin');
    writeFileSync(outside, readFileSync(join(good, 'group1-shard1of1.bin')));
    type Case = [string, string[], (p: Parts, dir: string) => void | Promise<void>];
    const swap: Case[] = ka
      ? [['two kernel shapes swapped (same byte count)', ['WEIGHTS_MISMATCH'], (p) => {
          const a = weight(p, ka.name).shape;
          weight(p, ka.name).shape = weight(p, kb.name).shape;
          weight(p, kb.name).shape = a;
        }]]
      : [];
    const cases: Case[] = [
      ...swap,
      ['a kernel transposed (in ↔ out channels)', ['WEIGHTS_MISMATCH'], (p) => void (weight(p, k.name).shape = [k.shape[0], k.shape[1], k.shape[3], k.shape[2]])],
      ['two negative dimensions (positive product)', ['MODEL_MALFORMED'], (p) => void (weight(p, k.name).shape = [-k.shape[0], -k.shape[1], k.shape[2], k.shape[3]])],
      ['fractional dimensions (same product)', ['MODEL_MALFORMED'], (p) => void (weight(p, k.name).shape = [k.shape[0] / 2, k.shape[1] * 2, k.shape[2], k.shape[3]])],
      ['a zero dimension', ['MODEL_MALFORMED'], (p) => void (weight(p, bias.name).shape = [0])],
      ['a string dimension', ['MODEL_MALFORMED'], (p) => void (weight(p, bias.name).shape = [String(bias.shape[0])])],
      ['float32 relabelled int32 (same bytes)', ['WEIGHTS_MISMATCH'], (p) => void (weight(p, k.name).dtype = 'int32')],
      ['float32 claimed float16 with the shape doubled', ['WEIGHTS_MISMATCH'], (p) => {
        weight(p, k.name).quantization = { dtype: 'float16' };
        weight(p, k.name).shape = [k.shape[0], k.shape[1], k.shape[2], k.shape[3] * 2];
      }],
      ['uint8 quantization without scale', ['MODEL_MALFORMED'], (p) => void (weight(p, k.name).quantization = { dtype: 'uint8' })],
      ['an unknown dtype', ['MODEL_MALFORMED'], (p) => void (weight(p, k.name).dtype = 'complex64')],
      ['card records float16 for a float32 weight', ['WEIGHTS_MISMATCH'], (p) => void (p.card.weightDtypes[k.name] = 'float16')],
      ['card says fp16, weights are float32', ['WEIGHTS_MISMATCH'], (p) => {
        p.card.precision = 'fp16';
        for (const n of Object.keys(p.card.weightDtypes)) p.card.weightDtypes[n] = 'float32';
      }],
      ['card bytes lie', ['WEIGHTS_MISMATCH'], (p) => void (p.card.bytes += 4)],
      ['a weight no layer owns', ['WEIGHTS_MISMATCH'], (p) => void (weight(p, bias.name).name = 'ghost/bias')],
      ['a weight listed twice', ['WEIGHTS_MISMATCH'], (p) => {
        const ws = weights(p);
        ws.splice(ws.indexOf(weight(p, bias.name)) + 1, 0, { ...weight(p, bias.name) });
        const i = ws.findIndex((w) => w.name === k.name);
        ws[i] = { ...ws[i], shape: [k.shape[0], k.shape[1], k.shape[2], k.shape[3]] };
      }],
      ['shard path ../outside.bin', ['MODEL_MALFORMED'], async (p) => {
        p.model.weightsManifest[0].paths = ['../outside.bin'];
        p.sums.set('../outside.bin', await sha256Hex(readFileSync(outside)));
      }],
      ['shard path absolute', ['MODEL_MALFORMED'], (p) => void (p.model.weightsManifest[0].paths = [outside])],
      ['shard path sub/../../x', ['MODEL_MALFORMED'], (p) => void (p.model.weightsManifest[0].paths = ['sub/../../outside.bin'])],
      ['shard path with a backslash', ['MODEL_MALFORMED'], (p) => void (p.model.weightsManifest[0].paths = ['..\\outside.bin'])],
      ['SHA256SUMS lists ../../etc/hostname', ['MODEL_MALFORMED'], (p) => void p.sums.set('../../etc/hostname', '0'.repeat(64))],
      ['SHA256SUMS lists an absolute path', ['MODEL_MALFORMED'], (p) => void p.sums.set('/etc/hostname', '0'.repeat(64))],
      ['SHA256SUMS lists a symlink out of the directory', ['MODEL_MALFORMED'], async (p, dir) => {
        symlinkSync(outside, join(dir, 'link.bin'));
        p.sums.set('link.bin', await sha256Hex(readFileSync(outside)));
      }],
      ['input layer 64×64 while the card says 128×128', ['CONTRACT_MISMATCH'], (p) => void (p.model.modelTopology.config.layers[0].config.batch_input_shape = [null, 64, 64, 3])],
      ['input layer with 1 channel', ['CONTRACT_MISMATCH', 'WEIGHTS_MISMATCH'], (p) => void (p.model.modelTopology.config.layers[0].config.batch_input_shape = [null, 128, 128, 1])],
      ['input layer renamed', ['CONTRACT_MISMATCH'], (p) => void (p.model.modelTopology = JSON.parse(JSON.stringify(p.model.modelTopology).replaceAll('"image"', '"picture"')))],
      ['output layer renamed (weights too)', ['CONTRACT_MISMATCH'], (p) => {
        p.model = JSON.parse(JSON.stringify(p.model).replaceAll('"logits', '"scores'));
        p.card.weightDtypes = JSON.parse(JSON.stringify(p.card.weightDtypes).replaceAll('"logits', '"scores'));
      }],
      ['a layer fed by a layer that does not exist', ['MODEL_MALFORMED'], (p) => void (p.model.modelTopology.config.layers.at(-1).inbound_nodes[0][0][0] = 'nowhere')],
      ['topology without layers', ['MODEL_MALFORMED'], (p) => void (p.model.modelTopology = { class_name: 'Model', config: {} })],
    ];
    for (const [name, codes, lie] of cases) {
      await tally.case(name, async () => {
        const dir = await liar(good, name.replace(/\W+/g, '-'), lie);
        await assert.rejects(readModelDir(dir), (e: unknown) => {
          assert.ok(e instanceof EdgesegError, `${name}: ${String(e)}`);
          assert.ok(codes.includes(e.code), `${name}: ${e.code}: ${e.message}`);
          return true;
        });
      });
    }
    await tally.case('SHA256SUMS with a file listed twice', async () => {
      const dir = join(tempDir('faults-art'), 'twice');
      cpSync(good, dir, { recursive: true });
      writeFileSync(join(dir, 'SHA256SUMS'), readFileSync(join(dir, 'SHA256SUMS'), 'utf8') + readFileSync(join(dir, 'SHA256SUMS'), 'utf8').split('\n')[0] + '\n');
      await assert.rejects(readModelDir(dir), (e: unknown) => e instanceof EdgesegError && e.code === 'MODEL_MALFORMED');
    });
    // formatSha256Sums stays the writer's format: the reader takes what it writes.
    assert.equal(parseSha256Sums(formatSha256Sums([['a.bin', 'f'.repeat(64)]])).get('a.bin'), 'f'.repeat(64));
  });

  it('edgeseg verify and predict refuse a lying model as `error: <CODE>: …` with a non-zero exit', async () => {
    const outside = join(tempDir('faults-art'), 'secret.txt');
    writeFileSync(outside, 'not yours');
    const traversal = await liar(good, 'cli-traversal', async (p) => void p.sums.set(`../../${outside.split('/').slice(-2).join('/')}`, await sha256Hex(readFileSync(outside))));
    const contract = await liar(good, 'cli-contract', (p) => void (p.model.modelTopology.config.layers[0].config.batch_input_shape = [null, 96, 96, 3]));
    const images = join(tempDir('faults-art'), 'images');
    mkdirSync(images);
    writeFileSync(join(images, 'a.jpg'), await jpeg(1, 64));
    for (const [what, args, code] of [
      ['verify ../ in SHA256SUMS', ['verify', traversal], 'MODEL_MALFORMED'],
      ['predict with a topology breaking the contract', ['predict', '--model', contract, '--input', images, '--out', join(images, 'out')], 'CONTRACT_MISMATCH'],
    ] as const) {
      await tally.case(what, async () => {
        const r = await runCli([...args]);
        assert.notEqual(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}`);
        assert.match(r.stderr, new RegExp(`^error: ${code}: `, 'm'), r.stderr);
      });
    }
  });
});
