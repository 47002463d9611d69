import { CLASS_BACKGROUND, CLASS_BORDER, CLASS_PET, NUM_CLASSES } from '../core/index.js';
import { tf } from '../core/node/tfjs.js';
import { sparseCrossEntropy } from '../datasets/cross_entropy.js';
import { SOFT_LOG_ODDS_STEP, SOFT_TARGET_SHIFT, SOFT_ZERO } from '../datasets/soft_targets.js';

/** How a training step weighs a teacher's soft targets against the hard labels. */
export interface LossOptions {
  /**
   * Weight of the teacher's soft targets where a sample carries them (0 = hard labels only, 1 =
   * soft targets only); pixels without a soft target (real labels, the border band) use the hard
   * label alone. @default 0
   */
  softTargets: number;
  /** Distillation temperature T: soft targets and student are softened by it, the term scaled by T². @default 2 */
  temperature: number;
  /**
   * The border band of teacher-labelled samples: `learn` trains on it as border; `ignore` leaves
   * those pixels out of the loss, so only real trimaps teach the border (a teacher has no border
   * class: its band is drawn by a rule, border.ts). @default 'learn'
   */
  teacherBorder: 'learn' | 'ignore';
}

export const LOSS_DEFAULTS: LossOptions = { softTargets: 0, temperature: 2, teacherBorder: 'learn' };

/** Whether a loss reads soft targets packed in the labels (data/soft_targets.ts). */
export function usesPackedTargets(options: Pick<LossOptions, 'softTargets' | 'teacherBorder'>): boolean {
  return options.softTargets > 0 || options.teacherBorder === 'ignore';
}

/**
 * The training loss. With `softTargets` 0 it is sparseCrossEntropy. Otherwise `labels` carry a
 * packed soft target per pixel (data/soft_targets.ts: class id + 4 × the teacher's quantized pet
 * log-odds, 0 = none), and per pixel (Hinton et al., "Distilling the Knowledge in a Neural
 * Network", 2015):
 *
 *   hard = −log softmax(z)[y]
 *   soft = −T² × (q_T log softmax(z/T)[pet] + (1 − q_T) log softmax(z/T)[background]),  q_T = σ(m / T)
 *   loss = (1 − w) hard + w soft   where a soft target exists, hard elsewhere; mean over pixels
 *
 * m is the teacher's pet log-odds, so q_T is its pet probability at temperature T when its
 * classes split two ways (pet, the rest); the student's border class gets no soft mass, which
 * teaches it that outside the band the teacher saw no border. With `teacherBorder: 'ignore'` the
 * band pixels of teacher-labelled samples (border with a soft target) weigh 0, and the mean is
 * over the pixels that count.
 */
export function trainingLoss(options: LossOptions = LOSS_DEFAULTS): (logits: tf.Tensor4D, labels: tf.Tensor3D) => tf.Scalar {
  const w = options.softTargets;
  if (!usesPackedTargets(options)) return (logits, labels) => sparseCrossEntropy(logits, labels);
  const t = options.temperature;
  const ignoreBand = options.teacherBorder === 'ignore';
  return (logits, labels) =>
    tf.tidy(() => {
      const packed = tf.cast(labels, 'float32');
      const soft = tf.floor(tf.div(packed, 1 << SOFT_TARGET_SHIFT));
      const cls = tf.cast(tf.sub(packed, tf.mul(soft, 1 << SOFT_TARGET_SHIFT)), 'int32');
      const hard = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(cls, NUM_CLASSES)), -1));
      const q = tf.sigmoid(tf.div(tf.mul(tf.sub(soft, SOFT_ZERO), SOFT_LOG_ODDS_STEP), t));
      const logT = tf.logSoftmax(tf.div(logits, t));
      const [petLog, bgLog] = [CLASS_PET, CLASS_BACKGROUND].map((k) => tf.squeeze(tf.slice(logT, [0, 0, 0, k], [-1, -1, -1, 1]), [3]));
      const softLoss = tf.mul(tf.neg(tf.add(tf.mul(q, petLog), tf.mul(tf.sub(1, q), bgLog))), t * t);
      const teacher = tf.greater(soft, 0);
      const has = tf.logicalAnd(teacher, tf.notEqual(cls, CLASS_BORDER));
      const mixed = w > 0 ? tf.where(has, tf.add(tf.mul(hard, 1 - w), tf.mul(softLoss, w)), hard) : hard;
      if (!ignoreBand) return tf.mean(mixed) as tf.Scalar;
      const counts = tf.cast(tf.logicalNot(tf.logicalAnd(teacher, tf.equal(cls, CLASS_BORDER))), 'float32');
      return tf.div(tf.sum(tf.mul(mixed, counts)), tf.maximum(tf.sum(counts), 1)) as tf.Scalar;
    });
}
