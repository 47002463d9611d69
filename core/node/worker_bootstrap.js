// Entry of an edgeseg worker thread run from TypeScript source (a checkout, through tsx): node 20
// workers do not inherit the parent's module hooks, so this registers tsx in the new thread, then
// runs the module asked for. start_worker.ts uses it only when the compiled `.js` module is absent;
// the compiled package starts its workers directly, without tsx.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
