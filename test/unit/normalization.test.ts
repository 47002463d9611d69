import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContractError, MODEL_CONTRACT, parseCard, type ModelContract } from '../../core/index.js';
import { CARD_SCHEMA } from '../../core/card.js';
import { contractFor, normalizationOf } from '../../core/contract.js';
import { normalizeInput, normalizeInputData, unitInputData } from '../../core/preprocess.js';
import { tf } from '../../core/node/tfjs.js';

/** A card as a version written before the contract had a normalization. */
function oldCard(contract: ModelContract): string {
  const input = { ...contract.input } as Partial<ModelContract['input']>;
  delete input.normalization;
  return JSON.stringify({ schema: CARD_SCHEMA, name: 'm', version: '1', precision: 'fp32', contract: { ...contract, input } });
}

describe('input normalization in the contract', () => {
  it('a card without the field means unit; contractFor declares the range of each', () => {
    assert.equal(normalizationOf(parseCard(oldCard(MODEL_CONTRACT))), 'unit');
    assert.equal(MODEL_CONTRACT.input.normalization, 'unit');
    assert.deepEqual(contractFor('symmetric').input.range, [-1, 1]);
    assert.equal(normalizationOf({ contract: contractFor('symmetric') }), 'symmetric');
  });

  it('refuses a card with an unknown normalization by name', () => {
    const card = JSON.parse(oldCard(MODEL_CONTRACT));
    card.contract.input.normalization = 'caffe';
    assert.throws(() => parseCard(JSON.stringify(card)), (e: unknown) => e instanceof ContractError && /normalization 'caffe'/.test(e.message));
  });

  it('normalises in memory bit for bit as the tensor op does, and unitInputData undoes it', () => {
    const pixels = Float32Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3));
    const unit = tf.tidy(() => tf.mul(tf.tensor1d(pixels), tf.scalar(1 / 255)).dataSync() as Float32Array);
    const tensor = tf.tidy(() => normalizeInput(tf.tensor1d(unit), 'symmetric').dataSync() as Float32Array);
    const data = normalizeInputData(unit, 'symmetric');
    assert.deepEqual(Array.from(data), Array.from(tensor));
    assert.ok(data.every((x, i) => Math.abs(x - (pixels[i] / 127.5 - 1)) < 1e-6), 'pixel / 127.5 − 1');
    assert.equal(data[0], -1);
    assert.equal(data[data.length - 1], 1);
    assert.equal(normalizeInputData(unit, 'unit'), unit, 'unit is the identity');
    const back = unitInputData(data, 'symmetric');
    assert.ok(back.every((u, i) => Math.abs(u - unit[i]) < 1e-6));
    assert.throws(() => normalizeInputData(unit, 'caffe' as never), ContractError);
  });
});
