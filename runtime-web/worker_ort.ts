/** The module worker of `edgeseg/runtime-web/ort`: ONNX Runtime alone (no tfjs), over comlink. */
import { expose } from 'comlink';
import { OrtEngine } from './ort_engine.js';
import { installErrorTransfer } from './protocol.js';

installErrorTransfer();
expose(new OrtEngine());
