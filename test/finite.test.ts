// The finiteness proof (src/finite.ts): each interval rule is sound by sampling (every value of
// the function at points of its arguments' intervals lies in the rule's interval), the proof
// answers "don't know" where a value can overflow or be NaN, and kernel() with variances in the
// proven box (where the loops skip their finiteness test) gives the scalar functions' doubles bit
// for bit at the box's extremes and across the interior domain.
import { erf } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { catalog, compile } from '../src/index.js';
import { DOMAIN_BOUND } from '../src/emit/index.js';
import { boundsBox, boundsOf, finiteWithin, INTERVAL_RULES, type Interval } from '../src/finite.js';
import * as Q from '../src/rational.js';
import * as E from '../src/expr.js';
import { rng } from '../src/measure.js';
import type { Tree } from '../src/types.js';
import { closed } from './helpers.js';

/** The functions as the emitted code computes them (angle: pi/2 at (0, 0), as the helper). */
const MEANING: Record<string, (...xs: number[]) => number> = {
  sqrt: Math.sqrt,
  exp: Math.exp,
  expm1: Math.expm1,
  log: Math.log,
  log1p: Math.log1p,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  erf: (x) => erf(x),
  erfc: (x) => 1 - erf(x),
  sign: Math.sign,
  atan: Math.atan,
  atan2: Math.atan2,
  angle: (y, x) => (y === 0 && x === 0 ? Math.PI / 2 : Math.atan2(y, x)),
  acos: Math.acos,
  asin: Math.asin,
  sinh: Math.sinh,
  cosh: Math.cosh,
  abs: Math.abs,
  min: Math.min,
  max: Math.max,
  xangle: (y, x) => x * Math.atan2(y, x),
  ymxangle: (y, x) => y - x * Math.atan2(y, x),
  expdiff: (a, b) => Math.exp(a) - Math.exp(b),
  plainsum: (x) => x,
  argbound: (x) => x,
  csum: (x) => x,
};

const ARITY: Record<string, number> = {
  atan2: 2,
  angle: 2,
  min: 2,
  max: 2,
  xangle: 2,
  ymxangle: 2,
  expdiff: 3,
  argbound: 2,
  plainsum: 2,
};

