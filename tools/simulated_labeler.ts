/**
 * A simulated labeller for demos and tests: answers `edgeseg.label-requests` on `edgeseg.feedback`
 * with the ground-truth mask of the dataset sample a frame was made from (the frame's
 * `sample-id`, which names the source too: frames of another source are not answered), so the
 * closed loop runs without people. `mode: 'background'` answers every request with an
 * all-background mask: a careless labeller whose labels make a worse challenger. The consuming,
 * caps and commits are RequestLabeler's.
 */
import { readFileSync } from 'node:fs';
import { CLASS_BACKGROUND, ConfigError, decodeMaskPng, encodeMaskPng, FEEDBACK_SCHEMA_MESSAGE, syntheticSample, toBase64, type FeedbackMessage, type LabelRequestMessage } from '../core/index.js';
import { parseDatasetSpecs } from '../core/dataset_spec.js';
import { type ClassMask } from '../core/preprocess.js';
import { sampleKey, type SampleRef } from '../datasets/sample_types.js';
import { listSources } from '../datasets/sources/index.js';
import type { Transport } from '../runtime-node/transport/transport.js';
import { RequestLabeler, type RequestLabelerOptions } from '../runtime-node/loop/request_labeler.js';

export interface SimulatedLabelerOptions extends RequestLabelerOptions {
  /** The dataset spec the frames were produced from (the producer's `--source`). */
  source: string;
  /** @default 'truth' */
  mode?: 'truth' | 'background';
}

function groundTruth(ref: SampleRef): ClassMask {
  if (ref.kind === 'synthetic') return syntheticSample(ref.index, ref).mask;
  if (ref.maskFormat === 'classIds') return decodeMaskPng(readFileSync(ref.mask));
  throw new ConfigError(`the simulated labeler answers synthetic and class-id sources only, not ${ref.id}`);
}

export class SimulatedLabeler extends RequestLabeler {
  private readonly refs: Map<string, SampleRef>;

  constructor(
    transport: Transport,
    private readonly o: SimulatedLabelerOptions,
  ) {
    super(transport, o);
    this.refs = new Map(listSources(parseDatasetSpecs(o.source)).refs.map((r) => [sampleKey(r), r]));
  }

  /** The feedback message for a request, or null when the frame has no known sample. */
  answer(request: LabelRequestMessage): FeedbackMessage | null {
    const ref = request.frame.sampleId ? this.refs.get(request.frame.sampleId) : undefined;
    if (!ref) return null;
    const truth = groundTruth(ref);
    const mask = this.o.mode === 'background' ? { ...truth, data: new Uint8Array(truth.data.length).fill(CLASS_BACKGROUND) } : truth;
    return { schema: FEEDBACK_SCHEMA_MESSAGE, frameId: request.frameId, mask: toBase64(encodeMaskPng(mask)), source: 'simulated', labeler: this.o.mode === 'background' ? 'careless' : 'ground-truth', at: new Date().toISOString() };
  }

  protected async label(request: LabelRequestMessage): Promise<FeedbackMessage | null> {
    return this.answer(request);
  }
}
