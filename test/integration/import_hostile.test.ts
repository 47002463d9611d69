/**
 * Hostile and careless model files, archives and refs against the entry points that take them:
 * `edgeseg import` (tfjs folders, .keras zips, .h5, .tflite, devices), `train --init` (TFLite), and the
 * registry commands (`models canary|promote|rollback`). Every case must end in a named error,
 * with nothing written outside the target, no partial version left in the registry, no hang and
 * no unbounded allocation. The tally prints one row per class.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { ByteBuffer } from 'flatbuffers';
import { EdgesegError } from '../../core/index.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { aliases, listStaged, parseModelName, parseModelRef, setAlias } from '../../core/node/registry.js';
import { importModel } from '../../converter/import/import_model.js';
import { parseTflite } from '../../core/node/tflite/reader.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { FaultTally } from '../helpers/fault_tally.js';
import { IMPORT_FIXTURES } from '../helpers/import_fixtures.js';

const imports = new FaultTally('import: model files');
const refs = new FaultTally('registry refs');
const inits = new FaultTally('--init TFLite');
after(() => {
  imports.report();
  refs.report();
  inits.report();
});

const TFLITE = fileURLToPath(new URL('../../data/mobilenet-v2-imagenet/mobilenet_v2_1.0_224_quant.tflite', import.meta.url));

/** Asserts `run` rejects with a named edgeseg error whose code is one of `codes`, and the registry holds no version or staged run of `name`. */
async function refusedNamed(run: () => Promise<unknown>, codes: string[], root?: string, name = 'x'): Promise<void> {
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof EdgesegError, `a named error, not ${(e as Error)?.stack ?? String(e)}`);
    assert.ok(codes.includes(e.code), `${e.code}: ${e.message}`);
    return true;
  });
  if (root && existsSync(join(root, name))) {
    assert.deepEqual(readdirSync(join(root, name)).filter((f) => f !== '.runs'), [], 'no version was published');
    assert.deepEqual(listStaged(root, name), [], 'no staged version was left');
  }
}

/** A tfjs layers folder copied from the fixture, with `change` applied to its model.json and files. */
function tfjsFolder(name: string, change: (json: Record<string, any>, dir: string) => void): string {
  const dir = join(tempDir('hostile-tfjs'), name);
  cpSync(join(IMPORT_FIXTURES, 'tfjs_k3'), dir, { recursive: true });
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  change(json, dir);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  return dir;
}

/**
 * The unet_k3.h5 fixture with the dataspace of the first dataset shaped [3, 3, 8, 1] (a depthwise
 * kernel) rewritten to declare `last` as its last dimension: an HDF5 file whose shape lies.
 */
function lyingH5(name: string, last: number): string {
  const bytes = Buffer.from(readFileSync(join(IMPORT_FIXTURES, 'unet_k3.h5')));
  const dims = Buffer.concat([3, 3, 8, 1].map((n) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return b;
  }));
  const at = bytes.indexOf(dims);
  assert.ok(at > 0, 'the fixture holds a [3, 3, 8, 1] dataspace');
  bytes.writeBigUInt64LE(BigInt(last), at + 24);
  const p = join(tempDir('hostile-h5'), `${name}.h5`);
  writeFileSync(p, bytes);
  return p;
}

/** A TFLite file whose subgraph vector declares 2^31 − 1 entries. */
function hugeVectorTflite(): Uint8Array {
  const bytes = new Uint8Array(readFileSync(TFLITE));
  const bb = new ByteBuffer(bytes);
  const root = bb.readInt32(0);
  const vtable = root - bb.readInt32(root);
  const p = root + bb.readInt16(vtable + 4 + 2 * 2);
  new DataView(bytes.buffer, bytes.byteOffset).setInt32(p + bb.readInt32(p), 0x7fffffff, true);
  return bytes;
}

