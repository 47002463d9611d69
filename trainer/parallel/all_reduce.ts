/**
 * Sum-all-reduce between the replicas of a data-parallel run, through SharedArrayBuffers: no
 * message, no copy through the event loop. Summing in rank order makes the result the same bits in
 * every replica (and, with one replica, its own vector unchanged).
 *
 * Short vectors (BatchNorm statistics and their gradients, two per layer and step) take one
 * barrier: each replica writes its row, a barrier, each sums every row itself. Their rows
 * alternate between two banks, so a replica already writing call t + 1 never overwrites rows
 * another is still summing for call t (to reach bank t again, everyone must have passed t + 1's
 * barrier). Long vectors (the gradients) share the summing: rows, a barrier, each replica sums one
 * chunk of the columns into the shared result, a barrier, everyone copies the result.
 *
 * The barrier blocks the calling thread (Atomics.wait), which replicas may do: their kernels are
 * synchronous and nothing else runs on their thread. A replica that fails sets the abort flag so
 * that the others leave their barrier with an error instead of waiting for it forever.
 */
import { ReplicaAbortedError } from '../../core/errors.js';

/** Int32 slots of the control buffer. */
const COUNT = 0;
const GENERATION = 1;
const ABORT = 2;
/** Next rank to hand out (workers of one pool share their start data, so they claim ranks). */
const NEXT_RANK = 3;
const CONTROL_SLOTS = 4;

/** How long one Atomics.wait slice lasts before the abort flag is checked again. */
const WAIT_SLICE_MS = 500;
/**
 * A barrier that waits longer than this means a replica is gone without setting the abort flag
 * (a crash the coordinator has not seen yet): fail rather than hang. Longer than any step.
 */
const BARRIER_LIMIT_MS = 20 * 60_000;

/** The shared memory of one replica group, created by the coordinator and sent to every replica. */
export interface AllReduceBuffers {
  control: SharedArrayBuffer;
  /** world × capacity float32: one row per replica. */
  rows: SharedArrayBuffer;
  /** capacity float32: the reduced vector. */
  result: SharedArrayBuffer;
  /** 2 banks × world × shortCapacity float32: rows of short vectors. */
  shortRows: SharedArrayBuffer;
  world: number;
  capacity: number;
  /** Longest vector reduced with one barrier. */
  shortCapacity: number;
}

export function createAllReduceBuffers(world: number, capacity: number, shortCapacity = 0): AllReduceBuffers {
  return {
    control: new SharedArrayBuffer(CONTROL_SLOTS * 4),
    rows: new SharedArrayBuffer(world * capacity * 4),
    result: new SharedArrayBuffer(capacity * 4),
    shortRows: new SharedArrayBuffer(2 * world * shortCapacity * 4),
    world,
    capacity,
    shortCapacity,
  };
}

/** Wakes every replica waiting in a barrier and makes it throw ReplicaAbortedError. */
export function abortAllReduce(buffers: AllReduceBuffers): void {
  const control = new Int32Array(buffers.control);
  Atomics.store(control, ABORT, 1);
  Atomics.add(control, GENERATION, 1);
  Atomics.notify(control, GENERATION);
}

/** Clears the abort flag and the rank counter, for a group started again on the same buffers. */
export function resetAllReduce(buffers: AllReduceBuffers): void {
  new Int32Array(buffers.control).fill(0);
}

/** One replica's end of the group. */
export class AllReduce {
  readonly rank: number;
  readonly world: number;
  private readonly control: Int32Array;
  private readonly rows: Float32Array;
  private readonly result: Float32Array;
  private readonly capacity: number;
  private readonly shortRows: Float32Array;
  private readonly shortCapacity: number;
  /** Short reductions so far: which bank the next one writes. */
  private shortCalls = 0;
  /** This replica gave up waiting on a barrier (its error, not another's, is the cause). */
  timedOut = false;
  /** Time spent blocked in barriers and barriers passed, since the counters were last read. */
  private waited = 0;
  private barriers = 0;

  /** Claims the next free rank (0, 1, …) of the group. */
  constructor(buffers: AllReduceBuffers) {
    this.control = new Int32Array(buffers.control);
    this.rows = new Float32Array(buffers.rows);
    this.result = new Float32Array(buffers.result);
    this.capacity = buffers.capacity;
    this.shortRows = new Float32Array(buffers.shortRows);
    this.shortCapacity = buffers.shortCapacity;
    this.world = buffers.world;
    this.rank = Atomics.add(this.control, NEXT_RANK, 1);
    if (this.rank >= this.world) throw new ReplicaAbortedError(`replica rank ${this.rank} is outside a group of ${this.world} (a replica was restarted)`);
  }

