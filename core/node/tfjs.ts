/**
 * tfjs for Node, set up once: core, layers (which also registers every gradient), the cpu and
 * wasm backends, and edgeseg's wasm gradient kernels. Import `tf`/`tfl` from here in Node code.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerGradients } from './gradients/register.js';
import { registerWasmGradientKernels } from './wasm_kernels/register.js';

registerWasmGradientKernels();
registerGradients();
// Silences tfjs' "install tfjs-node" banner and debug warnings: edgeseg picks its backend itself.
tf.env().set('PROD', true);
// Start on cpu (it initialises synchronously) until a command selects its backend; otherwise tfjs
// would pick wasm, the highest-priority backend, which is not ready before its async init.
void tf.setBackend('cpu');

export { tf, tfl };
