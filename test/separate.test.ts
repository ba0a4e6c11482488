// The separation pass (src/separate.ts): each rule is documented and fires where it should, and
// the separated trees agree with the plain trees they came from in 50 digits at sampled points
// of the kernel domain (soundness by sampling, as test/rules.test.ts does for the rule tables).
import { describe, expect, it } from 'vitest';
import { evaluateHP, hpFromDouble } from '../src/evaluate.js';
import * as E from '../src/expr.js';
import { plainTree } from '../src/interior.js';
import { samplePoints } from '../src/measure.js';
import { DOMAIN_BOUND } from '../src/emit/index.js';
import { SEPARATION_RULES, separate as separateIn } from '../src/separate.js';
import { catalog, compile } from '../src/index.js';
import type { Tree } from '../src/types.js';
import { closed } from './helpers.js';

const POINTS = [
  ...samplePoints('interior', 12, 41),
  ...samplePoints('scale', 6, 42),
  ...samplePoints('near', 6, 43),
  ...samplePoints('diagonal', 4, 44),
];

/** Sources beyond the catalog: one-sided exponents, an inexact per-row part, a cosh spelled out. */
const EXTRA = [
  'exp(var1 + cov12)',
  'exp(-var1^2/2 - var2/4 + 3*cov12)',
  '(exp(cov12) + exp(-cov12))*exp(-(var1 + var2)/2)',
  'exp(2*cov12 - var1 - var2) - exp(-var1 - var2)',
];

const count = (e: Tree, pred: (x: Tree) => boolean): number =>
  (pred(e) ? 1 : 0) +
  (e.k === 'add'
    ? e.terms.reduce((a, t) => a + count(t, pred), 0)
    : e.k === 'mul'
      ? e.factors.reduce((a, t) => a + count(t, pred), 0)
      : e.k === 'pow'
        ? count(e.base, pred) + count(e.exp, pred)
        : e.k === 'fn'
          ? e.args.reduce((a, t) => a + count(t, pred), 0)
          : 0);
const readsCov = (e: Tree) => E.mentions(e, 'cov12') || E.mentions(e, 'gap') || E.mentions(e, 'rho');
/** Calls of exp or expm1 whose argument reads cov12: what runs per entry. */
const perEntry = (e: Tree) =>
  count(e, (x) => x.k === 'fn' && (x.name === 'exp' || x.name === 'expm1' || x.name === 'expdiff') && readsCov(x));

/** Separated as for the interior regime away from the bound (cov12² ≤ var1·var2/2). */
const separate = (t: Tree) => separateIn(t, DOMAIN_BOUND.half);

function plainTrees(source: string, params?: Record<string, number>) {
  const ir = closed(compile(source, { ...(params ? { params } : {}), interior: false }));
  return [ir.stableNngp, ir.stableDNngp].map((t) => plainTree(t, { lostBits: 1 }));
}

