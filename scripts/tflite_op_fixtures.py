"""Tiny .tflite models, one per op family edgeseg's TFLite import translates, with LiteRT's outputs.

Made once and committed (test/fixtures/tflite/ops/); test/integration/tflite_import.test.ts
translates each model and compares ONNX Runtime's output with LiteRT's. Each model is written
float32 and full-integer int8 (per-channel weights; float input and output, so QUANTIZE and
DEQUANTIZE are at its boundary); the convolutions also with float16 weights (DEQUANTIZE to float32). Needs TensorFlow's converter (`python3 -m pip install
tensorflow-cpu`, for this script only: never a runtime or test dependency), ai-edge-litert, numpy.

  python3 scripts/tflite_op_fixtures.py --out test/fixtures/tflite/ops
"""
import argparse
import json
import os
import zipfile

import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

K = tf.keras.layers


def conv_model():
    x = tf.keras.Input((9, 9, 3), batch_size=1)
    y = K.Conv2D(4, 3, strides=2, padding='same', activation='relu6')(x)
    z = K.Conv2D(4, 3, padding='valid', dilation_rate=2, activation='relu')(x)
    return tf.keras.Model(x, [y, z])


def depthwise_model():
    x = tf.keras.Input((9, 9, 3), batch_size=1)
    return tf.keras.Model(x, K.DepthwiseConv2D(3, depth_multiplier=2, padding='same', activation='relu')(x))


def transpose_conv_model():
    x = tf.keras.Input((5, 5, 3), batch_size=1)
    return tf.keras.Model(x, K.Conv2DTranspose(4, 3, strides=2, padding='same')(x))


def elementwise_model():
    a = tf.keras.Input((6, 6, 4), batch_size=1)
    b = tf.keras.Input((6, 6, 4), batch_size=1)
    s = K.ReLU()(K.Add()([a, b]))
    m = K.Multiply()([a, b])
    c = K.Lambda(lambda t: t * tf.constant([0.5, -1.0, 2.0, 0.25]))(a)
    d = K.Subtract()([a, b])
    return tf.keras.Model([a, b], [s, m, c, d])


def concat_model():
    a = tf.keras.Input((6, 6, 2), batch_size=1)
    b = tf.keras.Input((6, 6, 3), batch_size=1)
    return tf.keras.Model([a, b], K.Concatenate(axis=-1)([a, b]))


def pool_model():
    x = tf.keras.Input((9, 9, 3), batch_size=1)
    return tf.keras.Model(x, [K.AveragePooling2D(2, strides=2, padding='same')(x), K.MaxPooling2D(3, strides=2, padding='valid')(x)])


def mean_model():
    x = tf.keras.Input((7, 7, 4), batch_size=1)
    return tf.keras.Model(x, [K.Lambda(lambda t: tf.reduce_mean(t, axis=[1, 2], keepdims=True))(x), K.Lambda(lambda t: tf.reduce_mean(t, axis=[1, 2]))(x)])


def resize_model():
    x = tf.keras.Input((5, 5, 3), batch_size=1)
    half = K.Lambda(lambda t: tf.image.resize(t, [12, 12], method='bilinear'))(x)
    corners = K.Lambda(lambda t: tf.compat.v1.image.resize_bilinear(t, [12, 12], align_corners=True))(x)
    plain = K.Lambda(lambda t: tf.compat.v1.image.resize_bilinear(t, [12, 12], align_corners=False))(x)
    return tf.keras.Model(x, [half, corners, plain])


def activations_model():
    x = tf.keras.Input((6, 6, 4), batch_size=1)
    hs = K.Lambda(lambda t: t * tf.nn.relu6(t + 3.0) / 6.0)(x)
    return tf.keras.Model(x, [hs, K.Activation('sigmoid')(x), K.ReLU(max_value=6.0)(x), K.Activation('tanh')(x), K.ReLU()(x)])


def reshape_model():
    x = tf.keras.Input((4, 6, 2), batch_size=1)
    y = K.Lambda(lambda t: tf.reshape(t, [1, 6, 4, 2]))(x)
    z = K.Lambda(lambda t: tf.reshape(t, [1, 48]))(x)
    return tf.keras.Model(x, [K.Conv2D(2, 1)(y), z])


def segmenter_model():
    x = tf.keras.Input((16, 16, 3), batch_size=1)
    y = K.Conv2D(8, 3, padding='same', activation='relu')(x)
    return tf.keras.Model(x, K.Conv2D(3, 1)(y))