  /** Tells the other replicas to stop (this one failed). */
  abort(): void {
    Atomics.store(this.control, ABORT, 1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
  }

  private checkAbort(): void {
    if (Atomics.load(this.control, ABORT)) throw new ReplicaAbortedError('another replica failed; this step was abandoned');
  }

  /** Returns once every replica of the group has called it. */
  barrier(): void {
    this.checkAbort();
    const generation = Atomics.load(this.control, GENERATION);
    if (Atomics.add(this.control, COUNT, 1) === this.world - 1) {
      Atomics.store(this.control, COUNT, 0);
      Atomics.add(this.control, GENERATION, 1);
      Atomics.notify(this.control, GENERATION);
    } else {
      const start = performance.now();
      const deadline = Date.now() + BARRIER_LIMIT_MS;
      while (Atomics.load(this.control, GENERATION) === generation) {
        Atomics.wait(this.control, GENERATION, generation, WAIT_SLICE_MS);
        this.checkAbort();
        if (Date.now() > deadline) {
          this.timedOut = true;
          this.abort();
          throw new ReplicaAbortedError(`a replica did not reach the barrier within ${BARRIER_LIMIT_MS / 60_000} minutes`);
        }
      }
      this.waited += performance.now() - start;
    }
    this.barriers++;
    this.checkAbort();
  }

  /** Milliseconds blocked in barriers and barriers passed since the last call (a step's synchronisation cost). */
  takeWaitStats(): { waitedMs: number; barriers: number } {
    const stats = { waitedMs: this.waited, barriers: this.barriers };
    this.waited = 0;
    this.barriers = 0;
    return stats;
  }

  /**
   * Element-wise sum of `local` over every replica; every replica gets the same bits. `write`
   * fills this replica's row instead of `local` when the vector is gathered from several tensors.
   * A long vector's sum is a view of the shared result: read it (or copy it) before this replica
   * enters its next barrier.
   */
  sum(length: number, write: (row: Float32Array) => void): Float32Array {
    if (length <= this.shortCapacity) return this.sumShort(length, write);
    if (length > this.capacity) throw new RangeError(`all-reduce of ${length} values exceeds the group's capacity ${this.capacity}`);
    write(this.rows.subarray(this.rank * this.capacity, this.rank * this.capacity + length));
    this.barrier();
    // Each replica reduces one contiguous chunk, so the summing work is shared too.
    const chunk = Math.ceil(length / this.world);
    const lo = Math.min(length, this.rank * chunk);
    const hi = Math.min(length, lo + chunk);
    // Row by row over the chunk: the same additions in the same order as summing each element
    // across the rows (−0 + x is x for every x, so the first row is copied), in loops V8 compiles
    // to straight array code (the element-wise form cost 15 ms of a unet-mobilenetv2 step).
    const { rows, result, capacity } = this;
    result.set(rows.subarray(lo, hi), lo);
    for (let r = 1; r < this.world; r++) {
      const base = r * capacity;
      for (let j = lo; j < hi; j++) result[j] += rows[base + j];
    }
    this.barrier();
    // A view, not a copy (a 26 MB copy per step is external memory that sets off V8's GC): the
    // result stays valid until this replica's next barrier, the earliest point at which another
    // replica can start writing the next long result.
    return this.result.subarray(0, length);
  }

  /**
   * Every replica's row of a short vector, rank by rank ([world × length], the same in every
   * replica), in one barrier: for reductions that need more than a sum (BatchNorm's statistics).
   */
  gather(length: number, write: (row: Float32Array) => void): Float32Array {
    if (length > this.shortCapacity) throw new RangeError(`all-gather of ${length} values exceeds the group's short capacity ${this.shortCapacity}`);
    const bank = (this.shortCalls++ % 2) * this.world * this.shortCapacity;
    write(this.shortRows.subarray(bank + this.rank * this.shortCapacity, bank + this.rank * this.shortCapacity + length));
    this.barrier();
    const out = new Float32Array(this.world * length);
    for (let r = 0; r < this.world; r++) out.set(this.shortRows.subarray(bank + r * this.shortCapacity, bank + r * this.shortCapacity + length), r * length);
    return out;
  }

  private sumShort(length: number, write: (row: Float32Array) => void): Float32Array {
    const bank = (this.shortCalls++ % 2) * this.world * this.shortCapacity;
    write(this.shortRows.subarray(bank + this.rank * this.shortCapacity, bank + this.rank * this.shortCapacity + length));
    this.barrier();
    const out = new Float32Array(length);
    for (let j = 0; j < length; j++) {
      let s = -0;
      for (let r = 0; r < this.world; r++) s += this.shortRows[bank + r * this.shortCapacity + j];
      out[j] = s;
    }
    return out;
  }

  /** `sum` of one vector. */
  sumOf(local: Float32Array): Float32Array {
    return this.sum(local.length, (row) => row.set(local));
  }
}
