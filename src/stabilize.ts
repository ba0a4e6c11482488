// Pass 5: rewrite a simplified expression for floating-point stability. Input is the
// canonical IR; output is an evaluation tree (built with raw constructors, so that a
// factored form is kept as written) that may use the stable primitives of types.ts:
// gap, rho, angle, dd, expdd, expdiff.
//
// Every rule: a one-line reason it is sound, and when it helps. See REWRITES.
import * as E from './expr.js';
import * as Q from './rational.js';
import { simplify } from './simplify.js';
import type { Add, Expr, Fn, Rat } from './types.js';

export interface Rewrite {
  readonly name: string;
  readonly sound: string;
  readonly helps: string;
}

/** The rewrites of this pass, documented in one place (tests and README list them). */
export const REWRITES: readonly Rewrite[] = [
  { name: 'm*acos(u) - m*pi -> -m*acos(-u)', sound: 'acos(-u) = pi - acos(u)', helps: 'pi - acos(u) cancels when u -> -1; acos(-u) is computed directly' },
  { name: 'r*m*pi + m*acos(u) -> (r + 1)*m*pi - m*acos(-u)  (r < -1)', sound: 'acos(-u) = pi - acos(u)', helps: 'ABRelu / LeakyRelu: (a^2+b^2)/2*c - F*c*acos(rho) cancels near rho = -1; the new terms have one sign' },
  { name: 'm*acos(u) - m*pi/2 -> -m*asin(u)', sound: 'asin(u) = pi/2 - acos(u)', helps: 'pi/2 - acos(u) cancels when u -> 0' },
  { name: 'm*asin(u) ± m*pi/2 -> ±m*acos(∓u)', sound: 'acos(-u) = pi/2 + asin(u), acos(u) = pi/2 - asin(u)', helps: 'the sum cancels when asin(u) -> ∓pi/2' },
  { name: 'm*atan2(y, x) ± m*pi/2 -> ±m*atan2(x, ∓y)  (x ≥ 0)', sound: 'adding pi/2 rotates (x, y) by a right angle', helps: 'the sum cancels when atan2 -> ∓pi/2 (large |cov12| against the variances)' },
  { name: 'asin(u) -> atan2(u, sqrt(1 - u^2)) with 1 - u^2 simplified', sound: 'asin(u) is the angle of the point (sqrt(1 - u^2), u)', helps: 'asin loses half the digits near |u| = 1; 1 - u^2 built symbolically is var1*var2 - cov12^2 over a positive factor, computed exactly' },
  { name: 'acos(u) -> angle(sqrt(1 - u^2), u)', sound: 'acos(u) is the angle of (u, sqrt(1 - u^2)); angle(0, 0) = pi/2 is neural-tangents\' theta at zero inputs', helps: 'as for asin; finite at zero inputs' },
  { name: 'atan2(k y, k x) -> atan2(y, x) for k > 0', sound: 'the angle of a point does not change under positive scaling', helps: 'removes the 0/0 of cov12/sqrt(var1*var2) and a rounding' },
  { name: 'm*y - m*x*atan2(y, x) -> m*ymxangle(y, x)', sound: 'definition; ymxangle evaluates x*(t - atan t), t = y/x, as x*(t^3/(1 + sqrt(1 + t^2))^2 + 2*(u - atan u)) with u = t/(1 + sqrt(1 + t^2)) (atan t = 2 atan u), u - atan u by its series', helps: 'sin(theta) - theta*cos(theta) (arc-cosine kernels near rho = -1) cancels to theta^3/3' },
  { name: 'k*exp(a) - k*exp(b) -> k*expdiff(a, b, a - b)', sound: 'exp(a) - exp(b) = exp(max) * -expm1(-|a - b|) (sign restored), a - b simplified exactly', helps: 'no cancellation when a ≈ b (sin, sinh-like maps); no inf*0 when exp overflows' },
  { name: 'k*exp(a) - k -> k*expm1(a)', sound: 'expm1(a) = exp(a) - 1', helps: 'exp(a) - 1 cancels for small a' },
  { name: 'log(1 + x) -> log1p(x)', sound: 'definition of log1p', helps: '1 + x rounds away x when x is small' },
  { name: 'exp(p) -> expdd(p) for a polynomial p', sound: 'exp(hi + lo) = exp(hi) * (1 + lo) to within lo^2', helps: 'rounding in a large argument p is amplified by exp: p is evaluated in double-double' },
  { name: 'var1*var2 -> gap + cov12^2 in a polynomial, when that leaves every term of one sign', sound: 'gap is defined as var1*var2 - cov12^2 and computed from exact products (two-product), clamped at 0', helps: 'difference of products: (1 + 2 v1)(1 + 2 v2) - 4 c^2 is 1 + 2 v1 + 2 v2 + 4 gap without cancellation' },
  { name: 'polynomial with terms of both signs -> dd(p)', sound: 'exact products (two-product) and compensated sums evaluate p to ~106 bits before one rounding', helps: 'cancellation among the terms of p' },
  { name: 'terms sharing factors -> common factor × polynomial', sound: 'distributivity; sums S with S > 0 are combined across integer powers (S^(1/2) = S * S^(-1/2))', helps: 'cancellation among the terms happens symbolically, and the rest is one polynomial' },
  { name: 'polynomial × powers of polynomials -> ddq(...)', sound: 'the same product, evaluated in double-double (two-product, compensated division and square root) and rounded once', helps: 'a rational factor that cancels against another term (gelu at cov12 < 0) keeps ~0.5 ulp instead of a rounding per operation' },
  { name: 'k*x*atan2(y, x) in a compensated sum -> k*xangle(y, x)', sound: 'x*atan2(y, x) = y - ymxangle(y, x); xangle is evaluated so, with y in double-double, at small angles (x > 0, |y| < x/2), and as x times the angle, exactly (two-product), elsewhere', helps: 'gelu at cov12 = -var: the angle term cancels against the rational part down to ~1/sqrt(var) of its size, which a rounded angle cannot survive' },
  { name: 'sum of non-polynomial terms -> csum(...)', sound: 'the same sum, accumulated with two-sum and exact constant products, rounded once; an angle term (alone or as xangle) at small angles as (y - ymxangle(y, x)) (/ x) in double-double', helps: 'terms that partly cancel (a rational part against an angle) keep their own accuracy' },
  { name: 'cov12/sqrt(var1*var2) -> rho', sound: 'rho is the correlation clamped to [-1, 1]; 0 when a variance is 0 (neural-tangents\' convention)', helps: 'finite at zero inputs and just outside the Cauchy–Schwarz bound' },
  { name: 'cov12 -> projected cov12', sound: 'a kernel has |cov12| ≤ sqrt(var1*var2); outside it (by rounding in a Dense layer) the value at the bound is taken', helps: 'values just outside the bound are those at the bound, not NaN' },
];

