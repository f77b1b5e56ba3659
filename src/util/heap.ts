/** A binary max-heap of items by a numeric `key` (read when an item is pushed; re-push an item to re-key it). */
export class MaxHeap<T extends { key: number }> {
  private readonly a: T[] = [];

  get size(): number {
    return this.a.length;
  }

  push(x: T): void {
    const a = this.a;
    let i = a.push(x) - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!(a[up]!.key < x.key)) break;
      a[i] = a[up]!;
      i = up;
    }
    a[i] = x;
  }

  /** The item with the highest key, removed (undefined when empty). */
  pop(): T | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const c = l + 1 < a.length && a[l + 1]!.key > a[l]!.key ? l + 1 : l;
      if (!(a[c]!.key > last.key)) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}
