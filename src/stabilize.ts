// The stabilize pass: canonical IR → evaluation tree, for floating-point stability. Two steps:
//   1. REWRITES, rules on the canonical IR (data, rewrite.ts's driver): trig complements
//      chosen by the residual they leave, acos/asin as angles of exactly computed points,
//      y - x*angle without cancellation, differences of exponentials, log1p;
//   2. lowering to the evaluation tree (LOWERINGS, below `lowerTree`): raw constructors, so
//      that a factored form is kept as written, and the stable primitives of types.ts
//      (gap, rho, angle, dd, ddq, csum, expdd, expdiff, xangle).
import * as E from './expr.js';
import * as Q from './rational.js';
import { memoTable } from './memo.js';
import { fixpoint, type Rule } from './rewrite.js';
import { HP, evaluateHP } from './evaluate.js';
import { simplify } from './simplify.js';
import { smallAngleSeries } from './smallangle.js';
import type { Add, Expr, Fn, Rat } from './types.js';

const PI_HALF = E.mul(E.HALF, E.PI);
const isFn = (e: Expr, ...names: string[]): e is Fn => e.k === 'fn' && names.includes(e.name);

/** Splits a term into m × F for its first factor F satisfying pred. */
function splitFactor(t: Expr, pred: (f: Expr) => boolean): [Expr, Fn] | undefined {
  const fs = t.k === 'mul' ? t.factors : [t];
  const i = fs.findIndex(pred);
  if (i < 0) return undefined;
  return [E.mul(...fs.filter((_, j) => j !== i)), fs[i] as Fn];
}

/**
 * For a sum, the first term i for which `partner` names the key of another term j (the key of
 * its non-numeric part) and a replacement of both; the sum with the pair replaced.
 */
type Partner = (ti: Expr) => { readonly restKey: string; readonly replace: (tj: Expr) => Expr | undefined } | undefined;

function rewritePair(e: Expr, partner: Partner): Expr | undefined {
  if (e.k !== 'add') return undefined;
  const ts = e.terms;
  const byRest = new Map<string, number[]>();
  ts.forEach((t, j) => {
    const k = E.splitCoeff(t)[1].key;
    byRest.set(k, [...(byRest.get(k) ?? []), j]);
  });
  for (let i = 0; i < ts.length; i++) {
    const p = partner(ts[i]!);
    if (!p) continue;
    for (const j of byRest.get(p.restKey) ?? []) {
      if (j === i) continue;
      const r = p.replace(ts[j]!);
      if (r) return E.add(...ts.filter((_, k) => k !== i && k !== j), r);
    }
  }
  return undefined;
}

/**
 * m*acos(u) + T with T = r*m*pi (r rational): the angle and the constant, written with the
 * residual constant nearest zero, so that the angle term carries the value:
 *   m*(acos(u) + r pi)               |r|        (r ≥ -1/4: kept as is)
 *   -m*asin(u) + (r + 1/2)*m*pi      |r + 1/2|  (-3/4 < r < -1/4)
 *   -m*acos(-u) + (r + 1)*m*pi       |r + 1|    (r ≤ -3/4)
 * (pi - acos(u) = acos(-u) exactly, ReLU near rho = -1; pi/2 - acos(u) = asin(u), erf.)
 */
const acosComplement: Partner = (ti) => {
  const a = splitFactor(ti, (f) => isFn(f, 'acos'));
  if (!a) return undefined;
  const [m, F] = a;
  const mpi = E.mul(m, E.PI);
  const u = F.args[0]!;
  return {
    restKey: E.splitCoeff(mpi)[1].key,
    replace: (tj) => {
      const ratio = E.div(tj, mpi); // a rational: tj has the key of m*pi
      if (ratio.k !== 'num') return undefined;
      const r = ratio.v;
      if (Q.cmp(r, Q.rat(-1, 4)) >= 0) return undefined;
      if (Q.cmp(r, Q.rat(-3, 4)) > 0) return E.add(E.neg(E.mul(m, E.fn('asin', [u]))), E.mul(E.num(Q.add(r, Q.HALF)), mpi));
      return E.add(E.neg(E.mul(m, E.fn('acos', [E.neg(u)]))), E.mul(E.num(Q.add(r, Q.ONE)), mpi));
    },
  };
};

