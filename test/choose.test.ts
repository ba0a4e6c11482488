// The compile-time choice between the stabilized code and the source as written (choose.ts).
import { describe, expect, it } from 'vitest';
import { choose, selectedTree } from '../src/choose.js';
import { compile, instantiate } from '../src/compile.js';
import { buildModule } from '../src/emit/index.js';
import { evaluateHP, hpFromDouble } from '../src/evaluate.js';
import * as E from '../src/expr.js';
import { meaning } from '../src/meaning.js';
import { catalog, compileActivation } from '../src/catalog.js';
import { canonical, closed } from './helpers.js';
import * as T from '../src/tree.js';

describe('accuracy-driven choice', () => {
  const src = 'exp(cov12 - var1/2 - var2/2)';
  const written = meaning(src);
  const canon = { nngp: canonical(src), dNngp: canonical(src) };
  const exact = compile(src);

  it('keeps the stabilized code where it is as accurate', () => {
    const c = choose(exact, written, canon);
    expect(c.nngp.emitted).toBe('stable');
  });

  it('takes the source as written where the compiled code is measurably worse, by region', () => {
    // A candidate off by ~2^20 ulps everywhere, and one off only near the bound.
    const noisy = {
      nngp: (c: number, v1: number, v2: number) => exact.nngp(c, v1, v2) * (1 + 2 ** -32),
      dNngp: exact.dNngp,
    };
    expect(choose(noisy, written, canon).nngp.emitted).toBe('as-written');
    const nearOnly = {
      nngp: (c: number, v1: number, v2: number) =>
        exact.nngp(c, v1, v2) * (v1 * v2 - c * c <= (v1 * v2) / 64 ? 1 + 2 ** -32 : 1),
      dNngp: exact.dNngp,
    };
    const choice = choose(nearOnly, written, canon);
    expect(choice.nngp.emitted).toBe('by region');
    expect(choice.nngp.near.asWritten).toBeLessThan(choice.nngp.near.stable);
    const tree = selectedTree(choice.nngp, E.ONE, written.nngp, (x, y) => T.fn('nearbound', [x, y]));
    expect(tree.key).toBe(`nearbound(${written.nngp.key},#1)`);
  });

  it('emits nearbound(x, y) as x within gap ≤ var1*var2/64 and y elsewhere, as the evaluator reads it', () => {
    const tree = T.fn('nearbound', [E.ONE, E.num(2)]);
    const mod = instantiate(buildModule({ nngp: tree, dNngp: tree, sourceName: 't', simplified: '', derivative: '' }));
    for (const [c, v1, v2] of [
      [0.999, 1, 1],
      [0.99, 1, 1],
      [-0.995, 1, 1],
      [1 + 2 ** -50, 1, 1],
      [0, 0, 0],
      [0.5, 1, 1],
      [3, 2, 5],
    ] as [number, number, number][]) {
      const hp = evaluateHP(tree, {
        cov12: hpFromDouble(c),
        var1: hpFromDouble(v1),
        var2: hpFromDouble(v2),
      }).toNumber();
      expect(mod.nngp(c, v1, v2), `at (${c}, ${v1}, ${v2})`).toBe(hp);
    }
  });

  it('chooses the stabilized code for every catalog entry (the measured state; a change here is worth a look)', () => {
    for (const e of catalog()) {
      const k = compileActivation(e.id);
      expect([closed(k).choice.nngp.emitted, closed(k).choice.dNngp.emitted], e.id).toEqual(['stable', 'stable']);
      // and the stabilized code is never measurably worse than the source as written in either region
      for (const s of [closed(k).choice.nngp, closed(k).choice.dNngp])
        for (const r of [s.near, s.elsewhere]) expect(r.stable).toBeLessThanOrEqual(r.asWritten + 1);
    }
  });
});
