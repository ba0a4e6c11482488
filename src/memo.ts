// Memo tables of pure functions of canonical keys (a sum's cancellation, a polynomial's sign,
// a root's simplified radicand), bounded in size. They live for the process, so a watch mode or
// a plugin recompiling similar sources reuses them; `clearMemos` empties them all, for cold
// measurements (bench/) and tests. A memo never changes a result, only its cost.
const tables: Map<unknown, unknown>[] = [];

export interface Memo<V> {
  get(key: string, compute: () => V): V;
}

export function memoTable<V>(limit = 10_000): Memo<V> {
  const table = new Map<string, V>();
  tables.push(table as Map<unknown, unknown>);
  return {
    get(key, compute) {
      if (table.has(key)) return table.get(key)!;
      const v = compute();
      if (table.size < limit) table.set(key, v);
      return v;
    },
  };
}

/** Empties every memo table. */
export function clearMemos(): void {
  for (const t of tables) t.clear();
}