def segmenter(out):
    """A tiny 3-class segmenter with a uint8 image input quantized for [-1, 1] pixels and its labels
    in a zip appended to the file, as the TFLite Metadata Writer packs associated files."""
    tf.keras.utils.set_random_seed(7)
    rng = np.random.default_rng(5)
    c = tf.lite.TFLiteConverter.from_keras_model(segmenter_model())
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    # The extremes pin the input's calibrated range to exactly [-1, 1]: scale 2/255, zero point 128.
    c.representative_dataset = lambda: ([v] for v in [np.full((1, 16, 16, 3), -1, np.float32), np.full((1, 16, 16, 3), 1, np.float32)] + [rng.uniform(-1, 1, (1, 16, 16, 3)).astype(np.float32) for _ in range(32)])
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = tf.uint8
    path = os.path.join(out, 'segmenter_uint8.tflite')
    open(path, 'wb').write(c.convert())
    with zipfile.ZipFile(path, 'a') as z:
        z.writestr('labels.txt', 'pet\nbackground\nborder\n')
    it = Interpreter(model_path=path, num_threads=1)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    pixels = rng.integers(0, 256, d['shape']).astype(np.uint8)
    pixels.tofile(os.path.join(out, 'segmenter_uint8.pixels.bin'))
    it.set_tensor(d['index'], pixels)
    it.invoke()
    it.get_tensor(it.get_output_details()[0]['index']).astype(np.float32).tofile(os.path.join(out, 'segmenter_uint8.out0.bin'))
    return {'name': 'segmenter_uint8', 'model': 'segmenter_uint8.tflite', 'quantized': True, 'input': {'quantization': [float(q) for q in d['quantization']]},
            'pixels': 'segmenter_uint8.pixels.bin', 'logits': 'segmenter_uint8.out0.bin', 'labels': 'labels.txt in an appended zip'}


def unsupported_model():
    x = tf.keras.Input((4, 4, 3), batch_size=1)
    return tf.keras.Model(x, K.Lambda(lambda t: tf.floor(t))(x))


MODELS = {
    'conv_2d': conv_model,
    'depthwise_conv_2d': depthwise_model,
    'transpose_conv': transpose_conv_model,
    'elementwise': elementwise_model,
    'concatenation': concat_model,
    'pool_2d': pool_model,
    'mean': mean_model,
    'resize_bilinear': resize_model,
    'activations': activations_model,
    'reshape': reshape_model,
}


def convert(model, quantized, rng):
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantized == 'fp16':
        c.optimizations = [tf.lite.Optimize.DEFAULT]
        c.target_spec.supported_types = [tf.float16]
    elif quantized:
        shapes = [tuple(i.shape) for i in model.inputs]
        c.optimizations = [tf.lite.Optimize.DEFAULT]
        c.representative_dataset = lambda: ([rng.uniform(-2, 2, s).astype(np.float32) for s in shapes] for _ in range(64))
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return c.convert()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    manifest = {'interpreter': 'ai-edge-litert default CPU path (XNNPACK delegate), 1 thread', 'tensorflow': tf.__version__, 'models': []}
    for name, build in [*MODELS.items(), ('unsupported_floor', unsupported_model)]:
        variants = [False, True, 'fp16'] if name == 'conv_2d' else [False, True] if name in MODELS else [False]
        for quantized in variants:
            tf.keras.utils.set_random_seed(7)
            rng = np.random.default_rng(11)
            model = build()
            tag = f'{name}_{"fp16" if quantized == "fp16" else "int8" if quantized else "float"}'
            data = convert(model, quantized, rng)
            open(os.path.join(a.out, tag + '.tflite'), 'wb').write(data)
            entry = {'name': tag, 'model': tag + '.tflite', 'quantized': quantized is True}
            if name in MODELS:
                it = Interpreter(model_content=data, num_threads=1)
                it.allocate_tensors()
                inputs = []
                for k, d in enumerate(it.get_input_details()):
                    v = rng.uniform(-2, 2, d['shape']).astype(d['dtype'])
                    it.set_tensor(d['index'], v)
                    f = f'{tag}.in{k}.bin'
                    v.tofile(os.path.join(a.out, f))
                    inputs.append({'file': f, 'shape': [int(s) for s in d['shape']], 'dtype': np.dtype(d['dtype']).name})
                it.invoke()
                outputs = []
                for k, d in enumerate(it.get_output_details()):
                    v = it.get_tensor(d['index']).astype(np.float32)
                    f = f'{tag}.out{k}.bin'
                    v.tofile(os.path.join(a.out, f))
                    outputs.append({'file': f, 'shape': [int(s) for s in d['shape']], 'tensor': d['name']})
                entry['ops'] = sorted({op['op_name'] for op in it._get_ops_details()})
                entry.update(inputs=inputs, outputs=outputs)
            manifest['models'].append(entry)
            print(tag, entry.get('ops'))
    manifest['segmenter'] = segmenter(a.out)
    with open(os.path.join(a.out, 'fixtures.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
