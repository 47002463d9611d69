import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseCard } from '../../core/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../../bench/helpers/fixtures.js';

const ARGS = [
  'train', '--data', 'synthetic:count=40,size=64,seed=4', '--model-config', '{"baseFilters":4,"depth":3}',
  '--epochs', '1', '--max-steps', '6', '--batch', '4', '--lr', '3e-3', '--backend', 'wasm', '--patience', '0',
];

function stepLosses(dir: string): number[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'step').map((l) => l.loss);
}

describe('edgeseg train --workers', () => {
  it('two data-parallel workers trace the loss curve of one for the same seed and global batch', async () => {
    const runs = [];
    for (const workers of ['1', '2']) {
      const out = tempDir(`workers-${workers}`);
      const r = await runCli([...ARGS, '--workers', workers, '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      if (workers === '2') assert.match(r.stdout, /on wasm \(onnxruntime-node convolutions\) × 2 workers/);
      runs.push(join(out, 'unet-small', '1'));
    }
    const [one, two] = runs.map(stepLosses);
    assert.equal(one.length, 6);
    assert.equal(two.length, 6);
    for (let i = 0; i < one.length; i++) assert.ok(Math.abs(two[i] - one[i]) <= 1e-3 * one[i], `step ${i + 1}: ${two[i]} vs ${one[i]}`);
    assert.ok(one[5] < one[0], 'it learned something');
    const [a, b] = runs.map((dir) => parseCard(readFileSync(join(dir, 'card.json'), 'utf8')));
    assert.equal(b.training!.steps, a.training!.steps);
    assert.ok(Math.abs(b.metrics!.pixelAccuracy - a.metrics!.pixelAccuracy) <= 0.01, `pixel accuracy ${b.metrics!.pixelAccuracy} vs ${a.metrics!.pixelAccuracy}`);
  });
});
