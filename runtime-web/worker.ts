/** The module worker of `edgeseg/runtime-web`: every engine (tfjs and ONNX Runtime), over comlink. */
import { expose } from 'comlink';
import { Engine } from './engine.js';
import { installErrorTransfer } from './protocol.js';
import { webOrtRunner } from './runner_ort.js';
import { webTfjsRunner } from './runner_tfjs.js';

installErrorTransfer();
expose(new Engine({ tfjs: webTfjsRunner, ort: webOrtRunner }));
