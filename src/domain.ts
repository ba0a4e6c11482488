// Facts about the kernel domain, for rules with preconditions. The domain: var1 ≥ 0,
// var2 ≥ 0 and |cov12| ≤ sqrt(var1*var2) (Cauchy–Schwarz: x1, x2 jointly Gaussian). Its
// boundary: a zero variance, or gap = var1*var2 - cov12^2 = 0 (|rho| = 1, the diagonal).
//
// Every answer here is a proof or "don't know" (false/undefined), never a guess.
import * as E from './expr.js';
import { DERIVATIVES, differentiate } from './differentiate.js';
import { memoTable } from './memo.js';
import * as P from './poly.js';
import * as Q from './rational.js';
import type { Expr, Rat, Tree } from './types.js';
import * as T from './tree.js';

/**
 * The largest floor a guard may add and still be read as a domain guard: `max(gap, eps)`,
 * `where(p > eps, ...)` with 0 ≤ eps ≤ GUARD_EPSILON act only within eps of the boundary.
 */
export const GUARD_EPSILON = Q.fromDecimal('1e-12');

const MAX_DEPTH = 4;

/** Expressions larger than this are not reasoned about (the proofs square and expand them). */
const MAX_SIZE = 80;
const nonnegMemo = memoTable<boolean>();

/** e ≥ 0 everywhere on the domain where e is defined (a proof, or false). */
export function nonnegOnDomain(e: Expr, depth = 0): boolean {
  if (E.isNonneg(e)) return true;
  if (E.size(e) > MAX_SIZE) return false;
  return nonnegMemo.get(`${depth}:${e.key}`, () => nonnegProof(e, depth));
}

function nonnegProof(e: Expr, depth: number): boolean {
  if (e.k === 'mul') return e.factors.every((f) => nonnegOnDomain(f, depth));
  if (e.k !== 'add' || depth >= MAX_DEPTH) return false;
  const cleared = clearPositiveDenominators(e, depth);
  const p = P.fromExpr(cleared, true);
  if (p) return P.nonnegOnDomain(p);
  if (cleared.key !== e.key && cleared.k === 'add' && nonnegOnDomain(cleared, depth + 1)) return true;
  // Over a term positive inside the domain (sqrt(var1) sqrt(var2) - cov12 as 1 - rho).
  for (const t of e.terms) {
    if (t.k === 'num' || !positiveInsideDomain(t)) continue;
    if (nonnegOnDomain(E.div(e, t), depth + 1)) return true;
  }
  // k + terms q·u with |u| ≤ 1 (u^2 ≤ 1): ≥ 0 if k is at least the sum of their |q|
  // ((1 - rho)/2 = 1/2 - rho/2: the half angle's cosine squared).
  let budget = Q.ZERO;
  const rest: Expr[] = [];
  for (const t of e.terms) {
    if (t.k === 'num') budget = Q.add(budget, t.v);
    else rest.push(t);
  }
  for (const t of rest) {
    if (nonnegOnDomain(t, depth + 1)) continue;
    // |t| ≤ 1 costs 1, |u| ≤ 1 costs |q|: the cheaper proof first.
    const [q, u] = E.splitCoeff(t);
    const size = q.n < 0n ? Q.neg(q) : q;
    const viaU = () => (absAtMostOne(u, depth + 1) ? size : undefined);
    const viaT = () => (absAtMostOne(t, depth + 1) ? Q.ONE : undefined);
    const cost = Q.cmp(size, Q.ONE) < 0 ? (viaU() ?? viaT()) : (viaT() ?? viaU());
    if (!cost) return false;
    budget = Q.sub(budget, cost);
  }
  return budget.n >= 0n;
}

/**
 * A sum times the powers of its positive denominators (bases known or proved ≥ 0 with negative
 * exponents), which keeps its sign: 1 - 4 c^2/P becomes P - 4 c^2.
 */
