/** A Keras-family source (`.keras`, `.h5`, tfjs layers directory) → a flat, contract-named tfjs layers model's artifacts. */
import type { io } from '@tensorflow/tfjs-core';
import { OUTPUT_NAME } from '../../core/index.js';
import { modelArtifacts } from '../../core/node/artifact_fs.js';
import { buildFlatModel } from './keras_graph.js';
import type { KerasSource } from './keras_read.js';
import { renameLayer } from './rename_layer.js';

export interface ImportedLayers {
  artifacts: io.ModelArtifacts;
  sourceInput: string;
  sourceOutput: string;
  pinned: string[];
  flattened: string[];
  renamed: Record<string, string>;
  /** The input Rescaling that shows the model takes raw pixels (rescaled to take unit input), or null. */
  pixelRescaling: string | null;
  /** Layers of the flat graph by class, e.g. `{Conv2D: 5, BatchNormalization: 7}`. */
  layerClasses: Record<string, number>;
}

/** Builds the flat model, saves it as artifacts with the output layer named by the contract, and disposes it. */
export async function importKerasLayers(source: KerasSource): Promise<ImportedLayers> {
  const flat = buildFlatModel(source.config, source.weights);
  try {
    const artifacts = renameLayer(await modelArtifacts(flat.model), flat.outputLayer, OUTPUT_NAME);
    const renamed = { ...flat.renamed };
    renamed[flat.sourceOutput] = OUTPUT_NAME;
    for (const [from, to] of Object.entries(renamed)) if (from === to) delete renamed[from];
    const layerClasses: Record<string, number> = {};
    for (const l of flat.model.layers) layerClasses[l.getClassName()] = (layerClasses[l.getClassName()] ?? 0) + 1;
    return { artifacts, sourceInput: flat.sourceInput, sourceOutput: flat.sourceOutput, pinned: flat.pinned, flattened: flat.flattened, renamed, layerClasses, pixelRescaling: flat.pixelRescaling };
  } finally {
    flat.model.dispose();
  }
}
