/** The module worker: exposes the engine over comlink. */
import { expose } from 'comlink';
import { Engine } from './engine.js';
import { installErrorTransfer } from './protocol.js';

installErrorTransfer();
expose(new Engine());