function clearPositiveDenominators(s: Expr, depth: number): Expr {
  if (s.k !== 'add') return s;
  const most = new Map<string, { base: Expr; exp: Rat }>();
  for (const t of s.terms) {
    for (const f of t.k === 'mul' ? t.factors : [t]) {
      if (f.k !== 'pow' || f.exp.k !== 'num' || f.exp.v.n >= 0n) continue;
      if (!E.isNonneg(f.base) && !(depth + 1 < MAX_DEPTH && nonnegOnDomain(f.base, depth + 1))) continue;
      const prev = most.get(f.base.key);
      if (!prev || Q.cmp(f.exp.v, prev.exp) < 0) most.set(f.base.key, { base: f.base, exp: f.exp.v });
    }
  }
  if (most.size === 0) return s;
  return E.mul(s, ...[...most.values()].map(({ base, exp }) => E.pow(base, E.num(Q.neg(exp)))));
}

/** |u| ≤ 1 on the domain: 1 - u^2 ≥ 0 (the correlation, sqrt(1 - rho^2), their products). */
export function absAtMostOne(u: Expr, depth = 0): boolean {
  if (u.k === 'num') return Q.cmp(u.v.n < 0n ? Q.neg(u.v) : u.v, Q.ONE) <= 0;
  if (depth >= MAX_DEPTH) return false;
  return nonnegOnDomain(E.sub(E.ONE, E.pow(u, E.num(2))), depth + 1);
}

/** e ≥ 0 on the domain and e = 0 only on its boundary (zero variance or gap = 0). */
export function positiveInsideDomain(e: Expr): boolean {
  switch (e.k) {
    case 'num':
      return e.v.n > 0n;
    case 'sym':
      return e.name === 'var1' || e.name === 'var2' || e.name === 'pi' || e.name === 'gap';
    case 'mul':
      return e.factors.every(positiveInsideDomain);
    case 'pow':
      return e.exp.k === 'num' && positiveInsideDomain(e.base);
    case 'add': {
      const p = P.fromExpr(e, true);
      return !!p && P.positiveInsideDomain(p);
    }
    case 'fn':
      return e.name === 'exp';
  }
}

/** How x compares with y everywhere on the domain: 'ge' (x ≥ y), 'le' (x ≤ y), or unknown. */
export function compareOnDomain(x: Expr, y: Expr): 'ge' | 'le' | undefined {
  if (E.size(x) + E.size(y) > MAX_SIZE) return undefined;
  const d = E.sub(x, y);
  if (d.k === 'num') return d.v.n >= 0n ? 'ge' : 'le';
  if (nonnegOnDomain(d)) return 'ge';
  if (nonnegOnDomain(E.neg(d))) return 'le';
  return undefined;
}

/** A constant eps with 0 ≤ eps ≤ GUARD_EPSILON. */
export function isGuardEpsilon(e: Expr): boolean {
  return e.k === 'num' && e.v.n >= 0n && Q.cmp(e.v, GUARD_EPSILON) <= 0;
}

// ---------------------------------------------------------------- polynomials and signs

const POLY_VARS = new Set(['cov12', 'var1', 'var2', 'rho', 'gap']);

