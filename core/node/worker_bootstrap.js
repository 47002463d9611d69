// Entry of every edgeseg worker thread: registers the TypeScript loader in this thread (node 20
// workers do not inherit the parent's module hooks), then runs the TypeScript module asked for.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