describe('separation of exponentials (separate.ts)', () => {
  it('documents each rule (identity, precondition, why) and each fires on its example', () => {
    const reads = (e: Tree, v: 'var1' | 'var2') => E.mentions(e, v);
    const fn = (e: Tree, name: string, pred: (x: Tree & { k: 'fn' }) => boolean) =>
      count(e, (x) => x.k === 'fn' && x.name === name && pred(x as Tree & { k: 'fn' })) > 0;
    // What each rule leaves in the separated tree.
    const fired: Record<string, (e: Tree) => boolean> = {
      'exp-of-sum': (e) => fn(e, 'exp', (x) => reads(x, 'var1') && !reads(x, 'var2') && !readsCov(x)),
      'expdiff-of-shared': (e) => fn(e, 'expdiff', (x) => x.args.every((a) => !reads(a, 'var1') && !reads(a, 'var2'))),
      'sinh-cosh-by-expm1': (e) =>
        fn(e, 'expm1', () => true) &&
        !fn(e, 'expdiff', () => true) &&
        perEntry(e) === count(e, (x) => x.k === 'fn' && x.name === 'expm1'),
    };
    expect(Object.keys(fired).sort()).toEqual(SEPARATION_RULES.map((r) => r.name).sort());
    for (const r of SEPARATION_RULES) {
      expect(r.identity.length, r.name).toBeGreaterThan(10);
      expect(r.precondition.length, r.name).toBeGreaterThan(5);
      expect(r.why.length, r.name).toBeGreaterThan(10);
      const [before] = plainTrees(r.example);
      expect(fired[r.name]!(before!), `${r.name} before`).toBe(false);
      expect(fired[r.name]!(separate(before!)), `${r.name} on ${r.example}`).toBe(true);
    }
  });

  it('is sound: separated and plain trees agree in 50 digits at sampled points', () => {
    const sources = [
      ...catalog().map((e) => [e.source, e.params] as const),
      ...EXTRA.map((s) => [s, undefined] as const),
      ...SEPARATION_RULES.map((r) => [r.example, undefined] as const),
    ];
    let changed = 0;
    for (const [source, params] of sources)
      for (const before of plainTrees(source, params)) {
        const after = separate(before);
        if (after.key === before.key) continue;
        changed++;
        let compared = 0;
        for (const [c, v1, v2] of POINTS) {
          const at = { cov12: hpFromDouble(c), var1: hpFromDouble(v1), var2: hpFromDouble(v2) };
          const x = evaluateHP(before, at);
          const y = evaluateHP(after, at);
          // Past the HP exponentials' range (e^±10^6 at the largest scale points) a side may
          // underflow to 0 or overflow; those points decide nothing.
          if (!x.isFinite() || !y.isFinite() || x.isZero()) continue;
          compared++;
          const tol = x.abs().add(y.abs()).mul('1e-30').add('1e-300');
          expect(x.sub(y).abs().lte(tol), `${source} at (${c}, ${v1}, ${v2}): ${x} vs ${y}`).toBe(true);
        }
        expect(compared, `${source} is defined at some sampled points`).toBeGreaterThan(POINTS.length / 2);
      }
    // exp, rbf, sin, cos (nngp and derivative each) and the extra sources.
    expect(changed).toBeGreaterThanOrEqual(8 + EXTRA.length + SEPARATION_RULES.length);
  });

  it('leaves one exponential per entry: exp-of-sum, expdiff-of-shared and sinh-cosh-by-expm1 fire', () => {
    for (const id of ['exp', 'rbf', 'sin', 'cos']) {
      const e = catalog().find((x) => x.id === id)!;
      const trees = plainTrees(e.source, e.params).map(separate);
      // The map and its derivative share their per-entry exponential (the emitter computes it once).
      const calls = new Set<string>();
      for (const t of trees)
        count(t, (x) => {
          if (x.k === 'fn' && (x.name === 'exp' || x.name === 'expm1') && readsCov(x)) calls.add(x.key);
          return false;
        });
      expect(calls.size, id).toBe(1);
      for (const t of trees)
        expect(
          count(t, (x) => x.k === 'fn' && x.name === 'expdiff'),
          id,
        ).toBe(0);
    }
    // An exponent with no per-row or per-column part is left alone.
    const [n] = plainTrees('exp(cov12)');
    expect(separate(n!).key).toBe(n!.key);
    expect(perEntry(n!)).toBe(1);
  });

  it('keeps the certificate of an inexact per-row part, and bounds an exact one to the normal range', () => {
    const [n] = plainTrees('exp(-var1^2/2 - var2/4 + 3*cov12)').map(separate);
    const bounds = new Set<number>();
    count(n!, (x) => {
      if (x.k === 'fn' && x.name === 'argbound' && x.args[1]!.k === 'num') bounds.add(Number(x.args[1]!.v.n));
      return false;
    });
    // -var1^2/2 rounds: its exponent's own bound (2); -var2/4 is exact: 256; 3*cov12 rounds: 2.
    expect([...bounds].sort((a, b) => a - b)).toEqual([2, 256]);
  });

  it("bounds exact per-row and per-column parts by the regime's domain, so that the per-entry part needs no test", () => {
    // exp(var1 + var2/2 + cov12), all parts exact: |cov12| ≤ √(m·var1·var2) ≤ 256 where var1 ≤ B
    // and var2/2 ≤ B, with B = 256·√(1/2 / m): 256 where cov12² ≤ var1·var2/2, 181 → 128 up to the bound.
    const [n] = plainTrees('exp(var1 + var2/2 + cov12)');
    const boundsIn = (domain: number) => {
      const out = new Set<number>();
      count(separateIn(n!, domain), (x) => {
        if (x.k === 'fn' && x.name === 'argbound') out.add(Number((x.args[1] as Tree & { k: 'num' }).v.n));
        return false;
      });
      return [...out];
    };
    expect(boundsIn(DOMAIN_BOUND.half)).toEqual([256]);
    expect(boundsIn(DOMAIN_BOUND.projection)).toEqual([128]);
    // The bound holds: at the largest admitted variances the per-entry exponent stays within 256.
    for (const [domain, b] of [
      [DOMAIN_BOUND.half, 256],
      [DOMAIN_BOUND.projection, 128],
    ] as const)
      expect(Math.sqrt(domain * b * (2 * b))).toBeLessThanOrEqual(256);
  });
});