/** m*y - m*x*angle(y, x) → m*ymxangle(y, x). */
const ymxangle: Partner = (ti) => {
  const an = splitFactor(ti, (f) => isFn(f, 'angle', 'atan2'));
  if (!an) return undefined;
  const [k, F] = an;
  const [y, x] = F.args as [Expr, Expr];
  const m = E.neg(E.mul(k, E.pow(x, E.MINUS_ONE)));
  const target = E.mul(m, y);
  return { restKey: E.splitCoeff(target)[1].key, replace: (tj) => (tj.key === target.key ? E.mul(m, E.fn('ymxangle', [y, x])) : undefined) };
};

/**
 * k*exp(a) - k → k*expm1(a); k*exp(a) - k'*exp(b) → k*expdiff(a, b, a - b) + (k - k')*exp(b)
 * where k' = k or k'/k is a constant within 2^-20 of 1 (a param such as c0 = -1.5707963267948966
 * makes cos(2*c0 + pi) = -1 + 7.5e-33: the difference is then a tiny separate term).
 */
function expDifference(ti: Expr, tj: Expr): Expr | undefined {
  const ex = splitFactor(ti, (f) => isFn(f, 'exp'));
  if (!ex) return undefined;
  const [m, F] = ex;
  const a = F.args[0]!;
  const negm = E.neg(m);
  if (tj.key === negm.key) return E.mul(m, E.fn('expm1', [a]));
  const other = splitFactor(tj, (f) => isFn(f, 'exp'));
  if (!other) return undefined;
  const [m2, G] = other;
  const b = G.args[0]!;
  const diff = () => E.mul(m, E.fn('expdiff', [a, b, simplify(E.sub(a, b))]));
  if (m2.key === negm.key) return diff();
  const ratio = E.div(m2, negm);
  if (!isConstant(ratio)) return undefined;
  // k' = r k with r ≈ 1: the correction (k - k')*exp(b) = k (1 - r) exp(b), 1 - r folded to one
  // rational in 50 digits (its own rounding is relative to a term 2^20 times smaller than k).
  const oneMinusR = evaluateHP(E.sub(E.ONE, ratio), { cov12: new HP(0), var1: new HP(0), var2: new HP(0) });
  if (!oneMinusR.isFinite() || !oneMinusR.abs().lt(2 ** -20)) return undefined;
  return E.add(diff(), E.mul(E.num(Q.fromNumber(oneMinusR.toNumber())), m, G));
}

/** The key of a term's non-constant factors (two terms whose keys agree differ by a constant factor). */
function variableKey(t: Expr): string {
  const fs = t.k === 'mul' ? t.factors : [t];
  return fs.filter((f) => !isConstant(f)).map((f) => f.key).join('*');
}

/** The pairs expDifference can match: terms k*exp(a) whose cofactors k differ by a constant. */
function expPairs(e: Expr): Expr | undefined {
  if (e.k !== 'add') return undefined;
  const ts = e.terms;
  const keys = ts.map((t) => {
    const ex = splitFactor(t, (f) => isFn(f, 'exp'));
    return ex ? variableKey(ex[0]) : undefined;
  });
  if (keys.every((k) => k === undefined)) return undefined;
  for (let i = 0; i < ts.length; i++) {
    if (keys[i] === undefined) continue;
    for (let j = 0; j < ts.length; j++) {
      if (i === j) continue;
      // exp(a) - 1 pairs with a constant multiple of the cofactor; exp(a) - exp(b) with another exp term.
      if (keys[j] !== undefined ? keys[j] !== keys[i] : variableKey(ts[j]!) !== keys[i]) continue;
      const r = expDifference(ts[i]!, ts[j]!);
      if (r) return E.add(...ts.filter((_, k) => k !== i && k !== j), r);
    }
  }
  return undefined;
}

