import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { parseLabelLines, parseLabelsOption, tfliteMetadataLabels } from '../../converter/import/labels.js';

describe('import labels', () => {
  it('reads a labels file one name a line, up to the first blank line (PASCAL VOC’s file ends with a note)', () => {
    const labels = parseLabelsOption('data/deeplabv3-mnv2-pascal/pascal_voc_segmentation_labels.txt');
    assert.equal(labels.length, 21);
    assert.deepEqual([labels[0], labels[8], labels[12], labels[20]], ['background', 'cat', 'dog', 'tvmonitor']);
  });

  it('takes anything that is not a file as a comma-separated list', () => {
    assert.deepEqual(parseLabelsOption('pet, background ,border'), ['pet', 'background', 'border']);
    assert.deepEqual(parseLabelLines('a\r\nb\n\nnot a class\n'), ['a', 'b']);
  });

  it('finds the labels file in a zip appended to a TFLite model, and nothing in a model without one', () => {
    const model = new Uint8Array(readFileSync('test/fixtures/tflite/ops/conv_2d_float.tflite'));
    assert.equal(tfliteMetadataLabels(model), null);
    const zip = zipSync({ 'labelmap.txt': new TextEncoder().encode('sky\nroad\n'), 'notes.md': new Uint8Array(3) });
    assert.deepEqual(tfliteMetadataLabels(new Uint8Array([...model, ...zip])), ['sky', 'road']);
  });
});
