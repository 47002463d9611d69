/** The module worker of `edgeseg/runtime-web/tfjs`: the tfjs engine alone (no ONNX Runtime code), over comlink. */
import { expose } from 'comlink';
import { WorkerSegmenter } from './worker_segmenter.js';
import { installErrorTransfer } from './protocol.js';
import { webTfjsRunner } from './runner_tfjs.js';

installErrorTransfer();
expose(new WorkerSegmenter({ tfjs: webTfjsRunner }));
