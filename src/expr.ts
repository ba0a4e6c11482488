// Constructors of the core IR. Every constructor returns its result in canonical form
// ("automatic simplification"): sums and products flattened, like terms and like bases
// collected, constants folded exactly, products of sums expanded, powers of products
// distributed where that is sound. Two expressions equal under these rules get the same
// `key`, which is how the passes recognise that terms cancel.
//
// Domain facts the rules rely on (all true of a kernel: x1, x2 jointly Gaussian):
//   var1 ≥ 0, var2 ≥ 0, and var1*var2 - cov12^2 ≥ 0 (Cauchy–Schwarz).
// Real-valued semantics: sqrt of a negative number is undefined (NaN), never complex.
import { memoTable } from './memo.js';
import * as P from './poly.js';
import * as Q from './rational.js';
import type { Add, Expr, FnName, Rat } from './types.js';

/** Products of sums are expanded only while the result stays below this many terms. */
export const MAX_EXPANDED_TERMS = 4000;
/** Integer powers of sums are expanded up to this exponent. */
export const MAX_EXPANDED_POWER = 32;

export * from './node.js';
import {
  MINUS_ONE,
  ONE,
  ZERO,
  isNonneg,
  isOne,
  isZero,
  leadsNegative,
  num,
  order,
  rawAdd,
  rawFn,
  rawMul,
  rawPow,
  splitCoeff,
  sym,
} from './node.js';

/** c × e for a rational c and a canonical e, without re-canonicalising e. */
export function scale(c: Rat, e: Expr): Expr {
  if (Q.isZero(c)) return ZERO;
  const [c0, rest] = splitCoeff(e);
  const k = Q.mul(c, c0);
  if (rest.k === 'num') return num(k);
  if (Q.isOne(k)) return rest;
  if (rest.k === 'add') return add(...rest.terms.map((t) => scale(k, t)));
  return rawMul([num(k), ...(rest.k === 'mul' ? rest.factors : [rest])]);
}

// ---------------------------------------------------------------- sums

export function add(...xs: Expr[]): Expr {
  let constant = Q.ZERO;
  const acc = new Map<string, { c: Rat; e: Expr }>();
  const put = (x: Expr) => {
    if (x.k === 'add') {
      for (const t of x.terms) put(t);
      return;
    }
    if (x.k === 'num') {
      constant = Q.add(constant, x.v);
      return;
    }
    const [c, rest] = splitCoeff(x);
    const prev = acc.get(rest.key);
    if (prev) prev.c = Q.add(prev.c, c);
    else acc.set(rest.key, { c, e: rest });
  };
  for (const x of xs) put(x);
  const terms: Expr[] = [];
  for (const { c, e } of acc.values()) {
    if (Q.isZero(c)) continue;
    terms.push(Q.isOne(c) ? e : rawMul([num(c), ...(e.k === 'mul' ? e.factors : [e])]));
  }
  terms.sort(order);
  if (!Q.isZero(constant)) terms.unshift(num(constant));
  if (terms.length === 0) return ZERO;
  if (terms.length === 1) return terms[0]!;
  return rawAdd(terms);
}

export const sub = (a: Expr, b: Expr) => add(a, mul(MINUS_ONE, b));
export const neg = (a: Expr) => mul(MINUS_ONE, a);
export const div = (a: Expr, b: Expr) => mul(a, pow(b, MINUS_ONE));

// ---------------------------------------------------------------- products

/**
 * Thrown where canonicalisation cannot finish (a nesting the constructors would recurse through
 * without end); compile() reports it, and a stack overflow, as E_TOO_LARGE.
 */
export class TooComplex extends Error {}

export function mul(...xs: Expr[]): Expr {
  return mulCanonical(xs);
}