/** 1 - u^2 simplified, its root: the other coordinate of the point at angle acos(u) or asin(u). */
const cosineMemo = memoTable<Expr>(1000);
function cosine(u: Expr): Expr {
  return cosineMemo.get(u.key, () => E.pow(simplify(E.sub(E.ONE, E.pow(u, E.num(2)))), E.HALF));
}

/** Rules on sums (run first, while acos/asin are still visible, then with FUNCTION_REWRITES). */
const SUM_REWRITES: readonly Rule[] = [
  {
    name: 'm*acos(u) + r*m*pi → with the residual constant nearest 0: -m*asin(u) + (r + 1/2)*m*pi or -m*acos(-u) + (r + 1)*m*pi',
    sound: 'acos(-u) = pi - acos(u) and asin(u) = pi/2 - acos(u) on [-1, 1]',
    helps: 'pi - acos(u) cancels when u → -1 (ReLU near rho = -1), pi/2 - acos(u) when u → 0 (erf); the angle computed directly keeps its digits',
    examples: ['(pi - acos(cov12/sqrt(var1*var2)))*cov12', '1 - 2*acos(cov12/sqrt(var1*var2))/pi', '0.7*cov12 - 0.2*cov12*acos(cov12/sqrt(var1*var2))/pi'],
    apply: (e) => rewritePair(e, acosComplement),
  },
  {
    name: 'm*y - m*x*angle(y, x) → m*ymxangle(y, x)',
    sound: 'definition; ymxangle evaluates x*(t - atan t), t = y/x, as x*(t^3/(1 + sqrt(1 + t^2))^2 + 2*(u - atan u)) with u = t/(1 + sqrt(1 + t^2)) (atan t = 2 atan u), u - atan u by its series',
    helps: 'sin(theta) - theta*cos(theta) (arc-cosine kernels near rho = -1) cancels to theta^3/3',
    examples: ['sqrt(var1*var2 - cov12^2) - cov12*atan2(sqrt(var1*var2 - cov12^2), cov12)'],
    apply: (e) => rewritePair(e, ymxangle),
  },
  {
    name: 'k*exp(a) - k → k*expm1(a); k*exp(a) - k*exp(b) → k*expdiff(a, b, a - b)',
    sound: 'expm1(a) = exp(a) - 1; exp(a) - exp(b) = exp(max) * -expm1(-|a - b|) (sign restored), a - b simplified exactly',
    helps: 'no cancellation when a ≈ b (sin, sinh-like maps) or a ≈ 0; no inf*0 when exp overflows',
    examples: ['exp(cov12) - 1', 'exp(cov12 - var1) - exp(-cov12 - var1)'],
    apply: expPairs,
  },
];

/** Rules on functions (second step). */
const FUNCTION_REWRITES: readonly Rule[] = [
  {
    name: 'asin(u) → atan2(u, sqrt(1 - u^2)) with 1 - u^2 simplified',
    sound: 'asin(u) is the angle of the point (sqrt(1 - u^2), u)',
    helps: 'asin loses half the digits near |u| = 1; 1 - u^2 built symbolically is var1*var2 - cov12^2 over a positive factor, computed exactly',
    examples: ['asin(cov12/sqrt(var1*var2))'],
    apply: (e) => (isFn(e, 'asin') ? E.fn('atan2', cancelPositive(e.args[0]!, cosine(e.args[0]!))) : undefined),
  },
  {
    name: 'acos(u) → angle(sqrt(1 - u^2), u) with 1 - u^2 simplified',
    sound: "acos(u) is the angle of (u, sqrt(1 - u^2)); angle(0, 0) = pi/2 is neural-tangents' theta at zero inputs",
    helps: 'as for asin; finite at zero inputs',
    examples: ['acos(cov12/sqrt(var1*var2))'],
    apply: (e) => (isFn(e, 'acos') ? E.fn('angle', cancelPositive(cosine(e.args[0]!), e.args[0]!)) : undefined),
  },
  {
    name: 'atan2(k y, k x) → atan2(y, x) for k > 0 (angle likewise)',
    sound: 'the angle of a point does not change under positive scaling',
    helps: 'removes the 0/0 of cov12/sqrt(var1*var2) and a rounding',
    examples: ['atan2(cov12*var1, var1*var2)'],
    apply: (e) => {
      if (!isFn(e, 'atan2', 'angle')) return undefined;
      const [y, x] = cancelPositive(e.args[0]!, e.args[1]!);
      return y.key === e.args[0]!.key && x.key === e.args[1]!.key ? undefined : E.fn(e.name, [y, x]);
    },
  },
  {
    name: 'log(1 + x) → log1p(x)',
    sound: 'definition of log1p',
    helps: '1 + x rounds away x when x is small',
    examples: ['log(1 + cov12^2)'],
    apply: (e) => {
      if (!isFn(e, 'log')) return undefined;
      const u = e.args[0]!;
      return u.k === 'add' && u.terms[0]!.k === 'num' && Q.isOne(u.terms[0]!.v) ? E.fn('log1p', [E.add(...u.terms.slice(1))]) : undefined;
    },
  },
];

