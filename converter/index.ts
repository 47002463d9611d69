/** edgeseg/converter: model artifacts (shards, card, SHA256SUMS, verification) and the model registry. */
export { saveLayersModel, writeModelDir, readModelDir, loadLayersModel, modelArtifacts, type CardDraft, type VerifiedModelDir } from '../core/node/artifact_fs.js';
export { listVersions, listModelNames, aliases, setAlias, reserveVersion, publishRun, resolveModelRef, DEFAULT_MODELS_ROOT } from '../core/node/registry.js';
