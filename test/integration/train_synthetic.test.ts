import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseCard } from '../../core/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../../bench/helpers/fixtures.js';

describe('edgeseg train on synthetic data', () => {
  it('reaches held-out mIoU ≥ 0.80 in a short run and writes a complete, versioned model', async () => {
    const out = tempDir('train');
    // 288 scenes (≈260 train, ≈28 held out), base-8 depth-4 U-Net, 192 steps: ~2.5 min on one core
    // (held-out mIoU ≈ 0.88 here; the thin 2-px border class is what needs the last epochs).
    const r = await runCli([
      'train', '--data', 'synthetic:count=288,size=128,seed=1', '--model-config', '{"baseFilters":8,"depth":4}',
      '--epochs', '6', '--batch', '8', '--lr', '3e-3', '--lr-schedule', 'cosine', '--backend', 'wasm', '--out', out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^dataset: 288 valid, 0 skipped$/m);
    const dir = join(out, 'unet-small', '1');
    const card = parseCard(readFileSync(join(dir, 'card.json'), 'utf8'));
    assert.ok(card.metrics!.miou >= 0.8, `held-out mIoU ${card.metrics!.miou}`);
    assert.equal(card.precision, 'fp32');
    assert.equal(card.backend?.name, 'wasm');
    assert.equal(card.dataset?.spec, 'synthetic:count=288,size=128,seed=1');
    assert.match(card.dataset!.manifestHash, /^[0-9a-f]{64}$/);
    assert.ok(card.evaluation!.samples > 0);
    for (const f of ['model.json', 'group1-shard1of1.bin', 'SHA256SUMS', 'metrics.jsonl', 'report.md', 'report.html', 'samples.png', 'loss.svg']) {
      assert.ok(existsSync(join(dir, f)), `${f} written`);
    }
    assert.ok(!existsSync(join(out, 'unet-small', '.runs', '1')), 'the run directory was published');
    const steps = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'step');
    assert.equal(steps.length, 192);
  });
});