/** The canonical-level rewrites of this pass (tests sample each for soundness). */
export const REWRITES: readonly Rule[] = [...SUM_REWRITES, ...FUNCTION_REWRITES];

/**
 * Applies the canonical-level rewrites: first those on sums, which must see acos before it
 * becomes an angle; then all of them.
 */
export function rewriteCanonical(e: Expr): Expr {
  const rewritten = fixpoint(fixpoint(e, SUM_REWRITES, 6), REWRITES, 6);
  // Then the small-angle series of the sums that still cancel at small angles (J_1 has become
  // ymxangle, cheaper; J_2, J_3 remain): one pass, the series keeping the sum as `direct`.
  return E.rebuild(rewritten, (x) => SMALL_ANGLE.apply(x) ?? x);
}

/** The small-angle series (smallangle.ts), applied once after the fixed points above. */
export const SMALL_ANGLE: Rule = {
  name: 'sum of c cov12^i gap^(j/2) (var1 var2)^k theta^e → smallangle(..., Taylor series in theta) where the terms cancel to high order at theta → 0',
  sound: 'the polar form (±cov12, sqrt(gap)) = r (cos theta, sin theta), r^2 = var1 var2, and the Taylor series of the resulting F(theta) with exact coefficients, truncated where its tail at PHI_MAX is below 2^-60 of F; the sum as written elsewhere',
  helps: 'J_2 and J_3 (rectified monomials of degree 2, 3) near rho = -1 cancel to theta^5 and theta^7 against terms of order theta: they lost up to all their bits',
  examples: ['((var1*var2/2 + cov12^2)*acos(-cov12/sqrt(var1*var2)) + 3*sqrt(var1*var2 - cov12^2)*cov12/2)/pi'],
  apply: smallAngleSeries,
};

/** Divides y and x by the factors they share that are known ≥ 0 (same base and exponent). */
function cancelPositive(y: Expr, x: Expr): [Expr, Expr] {
  const fy = y.k === 'mul' ? y.factors : [y];
  const fx = x.k === 'mul' ? x.factors : [x];
  const common = fy.filter((f) => f.k !== 'num' && E.isNonneg(f) && fx.some((g) => g.key === f.key));
  if (common.length === 0) return [y, x];
  const inv = E.pow(E.mul(...common), E.MINUS_ONE);
  return [E.mul(y, inv), E.mul(x, inv)];
}

// ---------------------------------------------------------------- evaluation tree

/** A decision of the lowering to the evaluation tree; `node` names the primitive it introduces. */
export interface Lowering {
  readonly name: string;
  readonly sound: string;
  readonly helps: string;
  /** Sources whose evaluation tree contains `node` (test/stabilize.test.ts checks both). */
  readonly examples: readonly string[];
  readonly node: string;
}

