import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { importModel } from '../../converter/import/import_model.js';
import { OnnxGraphBuilder } from '../../converter/onnx/builder.js';
import { encodeModel, IR_VERSION, ONNX_DTYPE } from '../../core/node/onnx/proto.js';
import { tempDir } from '../../bench/helpers/fixtures.js';

/** A 1×1 convolution from 3 channels to `classes`, NCHW, at height×width: the smallest per-pixel classifier. */
function tinyOnnx(height: number, width: number, classes: number): Uint8Array {
  const b = new OnnxGraphBuilder();
  const w = b.floats('w', [classes, 3, 1, 1], Float32Array.from({ length: classes * 3 }, (_, i) => Math.sin(i + 1)));
  b.node('Conv', ['pixels', w], ['scores']);
  const info = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: ONNX_DTYPE.float, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  return encodeModel({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'test',
    producerVersion: '1',
    graph: { name: 'tiny', node: b.nodes, initializer: b.initializers, input: [info('pixels', [1, 3, height, width])], output: [info('scores', [1, classes, height, width])] },
  });
}

describe('edgeseg import of an ONNX model keeps its own geometry', () => {
  it('keeps a 64×96 input and 5 classes named by --labels, and refuses labels of another count or none', async () => {
    const root = tempDir('onnx-geometry');
    const path = join(root, 'tiny.onnx');
    writeFileSync(path, tinyOnnx(64, 96, 5));
    const { card } = await importModel({ path, name: 'tiny', models: root, normalize: 'unit', labels: ['a', 'b', 'c', 'd', 'e'] });
    assert.deepEqual(card.contract.input.shape, [1, 3, 64, 96]);
    assert.equal(card.contract.input.layout, 'NCHW');
    assert.deepEqual(card.contract.output.shape, [1, 5, 64, 96]);
    assert.deepEqual(card.contract.classes, ['a', 'b', 'c', 'd', 'e']);
    await assert.rejects(importModel({ path, name: 'tiny', models: root, normalize: 'unit', labels: ['a', 'b', 'c'] }), { code: 'IMPORT_CLASSES_MISMATCH' });
    await assert.rejects(importModel({ path, name: 'tiny', models: root, normalize: 'unit' }), { code: 'IMPORT_LABELS_MISSING' });
  });
});
