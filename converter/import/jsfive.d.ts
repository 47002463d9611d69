/** jsfive ships no types: the part `hdf5.ts` uses. */
declare module 'jsfive' {
  export class File {
    constructor(buffer: ArrayBuffer, filename?: string);
    keys: string[];
    attrs: Record<string, unknown>;
    get(path: string): any;
  }
}