/** The evaluation-tree decisions of `lowerTree`, documented in one place (tests sample each example). */
export const LOWERINGS: readonly Lowering[] = [
  { name: 'exp(p) → expdd(p) for a polynomial p', sound: 'exp(hi + lo) = exp(hi) * (1 + lo) to within lo^2', helps: 'rounding in a large argument p is amplified by exp: p is evaluated in double-double', examples: ['exp(cov12 - var1/2 - var2/2)'], node: 'expdd(' },
  { name: 'var1*var2 → gap + cov12^2 in a polynomial, when that leaves every term of one sign', sound: 'gap is defined as var1*var2 - cov12^2 and computed from exact products (two-product), clamped at 0', helps: 'difference of products: (1 + 2 v1)(1 + 2 v2) - 4 c^2 is 1 + 2 v1 + 2 v2 + 4 gap without cancellation', examples: ['1/sqrt((1 + 2*var1)*(1 + 2*var2) - 4*cov12^2)'], node: 'gap' },
  { name: 'polynomial with terms of both signs → dd(p)', sound: 'exact products (two-product) and compensated sums evaluate p to ~106 bits before one rounding', helps: 'cancellation among the terms of p', examples: ['sqrt(3*var1 - 2*cov12 + var2)'], node: 'dd(' },
  { name: 'terms sharing factors → common factor × polynomial; polynomial × powers of positive polynomials → ddq(...)', sound: 'distributivity; the same product evaluated in double-double (two-product, compensated division and square root) and rounded once', helps: 'a rational part that cancels against another term (gelu at cov12 < 0) keeps ~0.5 ulp instead of a rounding per operation', examples: ['cov12/sqrt(1 + var1 + var2 + var1*var2 - cov12^2) + cov12^3/sqrt(1 + var1 + var2 + var1*var2 - cov12^2)^3 + acos(cov12/sqrt(1 + var1 + var2 + var1*var2))'], node: 'ddq(' },
  { name: 'k*x*angle(y, x) in a compensated sum → k*xangle(y, x)', sound: 'x*atan2(y, x) = y - ymxangle(y, x); xangle is evaluated so, with y in double-double, at small angles (x > 0, |y| < x/2), and as x times the angle, exactly (two-product), elsewhere', helps: 'gelu at cov12 = -var: the angle term cancels against the rational part down to ~1/sqrt(var) of its size, which a rounded angle cannot survive', examples: ['cov12/sqrt(1 + var1 + var2 + var1*var2 - cov12^2) + cov12*acos(-cov12/sqrt(1 + var1 + var2 + var1*var2))'], node: 'xangle(' },
  { name: 'sum of non-polynomial terms → csum(...)', sound: 'the same sum, accumulated with two-sum and exact constant products, rounded once; an angle term (alone or as xangle) at small angles as (y - ymxangle(y, x)) (/ x) in double-double', helps: 'terms that partly cancel (a rational part against an angle) keep their own accuracy', examples: ['cov12/sqrt(1 + var1 + var2 + var1*var2 - cov12^2) + acos(cov12/sqrt(1 + var1 + var2 + var1*var2))'], node: 'csum(' },
  { name: 'cov12/sqrt(var1*var2) → rho', sound: "rho is the correlation clamped to [-1, 1]; 0 when a variance is 0 (neural-tangents' convention)", helps: 'finite at zero inputs and just outside the Cauchy–Schwarz bound', examples: ['sqrt(var1*var2)*exp(cov12/sqrt(var1*var2))'], node: 'rho' },
  { name: 'cov12 → cov12 projected onto |cov12| ≤ sqrt(var1*var2) (emit)', sound: 'a kernel has |cov12| ≤ sqrt(var1*var2); outside it (by rounding in a Dense layer) the value at the bound is taken', helps: 'values just outside the bound are those at the bound, not NaN', examples: ['cov12^2'], node: 'cov12' },
];

const POLY_VARS = new Set(['cov12', 'var1', 'var2', 'rho', 'gap']);