function mulCanonical(xs: Expr[]): Expr {
  let coef = Q.ONE;
  let bases = new Map<string, { base: Expr; exps: Expr[] }>();
  const expArgs: Expr[] = [];
  const put = (x: Expr) => {
    if (x.k === 'mul') {
      for (const f of x.factors) put(f);
      return;
    }
    if (x.k === 'num') {
      coef = Q.mul(coef, x.v);
      return;
    }
    if (x.k === 'fn' && x.name === 'exp') {
      expArgs.push(x.args[0]!);
      return;
    }
    const [base, e] = x.k === 'pow' ? [x.base, x.exp] : [x, ONE];
    const prev = bases.get(base.key);
    if (prev) prev.exps.push(e);
    else bases.set(base.key, { base, exps: [e] });
  };
  for (const x of xs) put(x);
  if (Q.isZero(coef)) return ZERO;

  // Combine like bases; a combined power may itself be a product or a number
  // (sqrt(2)*sqrt(2) = 2, (x*y)^(1/2) distributed), so repeat until stable.
  for (let round = 0; round < 8; round++) {
    const items = [...bases.values()];
    bases = new Map();
    let changed = false;
    for (const { base, exps } of items) {
      const p = exps.length === 1 && exps[0] === ONE ? base : pow(base, add(...exps));
      if (p.k === 'mul' || p.k === 'num' || (p.k === 'fn' && p.name === 'exp')) changed = true;
      if (exps.length > 1) changed = true;
      put(p);
    }
    if (!changed) break;
  }
  if (Q.isZero(coef)) return ZERO;

  const factors: Expr[] = [];
  for (const { base, exps } of bases.values()) {
    const p = exps.length === 1 && exps[0] === ONE ? base : pow(base, add(...exps));
    if (p.k === 'num') {
      coef = Q.mul(coef, p.v);
      continue;
    }
    if (!isOne(p)) factors.push(p);
  }
  if (expArgs.length) {
    const e = fn('exp', [add(...expArgs)]);
    if (e.k === 'num') coef = Q.mul(coef, e.v);
    else factors.push(e);
  }

  // Expand: distribute over the first sum factor (recursion distributes over the rest).
  const sumIndex = factors.findIndex((f) => f.k === 'add');
  if (sumIndex >= 0) {
    const sums = factors.filter((f) => f.k === 'add') as Add[];
    const size = sums.reduce((n, s) => n * s.terms.length, 1);
    if (size <= MAX_EXPANDED_TERMS) {
      const sum = factors[sumIndex] as Add;
      const others = factors.filter((_, i) => i !== sumIndex);
      return add(...sum.terms.map((t) => mul(num(coef), t, ...others)));
    }
  }

  factors.sort(order);
  if (factors.length === 0) return num(coef);
  if (Q.isOne(coef) && factors.length === 1) return factors[0]!;
  return rawMul(Q.isOne(coef) ? factors : [num(coef), ...factors]);
}

// ---------------------------------------------------------------- powers

const powMemo = memoTable<Expr>(20_000);

export function pow(b: Expr, e: Expr): Expr {
  // Powers of sums and products factor and distribute (factorSum): worth remembering, as every
  // rebuild of a fixed point asks for the same powers again.
  if (e.k === 'num')
    return b.k === 'add' || b.k === 'mul' ? powMemo.get(`${b.key}^${e.key}`, () => powRat(b, e.v)) : powRat(b, e.v);
  if (b.k === 'fn' && b.name === 'exp') return fn('exp', [mul(b.args[0]!, e)]); // (e^a)^x = e^(a x)
  if (isOne(b)) return ONE;
  return rawPow(b, e);
}

