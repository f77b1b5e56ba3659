/**
 * Reuse of the Float32Arrays that native kernels return, so that a training step does not allocate
 * (and page-fault and zero) hundreds of megabytes of fresh memory: Node frees an ArrayBuffer only
 * when the JS garbage collector runs, while tfjs knows exactly when a tensor dies (disposeData).
 *
 * Safety rules (an array is recycled only if no one else can still see it):
 *   - only arrays this pool allocated are ever recycled (never arrays passed in by user code);
 *   - an array handed out by readSync/read (dataSync, data, array, print...) is never recycled;
 *   - an array that gets stored a second time, or whose view (subarray) is stored as another
 *     tensor's values (the cpu Slice kernel does that), is never recycled;
 *   - a recycled array holds stale values, so native kernels fill every element of their outputs.
 */
interface Entry {
  array: Float32Array;
  /** Stored as some tensor's values right now. */
  live: boolean;
  /** Seen outside the pool's control: never recycle. */
  escaped: boolean;
}

export interface PoolStats {
  allocated: number;
  reused: number;
  recycled: number;
  pooledBytes: number;
}

export class BufferPool {
  private readonly owned = new WeakMap<ArrayBufferLike, Entry>();
  private readonly free = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  readonly stats: PoolStats = { allocated: 0, reused: 0, recycled: 0, pooledBytes: 0 };

  /**
   * @param minLength smaller arrays are cheap to allocate and are not pooled
   * @param maxPooledBytes bound on memory kept for reuse
   */
  constructor(private readonly minLength = 4096, private readonly maxPooledBytes = 256 * 2 ** 20) {}

  /** An array of length n for a kernel output (contents undefined if reused). */
  alloc(n: number): Float32Array {
    if (n < this.minLength) return new Float32Array(n);
    const list = this.free.get(n);
    const reused = list?.pop();
    if (reused) {
      this.pooledBytes -= reused.byteLength;
      this.stats.reused++;
      return reused;
    }
    const array = new Float32Array(n);
    this.owned.set(array.buffer, { array, live: false, escaped: false });
    this.stats.allocated++;
    return array;
  }

  /** Called when values are stored for a tensor (backend write/move). */
  noteStored(values: unknown): void {
    const e = this.entryOf(values);
    if (!e) return;
    if (values !== e.array || e.live) e.escaped = true;
    else e.live = true;
  }

  /** Called when values leave the backend (readSync/read). */
  noteEscaped(values: unknown): void {
    const e = this.entryOf(values);
    if (e) e.escaped = true;
  }

  /** Called after a tensor's data was deleted. */
  release(values: unknown): void {
    const e = this.entryOf(values);
    if (!e || values !== e.array) return;
    e.live = false;
    const bytes = e.array.byteLength;
    if (e.escaped || this.pooledBytes + bytes > this.maxPooledBytes) {
      this.owned.delete(e.array.buffer);
      return;
    }
    let list = this.free.get(e.array.length);
    if (!list) this.free.set(e.array.length, (list = []));
    list.push(e.array);
    this.pooledBytes += bytes;
    this.stats.recycled++;
    this.stats.pooledBytes = this.pooledBytes;
  }

  /** Drops every pooled array (memory goes back to the GC). */
  clear(): void {
    for (const list of this.free.values()) for (const a of list) this.owned.delete(a.buffer);
    this.free.clear();
    this.pooledBytes = 0;
    this.stats.pooledBytes = 0;
  }

  private entryOf(values: unknown): Entry | undefined {
    if (!(values instanceof Float32Array)) return undefined;
    return this.owned.get(values.buffer);
  }
}