/** Is e a polynomial (integer powers ≥ 1) in the inputs, with rational coefficients? */
export function isMonomial(e: Tree): boolean {
  if (e.k === 'num') return true;
  if (e.k === 'sym') return POLY_VARS.has(e.name);
  if (e.k === 'pow')
    return e.base.k === 'sym' && POLY_VARS.has(e.base.name) && e.exp.k === 'num' && Q.isInt(e.exp.v) && e.exp.v.n > 0n;
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

/**
 * The sign of e on the domain as a function of sign(cov12), or undefined where unknown: '+'
 * (≥ 0), '-' (≤ 0), 'c' (the sign of cov12, or 0) or '-c' (the opposite). rho and asin(rho)
 * have cov12's sign; atan2(y, x) has y's where x ≥ 0; odd increasing maps keep their argument's.
 * A product multiplies the classes; a sum has one only if all its terms share it (then it
 * cannot cancel).
 */
export function signOf(e: Expr): SignClass | undefined {
  switch (e.k) {
    case 'num':
      return e.v.n < 0n ? '-' : '+';
    case 'sym':
      return e.name === 'cov12' || e.name === 'rho' ? 'c' : P.isNonnegSymbol(e.name) ? '+' : undefined;
    case 'mul':
      return e.factors.reduce<SignClass | undefined>((acc, f) => (acc ? timesSign(acc, signOf(f)) : acc), '+');
    case 'pow': {
      if (E.isNonneg(e)) return '+';
      const b = signOf(e.base);
      if (!b || e.exp.k !== 'num' || !Q.isInt(e.exp.v)) return b === '+' ? '+' : undefined;
      return e.exp.v.n % 2n === 0n ? '+' : b;
    }
    case 'add': {
      const signs = new Set(e.terms.map(signOf));
      return signs.size === 1 ? [...signs][0] : undefined;
    }
    case 'fn': {
      if (E.isNonneg(e)) return '+';
      const a = e.args[0] ? signOf(e.args[0]) : undefined;
      if (E.KEEPS_SIGN.has(e.name) || e.name === 'dd') return a;
      return e.name === 'atan2' && signOf(e.args[1]!) === '+' ? a : undefined;
    }
  }
}

export type SignClass = '+' | '-' | 'c' | '-c';

function timesSign(a: SignClass, b: SignClass | undefined): SignClass | undefined {
  if (!b) return undefined;
  const neg = a.startsWith('-') !== b.startsWith('-');
  const odd = a.endsWith('c') !== b.endsWith('c');
  return `${neg ? '-' : ''}${odd ? 'c' : '+'}`.replace('-+', '-') as SignClass;
}

/** Terms that share one known sign class: their sum cannot cancel. */
export function shareOneSign(terms: readonly Expr[]): boolean {
  const signs = new Set(terms.map(signOf));
  return signs.size === 1 && !signs.has(undefined);
}

/** Do all terms of the polynomial p have one sign class (no cancellation among them)? */
export function isSignDefinite(p: Expr): boolean {
  const terms = p.k === 'add' ? p.terms : [p];
  return new Set(terms.map(signClass)).size <= 1;
}

/** var1^a var2^b → var1^(a-m) var2^(b-m) (gap + cov12^2)^m, m = min(a, b), expanded. */
export function substituteGap(p: Expr): Expr {
  const terms = p.k === 'add' ? p.terms : [p];
  const gapPlus = E.add(E.sym('gap'), E.pow(E.COV12, E.num(2)));
  return E.add(
    ...terms.map((t) => {
      const m = Math.min(degreeIn(t, 'var1'), degreeIn(t, 'var2'));
      if (m === 0) return t;
      return E.mul(t, E.pow(E.mul(E.VAR1, E.VAR2), E.num(-m)), E.pow(gapPlus, E.num(m)));
    }),
  );
}

/** Is the sum S known to be > 0 (a positive constant and every other term ≥ 0, modulo gap)? */
export function isPositiveSum(s: Expr): boolean {
  if (s.k !== 'add' || !isPolynomial(s)) return false;
  for (const cand of [s, substituteGap(s)]) {
    if (cand.k !== 'add') continue;
    const first = cand.terms[0]!;
    if (first.k === 'num' && first.v.n > 0n && cand.terms.slice(1).every(E.isNonneg)) return true;
  }
  return false;
}

export { isNonnegSymbol } from './poly.js';

/**
 * What a tree reads, as a kernel loop sees it: var1 alone ('row': once per row), var2 alone
 * ('column': once per column), cov12 (or gap, rho) or both variances ('entry'), or no input.
 */
export function readsOf(t: Tree): 'row' | 'column' | 'entry' | 'none' {
  const v1 = E.mentions(t, 'var1');
  const v2 = E.mentions(t, 'var2');
  const entry = E.mentions(t, 'cov12') || E.mentions(t, 'gap') || E.mentions(t, 'rho');
  if (entry || (v1 && v2)) return 'entry';
  return v1 ? 'row' : v2 ? 'column' : 'none';
}

/** Does the value depend on the inputs (not a constant to fold)? `nearbound` reads them itself. */
export function dependsOnInputs(e: Tree): boolean {
  return E.some(e, (x: Tree) => (x.k === 'sym' && x.name !== 'pi') || (x.k === 'fn' && x.name === 'nearbound'));
}

/**
 * Can emit evaluate e entirely in double-double: constants, the inputs, polynomials, their
 * products, quotients and positive integer or half-integer powers. (Stabilize groups terms into
 * a `ddq` only where this holds, and emit evaluates `ddq` by it: one predicate for both.)
 */
export function evaluableInDoubleDouble(e: Tree): boolean {
  if (!dependsOnInputs(e)) return true;
  switch (e.k) {
    case 'sym':
      return true;
    case 'add':
      return e.terms.every(isMonomial);
    case 'mul':
      return e.factors.every((f) =>
        f.k === 'pow' && f.exp.k === 'num' && f.exp.v.n < 0n
          ? evaluableInDoubleDouble(T.pow(f.base, E.num(Q.neg(f.exp.v))))
          : evaluableInDoubleDouble(f),
      );
    case 'pow':
      return (
        e.exp.k === 'num' && e.exp.v.n > 0n && (e.exp.v.d === 1n || e.exp.v.d === 2n) && evaluableInDoubleDouble(e.base)
      );
    default:
      return false;
  }
}

/**
 * Whether a tree's roundings stay the same size up to the Cauchy–Schwarz bound, so that plain
 * doubles may evaluate it there without run-time certificates: every sum's terms share one sign
 * (none cancels), except an exponent's (exp turns its absolute error into a relative one, which
 * the terms' sizes bound: a term like rho^(2k) may be up to 2^k larger at the bound than where
 * cov12² ≤ var1·var2/2, which the choice's near-bound sample measures); every power is of a one-signed base
 * or integer; and no function other than exp is applied (acos near ±1 or a root near 0 grows a
 * rounding without bound). It reads no gap (its plain value loses bits toward the bound) and no
 * rho symbol (the stable code's rho is the projected one). exp_normalized's normal form, √var1·√var2·exp(γ(cov12/√(var1·var2) + shift)), is such
 * a tree.
 */
export function keepsAccuracyToBound(e: Tree): boolean {
  switch (e.k) {
    case 'num':
      return true;
    case 'sym':
      return e.name !== 'gap' && e.name !== 'rho';
    case 'add':
      return shareOneSign(e.terms.map(T.canonicalOf)) && e.terms.every(keepsAccuracyToBound);
    case 'mul':
      return e.factors.every(keepsAccuracyToBound);
    case 'pow': {
      const integer = e.exp.k === 'num' && Q.isInt(e.exp.v);
      return (
        keepsAccuracyToBound(e.base) &&
        keepsAccuracyToBound(e.exp) &&
        (integer || signOf(T.canonicalOf(e.base)) === '+')
      );
    }
    case 'fn': {
      if (e.name !== 'exp') return false;
      const x = e.args[0]!;
      return x.k === 'add' ? x.terms.every(keepsAccuracyToBound) : keepsAccuracyToBound(x);
    }
  }
}

/** The gap symbol spelled out: var1·var2 − cov12². */
function gapSpelled(e: Expr): Expr {
  return E.rebuild(e, (x) =>
    x.k === 'sym' && x.name === 'gap' ? E.sub(E.mul(E.VAR1, E.VAR2), E.pow(E.COV12, E.num(2))) : x,
  );
}

/**
 * |x| ≤ y wherever cov12² ≤ var1·var2/2 (the interior regime's half domain): a proof, or
 * false. y ≥ 0, and y² − x², with the gap spelled out, must be B·(var1·var2 − 2·cov12²) + A, B a
 * constant ≥ 0 (the term in cov12² is what fixes it) and A ≥ 0 on the whole domain
 * (nonnegOnDomain): relu's angle(√gap, −cov12) (y² − x² = var1·var2 − 2·cov12², B = 1, A = 0), erf's
 * atan2(2·cov12, √(1 + 2·var1 + 2·var2 + 4·gap)) (B = 4, A = 1 + 2·var1 + 2·var2). In doubles the
 * quotient x/y may then exceed 1 by a few ulps, no more.
 */
export function ratioWithinOneOnHalf(y: Tree, x: Tree): boolean {
  // Asked once per angle by each block of each candidate module: memoized.
  return ratioMemo.get(`${y.key};${x.key}`, () => ratioProof(y, x));
}
const ratioMemo = memoTable<boolean>();

function ratioProof(y: Tree, x: Tree): boolean {
  const Y = T.canonicalOf(uncertified(y));
  if (!nonnegOnDomain(Y)) return false;
  const X = T.canonicalOf(uncertified(x));
  const d = gapSpelled(E.sub(E.pow(Y, E.num(2)), E.pow(X, E.num(2))));
  if (E.size(d) > MAX_SIZE) return false;
  // A function with no derivative rule (an evaluation node: a compensated sum csum in
  // atan2(√gap, var1 − cov12)) leaves the coefficient unknown: no proof.
  if (E.some(d, (x: Expr) => x.k === 'fn' && !DERIVATIVES[x.name])) return false;
  // The coefficient of cov12² (d is at most quadratic in cov12 here, or the proof fails below).
  const a2 = E.mul(E.HALF, differentiate(differentiate(d, 'cov12'), 'cov12'));
  if (a2.k !== 'num' || a2.v.n > 0n) return false;
  const b = Q.neg(Q.div(a2.v, Q.rat(2)));
  const rest = E.sub(d, E.mul(E.num(b), E.sub(E.mul(E.VAR1, E.VAR2), E.mul(E.num(2), E.pow(E.COV12, E.num(2))))));
  return nonnegOnDomain(rest);
}

/**
 * y is k·gap^p with k > 0 and p > 0: it vanishes at the Cauchy–Schwarz bound, so an angle(y, x)
 * with x > 0 is small there (relu's angle(√gap, −cov12) on anti-correlated entries).
 */
export function vanishesAtBound(y: Tree): boolean {
  const Y = T.canonicalOf(uncertified(y));
  const factors = Y.k === 'mul' ? Y.factors : [Y];
  const gapPower = (f: Expr) =>
    (f.k === 'sym' && f.name === 'gap') ||
    (f.k === 'pow' && f.base.k === 'sym' && f.base.name === 'gap' && f.exp.k === 'num' && f.exp.v.n > 0n);
  return factors.filter(gapPower).length === 1 && factors.every((f) => gapPower(f) || (f.k === 'num' && f.v.n > 0n));
}

/** A plain tree with its certificates (plainsum, argbound) replaced by the sums they certify: its value. */
export function uncertified(t: Tree): Tree {
  switch (t.k) {
    case 'num':
    case 'sym':
      return t;
    case 'add':
      return T.add(t.terms.map(uncertified));
    case 'mul':
      return T.mul(t.factors.map(uncertified));
    case 'pow':
      return T.pow(uncertified(t.base), uncertified(t.exp));
    case 'fn':
      return t.name === 'plainsum' || t.name === 'argbound'
        ? uncertified(t.args[0]!)
        : T.fn(t.name, t.args.map(uncertified));
  }
}

/**
 * Whether every read of the gap in a plain tree is certified to the bound: a monomial term of a
 * plainsum carrying its magnitude (interior.ts gapMagnitudeOf). Where it is, the tree may run up to the
 * bound (emit/parts.ts interiorDomainOf) with the gap in plain doubles.
 */
export function gapCertified(t: Tree): boolean {
  if (t.k === 'sym') return t.name !== 'gap';
  if (t.k === 'num') return true;
  if (t.k === 'fn' && t.name === 'plainsum' && t.args.length === 3) return true;
  return E.children(t).every(gapCertified);
}