/** Is e a polynomial (integer powers ≥ 1) in the inputs, with rational coefficients? */
function isMonomial(e: Expr): boolean {
  if (e.k === 'num') return true;
  if (e.k === 'sym') return POLY_VARS.has(e.name);
  if (e.k === 'pow') return e.base.k === 'sym' && POLY_VARS.has(e.base.name) && e.exp.k === 'num' && Q.isInt(e.exp.v) && e.exp.v.n > 0n;
  if (e.k === 'mul') return e.factors.every(isMonomial);
  return false;
}
export function isPolynomial(e: Expr): boolean {
  return e.k === 'add' ? e.terms.every(isMonomial) : isMonomial(e);
}

/** Exponent of a symbol in a monomial. */
function degreeIn(m: Expr, name: string): number {
  const fs = m.k === 'mul' ? m.factors : [m];
  let d = 0;
  for (const f of fs) {
    if (f.k === 'sym' && f.name === name) d += 1;
    if (f.k === 'pow' && f.base.k === 'sym' && f.base.name === name && f.exp.k === 'num') d += Number(f.exp.v.n);
  }
  return d;
}

/** The sign class of a monomial: its sign, as a function of sign(cov12) (rho has cov12's sign). */
function signClass(m: Expr): string {
  const [c] = E.splitCoeff(m);
  const odd = (degreeIn(m, 'cov12') + degreeIn(m, 'rho')) % 2 === 1;
  return (c.n < 0n ? '-' : '+') + (odd ? 'c' : '');
}

export function isSignDefinite(p: Expr): boolean {
  const terms = p.k === 'add' ? p.terms : [p];
  return new Set(terms.map(signClass)).size <= 1;
}

/** var1^a var2^b → var1^(a-m) var2^(b-m) (gap + cov12^2)^m, m = min(a, b), expanded. */
export function substituteGap(p: Expr): Expr {
  const terms = p.k === 'add' ? p.terms : [p];
  const gapPlus = E.add(E.sym('gap'), E.pow(E.COV12, E.num(2)));
  return E.add(...terms.map((t) => {
    const m = Math.min(degreeIn(t, 'var1'), degreeIn(t, 'var2'));
    if (m === 0) return t;
    return E.mul(t, E.pow(E.mul(E.VAR1, E.VAR2), E.num(-m)), E.pow(gapPlus, E.num(m)));
  }));
}

/** A polynomial, arranged to evaluate without cancellation where possible. */
function stablePolynomial(p: Expr): Expr {
  if (p.k !== 'add') return lowerTree(p);
  if (isSignDefinite(p)) return rawTerms(p);
  const g = substituteGap(p);
  if (isSignDefinite(g)) return g.k === 'add' ? rawTerms(g) : lowerTree(g);
  return E.rawFn('dd', [p]);
}

function rawTerms(p: Add): Expr {
  return E.rawAdd(p.terms.map(lowerTree));
}

/** Is the sum S known to be > 0 (a positive constant and every other term ≥ 0, modulo gap)? */
function isPositiveSum(s: Expr): boolean {
  if (s.k !== 'add' || !isPolynomial(s)) return false;
  for (const cand of [s, substituteGap(s)]) {
    if (cand.k !== 'add') continue;
    const first = cand.terms[0]!;
    if (first.k === 'num' && first.v.n > 0n && cand.terms.slice(1).every(E.isNonneg)) return true;
  }
  return false;
}

/**
 * The evaluation tree of a canonical expression: sums grouped by shared factors and their
 * polynomial parts made stable, exp of polynomials in double-double, the correlation as rho.
 */
