// The finiteness proof (src/finite.ts): each interval rule is sound by sampling (every value of
// the function at points of its arguments' intervals lies in the rule's interval), the proof
// answers "don't know" where a value can overflow or be NaN, and kernel() with variances in the
// proven box (where the loops skip their finiteness test) gives the scalar functions' doubles bit
// for bit at the box's extremes and across the interior domain.
import { erf } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { catalog, compile, compileActivation } from '../src/index.js';
import { DOMAIN_BOUND } from '../src/emit/index.js';
import {
  anglesWithin,
  boundsBox,
  boundsOf,
  certainWithin,
  finiteWithin,
  INTERVAL_RULES,
  provenOnHalf,
  TIGHT_RULES,
  type Interval,
} from '../src/finite.js';
import * as T from '../src/tree.js';
import * as Q from '../src/rational.js';
import * as E from '../src/expr.js';
import { rng } from '../src/measure.js';
import type { Rat, Tree, TreeFn } from '../src/types.js';
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
  le: (x, y) => (x <= y ? 1 : 0),
  where: (c, a, b) => (c ? a : b),
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
  le: 2,
  where: 3,
  plainsum: 2,
};

/**
 * The plain code's own spellings of an angle (emit/values.ts): pi/2 - atan(x/y) where y >= 0 and
 * x <= y, atan(y/x) where x > 0, the small-angle quotient y/x where x > 2|y|. Each must be
 * finite wherever the rule decides (0/0 is NaN).
 */
const SPELLINGS: Record<string, ((y: number, x: number) => number | undefined)[]> = {
  angle: [
    (y, x) => (y >= 0 && x <= y ? Math.PI / 2 - Math.atan(x / y) : undefined),
    (y, x) => (x > 0 ? Math.atan(y / x) : undefined),
    (y, x) => (x > 2 * Math.abs(y) ? y / x : undefined),
  ],
};
SPELLINGS.atan2 = SPELLINGS.xangle = SPELLINGS.ymxangle = SPELLINGS.angle;

