import assert from 'node:assert/strict';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ChecksumError, ModelFormatError, ContractError } from '../../core/index.js';
import { parseSha256Sums } from '../../core/artifacts.js';
import { loadLayersModel, readModelDir, saveLayersModel } from '../../core/node/artifact_fs.js';
import { aliases, listStaged, listVersions, publishRun, reserveVersion, resolveModelRef, setAlias, stageVersion, stagingDir } from '../../core/node/registry.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { buildModel } from '../../trainer/models/index.js';
import { tf } from '../../core/node/tfjs.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { untrainedCard } from '../../bench/helpers/models.js';

const draft = (version: string) => untrainedCard('unet-small', version, 'unet-small', {});

describe('model artifacts and registry', () => {
  before(async () => {
    await activateWasm();
  });

  it('writes 4 MiB shards, SHA256SUMS and a card, and loads back the same outputs', async () => {
    const dir = join(tempDir('artifact'), 'm');
    const { model } = buildModel('unet-mobilenetv2');
    const card = await saveLayersModel(model, dir, draft('1'));
    const shards = card.files.filter((f) => f.path.endsWith('.bin'));
    assert.ok(shards.length >= 6, `${shards.length} shards for a 26 MB model`);
    assert.ok(shards.every((s) => s.bytes <= 4 * 1024 * 1024));
    assert.equal(card.bytes, shards.reduce((n, s) => n + s.bytes, 0));
    assert.equal(card.params, model.countParams());
    assert.ok(Object.values(card.weightDtypes).every((d) => d === 'float32'));
    const sums = parseSha256Sums(readFileSync(join(dir, 'SHA256SUMS'), 'utf8'));
    assert.ok(sums.has('card.json') && sums.has('model.json') && shards.every((s) => sums.get(s.path) === s.sha256));
    const loaded = await loadLayersModel(dir);
    const x = tf.randomUniform([1, 128, 128, 3]);
    const [a, b] = [model.predict(x) as tf.Tensor, loaded.model.predict(x) as tf.Tensor];
    assert.equal(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0], 0);
    tf.dispose([x, a, b]);
    model.dispose();
    loaded.model.dispose();
  });

  it('refuses a flipped byte or a truncated shard naming the file, and a model that breaks the contract', async () => {
    const dir = join(tempDir('artifact'), 'm');
    const { model } = buildModel('unet-small', { baseFilters: 4, depth: 2 });
    await saveLayersModel(model, dir, draft('1'));
    model.dispose();
    const shard = join(dir, 'group1-shard1of1.bin');
    const original = readFileSync(shard);
    const flipped = Buffer.from(original);
    flipped[100] ^= 0x01;
    writeFileSync(shard, flipped);
    await assert.rejects(readModelDir(dir), (e: unknown) => e instanceof ChecksumError && e.file === 'group1-shard1of1.bin' && /group1-shard1of1\.bin/.test(e.message));
    writeFileSync(shard, original);
    truncateSync(shard, original.length - 8);
    await assert.rejects(readModelDir(dir), (e: unknown) => e instanceof ChecksumError && e.file === 'group1-shard1of1.bin');
    writeFileSync(shard, original);
    await readModelDir(dir);
    const cardPath = join(dir, 'card.json');
    const card = JSON.parse(readFileSync(cardPath, 'utf8'));
    card.contract.output.shape = [null, 128, 128, 4];
    card.contract.classes = ['a', 'b', 'c', 'd'];
    const text = JSON.stringify(card);
    writeFileSync(cardPath, text);
    const { sha256Hex, formatSha256Sums } = await import('../../core/artifacts.js');
    const sums = parseSha256Sums(readFileSync(join(dir, 'SHA256SUMS'), 'utf8'));
    sums.set('card.json', await sha256Hex(new TextEncoder().encode(text)));
    writeFileSync(join(dir, 'SHA256SUMS'), formatSha256Sums(sums));
    await assert.rejects(readModelDir(dir), ContractError);
    await assert.rejects(readModelDir(join(dir, 'nope')), (e: unknown) => e instanceof ModelFormatError && e.code === 'MODEL_NOT_FOUND');
  });

  it('stages a named version out of sight and publishes it under the lock, refusing to replace one unless asked', async () => {
    const root = tempDir('staging');
    const dir = stageVersion(root, 'm', '1-uint8');
    assert.equal(dir, stagingDir(root, 'm', '1-uint8'));
    writeFileSync(join(dir, 'leftover'), 'x');
    assert.ok(!existsSync(join(stageVersion(root, 'm', '1-uint8'), 'leftover')), 'a failed attempt is cleared');
    writeFileSync(join(dir, 'card.json'), '{"v":1}');
    assert.deepEqual(listVersions(root, 'm'), [], 'a staged version is invisible');
    assert.deepEqual(listStaged(root, 'm'), [dir]);
    assert.equal(await publishRun(root, 'm', '1-uint8'), join(root, 'm', '1-uint8'));
    assert.deepEqual([listVersions(root, 'm'), listStaged(root, 'm')], [['1-uint8'], []]);
    writeFileSync(join(stageVersion(root, 'm', '1-uint8'), 'card.json'), '{"v":2}');
    await assert.rejects(publishRun(root, 'm', '1-uint8'), /already exists; pass --force/);
    await publishRun(root, 'm', '1-uint8', { replace: true });
    assert.equal(readFileSync(join(root, 'm', '1-uint8', 'card.json'), 'utf8'), '{"v":2}');
    assert.ok(!existsSync(join(root, 'registry.json.lock')));
  });

  it('reserves versions atomically, publishes runs, and resolves refs and aliases', async () => {
    const root = tempDir('registry');
    const reserved = Array.from({ length: 5 }, () => reserveVersion(root, 'unet-small'));
    assert.deepEqual(reserved.map((r) => r.version), ['1', '2', '3', '4', '5']);
    const { model } = buildModel('unet-small', { baseFilters: 4, depth: 2 });
    for (const v of ['1', '2']) {
      await saveLayersModel(model, reserved[Number(v) - 1].runDir, draft(v));
      await publishRun(root, 'unet-small', v);
    }
    model.dispose();
    assert.deepEqual(listVersions(root, 'unet-small'), ['1', '2']);
    assert.equal(resolveModelRef('unet-small', root), join(root, 'unet-small', '2'), 'no champion: latest trained version');
    await setAlias(root, 'unet-small', 'champion', '1');
    assert.equal(resolveModelRef('unet-small', root), join(root, 'unet-small', '1'));
    assert.equal(resolveModelRef('unet-small@latest', root), join(root, 'unet-small', '2'));
    assert.equal(resolveModelRef('champion', root), join(root, 'unet-small', '1'));
    assert.equal(resolveModelRef(join(root, 'unet-small', '2'), root), join(root, 'unet-small', '2'));
    assert.deepEqual(aliases(root, 'unet-small'), { champion: '1' });
    await assert.rejects(setAlias(root, 'unet-small', 'champion', '9'), /no complete version 9/);
    assert.throws(() => resolveModelRef('unet-small@7', root), /no version or alias '7'/);
    assert.ok(!existsSync(join(root, 'registry.json.lock')));
    await Promise.all(['a', 'b', 'c', 'd'].map((a) => setAlias(root, 'unet-small', a, '2')));
    assert.deepEqual(Object.keys(aliases(root, 'unet-small')).sort(), ['a', 'b', 'c', 'champion', 'd'], 'concurrent alias writes all land');
  });
});
