/**
 * Training on the terminal: trainer events as progress bars (decode, steps) and one line per
 * epoch, and the result's summary. Shared by `edgeseg train`, `retrain`, `loop` and `npm start`.
 */
import type { TrainEvent, TrainResult } from '../trainer/train.js';
import { ProgressBar } from './progress.js';

/** Renders trainer events as progress bars and one line per epoch. */
export function trainProgress(): (e: TrainEvent) => void {
  let bar: ProgressBar | null = null;
  const end = () => {
    bar?.done();
    bar = null;
  };
  return (e) => {
    switch (e.type) {
      case 'scan':
        bar ??= new ProgressBar({ label: 'decode', total: e.total });
        bar.update(e.done);
        if (e.done === e.total) end();
        break;
      case 'start':
        end();
        console.log(`${e.resumed ? 'resuming' : 'training'} version ${e.version} on ${e.backend.name}${e.backend.adapter ? ` (${e.backend.adapter})` : ''}${e.workers > 1 ? ` × ${e.workers} workers` : ''}: ${e.totalSteps} steps, ${e.stepsPerEpoch} per epoch${e.startStep ? `, from step ${e.startStep}` : ''}`);
        bar = new ProgressBar({ label: 'train', total: e.totalSteps });
        break;
      case 'step':
        bar?.update(e.step, `epoch ${e.epoch} loss ${e.loss.toFixed(4)} ${e.imagesPerSecond.toFixed(1)} img/s`);
        break;
      case 'epoch': {
        const r = e.record;
        bar?.done();
        console.log(
          `epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}, val loss ${r.valLoss.toFixed(4)}, pixel accuracy ${(100 * r.pixelAccuracy).toFixed(1)}%, mIoU ${(100 * r.miou).toFixed(1)}%${e.improved ? ' (best)' : ''} [${r.seconds.toFixed(0)} s]`,
        );
        break;
      }
      case 'stop':
        end();
        console.log(`early stop: ${e.reason}`);
        break;
      case 'done':
        end();
        break;
      default:
    }
  };
}

/** The trained version's directory, held-out metrics and report, one line each. */
export function printTrainResult(r: TrainResult): void {
  const m = r.card.metrics!;
  console.log(`model: ${r.dir}`);
  console.log(`held-out: pixel accuracy ${(100 * m.pixelAccuracy).toFixed(1)}%, mIoU ${(100 * m.miou).toFixed(1)}%, foreground IoU ${(100 * (m.foregroundIou ?? NaN)).toFixed(1)}%, dice ${(100 * m.dice).toFixed(1)}% (${r.card.evaluation?.samples} images)`);
  console.log(`report: ${r.dir}/report.html`);
}
