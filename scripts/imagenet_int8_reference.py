"""Reference outputs of the int8 MobileNetV2 TFLite model, for test/integration/pretrained_import.test.ts.

edgeseg imports the weights of data/mobilenet-v2-imagenet/mobilenet_v2_1.0_224_quant.tflite as
float32 in pure TypeScript; the test checks the imported network against what the quantized
model itself computes in Google's own interpreter (LiteRT), which Node cannot run. This script
runs that interpreter once, on the photos the test classifies, and writes what it gave to
test/fixtures/mobilenet_v2_int8_reference.json: per photo, the int8 model's top-5 classes and
their (dequantized) logits.

The input is prepared as edgeseg does: decoded RGB, bilinear resize to 224x224 with half-pixel
centres (tfjs resizeBilinear(halfPixelCenters=true)), then x = p / 127.5 - 1 quantized to the
model's uint8 input (scale 1/128, zero point 128).

A developer tool, not part of the build or tests:
    python3 -m venv .venv && .venv/bin/pip install ai-edge-litert==2.3.0 numpy pillow
    .venv/bin/python scripts/imagenet_int8_reference.py
"""

import json
import os

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

ROOT = os.path.join(os.path.dirname(__file__), '..')
MODEL = os.path.join(ROOT, 'data/mobilenet-v2-imagenet/mobilenet_v2_1.0_224_quant.tflite')
SAMPLE = os.path.join(ROOT, 'data/oxford-pets-sample')
OUT = os.path.join(ROOT, 'test/fixtures/mobilenet_v2_int8_reference.json')
# The tensor the classifier writes its logits to, before the reshape and softmax.
LOGITS_OP = 63


def photos():
    """The test's photos: the first 5 Abyssinian, 5 Bengal and 10 american_bulldog names of test.txt."""
    with open(os.path.join(SAMPLE, 'annotations/test.txt')) as f:
        names = [line.split(' ')[0] for line in f if line.strip() and not line.startswith('#')]
    pick = lambda breed, n: [x for x in names if x.rsplit('_', 1)[0] == breed][:n]
    return pick('Abyssinian', 5) + pick('Bengal', 5) + pick('american_bulldog', 10)


def resize_bilinear_half_pixel(img, size):
    """tfjs resizeBilinear(alignCorners=false, halfPixelCenters=true) of an [H, W, C] float array."""
    h, w, _ = img.shape

    def axis(n_in):
        src = np.clip((np.arange(size) + 0.5) * (n_in / size) - 0.5, 0, None)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, (src - lo)[:, None]

    y0, y1, fy = axis(h)
    x0, x1, fx = axis(w)
    top = img[y0][:, x0] + (img[y0][:, x1] - img[y0][:, x0]) * fx[None, :, :]
    bottom = img[y1][:, x0] + (img[y1][:, x1] - img[y1][:, x0]) * fx[None, :, :]
    return top + (bottom - top) * fy[:, :, None]


def main():
    interpreter = Interpreter(model_path=MODEL, experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    scale, zero = inp['quantization']
    logits_index = interpreter._get_ops_details()[LOGITS_OP]['outputs'][0]
    details = {d['index']: d for d in interpreter.get_tensor_details()}
    out_scale, out_zero = details[logits_index]['quantization']
    rows = []
    for name in photos():
        rgb = np.asarray(Image.open(os.path.join(SAMPLE, 'images', name + '.jpg')).convert('RGB'), dtype=np.float32)
        x = resize_bilinear_half_pixel(rgb, 224) / 127.5 - 1
        q = np.clip(np.round(x / scale + zero), 0, 255).astype(np.uint8)[None]
        interpreter.set_tensor(inp['index'], q)
        interpreter.invoke()
        logits = (interpreter.get_tensor(logits_index).reshape(-1).astype(np.float32) - out_zero) * out_scale
        top = [int(i) for i in np.argsort(-logits, kind='stable')[:5]]
        rows.append({'photo': name, 'top5': top, 'logits': [round(float(logits[i]), 4) for i in top]})
    head = {'model': 'mobilenet_v2_1.0_224_quant.tflite', 'interpreter': 'ai-edge-litert 2.3.0', 'madeBy': 'scripts/imagenet_int8_reference.py'}
    with open(OUT, 'w') as f:
        f.write(json.dumps(head)[:-1] + ', "photos": [\n')
        f.write(',\n'.join('  ' + json.dumps(r) for r in rows))
        f.write('\n]}\n')


if __name__ == '__main__':
    main()
