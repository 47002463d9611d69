"""Reference class-id masks of a .tflite segmentation model from Google's LiteRT interpreter.

Made once and committed as fixtures (test/fixtures/tflite/): edgeseg's imported model must agree
with them. LiteRT runs as it does by default on a CPU (the XNNPACK delegate, one thread), fed the
exact bytes the imported graph feeds its first layer, which scripts/tflite_reference_inputs.ts
dumps from edgeseg's own preprocessing:

  npx tsx scripts/tflite_reference_inputs.ts --model data/deeplabv3-mnv2-pascal/deeplabv3_mnv2_pascal_quant.tflite \
    --images data/oxford-pets-sample/images --out .cache/deeplab_pets.codes
  python3 scripts/tflite_reference.py --model data/deeplabv3-mnv2-pascal/deeplabv3_mnv2_pascal_quant.tflite \
    --codes .cache/deeplab_pets.codes --out test/fixtures/tflite/deeplab_pets

Writes <out>/<name>.png (8-bit grayscale, pixel = class id: the model's ARG_MAX output) and
<out>/reference.json (model sha256, interpreter, input shape, names). Needs ai-edge-litert, numpy
and pillow.
"""
import argparse
import hashlib
import json
import os
import time

import numpy as np
from PIL import Image
from ai_edge_litert import __version__ as litert_version
from ai_edge_litert.interpreter import Interpreter


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', required=True)
    ap.add_argument('--codes', required=True, help='frames of input bytes, NHWC, one after another')
    ap.add_argument('--names', help='one frame name a line (default: <codes>.names)')
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    names = [n for n in open(a.names or a.codes + '.names').read().split('\n') if n]
    interpreter = Interpreter(model_path=a.model, num_threads=1)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    frame = int(np.prod(inp['shape']))
    codes = np.fromfile(a.codes, dtype=inp['dtype'])
    if codes.size != frame * len(names):
        raise SystemExit(f'{a.codes} holds {codes.size} values, expected {len(names)} frames of {frame}')
    os.makedirs(a.out, exist_ok=True)
    ms = []
    for k, name in enumerate(names):
        interpreter.set_tensor(inp['index'], codes[k * frame:(k + 1) * frame].reshape(inp['shape']))
        t0 = time.perf_counter()
        interpreter.invoke()
        ms.append(1000 * (time.perf_counter() - t0))
        ids = interpreter.get_tensor(out['index'])[0]
        if ids.max() > 255:
            raise SystemExit(f'{name}: class id {ids.max()} does not fit a byte')
        Image.fromarray(ids.astype(np.uint8), mode='L').save(os.path.join(a.out, name + '.png'), optimize=True)
    sha = hashlib.sha256(open(a.model, 'rb').read()).hexdigest()
    meta = {
        'model': os.path.basename(a.model),
        'sha256': sha,
        'interpreter': f'ai-edge-litert {litert_version}, default CPU path (XNNPACK delegate), 1 thread',
        'input': {'shape': [int(d) for d in inp['shape']], 'dtype': np.dtype(inp['dtype']).name},
        'output': 'class ids (the ARG_MAX output), PNG per frame',
        'frames': names,
    }
    with open(os.path.join(a.out, 'reference.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    print(f'{len(names)} masks → {a.out}; LiteRT invoke, one thread: median {sorted(ms)[len(ms) // 2]:.1f} ms/frame')


if __name__ == '__main__':
    main()
