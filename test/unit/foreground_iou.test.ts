import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { CLASS_BACKGROUND as BG, CLASS_BORDER as BORDER, CLASS_PET as PET, ConfusionMatrix, INPUT_SIZE } from '../../core/index.js';
import { GRID_COLUMNS, rowForegroundIou, sampleGridPng } from '../../trainer/report/sample_grid.js';

const fg = (truth: number[], predicted: number[]) => new ConfusionMatrix().accumulate(truth, predicted).metrics().foregroundIou;

describe('foreground IoU', () => {
  it('is pet vs the rest: predicted border is not pet, truth border is left out', () => {
    // truth pet: predicted pet (TP), background (FN), border (FN); truth background: predicted pet (FP), background (TN);
    // truth border: predicted pet and background, both ignored.
    const truth = [PET, PET, PET, BG, BG, BORDER, BORDER];
    const predicted = [PET, BG, BORDER, PET, BG, PET, BG];
    assert.equal(fg(truth, predicted), 1 / (1 + 2 + 1));
    // The per-class pet IoU counts the border pixel predicted pet as a false positive; foreground IoU does not.
    assert.equal(new ConfusionMatrix().accumulate(truth, predicted).metrics().perClassIou[PET], 1 / 5);
  });

  it('is 1 for a perfect pet mask whatever is predicted on the border, and NaN with no pet in truth or prediction', () => {
    assert.equal(fg([PET, BG, BORDER, BORDER], [PET, BG, PET, BG]), 1);
    assert.ok(Number.isNaN(fg([BG, BORDER], [BG, BORDER])));
    assert.equal(fg([BG, BORDER], [PET, BG]), 0);
  });

  it('pools pixels across batches (not a mean of per-image scores)', () => {
    const a = { truth: [PET, PET, PET, PET], predicted: [PET, PET, PET, PET] };
    const b = { truth: [PET, PET, BG, BG], predicted: [PET, BG, PET, BG] };
    const pooled = new ConfusionMatrix().accumulate(a.truth, a.predicted).accumulate(b.truth, b.predicted).metrics().foregroundIou;
    assert.equal(pooled, 5 / (5 + 1 + 1));
    assert.notEqual(pooled, (fg(a.truth, a.predicted) + fg(b.truth, b.predicted)) / 2);
  });
});

describe('held-out prediction grid', () => {
  it('draws image | truth | prediction | overlay per row and scores each row', async () => {
    const px = INPUT_SIZE * INPUT_SIZE;
    const truth = new Uint8Array(px).fill(BG);
    truth.fill(PET, 0, px / 2);
    const predicted = new Uint8Array(px).fill(BG);
    predicted.fill(PET, 0, px / 4);
    const row = { image: new Float32Array(px * 3).fill(0.5), truth, predicted };
    assert.equal(rowForegroundIou(row), 0.5);
    const meta = await sharp(await sampleGridPng([row, row])).metadata();
    assert.equal(GRID_COLUMNS.length, 4);
    assert.deepEqual([meta.width, meta.height], [4 * INPUT_SIZE + 3 * 4, 2 * INPUT_SIZE + 4]);
  });
});
