"""Keras/TensorFlow anchor for bench:train: ms per training step of edgeseg's two architectures,
built the same way in Keras (same layers, shapes, loss and optimizer), on this CPU.

    python keras_train.py --model unet-small|unet-mobilenetv2 --threads N [--batch 8 --steps 5 --warmup 2]

Prints one JSON line: {"model", "threads", "batch", "msPerStep" and "cpuMsPerStep" (medians; CPU of every
thread of the process), "steps", "tensorflow", "keras"}.
A reference only: edgeseg does not depend on it. Weights are random (speed does not depend on them).
"""
import argparse
import json
import os
import statistics
import time

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True, choices=["unet-small", "unet-mobilenetv2"])
parser.add_argument("--threads", type=int, required=True)
parser.add_argument("--batch", type=int, default=8)
parser.add_argument("--steps", type=int, default=5)
parser.add_argument("--warmup", type=int, default=2)
parser.add_argument("--base-filters", type=int, default=16)
parser.add_argument("--depth", type=int, default=4)
args = parser.parse_args()

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402  (threading must be set before TensorFlow starts)
import keras  # noqa: E402
from keras import layers  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(args.threads)
tf.config.threading.set_inter_op_parallelism_threads(args.threads)

SIZE, CLASSES = 128, 3


def conv_bn_relu(x, filters, kernel, prefix, transposed=False):
    if transposed:
        x = layers.Conv2DTranspose(filters, kernel, strides=2, padding="same", use_bias=False, name=f"{prefix}_conv")(x)
    else:
        x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=f"{prefix}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{prefix}_bn")(x)
    return layers.ReLU(name=f"{prefix}_relu")(x)


def unet_small(base, depth):
    """trainer/models/unet_small.ts: two 3×3 conv-BN-ReLU per level, 2×2 pools, 2×2 stride-2 transposed convs, skips, 1×1 logits."""
    image = keras.Input((SIZE, SIZE, 3))
    x, skips = image, []
    for level in range(depth):
        f = base * 2**level
        x = conv_bn_relu(x, f, 3, f"enc{level}_a")
        x = conv_bn_relu(x, f, 3, f"enc{level}_b")
        if level < depth - 1:
            skips.append(x)
            x = layers.MaxPooling2D(2, name=f"enc{level}_pool")(x)
    for level in range(depth - 2, -1, -1):
        f = base * 2**level
        x = conv_bn_relu(x, f, 2, f"up{level}", transposed=True)
        x = layers.Concatenate(name=f"dec{level}_concat")([x, skips[level]])
        x = conv_bn_relu(x, f, 3, f"dec{level}")
    return keras.Model(image, layers.Conv2D(CLASSES, 1, name="logits")(x))


def unet_mobilenetv2():
    """trainer/models/unet_mobilenetv2.ts: the book's MobileNetV2 encoder (5 skips) and pix2pix decoder."""
    image = keras.Input((SIZE, SIZE, 3))
    base = keras.applications.MobileNetV2(input_tensor=image, include_top=False, weights=None)
    names = ["block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu", "block_13_expand_relu", "block_16_project"]
    skips = [base.get_layer(n).output for n in names]
    x = skips[-1]
    for i, f in enumerate([512, 256, 128, 64]):
        x = layers.Conv2DTranspose(f, 3, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
        x = layers.Concatenate()([x, skips[-2 - i]])
    return keras.Model(image, layers.Conv2DTranspose(CLASSES, 3, strides=2, padding="same")(x))


model = unet_small(args.base_filters, args.depth) if args.model == "unet-small" else unet_mobilenetv2()
optimizer = keras.optimizers.Adam(1e-3)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
rng = tf.random.Generator.from_seed(1)
images = rng.uniform((args.batch, SIZE, SIZE, 3))
masks = tf.cast(rng.uniform((args.batch, SIZE, SIZE), maxval=CLASSES, dtype=tf.int32), tf.int32)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    return loss


for _ in range(args.warmup):
    train_step(images, masks).numpy()
times, cpu = [], []
for _ in range(args.steps):
    t0, c0 = time.perf_counter(), time.process_time()
    train_step(images, masks).numpy()
    times.append((time.perf_counter() - t0) * 1000)
    cpu.append((time.process_time() - c0) * 1000)
print(json.dumps({"model": args.model, "threads": args.threads, "batch": args.batch, "msPerStep": statistics.median(times), "cpuMsPerStep": statistics.median(cpu), "steps": args.steps, "tensorflow": tf.__version__, "keras": keras.__version__}))