describe('finiteness over a box of variances (finite.ts)', () => {
  it('each interval rule holds at sampled points of its arguments (soundness by sampling)', () => {
    const next = rng(91);
    const scales = [1e-300, 1e-8, 0.5, 1, 3, 50, 700, 1e6, 1e200];
    const draw = (): Interval => {
      // A fifth of the intervals start at 0 exactly (a gap, a zero cov12).
      const a = next() < 0.2 ? 0 : (next() < 0.5 ? -1 : 1) * scales[Math.floor(next() * scales.length)]! * next();
      const b = a + scales[Math.floor(next() * scales.length)]! * next();
      return { lo: a, hi: b };
    };
    let decided = 0;
    // The finiteness rules, and the tight ones provenOnHalf uses (monotonicity, not only finiteness).
    const rules = [...Object.entries(INTERVAL_RULES), ...Object.entries(TIGHT_RULES)];
    for (const [name, { why, rule }] of rules) {
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
        for (let s = 0; s < 10; s++) {
          const xs = args.map((a) =>
            s === 0 ? a.lo : s === 1 ? a.hi : s === 2 && a.lo <= 0 && a.hi >= 0 ? 0 : a.lo + (a.hi - a.lo) * next(),
          );
          for (const spelled of SPELLINGS[name] ?? []) {
            const w = spelled(xs[0]!, xs[1]!);
            if (w !== undefined) expect(Number.isFinite(w), `${name}(${xs}) spelled: ${w}`).toBe(true);
          }
          if (name === 'argbound' && Math.abs(xs[0]!) > args[1]!.hi) continue;
          const v = f!(...xs);
          expect(Number.isFinite(v), `${name}(${xs}) = ${v} finite, by ${JSON.stringify(r)}`).toBe(true);
          expect(v >= r.lo && v <= r.hi, `${name}(${xs}) = ${v} within ${JSON.stringify(r)}`).toBe(true);
        }
      }
    }
    expect(decided).toBeGreaterThan(1000);
  });

  it('proves a certificate on the whole half domain only where it holds there (provenOnHalf, sampled)', () => {
    const next = rng(98);
    const proven: { id: string; sum: TreeFn }[] = [];
    const refuted: string[] = [];
    for (const e of catalog()) {
      const trees = closed(compile(e.source, { params: e.params })).interior.trees;
      if (!trees || (trees.domain ?? 'half') !== 'half') continue;
      for (const t of [trees.nngp, trees.dNngp])
        E.some(t, (x: Tree) => {
          if (x.k === 'fn' && x.name === 'plainsum')
            provenOnHalf(x) ? proven.push({ id: e.id, sum: x }) : refuted.push(e.id);
          return false;
        });
    }
    // leaky_relu's 0.01·cov12 + F·(√gap + cov12·angle) is proven, and ab_relu's nngp, whose angle
    // atan2(cov12, √gap) takes cov12's sign (√gap ≥ √½ there outweighs its 0.0625·cov12); gelu's
    // and ab_relu's derivative, which fail on typical entries (their sums cross zero), are not.
    expect(proven.map((p) => p.id)).toContain('leaky_relu');
    expect(proven.map((p) => p.id)).toContain('ab_relu');
    expect(refuted).toContain('gelu');
    expect(refuted).toContain('ab_relu');
    // A term that reads a variance: not homogeneous in cov12 and the gap alone.
    const [c, gap, v1] = (['cov12', 'gap', 'var1'] as const).map((n) => E.sym(n));
    const sqrtGap = T.pow(gap!, E.num(Q.rat(1, 2)));
    expect(provenOnHalf(T.fn('plainsum', [T.add([T.mul([E.num(Q.rat(1, 100)), v1!]), sqrtGap]), E.num(Q.HALF)]))).toBe(
      false,
    );
    expect(provenOnHalf(T.fn('plainsum', [T.add([T.mul([E.num(Q.rat(1, 100)), c!]), sqrtGap]), E.num(Q.HALF)]))).toBe(
      true,
    );
    // Found by review: sums that cross zero in the half domain, at its edge, or only in the margin.
    const plainsum = (b: Rat, ...terms: Tree[]) => T.fn('plainsum', [T.add(terms), E.num(b)]);
    const k = (n: number) => E.num(Q.fromNumber(n));
    // cov12 − 0.99·√gap is 0 at rho = −0.7035, inside the domain.
    expect(provenOnHalf(plainsum(Q.rat(1, 16), c!, T.mul([k(-0.99), sqrtGap])))).toBe(false);
    // 2 + cov12/√gap: its ratio is 1/3 at the domain's edge, so b = 1/4 is proven, b = 1/3 and
    // b = (1/3)(1 − 2^-24) are not (the margin).
    const ratioTerm = T.mul([c!, T.pow(gap!, E.num(Q.rat(-1, 2)))]);
    expect(provenOnHalf(plainsum(Q.rat(1, 4), k(2), ratioTerm))).toBe(true);
    expect(provenOnHalf(plainsum(Q.rat(1, 3), k(2), ratioTerm))).toBe(false);
    expect(provenOnHalf(plainsum(Q.mul(Q.rat(1, 3), Q.sub(Q.ONE, Q.rat(1, 2 ** 24))), k(2), ratioTerm))).toBe(false);
    // A function of a term of degree 1 (exp(cov12)), an angle of unequal degrees: not homogeneous.
    expect(provenOnHalf(plainsum(Q.HALF, T.fn('exp', [c!]), T.mul([k(-2.8), c!])))).toBe(false);
    // exp(cov12) + cov12/5 holds at var1·var2 = 1 (ratio ≥ 0.55 against 1/4) but not at cov12 = −1.5 (0.15).
    expect(provenOnHalf(plainsum(Q.rat(1, 4), T.fn('exp', [c!]), T.mul([k(0.2), c!])))).toBe(false);
    expect(provenOnHalf(plainsum(Q.HALF, T.fn('angle', [sqrtGap, k(0.25)]), k(-1)))).toBe(false);
    // Terms near underflow: 2^-600·cov12 − 2^-601·√gap (0 at rho = 0.447) is not proven by b·most rounding to 0.
    expect(
      provenOnHalf(plainsum(Q.rat(1, 2n ** 500n), T.mul([k(2 ** -600), c!]), T.mul([k(-(2 ** -601)), sqrtGap]))),
    ).toBe(false);
    // Not homogeneous: 3 + cov12 holds at var1·var2 = 1 (ratio ≥ 0.62) but not at 100 (−4.07 against 10.07).
    expect(provenOnHalf(T.fn('plainsum', [T.add([E.num(Q.rat(3)), c!]), E.num(Q.HALF)]))).toBe(false);
    // Sound by sampling: every proven certificate holds, in doubles, across scales and up to the
    // half domain's edge.
    for (const { id, sum } of proven) {
      const b = Q.toNumber((sum.args[1] as Tree & { k: 'num' }).v);
      const terms = (sum.args[0] as Tree & { k: 'add' }).terms;
      for (let i = 0; i < 20000; i++) {
        const a = 2 ** (128 * next() - 64),
          w = 2 ** (128 * next() - 64);
        const ipp = a * w;
        const cov = (2 * next() - 1) * Math.sqrt(0.5 * ipp) * (i % 10 === 0 ? 1 : next());
        if (!(cov * cov <= 0.5 * ipp)) continue;
        const at = { var1: a, var2: w, cov12: cov, gap: ipp - cov * cov, pi: Math.PI };
        const values = terms.map((t) => treeValue(t, at));
        const total = values.reduce((x, y) => x + y, 0);
        const magnitude = values.reduce((x, y) => x + Math.abs(y), 0);
        expect(Math.abs(total) >= b * magnitude, `${id} at ${[cov, a, w]}`).toBe(true);
      }
    }
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
    // gabor's exponents certified (interior.ts EXPONENT_RULE; by cancellation, |N/D| at most
    // 2^lostBits, in the regime it has now): its values are bounded over a box of variances; without
    // such a bound its loop tested every entry's finiteness, 1–4 ns per realistic entry.
    const gabor = catalog().find((e) => e.id === 'gabor')!;
    expect(closed(compile(gabor.source, { params: gabor.params })).module.finiteWithin).toBeGreaterThanOrEqual(4);
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
        const c =
          s % 7 === 0 ? 0 : s % 7 === 1 ? -0 : (2 * next() - 1) * Math.sqrt(m * ipp) * (s % 5 === 0 ? 1 : next());
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
        const visit = (t: Tree, v: number) => {
          if (t.k === 'fn' && t.name === 'argbound' && Math.abs(v) > treeValue(t.args[1]!, values)) certified = false;
          if (certified) {
            const b = boundsOf(t, symbols);
            expect(b, `${e.id}: bounds of a node`).toBeDefined();
            expect(v >= b!.lo && v <= b!.hi, `${e.id} at ${[c, v1, v2]}: ${v} within [${b!.lo}, ${b!.hi}]`).toBe(true);
            checked++;
          }
        };
        treeValue(trees.nngp, values, visit);
        treeValue(trees.dNngp, values, visit);
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
      expectKernelAsScalars(e.id, k, cov1, cov2, next);
      // Variances outside the box (products that overflow or underflow in plain doubles): the
      // call must test every entry (a `safe` that held here would store their non-finite values).
      const wide = Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1e200 : i % 3 === 1 ? 1e-200 : hi * 4));
      expectKernelAsScalars(e.id, k, wide, wide, next);
      // The emitted module tests the box once per call.
      expect(k.code).toContain(`variancesWithin(C1, C2, ${lo}, ${hi})`);
    }
    expect(proven).toBeGreaterThan(8);
  });

  it("proves the certificates read against the gap's magnitude on [0, 2^k], and only of their form", () => {
    const [v1, v2, gap] = (['var1', 'var2', 'gap'] as const).map((n) => E.sym(n));
    const num = (n: number, d = 1) => E.num(Q.rat(n, d));
    const sum = (b: number, ...terms: Tree[]) => T.fn('plainsum', [T.add(terms), num(1, b), num(0)]);
    const gaussian = (b: number) => sum(b, num(1), T.mul([num(2), v1!]), T.mul([num(2), v2!]), T.mul([num(4), gap!]));
    // 1 + 2 v1 + 2 v2 + 4 gap ≥ b (1 + 2 v1 + 2 v2 + 4 v1 v2) for all gap ≥ 0 iff (1 - b)(1 + 4v) ≥ 4 b v² at v1 = v2 = v:
    // v ≤ 1.21 for b = 1/2, v ≤ 3.23 for b = 1/4.
    expect(certainWithin([gaussian(2)])).toBe(0);
    expect(certainWithin([gaussian(4)])).toBe(1);
    // Tight: at the next box's corner, with the gap at 0, the certificate fails.
    for (const [b, k] of [
      [2, 0],
      [4, 1],
    ] as const) {
      const v = 2 ** (k + 1);
      expect(1 + 4 * v).toBeLessThan((1 / b) * (1 + 4 * v + 4 * v * v));
    }
    // Not of the form: a negative coefficient, the gap in two monomials of different shapes, cov12 read.
    expect(certainWithin([sum(4, num(1), T.mul([num(-2), v1!]), T.mul([num(4), gap!]))])).toBeUndefined();
    expect(certainWithin([sum(4, num(1), T.mul([num(4), gap!]), T.mul([gap!, v1!]))])).toBeUndefined();
    expect(certainWithin([sum(4, num(1), T.mul([num(4), gap!]), E.sym('cov12'))])).toBeUndefined();
    // No such certificate: nothing to prove.
    expect(certainWithin([T.add([num(1), gap!])])).toBeUndefined();
    // A term growing in one variance bounds nothing (1 + v1² + gap: only 1/(v1 v2) counts).
    expect(certainWithin([sum(4, num(1), T.pow(v1!, num(2)), gap!)])).toBe(0);
    // The gap in two shapes (v1 v2 and v1² v2²): not one monomial Q.
    expect(certainWithin([sum(4, num(1), T.mul([num(2), v1!]), gap!, T.mul([gap!, v1!, v2!]))])).toBeUndefined();
    // Every sum at once: the smallest box.
    expect(certainWithin([gaussian(4), sum(4, num(100), v1!, v2!, gap!)])).toBe(1);
    // In range only: no constant term (subnormal roundings), or terms past 2^500 at the corner
    // (an infinite magnitude fails the emitted test where the real-number proof holds).
    expect(certainWithin([sum(4, T.mul([num(2), v1!]), T.mul([num(2), v2!]), gap!)])).toBeUndefined();
    const huge = E.num(Q.fromDecimal('1.5e307'));
    expect(
      certainWithin([sum(4, num(1), T.mul([huge, v1!]), T.mul([huge, v2!]), T.mul([huge, gap!]))]),
    ).toBeUndefined();
  });

  it("proves the gap's certificates on the half domain (cov12² ≤ var1·var2/2) on a box of their own", () => {
    const [v1, v2, gap] = (['var1', 'var2', 'gap'] as const).map((n) => E.sym(n));
    const num = (n: number, d = 1) => E.num(Q.rat(n, d));
    const sum = (b: number, ...terms: Tree[]) => T.fn('plainsum', [T.add(terms), num(1, b), num(0)]);
    const gaussian = (b: number) => sum(b, num(1), T.mul([num(2), v1!]), T.mul([num(2), v2!]), T.mul([num(4), gap!]));
    // There the gap is at least var1·var2/2: at b = 1/4 the certificate holds outright (the box
    // is the largest tried), at b = 1/2 where P/Q = (1 + 2 v1 + 2 v2)/(4 v1 v2) ≥ 2^-20 (v ≤ 2^16).
    expect(certainWithin([gaussian(4)], true)).toBe(64);
    expect(certainWithin([gaussian(2)], true)).toBe(16);
    expect(certainWithin([gaussian(2)])).toBe(0);
    // A gap squared: at least a quarter of its magnitude there, b = 1/4 on a box of its own.
    const squared = sum(4, num(1), T.mul([v1!, v2!]), T.pow(gap!, num(2)));
    expect(certainWithin([squared], true)).toBeDefined();
    expect(certainWithin([squared], true)).toBeLessThan(64);
    // Sampled: in plain doubles as emitted, the certificate holds on the half domain within the box.
    const next = rng(41);
    for (let i = 0; i < 20000; i++) {
      const [a, b] = [2 ** (32 * next() - 16), 2 ** (32 * next() - 16)];
      const p = a * b;
      const c = Math.sqrt(p / 2) * (2 * next() - 1) * (i % 10 === 0 ? 1 : next());
      const icc = c * c;
      if (!(icc <= 0.5 * p)) continue;
      const g = p - icc;
      const value = 1 + 2 * a + 2 * b + 4 * g;
      const magnitude = 1 + Math.abs(2 * a) + Math.abs(2 * b) + 4 * Math.abs(a * b);
      expect(Math.abs(value) >= 0.5 * magnitude, `${[c, a, b]}`).toBe(true);
    }
  });

  it("kernel() to the bound with its half-domain copy (onHalf) gives the scalar functions' doubles bit for bit", () => {
    // gaussian's regime to the bound, one-bit certificates: `certain` covers variances up to 1, the
    // copy up to 2^16; between them its half-domain entries skip the certificate the scalar
    // functions test, and toward the bound both test it.
    const k = compileActivation('gaussian');
    const m = closed(k).module;
    expect(m.domain).toBe('projection');
    expect(m.certainWithin).toBe(0);
    expect(m.halfCopyWithin).toBe(16);
    expect(k.code).toContain('icc <= 0.5 * ipp && onHalf');
    const next = rng(7);
    for (const [lo, hi] of [
      [1.5, 3],
      [100, 2 ** 16],
      [0.5, 2 ** 17], // past the copy's box: no entry takes it
    ] as const) {
      const n = 48;
      const cov1 = Float64Array.from({ length: n }, () => lo * (hi / lo) ** next());
      const cov2 = Float64Array.from({ length: n }, () => lo * (hi / lo) ** next());
      const nngp = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) nngp[i * n + j] = Math.sqrt(cov1[i]! * cov2[j]!) * (2 * next() - 1);
      const out = k.kernel({ nngp, ntk: new Float64Array(n * n).fill(1), cov1, cov2 });
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const [c, a, b] = [nngp[i * n + j]!, cov1[i]!, cov2[j]!];
          expect(Object.is(out.nngp[i * n + j], k.nngp(c, a, b)), `nngp ${[c, a, b]}`).toBe(true);
          expect(Object.is(out.ntk![i * n + j], k.dNngp(c, a, b)), `dNngp ${[c, a, b]}`).toBe(true);
        }
    }
  });

  it("kernel() where a gap certificate's box holds and another certificate fails: the scalar functions' doubles", () => {
    // Found by review: 1.5e307·var1 overflows the magnitude where the sum does not.
    const big = compile('1/sqrt(1 + 1.5e307*var1 + 1.5e307*var2 + 1.5e307*(var1*var2 - cov12^2))');
    expect(closed(big).module.certainWithin).toBeUndefined();
    const [c, a, b] = [-3.7158725526435816, 3.7411411357834004, 3.692298162970692];
    expect(big.kernel({ nngp: Float64Array.of(c), cov1: Float64Array.of(a), cov2: Float64Array.of(b) }).nngp[0]).toBe(
      big.nngp(c, a, b),
    );
    // A sum that cancels (cov12 − var1/2 + an angle) beside one read against the gap's magnitude:
    // the call's proof covers the second only; a dense scan of cov12 crosses the first's zero.
    const k = compile('cov12 - var1/2 + asin(2*cov12/sqrt((1+2*var1)*(1+2*var2)))');
    const hi = 2 ** closed(k).module.certainWithin!;
    for (const [v, w] of [
      [hi, hi],
      [hi / 2, hi / 4],
      [hi / 8, hi],
    ] as const) {
      const m = 64;
      const bound = Math.sqrt(v * w);
      const nngp = Float64Array.from({ length: m * m }, (_, i) => bound * (2 * (i / (m * m - 1)) - 1));
      const cov1 = new Float64Array(m).fill(v),
        cov2 = new Float64Array(m).fill(w);
      const out = k.kernel({ nngp, ntk: new Float64Array(m * m).fill(1), cov1, cov2 });
      for (let i = 0; i < m * m; i++) {
        expect(Object.is(out.nngp[i], k.nngp(nngp[i]!, v, w)), `nngp ${[nngp[i], v, w]}`).toBe(true);
        expect(Object.is(out.ntk![i], k.dNngp(nngp[i]!, v, w)), `dNngp ${[nngp[i], v, w]}`).toBe(true);
      }
    }
  });

  it("kernel() with variances in the gap certificates' box gives the scalar functions' doubles bit for bit", () => {
    const next = rng(95);
    let proven = 0;
    for (const e of [
      ...catalog(),
      { id: 'scaled', source: '1/sqrt(1 + 3*var1 + 3*var2 + 9*var1*var2 - 9*cov12^2)', params: {} },
    ]) {
      const k = compile(e.source, { params: e.params });
      const m = closed(k).module;
      if (m.certainWithin === undefined) continue;
      proven++;
      const hi = 2 ** m.certainWithin;
      expectKernelAsScalarsAround(e.id, k, hi, next);
      expect(k.code).toContain(`variancesWithin(C1, C2, 0, ${hi})`);
    }
    expect(proven).toBeGreaterThanOrEqual(3);
  });

  it('proves angle tests |x/y| ≤ 1 on [0, 2^k] where x = b·cov12 and y = sqrt(a sum of positive terms), and only there', () => {
    const [v1, v2, gap, c] = (['var1', 'var2', 'gap', 'cov12'] as const).map((n) => E.sym(n));
    const num = (n: number, d = 1) => E.num(Q.rat(n, d));
    const root = (...terms: Tree[]) => T.pow(T.add(terms), num(1, 2));
    // y² - x² = 1 + 2 v1 + 2 v2 + 4 gap - 4 cov12² ≥ 1 + 2 v1 + 2 v2 - 4 v1 v2: ≥ 0 up to v = 1.21.
    const erfLike = [
      root(num(1), T.mul([num(2), v1!]), T.mul([num(2), v2!]), T.mul([num(4), gap!])),
      T.mul([num(2), c!]),
    ] as const;
    expect(anglesWithin([erfLike])).toBe(0);
    expect(1 + 2 * 2 + 2 * 2).toBeLessThan(4 * 2 * 2); // at the next box's corner, with the gap at 0, it fails
    // Scaled down (x = cov12/3, y² = 1 + var1/3 + var2/3 + gap/9, as sigmoid_like's scale does): proven on a wider box.
    const scaled = [
      root(num(1), T.mul([num(1, 3), v1!]), T.mul([num(1, 3), v2!]), T.mul([num(1, 9), gap!])),
      T.mul([num(1, 3), c!]),
    ] as const;
    expect(anglesWithin([scaled])).toBeGreaterThan(1);
    // The same root with its scale outside (y = 2·sqrt(S/4), as the normal form pulls a scale out): the same box.
    const outside = T.mul([
      num(2),
      root(num(1, 4), T.mul([num(1, 12), v1!]), T.mul([num(1, 12), v2!]), T.mul([num(1, 36), gap!])),
    ]);
    expect(anglesWithin([[outside, scaled[1]]])).toBe(anglesWithin([scaled]));
    expect(
      anglesWithin([[T.mul([num(-2), outside.k === 'mul' ? outside.factors[1]! : outside]), scaled[1]]]),
    ).toBeUndefined();
    // Every angle at once: the smallest box.
    expect(anglesWithin([erfLike, scaled])).toBe(0);
    // The gap's terms prove nothing (gap ≥ 0 only): y = sqrt(1/4 + var1 var2/2 + gap), x = cov12 fails
    // (y² − x² = 1/4 − var1 var2/2 at the bound).
    expect(anglesWithin([[root(num(1, 4), T.mul([num(1, 2), v1!, v2!]), gap!), c!]])).toBeUndefined();
    // Out of range: x = 1e300·cov12.
    const huge = E.num(Q.fromDecimal('1e300'));
    expect(anglesWithin([[root(num(1), T.mul([T.mul([huge, huge]), gap!])), T.mul([huge, c!])]])).toBeUndefined();
    // Not of the form: x not a multiple of cov12, y not a root, a negative term, cov12 in y.
    expect(anglesWithin([[erfLike[0], T.mul([num(2), v1!])]])).toBeUndefined();
    expect(anglesWithin([[T.add([num(1), v1!]), erfLike[1]]])).toBeUndefined();
    expect(anglesWithin([[root(num(1), T.mul([num(-1, 2), v1!])), erfLike[1]]])).toBeUndefined();
    expect(anglesWithin([[root(num(1), c!), erfLike[1]]])).toBeUndefined();
    // Sound by sampling: wherever proven, |x| ≤ y at points of the box up to the bound.
    const next = rng(96);
    for (const [y, x] of [erfLike, scaled]) {
      const k = anglesWithin([[y, x]])!;
      const Y = (at: Record<string, number>) => treeValue(y, at),
        X = (at: Record<string, number>) => treeValue(x, at);
      for (let i = 0; i < 2000; i++) {
        const a = 2 ** k * (i < 4 ? 1 : next()),
          b = 2 ** k * (i < 4 ? 1 : next());
        const cov = (i % 2 ? -1 : 1) * Math.sqrt(a * b) * (i < 8 ? 1 : next());
        const at = { var1: a, var2: b, cov12: cov, gap: Math.max(0, a * b - cov * cov) };
        expect(Math.abs(X(at)), `${a} ${b} ${cov}`).toBeLessThanOrEqual(Y(at));
      }
    }
  });

  it("kernel() with variances in an angle test's box gives the scalar functions' doubles bit for bit", () => {
    const next = rng(97);
    let proven = 0;
    for (const e of catalog()) {
      const k = compile(e.source, { params: e.params });
      for (const [, kb] of k.code.matchAll(/const anglesUpTo(\d+) = /g)) {
        proven++;
        expectKernelAsScalarsAround(e.id, k, 2 ** Number(kb), next);
      }
    }
    expect(proven).toBeGreaterThanOrEqual(1);
  });

  it('angles whose arguments can both be zero are not proven (0/0 in the plain spelling)', () => {
    // erfc(30) is exactly 0: atan2(0, -0) in the plain code is pi/2 - atan(0/0), NaN, where the
    // scalar functions' test sends the entry to the stable code (found by review).
    const next = rng(94);
    for (const source of [
      'sqrt(var1*var2 - cov12^2) * (3 + atan2(erfc(var1), -erfc(var2)))',
      'cov12 * exp(atan2(erfc(var1), -erfc(var2))) + sqrt(var1*var2 - cov12^2)',
    ]) {
      const k = compile(source);
      expect(closed(k).module.finiteWithin, source).toBeUndefined();
      expectKernelAsScalars(source, k, Float64Array.of(30, 1, 0.5), Float64Array.of(30, 2, 29), next);
      const at = k.kernel({ nngp: Float64Array.of(1), ntk: Float64Array.of(1), cov1: Float64Array.of(30) });
      expect(at.nngp[0]).toBe(k.nngp(1, 30, 30));
      expect(Number.isFinite(at.nngp[0]!) && Number.isFinite(at.ntk![0]!)).toBe(true);
    }
  });
});

