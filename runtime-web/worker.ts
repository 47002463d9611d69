/** The module worker of `edgeseg/runtime-web`: every engine (tfjs and ONNX Runtime), over comlink. */
import { expose } from 'comlink';
import { WorkerSegmenter } from './worker_segmenter.js';
import { installErrorTransfer } from './protocol.js';
import { webOrtRunner } from './runner_ort.js';
import { webTfjsRunner } from './runner_tfjs.js';

installErrorTransfer();
expose(new WorkerSegmenter({ tfjs: webTfjsRunner, ort: webOrtRunner }));
