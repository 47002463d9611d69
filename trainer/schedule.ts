/** Learning-rate schedules, as a pure function of the global step. */
import { ConfigError } from '../core/index.js';

export const SCHEDULES = ['constant', 'cosine', 'step'] as const;
export type ScheduleName = (typeof SCHEDULES)[number];

export interface ScheduleConfig {
  /** Peak learning rate. @default 3e-4 (Adam's sane default, FSDL) */
  learningRate: number;
  /** @default 'constant' */
  schedule: ScheduleName;
  /** Linear warm-up from 0 over this many steps. @default 0 */
  warmupSteps: number;
  /** cosine: floor as a fraction of the peak. @default 0.05 */
  minFraction: number;
  /** step: multiply by `stepGamma` every `stepEvery` steps. @default 0.5 every 1000 */
  stepEvery: number;
  stepGamma: number;
}

export const SCHEDULE_DEFAULTS: ScheduleConfig = { learningRate: 3e-4, schedule: 'constant', warmupSteps: 0, minFraction: 0.05, stepEvery: 1000, stepGamma: 0.5 };

export function checkSchedule(c: ScheduleConfig): void {
  if (!(c.learningRate > 0 && c.learningRate < 1)) throw new ConfigError(`learning rate must be in (0, 1), got ${c.learningRate}`);
  if (!SCHEDULES.includes(c.schedule)) throw new ConfigError(`lr schedule '${c.schedule}' is not one of ${SCHEDULES.join('|')}`);
  if (!(c.warmupSteps >= 0)) throw new ConfigError(`warmup steps must be ≥ 0, got ${c.warmupSteps}`);
  if (!(c.minFraction >= 0 && c.minFraction <= 1)) throw new ConfigError(`cosine floor must be in [0, 1], got ${c.minFraction}`);
  if (!(c.stepEvery >= 1 && c.stepGamma > 0)) throw new ConfigError('step schedule needs stepEvery ≥ 1 and stepGamma > 0');
}

export function learningRateAt(step: number, totalSteps: number, c: ScheduleConfig): number {
  if (step < c.warmupSteps) return (c.learningRate * (step + 1)) / c.warmupSteps;
  switch (c.schedule) {
    case 'constant':
      return c.learningRate;
    case 'cosine': {
      const t = Math.min(1, (step - c.warmupSteps) / Math.max(1, totalSteps - c.warmupSteps));
      return c.learningRate * (c.minFraction + (1 - c.minFraction) * 0.5 * (1 + Math.cos(Math.PI * t)));
    }
    case 'step':
      return c.learningRate * c.stepGamma ** Math.floor((step - c.warmupSteps) / c.stepEvery);
  }
}