/**
 * kernel() against the scalar functions with variances in [0, hi] (the corner, where a box's
 * proof is tightest, with cov12 near the bound; 0; within) and beyond it (where every entry's
 * tests run).
 */
function expectKernelAsScalarsAround(id: string, k: ReturnType<typeof compile>, hi: number, next: () => number): void {
  const n = 24;
  const cov1 = Float64Array.from({ length: n }, (_, i) => (i < 3 ? hi : i === 3 ? 0 : hi * next()));
  const cov2 = Float64Array.from({ length: n }, (_, i) => (i < 3 ? hi : i === 3 ? hi : hi * next()));
  expectKernelAsScalars(id, k, cov1, cov2, next);
  const wide = Float64Array.from({ length: n }, (_, i) => (i < 4 ? 4 * hi : hi * (1 + 15 * next())));
  expectKernelAsScalars(id, k, wide, wide, next);
}

/**
 * kernel() on cov1 × cov2, cov12 over the interior domain and beyond (both signs, at the half
 * domain's bound, 0, -0, subnormal), against the scalar functions bit for bit.
 */
function expectKernelAsScalars(
  id: string,
  k: ReturnType<typeof compile>,
  cov1: Float64Array,
  cov2: Float64Array,
  next: () => number,
): void {
  const n1 = cov1.length,
    n2 = cov2.length;
  const nngp = new Float64Array(n1 * n2),
    ntk = new Float64Array(n1 * n2).fill(1);
  for (let i = 0; i < n1; i++)
    for (let j = 0; j < n2; j++) {
      const bound = Math.sqrt(cov1[i]! * cov2[j]!);
      const u = next();
      nngp[i * n2 + j] =
        u < 0.05
          ? 0
          : u < 0.1
            ? -0
            : u < 0.15
              ? (next() < 0.5 ? -1 : 1) * 5e-324
              : u < 0.3
                ? (next() < 0.5 ? -1 : 1) * Math.sqrt(DOMAIN_BOUND.half) * bound
                : u < 0.4
                  ? (next() < 0.5 ? -1 : 1) * (1 - 2 ** -(20 + Math.floor(30 * next()))) * bound // the gap near 0
                  : (2 * next() - 1) * 0.99 * bound;
    }
  const out = k.kernel({ nngp, ntk, cov1, cov2 });
  const only = k.kernel({ nngp, cov1, cov2 });
  for (let i = 0; i < n1; i++)
    for (let j = 0; j < n2; j++) {
      const p = [nngp[i * n2 + j]!, cov1[i]!, cov2[j]!] as const;
      expect(Object.is(out.nngp[i * n2 + j], k.nngp(...p)), `${id} nngp ${p}`).toBe(true);
      expect(Object.is(out.ntk![i * n2 + j], k.dNngp(...p)), `${id} dNngp ${p}`).toBe(true);
      expect(Object.is(only.nngp[i * n2 + j], k.nngp(...p)), `${id} nngp only ${p}`).toBe(true);
    }
}

/** A tree's value in doubles at the symbols' values (functions by MEANING); `visit` sees each node with its value, children first. */
function treeValue(t: Tree, at: Record<string, number>, visit?: (t: Tree, v: number) => void): number {
  const value = (u: Tree): number => {
    const v: number =
      u.k === 'num'
        ? Q.toNumber(u.v)
        : u.k === 'sym'
          ? at[u.name]!
          : u.k === 'add'
            ? u.terms.reduce((a, x) => a + value(x), 0)
            : u.k === 'mul'
              ? u.factors.reduce((a, x) => a * value(x), 1)
              : u.k === 'pow'
                ? value(u.base) ** value(u.exp)
                : MEANING[u.name]!(...u.args.map(value));
    visit?.(u, v);
    return v;
  };
  return value(t);
}
