import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../core/index.js';
import { resolveTrainConfig, TRAIN_DEFAULTS } from '../../trainer/config.js';
import { learningRateAt, SCHEDULE_DEFAULTS } from '../../trainer/schedule.js';

describe('training config', () => {
  it('fills documented defaults', () => {
    const c = resolveTrainConfig({ data: 'synthetic:count=10' });
    assert.equal(c.name, 'unet-small');
    assert.equal(c.batchSize, TRAIN_DEFAULTS.batchSize);
    assert.equal(c.learningRate, 3e-4);
    assert.equal(c.shuffleBuffer, 1000);
  });

  it('names the field in every error', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ data: 'synthetic:count=10', batchsize: 4 }, /unknown training option 'batchsize'/],
      [{}, /data is required/],
      [{ data: 'synthetic:count=10', model: 'vgg' }, /model 'vgg'/],
      [{ data: 'synthetic:count=10', epochs: 0 }, /epochs must be/],
      [{ data: 'synthetic:count=10', backend: 'tpu' }, /backend 'tpu'/],
      [{ data: 'synthetic:count=10', learningRate: 2 }, /learning rate/],
      [{ data: 'synthetic:count=10', schedule: 'linear' }, /lr schedule 'linear'/],
      [{ data: 'synthetic:count=10', cache: 'disk' }, /cache must be/],
      [{ data: 'bogus' }, /dataset spec 'bogus'/],
    ];
    for (const [input, re] of cases) assert.throws(() => resolveTrainConfig(input), (e: unknown) => re.test((e as Error).message), JSON.stringify(input));
    assert.throws(() => resolveTrainConfig({ data: 'synthetic:count=10', epochs: -1 }), ConfigError);
  });

  it('calls the registry root models, and reads out from config files and runs written before', () => {
    assert.equal(resolveTrainConfig({ data: 'synthetic:count=10' }).models, 'models');
    assert.equal(resolveTrainConfig({ data: 'synthetic:count=10', models: 'reg' }).models, 'reg');
    const older = resolveTrainConfig({ data: 'synthetic:count=10', out: 'old-reg' });
    assert.deepEqual([older.models, 'out' in older], ['old-reg', false]);
    assert.equal(resolveTrainConfig({ data: 'synthetic:count=10', out: 'old-reg', models: undefined }).models, 'old-reg', 'a flag left unset does not hide the file');
    assert.throws(() => resolveTrainConfig({ data: 'synthetic:count=10', models: '' }), /models must be a directory/);
  });

  it('schedules the learning rate: warm-up, cosine to a floor, steps', () => {
    const c = { ...SCHEDULE_DEFAULTS, learningRate: 1e-3, schedule: 'cosine' as const, warmupSteps: 10, minFraction: 0.1 };
    assert.ok(Math.abs(learningRateAt(0, 110, c) - 1e-4) < 1e-12);
    assert.equal(learningRateAt(10, 110, c), 1e-3);
    assert.ok(Math.abs(learningRateAt(110, 110, c) - 1e-4) < 1e-12);
    const s = { ...SCHEDULE_DEFAULTS, learningRate: 1e-3, schedule: 'step' as const, stepEvery: 10, stepGamma: 0.5 };
    assert.equal(learningRateAt(25, 100, s), 2.5e-4);
  });
});
