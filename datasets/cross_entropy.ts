import { tf } from '../core/node/tfjs.js';

/**
 * Sparse categorical cross-entropy from logits (the book's loss), averaged over every pixel of
 * the batch. `labels` are int32 class ids [N, H, W]; `logits` [N, H, W, classes]. It lives beside
 * `evaluate`, which reports it as the held-out loss; the trainer's loss builds on it.
 */
export function sparseCrossEntropy(logits: tf.Tensor4D, labels: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    const oneHot = tf.oneHot(labels, logits.shape[3]);
    return tf.neg(tf.mean(tf.sum(tf.mul(logProbs, oneHot), -1)));
  });
}
