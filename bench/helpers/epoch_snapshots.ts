/**
 * Held-out metrics per epoch of a training run. A run's metrics.jsonl scores each epoch on the
 * validation split (the one early stopping reads); a comparison of two trainings wants the held-out
 * test split at every epoch too, without that split ever steering the run. The trainer checkpoints
 * at each epoch end and emits `checkpoint` synchronously after the files are complete, so a copy
 * taken in that event is that epoch's weights; they are scored on the held-out set after the run.
 */
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError, type SegmentationMetrics } from '../../core/index.js';
import { tf } from '../../core/node/tfjs.js';
import { loadCheckpoint } from '../../trainer/checkpoint.js';
import type { SampleSet } from '../../datasets/dataset.js';
import { evaluate } from '../../datasets/evaluate.js';
import type { EpochRecord } from '../../trainer/report/training_report.js';
import type { TrainEvent } from '../../trainer/train.js';

/** One epoch's end: its validation record from metrics.jsonl and the held-out metrics of its weights. */
export interface EpochScore {
  epoch: number;
  step: number;
  /** Validation split (metrics.jsonl). */
  valMiou: number;
  valForegroundIou: number;
  /** Held-out split (the dataset's test split when it has one). */
  heldOut: Pick<SegmentationMetrics, 'pixelAccuracy' | 'miou' | 'foregroundIou'>;
}

/**
 * Collects each epoch's weights while `train` runs: pass `onEvent` to the trainer (chain it with a
 * progress renderer). The run must checkpoint only at epoch ends (`checkpointEvery` above its step
 * budget) so that every `checkpoint` event is one.
 */
export class EpochSnapshots {
  private runDir: string | null = null;
  private epoch = 0;
  private readonly taken = new Map<number, string>();

  /** `dir` receives one folder per epoch and is removed by `dispose`. */
  constructor(private readonly dir: string) {}

  readonly onEvent = (e: TrainEvent): void => {
    if (e.type === 'start') this.runDir = e.runDir;
    else if (e.type === 'epoch') this.epoch = e.record.epoch;
    else if (e.type === 'checkpoint' && this.runDir && this.epoch > 0 && !this.taken.has(this.epoch)) {
      // Synchronous on purpose: the loop resumes (and may overwrite the checkpoint) only after this returns.
      const target = join(this.dir, `epoch-${this.epoch}`);
      cpSync(join(this.runDir, 'checkpoints'), target, { recursive: true });
      this.taken.set(this.epoch, target);
    }
  };

  /**
   * Scores every epoch on `heldOut` with `model` (the run's final version, whose architecture the
   * snapshots share). The last epoch has no checkpoint (the run ends there): `final` gives its
   * held-out metrics, i.e. the card's. `metricsJsonl` is the run's log, for the validation columns.
   */
  async score(model: LayersModel, heldOut: SampleSet, metricsJsonl: string, final: EpochScore['heldOut'], onEpoch?: (epoch: number) => void): Promise<EpochScore[]> {
    const epochs = readEpochRecords(metricsJsonl);
    const scores: EpochScore[] = [];
    const finalWeights = model.weights.map((w) => w.read().clone());
    try {
      for (const r of epochs) {
        const snapshot = this.taken.get(r.epoch);
        let metrics: EpochScore['heldOut'];
        if (snapshot) {
          onEpoch?.(r.epoch);
          const optimizer = tf.train.adam();
          try {
            await loadCheckpoint(snapshot, model, optimizer);
          } finally {
            optimizer.dispose();
          }
          const m = (await evaluate(model, heldOut)).metrics;
          metrics = { pixelAccuracy: m.pixelAccuracy, miou: m.miou, foregroundIou: m.foregroundIou };
        } else if (r.epoch === epochs.at(-1)?.epoch) {
          metrics = final;
        } else {
          throw new ConfigError(`epoch ${r.epoch} ended without a checkpoint: train with checkpointEvery above the step budget`);
        }
        scores.push({ epoch: r.epoch, step: r.step, valMiou: r.miou, valForegroundIou: r.foregroundIou ?? NaN, heldOut: metrics });
      }
    } finally {
      model.setWeights(finalWeights);
      tf.dispose(finalWeights);
    }
    return scores;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The `epoch` records of a metrics.jsonl, the last record of each epoch kept (a resumed run repeats some). */
export function readEpochRecords(path: string): EpochRecord[] {
  if (!existsSync(path)) return [];
  const byEpoch = new Map<number, EpochRecord>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { type: string } & EpochRecord;
    if (r.type === 'epoch') byEpoch.set(r.epoch, r);
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}
