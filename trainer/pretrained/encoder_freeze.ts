/**
 * `--freeze-encoder <epochs>`: the first N epochs train only the decoder (the encoder's layers
 * set trainable = false), then everything trains — the usual way to fine-tune from pretrained
 * weights, so that the randomly initialised decoder's first large gradients do not wreck the
 * encoder.
 *
 * The phases live behind one StepRunner that the epoch loop drives as any other. Before each
 * step it compares the phase the loop state asks for with the phase its inner runner was started
 * in; on a change it syncs and closes the inner runner (in-process or replicas), sets the
 * trainable flags, and starts a new one, so the set of trained variables (and the replicas'
 * frozen layers) follows the flags. At the first step of the unfreeze epoch the optimizer is also
 * reset to a fresh Adam: Adam keys its moments by the position of each variable in the trained
 * list, which the unfrozen encoder changes, and fresh moments give the encoder's first steps the
 * bias-corrected size of a new run rather than several times the learning rate.
 *
 * Resume: the loop state is restored before the runner starts, so the runner starts in the
 * checkpoint's phase with the checkpoint's optimizer state; a run resumed at the first batch of
 * the unfreeze epoch resets the optimizer there too, as the uninterrupted run did.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError, type Logger } from '../../core/index.js';
import { tf } from '../../core/node/tfjs.js';
import type { LoopState } from '../checkpoint.js';
import type { Batch } from '../../datasets/pipeline.js';
import { isEncoderLayer } from '../models/mobilenetv2_encoder.js';
import type { StepRunner } from '../step_runner.js';

/** Checks `freezeEncoderEpochs` against the rest of the config. */
export function checkEncoderFreeze(config: { freezeEncoderEpochs: number; model: string; init: string | null; initFrom: string | null; modelConfig: Record<string, unknown> }): void {
  const n = config.freezeEncoderEpochs;
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`freezeEncoderEpochs must be an integer ≥ 0, got ${n}`);
  if (n === 0) return;
  if (config.model !== 'unet-mobilenetv2') throw new ConfigError(`--freeze-encoder needs a model with a pretrained encoder (unet-mobilenetv2), got ${config.model}`);
  if (!config.init && !config.initFrom) throw new ConfigError('--freeze-encoder keeps the encoder fixed, which needs encoder weights to keep: give --init <pretrained .tflite> or --init-from <model>');
  if (config.modelConfig.freezeEncoder) throw new ConfigError('--freeze-encoder <epochs> and modelConfig.freezeEncoder (frozen for the whole run) contradict each other; give one');
}

/** Sets every encoder layer's trainable flag; returns whether any changed. */
export function setEncoderTrainable(model: LayersModel, trainable: boolean): boolean {
  let changed = false;
  for (const layer of model.layers) {
    if (isEncoderLayer(layer.name) && layer.trainable !== trainable) {
      layer.trainable = trainable;
      changed = true;
    }
  }
  return changed;
}

/** Forgets an optimizer's state in place: what `tf.train.adam` starts with (iteration 0, no moments). */
async function resetOptimizer(optimizer: tf.Optimizer): Promise<void> {
  const old = await optimizer.getWeights();
  const iteration = tf.scalar(0, 'int32');
  await optimizer.setWeights([{ name: 'iter', tensor: iteration }]);
  tf.dispose([iteration, ...old.map((w) => w.tensor)]);
}

export interface EncoderFreezeOptions {
  /** Epochs (from the first) that train the decoder only; 0 = a plain runner. */
  epochs: number;
  model: LayersModel;
  optimizer: tf.Optimizer;
  /** The loop's state, advanced in place by the epoch loop. */
  state: LoopState;
  /** Starts a runner over the model's current trainable weights and the optimizer. */
  start(): Promise<StepRunner>;
  log?: Logger;
}

/** A StepRunner that trains the decoder alone for the first `epochs` epochs, then the whole model. */
export async function encoderFreezeSteps(o: EncoderFreezeOptions): Promise<StepRunner> {
  if (o.epochs <= 0) return o.start();
  const frozenAt = () => o.state.epoch < o.epochs;
  const unfreezing = () => o.state.epoch === o.epochs && o.state.batchInEpoch === 0;
  let frozen = frozenAt();
  setEncoderTrainable(o.model, !frozen);
  if (unfreezing()) await resetOptimizer(o.optimizer);
  let inner = await o.start();
  o.log?.info(frozen ? 'encoder frozen' : 'encoder training', { untilEpoch: o.epochs, trainableWeights: o.model.trainableWeights.length });

  const enter = async (wantFrozen: boolean) => {
    await inner.sync();
    await inner.close();
    setEncoderTrainable(o.model, !wantFrozen);
    if (!wantFrozen && unfreezing()) await resetOptimizer(o.optimizer);
    frozen = wantFrozen;
    inner = await o.start();
    o.log?.info(frozen ? 'encoder frozen' : 'encoder unfrozen', { epoch: o.state.epoch + 1, trainableWeights: o.model.trainableWeights.length });
  };

  return {
    get workers() {
      return inner.workers;
    },
    async step(batch: Batch, learningRate: number) {
      if (frozenAt() !== frozen) await enter(frozenAt());
      return inner.step(batch, learningRate);
    },
    sync: () => inner.sync(),
    close: () => inner.close(),
  };
}
