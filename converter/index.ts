/** edgeseg/converter: model artifacts (shards, card, SHA256SUMS, verification) and the model registry. */
export { saveLayersModel, writeModelDir, readModelDir, loadLayersModel, modelArtifacts, type CardDraft, type VerifiedModelDir } from './artifact_fs.js';
export { listVersions, listModelNames, aliases, setAlias, reserveVersion, publishRun, resolveModelRef, DEFAULT_MODELS_ROOT } from './registry.js';
