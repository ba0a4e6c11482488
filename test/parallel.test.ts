// nngpc/parallel: the kernel map on worker threads, bit for bit the single-threaded one.
import { afterAll, describe, expect, it } from 'vitest';
import { compileActivation } from '../src/index.js';
import { parallelKernel, type ParallelKernel } from '../src/parallel.js';

const open: ParallelKernel[] = [];
afterAll(async () => {
  await Promise.all(open.map((p) => p.close()));
});

function input(n1: number, n2: number | undefined, ntk: boolean, shared = false) {
  const alloc = (n: number) => (shared ? new Float64Array(new SharedArrayBuffer(8 * n)) : new Float64Array(n));
  const cov1 = alloc(n1).map((_, i) => 0.3 + (i % 7));
  const cov2 = n2 === undefined ? undefined : alloc(n2).map((_, j) => 2.5 - 0.3 * (j % 5));
  const m = n2 ?? n1;
  const other = cov2 ?? cov1;
  const nngp = alloc(n1 * m).map(
    (_, x) => [1, -1, 0.3, -0.999, 0.5, 1 + 2 ** -52][x % 6]! * Math.sqrt(cov1[Math.floor(x / m)]! * other[x % m]!),
  );
  return {
    nngp,
    cov1,
    ...(ntk ? { ntk: nngp.map((x) => 1 - x) } : {}),
    ...(cov2 ? { cov2 } : {}),
  };
}

const same = (a: Float64Array | undefined, b: Float64Array | undefined) =>
  a === undefined ? b === undefined : !!b && a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

describe('parallelKernel', () => {
  // sin and exp_normalized compute per-column values (one scratch array per worker's module).
  for (const id of ['relu', 'gelu', 'erf', 'sign', 'sin', 'exp_normalized']) {
    it(`${id}: the same doubles as kernel() on 2 and 3 threads, with and without ntk and cov2`, () => {
      const k = compileActivation(id);
      for (const threads of [2, 3]) {
        const p = parallelKernel(k, { threads, minEntries: 0 });
        open.push(p);
        for (const [n1, n2, ntk] of [
          [37, undefined, true],
          [37, 11, false],
          [5, 40, true],
          [1, 9, true],
        ] as const) {
          const x = input(n1, n2, ntk, n1 === 5);
          const want = k.kernel(x);
          const got = p.kernel(x);
          for (const f of ['nngp', 'ntk', 'cov1', 'cov2'] as const) expect(same(got[f], want[f]), `${f}`).toBe(true);
        }
      }
    });
  }

  it('writes into out (shared or not, or in place) and returns it; small kernels stay on the calling thread', () => {
    const k = compileActivation('relu');
    const p = parallelKernel(k, { threads: 2, minEntries: 0 });
    open.push(p);
    const x = input(20, 8, true);
    const want = k.kernel(x);
    for (const shared of [false, true]) {
      const alloc = (n: number) => (shared ? new Float64Array(new SharedArrayBuffer(8 * n)) : new Float64Array(n));
      const out = { nngp: alloc(160), ntk: alloc(160), cov1: alloc(20), cov2: alloc(8) };
      expect(p.kernel(x, { out })).toBe(out);
      for (const f of ['nngp', 'ntk', 'cov1', 'cov2'] as const) expect(same(out[f], want[f])).toBe(true);
    }
    const copy = { nngp: x.nngp.slice(), ntk: x.ntk!.slice(), cov1: x.cov1.slice(), cov2: x.cov2!.slice() };
    p.kernel(copy, { out: copy });
    for (const f of ['nngp', 'ntk', 'cov1', 'cov2'] as const) expect(same(copy[f], want[f])).toBe(true);
    // In place in shared memory, with and without cov2: the variances' maps are written only once
    // every block has read them (a worker reads cov1 as the columns while another block finishes).
    for (const [n2, ntk] of [
      [undefined, true],
      [undefined, false],
      [13, true],
    ] as const) {
      const s = input(61, n2, ntk, true);
      const expected = k.kernel(s);
      for (let run = 0; run < 3; run++) {
        const inPlace = {
          nngp: s.nngp.slice(),
          cov1: s.cov1.slice(),
          ...(s.ntk ? { ntk: s.ntk.slice() } : {}),
          ...(s.cov2 ? { cov2: s.cov2.slice() } : {}),
        };
        const shared = Object.fromEntries(
          Object.entries(inPlace).map(([key, a]) => {
            const t = new Float64Array(new SharedArrayBuffer(8 * a.length));
            t.set(a);
            return [key, t];
          }),
        ) as unknown as { nngp: Float64Array; cov1: Float64Array; ntk?: Float64Array; cov2?: Float64Array };
        p.kernel(shared, { out: shared });
        for (const f of ['nngp', 'ntk', 'cov1', 'cov2'] as const) expect(same(shared[f], expected[f]), f).toBe(true);
      }
    }
    const small = parallelKernel(k, { threads: 2 }); // default threshold: 160 entries run here
    open.push(small);
    expect(same(small.kernel(x).nngp, want.nngp)).toBe(true);
  });

  it("rejects bad input with the module kernel's own messages, and bad options", () => {
    const k = compileActivation('relu');
    const p = parallelKernel(k, { threads: 2, minEntries: 0 });
    open.push(p);
    expect(() => p.kernel({ nngp: new Float64Array(3), cov1: new Float64Array(2) })).toThrow(
      /nngp has 3 entries, expected cov1.length \* cov2.length = 2 \* 2 = 4/,
    );
    expect(() => p.kernel({ nngp: [1] as never, cov1: new Float64Array(1) })).toThrow(
      /input\.nngp must be a Float64Array/,
    );
    const x = input(4, undefined, true);
    expect(() => p.kernel(x, { out: { nngp: new Float64Array(16), cov1: new Float64Array(4) } })).toThrow(
      /options\.out\.ntk must be a Float64Array \(it is missing\)/,
    );
    expect(() => parallelKernel(k, { threads: 0 })).toThrow(/options\.threads must be a whole number/);
    expect(() => parallelKernel(k, { minEntries: -1 })).toThrow(/options\.minEntries must be a whole number/);
    expect(() => parallelKernel({ nngp: () => 0 } as never)).toThrow(/expected a compiled kernel/);
  });
});
