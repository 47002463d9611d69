/** The module worker of `edgeseg/runtime-web/tfjs`: the tfjs engine alone (no ONNX Runtime code), over comlink. */
import { expose } from 'comlink';
import { Engine } from './engine.js';
import { installErrorTransfer } from './protocol.js';
import { webTfjsRunner } from './runner_tfjs.js';

installErrorTransfer();
expose(new Engine({ tfjs: webTfjsRunner }));