export function lowerTree(e: Expr): Expr {
  switch (e.k) {
    case 'num': case 'sym': return e;
    case 'pow': return E.rawPow(lowerTree(e.base), e.exp.k === 'num' ? e.exp : lowerTree(e.exp));
    case 'mul': {
      const r = substituteRho(e);
      if (r.k !== 'mul') return lowerTree(r);
      return E.rawMul(r.factors.map(lowerTree));
    }
    case 'fn': {
      if (e.name === 'exp' && isPolynomial(e.args[0]!) && e.args[0]!.k !== 'num' && e.args[0]!.k !== 'sym') return E.rawFn('expdd', [substituteRhoDeep(e.args[0]!)]);
      if (e.name === 'expdiff') {
        const [a, b, d] = e.args.map(substituteRhoDeep);
        // The exponents a and b: a polynomial one as dd(p) (its exp taken as exp(hi) * (1 + lo)).
        const exponent = (x: Expr) => (isPolynomial(x) && x.k !== 'num' && x.k !== 'sym' ? E.rawFn('dd', [x]) : lowerTree(x));
        return E.rawFn('expdiff', [exponent(a!), exponent(b!), isPolynomial(d!) ? stablePolynomial(d!) : lowerTree(d!)]);
      }
      return E.rawFn(e.name, e.args.map(lowerTree));
    }
    case 'add': return lowerSum(e);
  }
}

function substituteRhoDeep(e: Expr): Expr {
  return E.rebuild(e, (x) => (x.k === 'mul' ? substituteRho(x) : x));
}

/** cov12^k var1^a var2^b with k ≥ 1, a, b ≤ -1/2 → rho × cov12^(k-1) var1^(a+1/2) var2^(b+1/2). */
function substituteRho(m: Expr): Expr {
  if (m.k !== 'mul') return m;
  const exp = (name: string): Rat | undefined => {
    for (const f of m.factors) {
      if (f.k === 'sym' && f.name === name) return Q.ONE;
      if (f.k === 'pow' && f.base.k === 'sym' && f.base.name === name && f.exp.k === 'num') return f.exp.v;
    }
    return undefined;
  };
  const c = exp('cov12');
  const a = exp('var1');
  const b = exp('var2');
  if (!c || !a || !b) return m;
  // Only the correlation itself: cov12^k (var1 var2)^(-k/2) = rho^k (c/(var1 var2) is left alone,
  // its roundings are fewer as written).
  if (Q.cmp(c, Q.ONE) < 0 || !Q.eq(a, Q.mul(c, Q.rat(-1, 2))) || !Q.eq(b, a)) return m;
  return E.mul(m, E.sym('rho'), E.pow(E.COV12, E.MINUS_ONE), E.pow(E.VAR1, E.HALF), E.pow(E.VAR2, E.HALF));
}

/** Can emit evaluate this factor in double-double? Constants, and integer or half-integer powers of polynomials. */
function isDDFactor(f: Expr): boolean {
  if (f.k === 'num') return true;
  if (f.k === 'sym') return f.name === 'pi' || POLY_VARS.has(f.name);
  if (f.k === 'pow' && f.exp.k === 'num' && (f.exp.v.d === 1n || f.exp.v.d === 2n)) return (f.base.k === 'sym' && f.base.name === 'pi') || (isPolynomial(f.base) && (f.exp.v.d === 1n || isPositiveSum(f.base)));
  return false;
}

