import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../core/index.js';
import { armOf, stableHash } from '../../core/rollout.js';
import { aliases, aliasHistory, rollbackAlias, setAlias } from '../../core/node/registry.js';
import { endRollout, readRollout, recordEvidence, setCanaryWeight, startCanary } from '../../core/node/rollout.js';
import { tempDir } from '../../bench/helpers/fixtures.js';

/** A registry with complete-looking versions 1..n of `m` (only the card's presence is checked by alias moves). */
function registry(n: number): string {
  const root = tempDir('rollout');
  for (let v = 1; v <= n; v++) {
    mkdirSync(join(root, 'm', String(v)), { recursive: true });
    writeFileSync(join(root, 'm', String(v), 'card.json'), '{}');
  }
  return root;
}

describe('canary routing', () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `sensor-${i}`);

  for (const weight of [1, 5, 20, 50]) {
    it(`puts ${weight}% ± 1 point of 20,000 sensor keys on the canary`, () => {
      const share = (100 * keys.filter((k) => armOf(k, weight, 'm@2') === 'canary').length) / keys.length;
      assert.ok(Math.abs(share - weight) <= 1, `canary share ${share.toFixed(2)}% at weight ${weight}%`);
    });
  }

  it('keeps every key on its arm for the whole rollout, and a higher weight only moves keys from the champion to the canary', () => {
    const first = keys.map((k) => armOf(k, 5, 'm@2'));
    for (let round = 0; round < 3; round++) assert.deepEqual(keys.map((k) => armOf(k, 5, 'm@2')), first);
    const wider = keys.map((k) => armOf(k, 25, 'm@2'));
    keys.forEach((_, i) => assert.ok(first[i] === 'champion' || wider[i] === 'canary', `key ${i} left the canary when the weight grew`));
    assert.ok(keys.every((k) => armOf(k, 0, 'm@2') === 'champion') && keys.every((k) => armOf(k, 100, 'm@2') === 'canary'));
  });

  it('draws another slice of keys for another rollout', () => {
    const a = keys.map((k) => armOf(k, 50, 'm@2'));
    const b = keys.map((k) => armOf(k, 50, 'm@3'));
    const same = a.filter((x, i) => x === b[i]).length / keys.length;
    assert.ok(same > 0.4 && same < 0.6, `two rollouts at 50% agree on ${(100 * same).toFixed(1)}% of keys`);
  });

  it('hashes a key the same way every time and refuses a weight outside 0–100', () => {
    assert.equal(stableHash('sensor-7'), stableHash('sensor-7'));
    assert.notEqual(stableHash('sensor-7'), stableHash('sensor-8'));
    assert.throws(() => armOf('k', 101, 's'), ConfigError);
    assert.throws(() => armOf('k', Number.NaN, 's'), ConfigError);
  });
});

describe('rollout state in the registry', () => {
  it('starts a canary beside the champion, changes its weight, and records every move in the alias history', async () => {
    const root = registry(3);
    await setAlias(root, 'm', 'champion', '1');
    const r = await startCanary(root, 'm', '2', 5);
    assert.deepEqual({ champion: r.champion, canary: r.canary, weight: r.weight, evidence: r.evidence }, { champion: '1', canary: '2', weight: 5, evidence: null });
    assert.deepEqual(aliases(root, 'm'), { champion: '1', canary: '2' });
    await setCanaryWeight(root, 'm', 50, 'ramp');
    assert.equal(readRollout(root, 'm')!.weight, 50);
    const moves = aliasHistory(root, 'm').filter((m) => m.alias === 'canary');
    assert.deepEqual(moves.map((m) => [m.from, m.to, m.reason]), [[null, '2', 'canary started at 5%'], ['2', '2', 'ramp: 5% → 50%']]);
  });

  it('refuses a canary without a champion, of the champion itself, of a missing version, and a second one', async () => {
    const root = registry(3);
    await assert.rejects(startCanary(root, 'm', '2', 5), /no champion/);
    await setAlias(root, 'm', 'champion', '1');
    await assert.rejects(startCanary(root, 'm', '1', 5), /already the champion/);
    await assert.rejects(startCanary(root, 'm', '9', 5), /no complete version 9/);
    await startCanary(root, 'm', '2', 5);
    await assert.rejects(startCanary(root, 'm', '3', 5), /already has a canary/);
    await assert.rejects(startCanary(root, 'm', '3', 150), ConfigError);
  });

  it('promotion moves the champion to the canary; rollback and abort leave it; each ends the rollout', async () => {
    const root = registry(3);
    await setAlias(root, 'm', 'champion', '1');
    await startCanary(root, 'm', '2', 5);
    const evidence = { at: 'now', champion: arm('m@1'), canary: arm('m@2') };
    assert.equal(await recordEvidence(root, 'm', '2', evidence), true);
    assert.deepEqual(readRollout(root, 'm')!.evidence, evidence);
    await endRollout(root, 'm', 'promoted', 'live labels hold');
    assert.deepEqual(aliases(root, 'm'), { champion: '2' });
    assert.equal(readRollout(root, 'm'), null);
    assert.equal(await recordEvidence(root, 'm', '2', evidence), false, 'evidence of an ended rollout is not recorded');

    await startCanary(root, 'm', '3', 10);
    await endRollout(root, 'm', 'rolled back', 'worse on live labels');
    assert.deepEqual(aliases(root, 'm'), { champion: '2' });
    await startCanary(root, 'm', '3', 10);
    await endRollout(root, 'm', 'aborted', 'by hand');
    await assert.rejects(endRollout(root, 'm', 'aborted', 'again'), /no canary in progress/);
    const last = aliasHistory(root, 'm').slice(-2);
    assert.deepEqual(last.map((m) => [m.alias, m.from, m.to, m.reason]), [['canary', null, '3', 'canary started at 10%'], ['canary', '3', null, 'canary aborted: by hand']]);
    // The champion's own history still rolls back past the promoted canary.
    assert.deepEqual(await rollbackAlias(root, 'm'), { from: '2', to: '1' });
  });
});

function arm(version: string) {
  return { version, frames: 10, errors: 0, latencyP95Ms: 12, meanConfidence: 0.9, classCoverage: [0.3, 0.6, 0.1], driftPsi: null, labels: 2, labelAgreement: 0.95, labelMiou: 0.8 };
}
