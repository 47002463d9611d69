/** The simulated labeller the loop demo's rounds are built from: ground truth, careless, and an auditor sampling each arm. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASS_BACKGROUND, decodeMaskPng, fromBase64, LABEL_REQUEST_SCHEMA, syntheticSample, topicNames, type LabelRequestMessage } from '../../core/index.js';
import { parseDatasetSpecs } from '../../core/dataset_spec.js';
import { sampleKey } from '../../datasets/sample_types.js';
import { listSources } from '../../datasets/sources/index.js';
import type { Transport } from '../../runtime-node/transport/transport.js';
import { SimulatedLabeler, type SimulatedLabelerOptions } from '../../tools/simulated_labeler.js';

const SOURCE = 'synthetic:count=20,size=64,seed=11,shift=1,smooth=1';
const request = (index: number, modelVersion = 'm@1', source = SOURCE): LabelRequestMessage => ({
  schema: LABEL_REQUEST_SCHEMA,
  frameId: `f-${index}-${modelVersion}`,
  sensorId: 's1',
  score: 0.5,
  reason: 'entropy',
  modelVersion,
  frame: { store: 'x', sha256: '0'.repeat(64), contentType: 'image/png', sampleId: keyOf(source, index) },
  at: new Date(0).toISOString(),
});

/** The `sample-id` the frame producer gives sample `index` of `source`. */
const keyOf = (source: string, index: number) => sampleKey(listSources(parseDatasetSpecs(source)).refs[index]);

// answer() and respond() read only the source; the transport is used by start(), which these tests do not call.
const labeler = (o: Partial<SimulatedLabelerOptions>) => new SimulatedLabeler(null as unknown as Transport, { source: SOURCE, topics: topicNames('t.'), groupId: 'g', ...o });
const maskOf = (answer: { mask: string } | null) => decodeMaskPng(fromBase64(answer!.mask)).data;

describe('simulated labeller (tools/simulated_labeler.ts)', () => {
  it('answers with the ground-truth mask of the frame\'s sample, and not at all for an unknown sample', () => {
    const answer = labeler({}).answer(request(3));
    assert.equal(answer?.labeler, 'ground-truth');
    assert.deepEqual(maskOf(answer), syntheticSample(3, { size: 64, seed: 11, shift: 1, smooth: 1 }).mask.data);
    assert.equal(labeler({}).answer({ ...request(3), frame: { ...request(3).frame, sampleId: 'no-such-sample' } }), null);
  });

  it('does not answer a frame of another source whose sample has the same id', () => {
    const other = 'synthetic:count=20,size=64,seed=3,shift=1';
    assert.equal(listSources(parseDatasetSpecs(other)).refs[3].id, listSources(parseDatasetSpecs(SOURCE)).refs[3].id);
    assert.equal(labeler({}).answer(request(3, 'm@1', other)), null);
    assert.notEqual(labeler({ source: other }).answer(request(3, 'm@1', other)), null);
  });

  it('answers every request with an all-background mask when careless', () => {
    const answer = labeler({ mode: 'background' }).answer(request(4));
    assert.equal(answer?.labeler, 'careless');
    assert.ok(maskOf(answer).every((c) => c === CLASS_BACKGROUND));
    assert.ok(syntheticSample(4, { size: 64, seed: 11, shift: 1, smooth: 1 }).mask.data.some((c) => c !== CLASS_BACKGROUND));
  });

  it('as an auditor, answers at most perVersion requests for each model version', async () => {
    const auditor = labeler({ perVersion: 3 });
    const answered = async (version: string) => {
      let n = 0;
      for (let i = 0; i < 8; i++) if ((await auditor.respond(request(i, version))) !== null) n++;
      return n;
    };
    assert.equal(await answered('m@1'), 3);
    assert.equal(await answered('m@2'), 3);
    assert.equal(await answered('m@1'), 0);
    // An unknown sample does not use up the version's share.
    const other = labeler({ perVersion: 1 });
    assert.equal(await other.respond({ ...request(0, 'm@3'), frame: { ...request(0).frame, sampleId: 'no-such-sample' } }), null);
    assert.notEqual(await other.respond(request(1, 'm@3')), null);
  });
});