describe('finiteness over a box of variances (finite.ts)', () => {
  it('each interval rule holds at sampled points of its arguments (soundness by sampling)', () => {
    const next = rng(91);
    const scales = [1e-300, 1e-8, 0.5, 1, 3, 50, 700, 1e6, 1e200];
    const draw = (): Interval => {
      const a = (next() < 0.5 ? -1 : 1) * scales[Math.floor(next() * scales.length)]! * next();
      const b = a + scales[Math.floor(next() * scales.length)]! * next();
      return { lo: a, hi: b };
    };
    let decided = 0;
    for (const [name, { why, rule }] of Object.entries(INTERVAL_RULES)) {
      expect(why.length, name).toBeGreaterThan(3);
      const f = MEANING[name];
      expect(f, `a meaning for ${name}`).toBeDefined();
      for (let trial = 0; trial < 400; trial++) {
        let args = Array.from({ length: ARITY[name] ?? 1 }, draw);
        // argbound's premise: its certificate holds (|x| ≤ bound); expdiff's third argument is a - b.
        if (name === 'argbound') args = [args[0]!, { lo: Math.abs(args[1]!.hi), hi: Math.abs(args[1]!.hi) }];
        if (name === 'expdiff')
          args = [args[0]!, args[1]!, { lo: args[0]!.lo - args[1]!.hi, hi: args[0]!.hi - args[1]!.lo }];
        const r = rule(args);
        if (!r) continue;
        decided++;
        for (let s = 0; s < 8; s++) {
          const xs = args.map((a) => (s === 0 ? a.lo : s === 1 ? a.hi : a.lo + (a.hi - a.lo) * next()));
          if (name === 'argbound' && Math.abs(xs[0]!) > args[1]!.hi) continue;
          const v = f!(...xs);
          expect(Number.isFinite(v), `${name}(${xs}) = ${v} finite, by ${JSON.stringify(r)}`).toBe(true);
          expect(v >= r.lo && v <= r.hi, `${name}(${xs}) = ${v} within ${JSON.stringify(r)}`).toBe(true);
        }
      }
    }
    expect(decided).toBeGreaterThan(1000);
  });

  it('answers "don\'t know" where a value can overflow or be NaN, and bounds exponentials by the box', () => {
    const tree = (source: string): Tree => closed(compile(source, { interior: false })).nngp;
    const half = DOMAIN_BOUND.half;
    // A division by cov12 (zero in the box), a log of the gap at the bound, acos of an unbounded ratio.
    expect(finiteWithin([tree('var1/cov12')], half)).toBeUndefined();
    expect(finiteWithin([tree('log(var1*var2 - cov12^2)')], 1)).toBeUndefined();
    expect(finiteWithin([tree('acos(cov12*var1)')], half)).toBeUndefined();
    // exp(var1): e^(2^8) is finite with the margin, e^(2^16) is not.
    expect(finiteWithin([tree('exp(var1)')], half)).toBe(8);
    // var1·var2 - cov12² spelled out loses the correlation (its lower bound is negative): no root
    // of it. The stable code's gap symbol, at least half of var1·var2 in the interior, has one, and
    // an inverse; at the bound (m = 1) it can be 0: a root but no inverse.
    expect(finiteWithin([tree('sqrt(var1*var2 - cov12^2)')], half)).toBeUndefined();
    const gap = E.sym('gap');
    const relu = E.add(E.pow(gap, E.HALF), E.COV12);
    expect(finiteWithin([relu], half)).toBe(64);
    expect(finiteWithin([relu], 1)).toBe(64);
    expect(finiteWithin([E.div(E.ONE, gap)], half)).toBe(64);
    expect(finiteWithin([E.div(E.ONE, gap)], 1)).toBeUndefined();
    const unit = { lo: 1, hi: 1 };
    expect(boundsOf(E.add(E.VAR1, E.neg(E.VAR2)), { var1: unit, var2: unit })!.lo).toBeLessThanOrEqual(0);
  });

  it("every node of the catalog's interior trees lies within its bounds at sampled points of the box", () => {
    const next = rng(93);
    let checked = 0;
    for (const e of catalog()) {
      const ir = closed(compile(e.source, { params: e.params }));
      const trees = ir.interior.trees;
      if (!trees || ir.module.finiteWithin === undefined) continue;
      const m = DOMAIN_BOUND[trees.domain ?? 'half'];
      const k = ir.module.finiteWithin;
      const symbols = boundsBox(k, m);
      const box = (x: number) => 2 ** (k * (2 * x - 1));
      for (let s = 0; s < 300; s++) {
        const v1 = s % 4 === 0 ? 2 ** -k : s % 4 === 1 ? 2 ** k : box(next());
        const v2 = s % 3 === 0 ? 2 ** -k : s % 3 === 1 ? 2 ** k : box(next());
        const ipp = v1 * v2;
        const c = (2 * next() - 1) * Math.sqrt(m * ipp) * (s % 5 === 0 ? 1 : next());
        if (!(c * c <= m * ipp)) continue;
        const values: Record<string, number> = {
          var1: v1,
          var2: v2,
          cov12: c,
          gap: ipp - c * c,
          rho: c / Math.sqrt(ipp),
          pi: Math.PI,
        };
        // Where an exponent's certificate fails the entry falls back: its bounds do not apply.
        let certified = true;
        const value = (t: Tree): number => {
          const v: number =
            t.k === 'num'
              ? Q.toNumber(t.v)
              : t.k === 'sym'
                ? values[t.name]!
                : t.k === 'add'
                  ? t.terms.reduce((a, x) => a + value(x), 0)
                  : t.k === 'mul'
                    ? t.factors.reduce((a, x) => a * value(x), 1)
                    : t.k === 'pow'
                      ? value(t.base) ** value(t.exp)
                      : MEANING[t.name]!(...t.args.map(value));
          if (t.k === 'fn' && t.name === 'argbound' && Math.abs(v) > value(t.args[1]!)) certified = false;
          if (certified) {
            const b = boundsOf(t, symbols);
            expect(b, `${e.id}: bounds of a node`).toBeDefined();
            expect(v >= b!.lo && v <= b!.hi, `${e.id} at ${[c, v1, v2]}: ${v} within [${b!.lo}, ${b!.hi}]`).toBe(true);
            checked++;
          }
          return v;
        };
        value(trees.nngp);
        value(trees.dNngp);
      }
    }
    expect(checked).toBeGreaterThan(10000);
  });

  it("kernel() with variances in the proven box gives the scalar functions' doubles bit for bit", () => {
    const next = rng(92);
    let proven = 0;
    for (const e of catalog()) {
      const k = compile(e.source, { params: e.params });
      const m = closed(k).module;
      if (m.finiteWithin === undefined) continue;
      proven++;
      const lo = 2 ** -m.finiteWithin,
        hi = 2 ** m.finiteWithin;
      // Variances at the box's corners and log-uniform within; cov12 over the interior domain up
      // to its bound, both signs, and 0.
      const n = 24;
      const cov1 = Float64Array.from({ length: n }, (_, i) =>
        i === 0 ? lo : i === 1 ? hi : i === 2 ? lo : i === 3 ? hi : lo * (hi / lo) ** next(),
      );
      const cov2 = Float64Array.from({ length: n }, (_, i) => (i < 4 ? cov1[3 - i]! : lo * (hi / lo) ** next()));
      const nngp = new Float64Array(n * n),
        ntk = new Float64Array(n * n).fill(1);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const bound = Math.sqrt(cov1[i]! * cov2[j]!);
          const u = next();
          const r =
            u < 0.1 ? 0 : u < 0.3 ? (next() < 0.5 ? -1 : 1) * Math.sqrt(DOMAIN_BOUND.half) : (2 * next() - 1) * 0.99;
          nngp[i * n + j] = r * bound;
        }
      const out = k.kernel({ nngp, ntk, cov1, cov2 });
      const only = k.kernel({ nngp, cov1, cov2 });
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const p = [nngp[i * n + j]!, cov1[i]!, cov2[j]!] as const;
          expect(Object.is(out.nngp[i * n + j], k.nngp(...p)), `${e.id} nngp ${p}`).toBe(true);
          expect(Object.is(out.ntk![i * n + j], k.dNngp(...p)), `${e.id} dNngp ${p}`).toBe(true);
          expect(Object.is(only.nngp[i * n + j], k.nngp(...p)), `${e.id} nngp only ${p}`).toBe(true);
        }
      // The emitted module tests the box once per call.
      expect(k.code).toContain(`variancesWithin(C1, C2, ${lo}, ${hi})`);
    }
    expect(proven).toBeGreaterThan(8);
  });
});