function lowerSum(s: Add): Expr {
  const withRho = s.terms.map(substituteRho);
  const sum = E.add(...withRho);
  if (sum.k !== 'add') return lowerTree(sum);
  if (isPolynomial(sum)) return stablePolynomial(sum);
  // Group terms by their non-polynomial factors; positive sums combine across integer powers.
  interface Part { coef: Expr; poly: Expr[]; atoms: Map<string, { base: Expr; exp: Rat }>; other: Expr[]; sig: string }
  const parts: Part[] = sum.terms.map((t) => {
    const [c, rest] = E.splitCoeff(t);
    const fs = rest.k === 'mul' ? rest.factors : E.isOne(rest) ? [] : [rest];
    const part: Part = { coef: E.num(c), poly: [], atoms: new Map(), other: [], sig: '' };
    for (const f of fs) {
      if (isMonomial(f)) part.poly.push(f);
      else if (f.k === 'pow' && f.exp.k === 'num' && isPositiveSum(f.base)) part.atoms.set(f.base.key, { base: f.base, exp: f.exp.v });
      else part.other.push(f);
    }
    // Integer powers of a positive sum combine with any term (a missing atom has exponent 0).
    const atomSig = [...part.atoms.entries()].filter(([, { exp }]) => !Q.isInt(exp)).map(([k, { exp }]) => `${k}@${Q.toString(Q.sub(exp, Q.floor(exp)))}`).sort();
    part.sig = [...part.other.map((o) => o.key).sort(), ...atomSig].join('|');
    return part;
  });
  const groups = new Map<string, Part[]>();
  for (const p of parts) {
    const g = groups.get(p.sig);
    if (g) g.push(p);
    else groups.set(p.sig, [p]);
  }
  const out: Expr[] = [];
  for (const g of groups.values()) {
    if (g.length === 1) {
      const p = g[0]!;
      out.push(lowerTree(E.mul(p.coef, ...p.poly, ...p.other, ...[...p.atoms.values()].map(({ base, exp }) => E.pow(base, E.num(exp))))));
      continue;
    }
    const least = new Map<string, { base: Expr; exp: Rat }>();
    for (const p of g) {
      for (const [k, v] of p.atoms) {
        const prev = least.get(k);
        least.set(k, { base: v.base, exp: prev ? Q.min(prev.exp, v.exp) : v.exp });
      }
    }
    // Atoms missing from a term count as exponent 0 there.
    for (const [k, v] of least) if (g.some((p) => !p.atoms.has(k))) least.set(k, { base: v.base, exp: Q.min(v.exp, Q.ZERO) });
    const inner = E.add(...g.map((p) => E.mul(p.coef, ...p.poly, ...[...least].map(([k, { base, exp }]) => E.pow(base, E.num(Q.sub(p.atoms.get(k)?.exp ?? Q.ZERO, exp)))))));
    const common = [...g[0]!.other, ...[...least.values()].filter(({ exp }) => !Q.isZero(exp)).map(({ base, exp }) => E.pow(base, E.num(exp)))];
    if (E.isZero(inner)) continue;
    if (isPolynomial(inner) && common.length && common.every(isDDFactor)) {
      // The whole group in double-double: polynomial × constants × powers of positive sums.
      const poly = inner.k === 'add' && !isSignDefinite(inner) && isSignDefinite(substituteGap(inner)) ? substituteGap(inner) : inner;
      out.push(E.rawFn('ddq', [E.rawMul([poly, ...common])]));
      continue;
    }
    const innerTree = isPolynomial(inner) ? stablePolynomial(inner) : lowerTree(inner);
    out.push(common.length ? E.rawMul([innerTree, ...common.map(lowerTree)]) : innerTree);
  }
  if (out.length === 0) return E.ZERO;
  return out.length === 1 ? out[0]! : E.rawFn('csum', [E.rawAdd(out.map(xangleTerm))]);
}

const isConstant = (e: Expr): boolean =>
  e.k === 'num' || (e.k === 'sym' && e.name === 'pi') || (e.k === 'mul' && e.factors.every(isConstant)) || (e.k === 'pow' && isConstant(e.base) && isConstant(e.exp)) ||
  (e.k === 'fn' && e.args.every(isConstant)) || (e.k === 'add' && e.terms.every(isConstant));

/** A term k * x * atan2(y, x) of a compensated sum (k constant) as k * xangle(y, x). */
function xangleTerm(t: Expr): Expr {
  if (t.k !== 'mul') return t;
  const i = t.factors.findIndex((f) => isFn(f, 'atan2', 'angle')); // x*angle = x*atan2 (both 0 at x = 0)
  if (i < 0) return t;
  const [y, x] = (t.factors[i] as Fn).args as [Expr, Expr];
  const k = simplify(E.div(E.mul(...t.factors.filter((_, j) => j !== i)), x));
  return isConstant(k) ? E.rawMul([k, E.rawFn('xangle', [y, x])]) : t;
}

/** The stabilize pass: canonical expression → evaluation tree. */
export function stabilize(e: Expr): Expr {
  return lowerTree(rewriteCanonical(e));
}
