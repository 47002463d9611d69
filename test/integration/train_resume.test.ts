import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { parseCard } from '../../core/index.js';
import { runCli, startCli } from '../helpers/cli.js';
import { tempDir } from '../../bench/helpers/fixtures.js';

const ARGS = [
  'train', '--data', 'synthetic:count=80,size=64,seed=2', '--model-config', '{"baseFilters":4,"depth":2}',
  '--epochs', '3', '--batch', '4', '--lr', '3e-3', '--backend', 'wasm', '--checkpoint-every', '5', '--patience', '0', '--workers', '2',
];

function stepLosses(dir: string): Map<number, number> {
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  return new Map(lines.filter((l) => l.type === 'step').map((l) => [l.step, l.loss]));
}

describe('edgeseg train --resume', () => {
  // Two data-parallel workers: the kill lands while replicas are mid-step, and the resumed run
  // starts fresh replicas from the checkpoint the coordinator wrote.
  it('resumes from the last checkpoint after SIGKILL with 2 workers and ends where an uninterrupted run ends', async () => {
    const straight = tempDir('straight');
    const ref = await runCli([...ARGS, '--out', straight]);
    assert.equal(ref.code, 0, ref.stderr);
    const refCard = parseCard(readFileSync(join(straight, 'unet-small', '1', 'card.json'), 'utf8'));

    const out = tempDir('killed');
    const latest = join(out, 'unet-small', '.runs', '1', 'checkpoints', 'latest.json');
    const run = startCli([...ARGS, '--out', out]);
    const deadline = Date.now() + 120_000;
    let checkpoint = '';
    while (Date.now() < deadline) {
      if (existsSync(latest)) {
        checkpoint = JSON.parse(readFileSync(latest, 'utf8')).checkpoint;
        if (checkpoint >= 'step-00000010') break;
      }
      await sleep(20);
    }
    run.child.kill('SIGKILL');
    const killed = await run.done;
    assert.equal(killed.signal, 'SIGKILL', 'killed mid-run, not finished');
    assert.ok(checkpoint >= 'step-00000010', `a checkpoint at step ≥ 10 existed (${checkpoint})`);
    assert.ok(!existsSync(join(out, 'unet-small', '1')), 'no model was published by the killed run');

    const resumed = await runCli(['train', '--resume', '--out', out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /resuming version 1 on wasm \(onnxruntime-node convolutions\) × 2 workers: .* from step \d+/);
    const dir = join(out, 'unet-small', '1');
    const card = parseCard(readFileSync(join(dir, 'card.json'), 'utf8'));
    assert.equal(card.training!.steps, refCard.training!.steps, 'same step count');
    // Restored weights, optimizer state and data order make the resumed run retrace the same losses.
    const a = stepLosses(join(straight, 'unet-small', '1'));
    const b = stepLosses(dir);
    assert.equal(b.size, a.size);
    for (const [step, loss] of a) assert.ok(Math.abs(b.get(step)! - loss) <= 1e-4 * loss + 1e-6, `step ${step}: ${b.get(step)} vs ${loss}`);
    assert.ok(Math.abs(card.metrics!.miou - refCard.metrics!.miou) <= 0.01, `mIoU ${card.metrics!.miou} vs ${refCard.metrics!.miou}`);
  });
});
