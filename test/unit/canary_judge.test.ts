import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ArmEvidence, RolloutEvidence } from '../../core/rollout.js';
import { judgeCanary } from '../../runtime-node/loop/canary.js';

function arm(version: string, o: Partial<ArmEvidence> = {}): ArmEvidence {
  return { version, frames: 100, errors: 0, latencyP95Ms: 10, meanConfidence: 0.9, classCoverage: [0.3, 0.6, 0.1], driftPsi: null, labels: 10, labelAgreement: 0.9, labelMiou: 0.7, ...o };
}
const evidence = (champion: Partial<ArmEvidence>, canary: Partial<ArmEvidence>): RolloutEvidence => ({ at: 'now', champion: arm('m@1', champion), canary: arm('m@2', canary) });
const rules = { minLabels: 8, minFrames: 40, maxRegression: 0.02, latencyFactor: 3, minLatencyFrames: 20, maxErrors: 0 };

describe('canary judge', () => {
  it('waits until each arm has enough labels and frames, naming what is missing', () => {
    const v = judgeCanary(evidence({}, { labels: 3, frames: 12 }), rules);
    assert.equal(v.action, 'wait');
    assert.match(v.reason, /canary 3\/8 labels, canary 12\/40 frames/);
  });

  it('promotes a canary not worse on live labels than the champion beyond the budget', () => {
    const v = judgeCanary(evidence({ labelMiou: 0.7 }, { labelMiou: 0.69 }), rules);
    assert.equal(v.action, 'promote');
    assert.match(v.reason, /not worse on live labels: live-label mIoU 69.00% vs the champion's 70.00%/);
  });

  it('rolls back a canary worse on live labels beyond the budget, and flags it worse before the evidence is complete', () => {
    const v = judgeCanary(evidence({ labelMiou: 0.7 }, { labelMiou: 0.6 }), rules);
    assert.equal(v.action, 'rollback');
    assert.match(v.reason, /worse on live labels: .* 10.00 points below \(allowed 2.00\)/);
    const early = judgeCanary(evidence({ labelMiou: 0.7 }, { labelMiou: 0.6, labels: 2 }), rules);
    assert.deepEqual([early.action, early.worse], ['wait', true]);
  });

  it('rolls back at once a canary that errors or whose latency p95 exceeds the champion\'s by the factor, evidence or not', () => {
    const errors = judgeCanary(evidence({}, { errors: 1, labels: 0 }), rules);
    assert.deepEqual([errors.action, errors.action === 'rollback' && errors.immediate], ['rollback', true]);
    assert.match(errors.reason, /failed on 1 frame/);
    const slow = judgeCanary(evidence({ latencyP95Ms: 10 }, { latencyP95Ms: 31, labels: 0 }), rules);
    assert.equal(slow.action, 'rollback');
    assert.match(slow.reason, /latency p95 31.0 ms is over 3 × the champion's 10.0 ms/);
    assert.equal(judgeCanary(evidence({ latencyP95Ms: 10 }, { latencyP95Ms: 29 }), rules).action, 'promote');
    assert.equal(judgeCanary(evidence({ latencyP95Ms: 10 }, { latencyP95Ms: 90, frames: 5 }), rules).action, 'wait', 'too few frames for the latency rule');
  });
});