describe('hostile model files, archives and refs', () => {
  before(async () => {
    await activateWasm();
  });

  it('refuses hostile imports with named errors and leaves no version behind', async () => {
    const root = tempDir('hostile-registry');
    const imp = (path: string) => () => importModel({ path, name: 'x', models: root, normalize: 'unit' });
    const shard = 'group1-shard1of1.bin';
    const cases: [string, () => string, string[]][] = [
      ['manifest path ../../../etc/passwd', () => tfjsFolder('traversal', (j) => (j.weightsManifest[0].paths = ['../../../etc/passwd'])), ['IMPORT_MALFORMED']],
      ['manifest path /etc/passwd', () => tfjsFolder('absolute', (j) => (j.weightsManifest[0].paths = ['/etc/passwd'])), ['IMPORT_MALFORMED']],
      ['manifest shard a symlink out of the folder', () => tfjsFolder('link-out', (j, d) => {
        symlinkSync('/etc/passwd', join(d, 'evil.bin'));
        j.weightsManifest[0].paths = ['evil.bin'];
      }), ['PATH_OUTSIDE_FOLDER']],
      ['manifest shard a symlink to /dev/zero', () => tfjsFolder('dev-zero', (j, d) => {
        symlinkSync('/dev/zero', join(d, 'zero.bin'));
        j.weightsManifest[0].paths = ['zero.bin'];
      }), ['PATH_OUTSIDE_FOLDER', 'FILE_NOT_REGULAR']],
      ['manifest shard a folder', () => tfjsFolder('dir-shard', (j, d) => {
        mkdirSync(join(d, 'sub.bin'));
        j.weightsManifest[0].paths = ['sub.bin'];
      }), ['FILE_NOT_REGULAR']],
      ['short shard', () => tfjsFolder('short', (_j, d) => writeFileSync(join(d, shard), readFileSync(join(d, shard)).subarray(0, 100))), ['IMPORT_MALFORMED']],
      ['long shard', () => tfjsFolder('long', (_j, d) => writeFileSync(join(d, shard), Buffer.concat([readFileSync(join(d, shard)), Buffer.alloc(4096)]))), ['FILE_TOO_LARGE']],
      ['missing shard', () => tfjsFolder('missing', (_j, d) => rmSync(join(d, shard))), ['FILE_NOT_FOUND']],
      ['no weightsManifest', () => tfjsFolder('no-manifest', (j) => delete j.weightsManifest), ['IMPORT_MALFORMED']],
      ['weightsManifest not a list', () => tfjsFolder('manifest-object', (j) => (j.weightsManifest = { paths: [shard] })), ['IMPORT_MALFORMED']],
      ['absurd declared shape', () => tfjsFolder('huge-shape', (j) => (j.weightsManifest[0].weights[0].shape = [16777216, 16777216, 64])), ['IMPORT_MALFORMED']],
      ['negative declared shape', () => tfjsFolder('negative-shape', (j) => (j.weightsManifest[0].weights[0].shape = [-3, 3])), ['IMPORT_MALFORMED']],
      ['model.json nested 200 000 deep', () => {
        const d = tfjsFolder('deep', () => {});
        writeFileSync(join(d, 'model.json'), `{"modelTopology":${'['.repeat(200_000)}${']'.repeat(200_000)},"weightsManifest":[]}`);
        return d;
      }, ['IMPORT_MALFORMED']],
      ['model.json a link to /dev/zero', () => {
        const d = tfjsFolder('json-zero', () => {});
        rmSync(join(d, 'model.json'));
        symlinkSync('/dev/zero', join(d, 'model.json'));
        return d;
      }, ['FILE_NOT_REGULAR']],
      ['import /dev/zero', () => '/dev/zero', ['FILE_NOT_REGULAR']],
      ['.keras zip bomb: config.json of 96 MiB declared', () => {
        const p = join(tempDir('hostile-keras'), 'bomb.keras');
        writeFileSync(p, zipSync({ 'config.json': new Uint8Array(96 << 20).fill(0x20), 'model.weights.h5': new Uint8Array(8) }, { level: 9 }));
        return p;
      }, ['IMPORT_MALFORMED']],
      ['.keras zip bomb: config.json of 96 MiB declared as 10 bytes', () => {
        const zip = zipSync({ 'config.json': new Uint8Array(96 << 20).fill(0x20), 'model.weights.h5': new Uint8Array(8) }, { level: 9 });
        // The uncompressed size in the local header and the central directory: 10 bytes.
        const view = new DataView(zip.buffer);
        view.setUint32(22, 10, true);
        for (let i = zip.length - 22; i > 0; i--) {
          if (view.getUint32(i, true) === 0x02014b50 && new TextDecoder().decode(zip.subarray(i + 46, i + 57)) === 'config.json') view.setUint32(i + 24, 10, true);
        }
        const p = join(tempDir('hostile-keras'), 'liar.keras');
        writeFileSync(p, zip);
        return p;
      }, ['IMPORT_MALFORMED']],
      ['.keras cut in half', () => {
        const p = join(tempDir('hostile-keras'), 'half.keras');
        const whole = readFileSync(join(IMPORT_FIXTURES, 'unet_k3.keras'));
        writeFileSync(p, whole.subarray(0, whole.length >> 1));
        return p;
      }, ['IMPORT_MALFORMED']],
      ['.h5 cut in half', () => {
        const p = join(tempDir('hostile-h5'), 'half.h5');
        const whole = readFileSync(join(IMPORT_FIXTURES, 'unet_k3.h5'));
        writeFileSync(p, whole.subarray(0, whole.length >> 1));
        return p;
      }, ['IMPORT_MALFORMED', 'IMPORT_UNSUPPORTED_FORMAT']],
      ['.h5 with its second half scrambled', () => {
        const p = join(tempDir('hostile-h5'), 'scrambled.h5');
        const bytes = Buffer.from(readFileSync(join(IMPORT_FIXTURES, 'unet_k3.h5')));
        for (let i = bytes.length >> 1; i < bytes.length; i += 7) bytes[i] ^= 0xa5;
        writeFileSync(p, bytes);
        return p;
      }, ['IMPORT_MALFORMED', 'IMPORT_UNSUPPORTED_FORMAT', 'IMPORT_UNSUPPORTED_LAYER', 'IMPORT_BAD_SHAPE']],
      ['.h5 whose first [3, 3, 8, 1] kernel declares [3, 3, 8, 2^40]', () => lyingH5('huge', 2 ** 40), ['IMPORT_MALFORMED']],
      ['.h5 whose first [3, 3, 8, 1] kernel declares [3, 3, 8, 2]', () => lyingH5('by-one', 2), ['IMPORT_MALFORMED']],
      ['.tflite declaring a vector of 2^31 − 1 entries', () => {
        const p = join(tempDir('hostile-tflite-import'), 'huge-vector.tflite');
        writeFileSync(p, hugeVectorTflite());
        return p;
      }, ['IMPORT_MALFORMED']],
      ['.tflite cut after its identifier', () => {
        const p = join(tempDir('hostile-tflite-import'), 'cut.tflite');
        writeFileSync(p, readFileSync(TFLITE).subarray(0, 4096));
        return p;
      }, ['IMPORT_MALFORMED']],
    ];
    for (const [name, make, codes] of cases) await imports.case(name, () => refusedNamed(imp(make()), codes, root));
    await imports.case('--name of 300 characters', () => refusedNamed(() => importModel({ path: join(IMPORT_FIXTURES, 'tfjs_k3'), name: 'n'.repeat(300), models: root, normalize: 'unit' }), ['CONFIG_INVALID']));
    await imports.case('--name ../outside-model', () => refusedNamed(() => importModel({ path: join(IMPORT_FIXTURES, 'tfjs_k3'), name: '../outside-model', models: root, normalize: 'unit' }), ['CONFIG_INVALID']));
    await imports.case('--models that is a file', async () => {
      const file = join(tempDir('hostile-models-file'), 'models');
      writeFileSync(file, 'not a folder');
      await refusedNamed(() => importModel({ path: join(IMPORT_FIXTURES, 'tfjs_k3'), name: 'x', models: file, normalize: 'unit' }), ['FILE_UNREADABLE']);
    });
    assert.ok(!existsSync(join(root, '..', 'outside-model')), 'nothing was written outside the registry');
  });

  it('parses registry refs with one function that accepts only registry names and versions', async () => {
    const root = tempDir('hostile-refs');
    for (const v of ['1', '2']) {
      mkdirSync(join(root, 'm', v), { recursive: true });
      writeFileSync(join(root, 'm', v, 'card.json'), '{}');
    }
    mkdirSync(join(root, 'other', '1'), { recursive: true });
    writeFileSync(join(root, 'other', '1', 'card.json'), '{}');
    assert.deepEqual(parseModelRef('m@2'), { name: 'm', version: '2' });
    assert.deepEqual(parseModelRef('unet-small@3-uint8'), { name: 'unet-small', version: '3-uint8' });
    for (const ref of ['m@../other/1', '../outside-model@1', 'm@', '@1', 'm', 'm@champion', 'm@1/../../other/1', 'm@/etc', `${'n'.repeat(300)}@1`, 'a/b@1', 'm@1\u0000']) {
      await refs.case(`parseModelRef '${ref.slice(0, 40)}'`, () => assert.throws(() => parseModelRef(ref), { code: 'CONFIG_INVALID' }));
    }
    for (const name of ['..', '.', '../x', '', 'a b', 'n'.repeat(101)]) await refs.case(`parseModelName '${name.slice(0, 20)}'`, () => assert.throws(() => parseModelName(name), { code: 'CONFIG_INVALID' }));
    await refs.case("setAlias to version '../other/1'", () => assert.rejects(setAlias(root, 'm', 'champion', '../other/1'), { code: 'CONFIG_INVALID' }));
    await refs.case("setAlias of model '../outside-model'", () => assert.rejects(setAlias(root, '../outside-model', 'champion', '1'), { code: 'CONFIG_INVALID' }));
    const cli = async (args: string[]) => {
      const r = await runCli(['models', ...args, '--models', root]);
      // Exit 2: the CLI's code for a refused option or argument.
      assert.equal(r.code, 2, `${args.join(' ')} exited ${r.code}: ${r.stdout}`);
      assert.match(r.stderr, /error: CONFIG_INVALID: /, r.stderr);
      return r;
    };
    await refs.case('models promote m@../other/1', async () => void (await cli(['promote', 'm@../other/1'])));
    await refs.case('models promote ../outside-model@1', async () => void (await cli(['promote', '../outside-model@1'])));
    await refs.case('models canary m@../other/1', async () => void (await cli(['canary', 'm@../other/1'])));
    await refs.case("models canary m@2 --weight ''", async () => void (await cli(['canary', 'm@2', '--weight', ''])));
    await refs.case('models rollback ../other', async () => void (await cli(['rollback', '../other'])));
    await refs.case('models gc ../<registry>/other deletes nothing', async () => {
      await cli(['gc', `../${basename(root)}/other`, '--keep', '1']);
      assert.ok(existsSync(join(root, 'other', '1', 'card.json')));
    });
    await refs.case('models status ../other', async () => void (await cli(['status', '../other'])));
    assert.deepEqual(aliases(root, 'm'), {}, 'no alias moved');
    assert.ok(!readFileSync(join(root, 'registry.json'), { flag: 'a+' }).toString().includes('outside'), 'no model named ../outside-model');
    await refs.case('truncated registry.json', async () => {
      writeFileSync(join(root, 'registry.json'), '{"schema":"edgeseg.registry.v1","models":{"m":{"aliases":{"champion":"1');
      assert.throws(() => aliases(root, 'm'), (e: unknown) => e instanceof EdgesegError && e.code === 'MODEL_MALFORMED' && /registry\.json is not valid JSON/.test(e.message));
      const r = await runCli(['models', 'status', 'm', '--models', root]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /error: MODEL_MALFORMED: /);
    });
  });

  it('refuses a TFLite --init declaring a vector of 2^31 − 1 entries, and leaves no run for --resume', async () => {
    const bad = join(tempDir('hostile-tflite'), 'huge-vector.tflite');
    writeFileSync(bad, hugeVectorTflite());
    await inits.case('vector of 2^31 − 1 entries', () => assert.throws(() => parseTflite(readFileSync(bad), 'huge-vector.tflite'), (e: unknown) => e instanceof EdgesegError && e.code === 'PRETRAINED_NOT_TFLITE' && /past the end/.test(e.message)));
    const out = tempDir('hostile-init');
    for (const [name, file] of [['huge vector', bad], ['/dev/zero', '/dev/zero'], ['a folder', out]] as const) {
      await inits.case(`train --init ${name}`, async () => {
        const r = await runCli(['train', '--model', 'unet-mobilenetv2', '--init', file, '--data', 'synthetic:count=4,size=128', '--epochs', '1', '--backend', 'cpu', '--workers', '0', '--out', out, '--name', 'p']);
        assert.ok(r.code === 1 || r.code === 2, `exit ${r.code}: ${r.stderr}`);
        assert.match(r.stderr, /error: [A-Z_]+: /);
        assert.deepEqual(listStaged(out, 'p'), [], 'no staged run is left');
        const resume = await runCli(['train', '--resume', '--out', out]);
        assert.notEqual(resume.code, 0);
        assert.doesNotMatch(resume.stderr, /--init|huge-vector|dev\/zero/, 'resume found no refused run to fail on again');
      });
    }
  });
});