function powRat(b: Expr, r: Rat): Expr {
  if (Q.isZero(r)) return ONE; // x^0 = 1 (also 0^0, as JS and JAX take it)
  if (Q.isOne(r)) return b;
  switch (b.k) {
    case 'num': {
      // Exact folding only while the result stays small (2^100000 is kept symbolic).
      const bits = (x: bigint) => (x < 0n ? -x : x).toString(2).length;
      if (r.d > 64n || (bits(b.v.n) + bits(b.v.d)) * Number(r.n < 0n ? -r.n : r.n) > 20_000) return rawPow(b, num(r));
      const exact = Q.powRat(b.v, r);
      if (exact) return num(exact);
      if (b.v.n < 0n && !Q.isInt(r)) return rawPow(b, num(r));
      if (Q.isInt(r)) return rawPow(b, num(r)); // 0^-k
      // (n/d)^r = n^r d^-r: radicals of integers only, so that sqrt(1/2)*sqrt(2) meets as 2^(-1/2)*2^(1/2).
      if (b.v.n > 0n && b.v.d > 1n) return mul(powRat(num(b.v.n), r), powRat(num(b.v.d), Q.neg(r)));
      // (k^q m)^(1/q) = k m^(1/q) for integers: pull perfect powers out of surds.
      if (b.v.n > 0n && r.n === 1n) {
        const [kn, mn] = Q.extractPower(b.v.n, r.d);
        const [kd, md] = Q.extractPower(b.v.d, r.d);
        if (kn !== 1n || kd !== 1n) return mul(num(Q.rat(kn, kd)), pow(num(Q.rat(mn, md)), num(r)));
      }
      // b^(p/q) = b^floor(p/q) × b^frac: keep the irrational part in (0, 1).
      const whole = Q.floor(r);
      const frac = Q.sub(r, whole);
      const w = Q.powRat(b.v, whole);
      const p = rawPow(b, num(frac));
      return w && !Q.isOne(w) ? rawMul([num(w), p]) : p;
    }
    case 'pow':
      // (x^a)^r = x^(a r) when r is an integer, or x ≥ 0.
      if (Q.isInt(r) || isNonneg(b.base)) return pow(b.base, mul(b.exp, num(r)));
      return rawPow(b, num(r));
    case 'mul': {
      // (x y)^r = x^r y^r when r is an integer, or for the factors known to be ≥ 0.
      if (Q.isInt(r)) return mul(...b.factors.map((f) => powRat(f, r)));
      const [c, rest] = splitCoeff(b);
      const restFactors = rest.k === 'mul' ? rest.factors : [rest];
      const known = restFactors.filter(isNonneg);
      const other = restFactors.filter((f) => !isNonneg(f));
      if (c.n < 0n) other.unshift(MINUS_ONE);
      const cAbs = c.n < 0n ? Q.neg(c) : c;
      if (known.length === 0 && Q.isOne(cAbs)) return rawPow(b, num(r));
      const otherBase = other.length === 0 ? ONE : other.length === 1 ? other[0]! : rawMul(other);
      return mul(
        powRat(num(cAbs), r),
        ...known.map((f) => powRat(f, r)),
        isOne(otherBase) ? ONE : rawPow(otherBase, num(r)),
      );
    }
    case 'add': {
      if (
        Q.isInt(r) &&
        r.n > 0n &&
        r.n <= BigInt(MAX_EXPANDED_POWER) &&
        b.terms.length ** Number(r.n) <= MAX_EXPANDED_TERMS * 4
      ) {
        // (a + b)^n expanded, by repeated squaring, multiplying term by term.
        let acc: Expr = ONE;
        let sq: Expr = b;
        let k = r.n;
        while (k > 0n) {
          if (k & 1n) acc = expandProduct(acc, sq);
          k >>= 1n;
          if (k > 0n) sq = expandProduct(sq, sq);
        }
        return acc;
      }
      const [k, m, rest] = factorSum(b, Q.isInt(r), r.d);
      if (isOne(k) && isOne(m)) {
        // A variance-only polynomial that is a product f(var1) g(var2) (the normalisation
        // (1 + 2 var1)(1 + 2 var2), expanded or not): its power is the powers of the two factors.
        const fg = !Q.isInt(r) ? separate(b) : undefined;
        return fg ? mul(powRat(fg[0], r), powRat(fg[1], r)) : rawPow(b, num(r));
      }
      return mul(powRat(k, r), powRat(m, r), powRat(rest, r));
    }
    case 'fn':
      if (b.name === 'exp') return fn('exp', [mul(b.args[0]!, num(r))]);
      if (b.name === 'abs' && Q.isInt(r) && r.n % 2n === 0n) return powRat(b.args[0]!, r);
      return rawPow(b, num(r));
    default:
      return rawPow(b, num(r));
  }
}