const PI_HALF = E.mul(E.HALF, E.PI);
const isFn = (e: Expr, ...names: string[]): e is Fn => e.k === 'fn' && names.includes(e.name);

// ---------------------------------------------------------------- canonical-level rewrites

/**
 * Applies the canonical-level rewrites: first those on sums (trig complements, exp
 * differences), which must see acos/asin before they become atan2 forms; then those on
 * functions (asin/acos → atan2/angle, log(1 + x) → log1p).
 */
export function rewriteCanonical(e: Expr): Expr {
  const fixpoint = (x: Expr, f: (e: Expr) => Expr): Expr => {
    let cur = x;
    for (let i = 0; i < 6; i++) {
      const next = E.rebuild(cur, f);
      if (next.key === cur.key) return next;
      cur = next;
    }
    return cur;
  };
  const sums = fixpoint(e, (x) => (x.k === 'add' ? rewriteSum(x) : x));
  return fixpoint(sums, (x) => (x.k === 'fn' ? rewriteFn(x) : x.k === 'add' ? rewriteSum(x) : x));
}

/** Splits a term into m × F for its first factor F satisfying pred. */
function pick(t: Expr, pred: (f: Expr) => boolean): [Expr, Fn] | undefined {
  const fs = t.k === 'mul' ? t.factors : [t];
  const i = fs.findIndex(pred);
  if (i < 0) return undefined;
  return [E.mul(...fs.filter((_, j) => j !== i)), fs[i] as Fn];
}

