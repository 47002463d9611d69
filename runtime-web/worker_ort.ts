/** The module worker of `edgeseg/runtime-web/ort`: ONNX Runtime alone (no tfjs), over comlink. */
import { expose } from 'comlink';
import { OrtWorkerSegmenter } from './ort_worker_segmenter.js';
import { installErrorTransfer } from './protocol.js';

installErrorTransfer();
expose(new OrtWorkerSegmenter());