/**
 * s = f(var1) × g(var2) with f, g non-constant and ≥ 0, when s is a polynomial in var1 and
 * var2 alone whose coefficient matrix has rank one; undefined otherwise.
 */
function separate(s: Add): [Expr, Expr] | undefined {
  const p = P.fromExpr(s);
  if (!p) return undefined;
  const f = P.separateVar1(p);
  if (!f) return undefined;
  const g = P.divExact(p, f);
  if (!g) return undefined;
  const [fe, ge] = [fromPoly(f), fromPoly(g)];
  return isNonneg(fe) && isNonneg(ge) && fe.k === 'add' && ge.k === 'add' ? [fe, ge] : undefined;
}

/** a × b with sums distributed term by term (no base collection of a with b). */
function expandProduct(a: Expr, b: Expr): Expr {
  const ta = a.k === 'add' ? a.terms : [a];
  const tb = b.k === 'add' ? b.terms : [b];
  return add(...ta.flatMap((t) => tb.map((u) => mul(t, u))));
}

/**
 * Coefficients of a power's sum beyond 2^SCALE_BITS (over their gcd, integers ≥ 1) have their
 * scale pulled out as an exact power of two (factorSum): inside, they bound the inputs at which
 * the sum's terms overflow (a decimal constant's cleared denominator, 1.25e31·var1 under a root,
 * overflows with var1·var2 near 1e246 where the map itself is finite); outside, a power of two is
 * exact in floating point, so no rounding changes. Below the bound nothing is pulled out
 * (coefficients near 1 lose no range worth a different form).
 */
const SCALE_BITS = 16;

/** floor(log2 |a|) or one more, for a ≠ 0. */
const log2Of = (a: Rat) => (a.n < 0n ? -a.n : a.n).toString(2).length - a.d.toString(2).length;

/**
 * A sum as content × monomial × primitive sum: the positive rational gcd of the
 * coefficients, the common factors (least exponent of each base present in every term,
 * keeping only factors known ≥ 0 unless `anySign`), and the rest. With `anySign` the
 * sign is normalised too, so that the first term of the rest is positive. For a power of
 * the sum with exponent p/q (`rootIndex` q), the content also carries the coefficients'
 * scale as a power of 2^q (SCALE_BITS), whose power is then exact.
 */