function rewriteSum(s: Add): Expr {
  const terms = [...s.terms];
  const find = (target: Expr, skip: number) => terms.findIndex((t, j) => j !== skip && t.key === target.key);
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i]!;
    // Trig complements.
    const tr = pick(t, (f) => isFn(f, 'acos', 'asin', 'atan2', 'atan'));
    if (tr) {
      const [m, F] = tr;
      const u = F.args[0]!;
      const cands: [Expr, () => Expr][] = [];
      if (F.name === 'acos') {
        cands.push([E.neg(E.mul(m, E.PI)), () => E.neg(E.mul(m, E.fn('acos', [E.neg(u)])))]);
        cands.push([E.neg(E.mul(m, PI_HALF)), () => E.neg(E.mul(m, E.fn('asin', [u])))]);
      } else if (F.name === 'asin') {
        cands.push([E.mul(m, PI_HALF), () => E.mul(m, E.fn('acos', [E.neg(u)]))]);
        cands.push([E.neg(E.mul(m, PI_HALF)), () => E.neg(E.mul(m, E.fn('acos', [u])))]);
      } else if (F.name === 'atan2' && E.isNonneg(F.args[1]!)) {
        const [y, x] = F.args;
        cands.push([E.mul(m, PI_HALF), () => E.mul(m, E.fn('atan2', [x!, E.neg(y!)]))]);
        cands.push([E.neg(E.mul(m, PI_HALF)), () => E.neg(E.mul(m, E.fn('atan2', [x!, y!])))]);
      } else if (F.name === 'atan') {
        cands.push([E.mul(m, PI_HALF), () => E.mul(m, E.fn('atan2', [E.ONE, E.neg(u)]))]);
        cands.push([E.neg(E.mul(m, PI_HALF)), () => E.neg(E.mul(m, E.fn('atan2', [E.ONE, u])))]);
      }
      for (const [target, make] of cands) {
        const j = find(target, i);
        if (j >= 0) {
          const rest = terms.filter((_, k) => k !== i && k !== j);
          return E.add(...rest, make());
        }
      }
      // General form: T = r*m*pi with r < -1 (ABRelu's (a^2+b^2)/2*c beside F*c*acos):
      // T + m*acos(u) = (r + 1)*m*pi - m*acos(-u), two terms of one sign.
      if (F.name === 'acos') {
        const mpi = E.mul(m, E.PI);
        for (let j = 0; j < terms.length; j++) {
          if (j === i) continue;
          const ratio = simplify(E.div(terms[j]!, mpi));
          if (ratio.k !== 'num' || Q.cmp(ratio.v, Q.rat(-1)) >= 0) continue;
          const rest = terms.filter((_, k) => k !== i && k !== j);
          return E.add(...rest, E.mul(E.num(Q.add(ratio.v, Q.ONE)), mpi), E.neg(E.mul(m, E.fn('acos', [E.neg(u)]))));
        }
      }
    }
    // y - x * angle(y, x): the arc-cosine kernel's J_1 near theta = 0.
    const an = pick(t, (f) => isFn(f, 'angle', 'atan2'));
    if (an) {
      const [k, F] = an;
      const [y, x] = F.args as [Expr, Expr];
      const m = simplify(E.neg(E.mul(k, E.pow(x, E.MINUS_ONE))));
      const j = find(simplify(E.mul(m, y)), i);
      if (j >= 0) {
        const rest = terms.filter((_, q) => q !== i && q !== j);
        return E.add(...rest, E.mul(m, E.fn('ymxangle', [y, x])));
      }
    }
    // Differences of exponentials, and exp(a) - 1.
    const ex = pick(t, (f) => isFn(f, 'exp'));
    if (ex) {
      const [m, F] = ex;
      const a = F.args[0]!;
      const negm = E.neg(m);
      const j1 = find(negm, i);
      if (j1 >= 0) {
        const rest = terms.filter((_, k) => k !== i && k !== j1);
        return E.add(...rest, E.mul(m, E.fn('expm1', [a])));
      }
      for (let j = 0; j < terms.length; j++) {
        if (j === i) continue;
        const other = pick(terms[j]!, (f) => isFn(f, 'exp'));
        if (!other || other[0].key !== negm.key) continue;
        const b = other[1].args[0]!;
        const d = simplify(E.sub(a, b));
        const rest = terms.filter((_, k) => k !== i && k !== j);
        return E.add(...rest, E.mul(m, E.fn('expdiff', [a, b, d])));
      }
    }
  }
  return s;
}

function rewriteFn(f: Fn): Expr {
  const u = f.args[0]!;
  switch (f.name) {
    case 'asin': {
      const [y, x] = cancelPositive(u, E.pow(simplify(E.sub(E.ONE, E.pow(u, E.num(2)))), E.HALF));
      return E.fn('atan2', [y, x]);
    }
    case 'acos': {
      const [y, x] = cancelPositive(E.pow(simplify(E.sub(E.ONE, E.pow(u, E.num(2)))), E.HALF), u);
      return E.fn('angle', [y, x]);
    }
    case 'atan2': case 'angle': {
      const [y, x] = cancelPositive(f.args[0]!, f.args[1]!);
      return y.key === f.args[0]!.key && x.key === f.args[1]!.key ? f : E.fn(f.name, [y, x]);
    }
    case 'log':
      if (u.k === 'add' && u.terms[0]!.k === 'num' && Q.isOne(u.terms[0]!.v)) return E.fn('log1p', [E.add(...u.terms.slice(1))]);
      return f;
    default:
      return f;
  }
}

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
  const mh = Q.rat(-1, 2);
  if (Q.cmp(c, Q.ONE) < 0 || Q.cmp(a, mh) > 0 || Q.cmp(b, mh) > 0) return m;
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
  e.k === 'num' || (e.k === 'sym' && e.name === 'pi') || (e.k === 'mul' && e.factors.every(isConstant)) || (e.k === 'pow' && isConstant(e.base) && isConstant(e.exp));

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
