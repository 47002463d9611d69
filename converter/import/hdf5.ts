/**
 * HDF5 reading for Keras files, over jsfive (a pure-JS reader: no wasm, works on bytes in memory,
 * so a `.keras` zip's `model.weights.h5` needs no temporary file). Only what Keras writes is used:
 * groups, string attributes and float datasets.
 */
import * as hdf5 from 'jsfive';
import { ImportError } from '../../core/errors.js';
import { IMPORT_LIMITS } from './import_limits.js';

/** A group or dataset as jsfive returns it. */
interface Hdf5Node {
  keys?: string[];
  attrs: Record<string, unknown>;
  shape?: number[];
  dtype?: string;
  value?: ArrayLike<number>;
}

/** An HDF5 file opened from bytes; paths are `/`-separated from the root. */
export class Hdf5File {
  private readonly file: { get(path: string): Hdf5Node | null; keys: string[]; attrs: Record<string, unknown> };

  constructor(
    bytes: Uint8Array,
    readonly name: string,
  ) {
    try {
      this.file = new hdf5.File(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, name);
    } catch (err) {
      throw new ImportError('IMPORT_MALFORMED', `${name} is not a readable HDF5 file: ${(err as Error).message}`, { cause: err });
    }
  }

  private node(path: string): Hdf5Node | null {
    if (path === '' || path === '/') return this.file as unknown as Hdf5Node;
    try {
      return this.file.get(path) ?? null;
    } catch {
      return null;
    }
  }

  /** Whether a group or dataset exists at `path`. */
  has(path: string): boolean {
    return this.node(path) !== null;
  }

  /** Child names of a group (empty for a dataset or a missing path). */
  keys(path: string): string[] {
    try {
      return this.node(path)?.keys ?? [];
    } catch (err) {
      throw new ImportError('IMPORT_MALFORMED', `${this.name}: group ${path} cannot be read: ${(err as Error).message}`, { cause: err });
    }
  }

  /** A string attribute, or a list of strings (Keras' `layer_names`, `weight_names`); null when absent. */
  attr(path: string, name: string): string | string[] | null {
    let v: unknown;
    try {
      v = this.node(path)?.attrs[name];
    } catch (err) {
      throw new ImportError('IMPORT_MALFORMED', `${this.name}: attribute ${name} of ${path} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    if (v === undefined || v === null) return null;
    const str = (x: unknown) => (x instanceof Uint8Array ? new TextDecoder().decode(x) : String(x));
    return Array.isArray(v) ? v.map(str) : str(v);
  }

  /** A float dataset as float32 with its shape. */
  dataset(path: string): { shape: number[]; data: Float32Array } {
    const n = this.node(path);
    const malformed = (why: string, cause?: unknown) => new ImportError('IMPORT_MALFORMED', `${this.name}: dataset ${path} ${why}`, cause === undefined ? {} : { cause });
    // jsfive reads lazily: a shape, dtype or value that lies throws (or allocates) only when touched.
    let shape: number[] | undefined;
    let dtype: string | undefined;
    try {
      shape = n?.shape;
      dtype = n?.dtype;
    } catch (err) {
      throw malformed(`cannot be read: ${(err as Error).message}`, err);
    }
    if (!n || !Array.isArray(shape)) throw new ImportError('IMPORT_MALFORMED', `${this.name} has no dataset ${path}`);
    if (!/^[<>|]?f[248]$/.test(dtype ?? '')) throw malformed(`is ${dtype}, not a float array`);
    const count = shape.reduce((a, d) => (Number.isSafeInteger(d) && d >= 0 ? a * d : Number.NaN), 1);
    if (!Number.isSafeInteger(count) || count * 4 > IMPORT_LIMITS.maxFileBytes) throw malformed(`declares shape [${shape.join(', ')}], more than a model file may hold`);
    let value: ArrayLike<number> | undefined;
    try {
      value = n.value;
    } catch (err) {
      throw malformed(`cannot be read: ${(err as Error).message}`, err);
    }
    if (!value || value.length !== count) throw malformed(`holds ${value?.length ?? 0} values; its shape [${shape.join(', ')}] declares ${count}`);
    return { shape: [...shape], data: Float32Array.from(value) };
  }
}