export function factorSum(s: Add, anySign: boolean, rootIndex = 1n): [Expr, Expr, Expr] {
  const coeffs = s.terms.map((t) => splitCoeff(t)[0]);
  let g: Rat = coeffs.reduce((a, c) => Q.rat(Q.gcdB(a.n, c.n), lcm(a.d, c.d)), Q.rat(0, 1));
  if (g.n === 0n) return [ONE, ONE, s];
  // The largest coefficient over the gcd, as a power of two: beyond 2^SCALE_BITS its scale
  // joins the content, rounded to a multiple of q bits (the rest's largest within 2^±q/2).
  const largest = Math.max(...coeffs.map((c) => log2Of(Q.div(c, g))));
  if (largest > SCALE_BITS) {
    const q = Number(rootIndex);
    const bits = BigInt(q * Math.round(largest / q));
    g = Q.mul(g, bits >= 0n ? Q.rat(1n << bits) : Q.rat(1n, 1n << -bits));
  }
  // Common monomial: for each base with a numeric exponent, the least exponent over all terms.
  const exps = s.terms.map(monomialExponents);
  const common: Expr[] = [];
  for (const [key, { base, exp }] of exps[0]!) {
    let least = exp;
    let everywhere = true;
    for (const m of exps.slice(1)) {
      const other = m.get(key);
      if (!other) {
        least = Q.min(least, Q.ZERO);
        everywhere = false;
        continue;
      }
      least = Q.min(least, other.exp);
    }
    if (!everywhere && Q.cmp(least, Q.ZERO) >= 0) continue;
    if (Q.isZero(least)) continue;
    const f = Q.isOne(least) ? base : rawPow(base, num(least));
    if (anySign || isNonneg(f)) common.push(f);
  }
  // Bases missing from the first term but with negative exponents elsewhere.
  for (const m of exps.slice(1)) {
    for (const [key, { base }] of m) {
      if (exps[0]!.has(key) || common.some((c) => baseKey(c) === key)) continue;
      let least = Q.ZERO;
      for (const mm of exps) least = Q.min(least, mm.get(key)?.exp ?? Q.ZERO);
      if (Q.isZero(least)) continue;
      const f = Q.isOne(least) ? base : rawPow(base, num(least));
      if (anySign || isNonneg(f)) common.push(f);
    }
  }
  const monomial = mul(...common);
  // Divide each term by k × monomial. The inverse factors stay unexpanded powers so that
  // mul combines them with the term's own powers of the same base before expanding.
  const inv = [
    num(Q.div(Q.ONE, g)),
    ...common.map((f) => (f.k === 'pow' ? rawPow(f.base, mul(f.exp, MINUS_ONE)) : rawPow(f, MINUS_ONE))),
  ];
  let rest = add(...s.terms.map((t) => mul(t, ...inv)));
  // Sign: with anySign, the leading term of the *divided* sum is made positive, so that
  // factorSum(rest) finds nothing more to extract (idempotent).
  if (anySign && rest.k === 'add' && leadsNegative(rest)) {
    g = Q.neg(g);
    rest = add(...rest.terms.map((t) => scale(Q.rat(-1), t)));
  }
  if (Q.isOne(g) && isOne(monomial)) return [ONE, ONE, s];
  return [num(g), monomial, rest];
}

function lcm(a: bigint, b: bigint): bigint {
  return (a / Q.gcdB(a, b)) * b;
}

function baseKey(f: Expr): string {
  return f.k === 'pow' ? f.base.key : f.key;
}

/** base key → (base, numeric exponent) of a term's factors with numeric exponents. */
function monomialExponents(t: Expr): Map<string, { base: Expr; exp: Rat }> {
  const m = new Map<string, { base: Expr; exp: Rat }>();
  const [, rest] = splitCoeff(t);
  const fs = rest.k === 'mul' ? rest.factors : isOne(rest) ? [] : [rest];
  for (const f of fs) {
    if (f.k === 'pow') {
      if (f.exp.k === 'num') m.set(f.base.key, { base: f.base, exp: f.exp.v });
    } else m.set(f.key, { base: f, exp: Q.ONE });
  }
  return m;
}

// ---------------------------------------------------------------- functions

/** A function application; identities that hold everywhere are applied by `simplify`. */
export function fn(name: FnName, args: readonly Expr[]): Expr {
  if (name === 'exp' && isZero(args[0]!)) return ONE;
  return rawFn(name, args);
}

/** A polynomial (poly.ts) as canonical IR. */
export function fromPoly(p: P.Poly): Expr {
  return add(...P.terms(p).map(({ coef, vars }) => mul(num(coef), ...vars.map(([v, k]) => pow(sym(v), num(k))))));
}

/** Rebuilds e bottom-up through the canonical constructors, mapping each node with f first. */
export function rebuild(e: Expr, f: (e: Expr) => Expr): Expr {
  switch (e.k) {
    case 'num':
    case 'sym':
      return f(e);
    case 'add':
      return f(add(...e.terms.map((t) => rebuild(t, f))));
    case 'mul':
      return f(mul(...e.factors.map((t) => rebuild(t, f))));
    case 'pow':
      return f(pow(rebuild(e.base, f), rebuild(e.exp, f)));
    case 'fn':
      return f(
        fn(
          e.name,
          e.args.map((t) => rebuild(t, f)),
        ),
      );
  }
}
