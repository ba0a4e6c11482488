// Where the interior regime's values are finite (a proof, per kernel call). The fused loops test
// every interior value for finiteness before storing it: an overflow, or a NaN, sends the entry
// to the stable code. That test is a branch on the end of each entry's computation, and it costs
// about a tenth of relu's and erf's loop (measured). Over a box of variances, [2^-k, 2^k] for
// both, and the interior domain's cov12 (cov12² ≤ m·var1·var2), interval arithmetic bounds every
// node of the interior trees; where every bound is finite with a wide margin, and every root, log
// and divisor is away from its singularity, no interior value can be infinite or NaN there, and
// a kernel call whose variances all lie in the box may skip the test (emit/module.ts `safe`).
//
// Every answer is a proof or "don't know" (undefined): a node this file has no rule for, or a
// bound that is not finite with the margin, gives undefined, and the test stays.
import { uncertified } from './domain.js';
import * as E from './expr.js';
import { memoTable } from './memo.js';
import * as Q from './rational.js';
import * as T from './tree.js';
import type { Rat, Tree, TreeFn } from './types.js';

export interface Interval {
  readonly lo: number;
  readonly hi: number;
}

/** Bounds past which a value is not taken as safely finite (products of two stay finite). */
const LIMIT = 2 ** 500;
/** Divisors, logs' arguments and the like must be at least this far from zero. */
const TINY = 2 ** -500;
/** Relative slack per operation: far more than the rounding of any emitted operation (2^-53 each, a few hundred at most). */
const SLACK = 2 ** -40;
/** The largest argument of exp taken as safe (e^700 < 2^1010; LIMIT then rejects it unless it is small). */
const EXP_ARG = 700;

const magnitude = (x: Interval) => Math.max(Math.abs(x.lo), Math.abs(x.hi));

/** [lo, hi] widened by SLACK outward, or undefined unless within ±LIMIT (NaN fails too). */
function interval(lo: number, hi: number): Interval | undefined {
  const l = lo - Math.abs(lo) * SLACK,
    h = hi + Math.abs(hi) * SLACK;
  return l >= -LIMIT && h <= LIMIT && l <= h ? { lo: l, hi: h } : undefined;
}

const point = (x: number) => interval(x, x);

function add(xs: readonly Interval[]): Interval | undefined {
  const lo = xs.reduce((a, x) => a + x.lo, 0),
    hi = xs.reduce((a, x) => a + x.hi, 0);
  // A sum of non-negative terms rounds to a non-negative value (relative slack); otherwise every
  // partial sum's rounding is at most the sum of the magnitudes times the slack.
  if (xs.every((x) => x.lo >= 0)) return interval(lo, hi);
  const slack = xs.reduce((a, x) => a + magnitude(x), 0) * SLACK;
  return slack <= LIMIT ? interval(lo - slack, hi + slack) : undefined;
}

function mul2(a: Interval, b: Interval): Interval | undefined {
  const ps = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
  return interval(Math.min(...ps), Math.max(...ps));
}

/** 1/x, where x is at least TINY away from zero (a product rounds with its sign: no slack needed for it). */
function reciprocal(x: Interval): Interval | undefined {
  if (x.lo > TINY) return interval(1 / x.hi, 1 / x.lo);
  if (x.hi < -TINY) return interval(1 / x.hi, 1 / x.lo);
  return undefined;
}

/** x^n for a whole n >= 1. */
function wholePower(x: Interval, n: number): Interval | undefined {
  const a = x.lo ** n,
    b = x.hi ** n;
  if (n % 2 === 1 || x.lo >= 0) return interval(Math.min(a, b), Math.max(a, b));
  if (x.hi <= 0) return interval(Math.min(a, b), Math.max(a, b));
  return interval(0, Math.max(a, b));
}

/** x^r for a rational r (the emitted code: products, Math.sqrt, 1/..., Math.pow). */
function power(x: Interval, r: Rat): Interval | undefined {
  if (r.n < 0n) {
    const p = power(x, Q.neg(r));
    return p && reciprocal(p);
  }
  if (r.d === 1n) return wholePower(x, Number(r.n));
  // A fractional power: the base must be non-negative (Math.sqrt, Math.pow of a negative: NaN).
  if (x.lo < 0) return undefined;
  const e = Q.toNumber(r);
  return interval(x.lo ** e, x.hi ** e);
}

const within = (x: Interval, lo: number, hi: number) => x.lo >= lo && x.hi <= hi;
/** The least magnitude of an interval's values (0 where it holds zero). */
const least = (x: Interval) => (x.lo > 0 ? x.lo : x.hi < 0 ? -x.hi : 0);
/** The arguments' magnitudes at most this (the helpers cube them: y³/w² in ymxangleQuarter). */
const ANGLE_ARG = 2 ** 300;
/** y/x or x/y with one of them away from zero and the quotient at most 2^400 (double-double splits stay finite). */
function quotientSafe(y: Interval, x: Interval): boolean {
  if (magnitude(y) > ANGLE_ARG || magnitude(x) > ANGLE_ARG) return false;
  const apart = (a: Interval, b: Interval) => least(b) >= TINY && magnitude(a) <= 2 ** 400 * least(b);
  return apart(x, y) || apart(y, x);
}
const monotone = (f: (v: number) => number, x: Interval) => interval(f(x.lo), f(x.hi));
const symmetric = (m: number) => interval(-m, m);

/**
 * Interval rules per function, as the emitted code evaluates it (emit/values.ts): each gives the
 * bounds of the function's value from its arguments' bounds, or undefined where it cannot
 * exclude an overflow or a NaN. Functions not here give undefined.
 */
export const INTERVAL_RULES: Readonly<
  Record<string, { readonly why: string; readonly rule: (args: readonly Interval[]) => Interval | undefined }>
> = {
  sqrt: { why: 'Math.sqrt is NaN below 0', rule: ([x]) => (x!.lo >= 0 ? monotone(Math.sqrt, x!) : undefined) },
  exp: { why: 'e^x overflows past 709', rule: ([x]) => (x!.hi <= EXP_ARG ? monotone(Math.exp, x!) : undefined) },
  expm1: { why: 'as exp', rule: ([x]) => (x!.hi <= EXP_ARG ? monotone(Math.expm1, x!) : undefined) },
  log: { why: 'log is -Infinity at 0, NaN below', rule: ([x]) => (x!.lo > TINY ? monotone(Math.log, x!) : undefined) },
  log1p: {
    why: 'log1p is -Infinity at -1',
    rule: ([x]) => (x!.lo > -1 + 2 ** -20 ? monotone(Math.log1p, x!) : undefined),
  },
  sin: { why: 'bounded', rule: () => symmetric(1) },
  cos: { why: 'bounded', rule: () => symmetric(1) },
  tanh: { why: 'bounded', rule: () => symmetric(1) },
  erf: { why: 'bounded', rule: () => symmetric(1) },
  erfc: { why: 'bounded', rule: () => interval(0, 2) },
  sign: { why: 'bounded', rule: () => symmetric(1) },
  atan: { why: 'bounded', rule: () => symmetric(Math.PI / 2) },
  // The plain code divides one argument by the other (pi/2 - atan(x/y) where x <= y, atan(y/x)
  // where x > 0, the helpers' own quotients and cubes): one of them must be away from zero (0/0
  // is NaN), the quotient far from overflow, and both small enough to cube.
  atan2: {
    why: 'an angle, its quotient finite',
    rule: ([y, x]) => (quotientSafe(y!, x!) ? symmetric(Math.PI) : undefined),
  },
  angle: { why: 'as atan2', rule: ([y, x]) => (quotientSafe(y!, x!) ? symmetric(Math.PI) : undefined) },
  acos: { why: 'NaN outside [-1, 1]', rule: ([x]) => (within(x!, -1, 1) ? interval(0, Math.PI) : undefined) },
  asin: { why: 'NaN outside [-1, 1]', rule: ([x]) => (within(x!, -1, 1) ? symmetric(Math.PI / 2) : undefined) },
  sinh: { why: 'overflows past 710', rule: ([x]) => (magnitude(x!) <= EXP_ARG ? monotone(Math.sinh, x!) : undefined) },
  cosh: {
    why: 'overflows past 710',
    rule: ([x]) => (magnitude(x!) <= EXP_ARG ? interval(0, Math.cosh(magnitude(x!))) : undefined),
  },
  abs: {
    why: 'the magnitude',
    rule: ([x]) => interval(x!.lo > 0 || x!.hi < 0 ? Math.min(Math.abs(x!.lo), Math.abs(x!.hi)) : 0, magnitude(x!)),
  },
  min: { why: 'the least', rule: (xs) => interval(Math.min(...xs.map((x) => x.lo)), Math.min(...xs.map((x) => x.hi))) },
  max: {
    why: 'the largest',
    rule: (xs) => interval(Math.max(...xs.map((x) => x.lo)), Math.max(...xs.map((x) => x.hi))),
  },
  // A comparison is 0 or 1; a selection one of its branches (an exponent's finite-only bound, interior.ts).
  le: { why: '0 or 1', rule: () => interval(0, 1) },
  where: {
    why: 'one of its branches',
    rule: ([, a, b]) => interval(Math.min(a!.lo, b!.lo), Math.max(a!.hi, b!.hi)),
  },
  // x·angle(y, x) and y - x·angle(y, x): the angle in [-pi, pi].
  xangle: {
    why: 'x times an angle (as atan2)',
    rule: ([y, x]) => (quotientSafe(y!, x!) ? symmetric(Math.PI * magnitude(x!)) : undefined),
  },
  ymxangle: {
    why: 'y - x times an angle (as atan2)',
    rule: ([y, x]) => (quotientSafe(y!, x!) ? symmetric(magnitude(y!) + Math.PI * magnitude(x!)) : undefined),
  },
  // exp(a) - exp(b), as exp(a)·expm1(...) or exp(b)·expm1(...): both exponentials bounded.
  expdiff: {
    why: 'a difference of exponentials, each bounded',
    rule: ([a, b]) =>
      a!.hi <= EXP_ARG && b!.hi <= EXP_ARG ? symmetric(Math.max(Math.exp(a!.hi), Math.exp(b!.hi))) : undefined,
  },
  // The sum itself; its certificate decides only whether it is used.
  plainsum: { why: 'the sum', rule: ([x]) => x },
  // An exponent's certificate (two arguments; folded ones, with a floor, are NaN where they fail
  // and keep the test): where it holds, |x| ≤ Σ|terms| ≤ bound, and otherwise the entry falls back.
  argbound: {
    why: 'the exponent, within its certified bound',
    rule: ([x, b]) => {
      const m = b!.hi * (1 + SLACK);
      return interval(Math.max(x!.lo, -m), Math.min(x!.hi, m));
    },
  },
  // A compensated sum: its Dekker splits multiply by 2^27 + 1.
  csum: { why: 'the sum, small enough to split', rule: ([x]) => (magnitude(x!) <= 2 ** 400 ? x : undefined) },
};

/** The bounds of each input over the box: variances in [2^-k, 2^k], cov12² ≤ m·var1·var2. */
export function boundsBox(k: number, m: number): Record<string, Interval | undefined> {
  const lo = 2 ** -k,
    hi = 2 ** k;
  const c = Math.sqrt(m) * hi;
  return {
    var1: interval(lo, hi),
    var2: interval(lo, hi),
    cov12: interval(-c, c),
    // gap = var1·var2 - cov12², computed in doubles as ipp - icc with icc ≤ m·ipp (at least half
    // of (1 - m)·ipp after rounding).
    gap: interval(((1 - m) * lo * lo) / 2, hi * hi),
    rho: interval(-Math.sqrt(m), Math.sqrt(m)),
    pi: point(Math.PI),
  };
}

/** The bounds of a tree's value (and of every partial result the emitted code computes for it), or undefined. */
export function boundsOf(
  t: Tree,
  symbols: Record<string, Interval | undefined>,
  rules: typeof INTERVAL_RULES = INTERVAL_RULES,
): Interval | undefined {
  const boundsOf_ = (x: Tree, sy: Record<string, Interval | undefined>) => boundsOf(x, sy, rules);
  switch (t.k) {
    case 'num':
      return point(Q.toNumber(t.v));
    case 'sym':
      return symbols[t.name];
    case 'add': {
      const terms = t.terms.map((x) => boundsOf_(x, symbols));
      return terms.every((x) => x) ? add(terms as Interval[]) : undefined;
    }
    case 'mul': {
      // The numerator's partial products (any order) are at most the product of max(1, |factor|);
      // the denominator's product must stay away from zero.
      let num: Interval | undefined = point(1);
      let den: Interval | undefined = point(1);
      let partial = 1;
      for (const f of t.factors) {
        // A factor with a negative exponent is a divisor: its base to the opposite power.
        const inverse = f.k === 'pow' && f.exp.k === 'num' && f.exp.v.n < 0n ? f : undefined;
        const base = inverse && boundsOf_(inverse.base, symbols);
        const b = inverse
          ? base && inverse.exp.k === 'num' && power(base, Q.neg(inverse.exp.v))
          : boundsOf_(f, symbols);
        if (!b) return undefined;
        partial *= Math.max(1, magnitude(b));
        if (inverse) {
          den = den && mul2(den, b);
          // Each partial product of the divisors stays away from zero (none underflows).
          if (den && !(least(den) >= 2 ** -1000)) return undefined;
        } else num = num && mul2(num, b);
      }
      if (!num || !den || partial > LIMIT) return undefined;
      const r = reciprocal(den);
      return r && mul2(num, r);
    }
    case 'pow': {
      const b = boundsOf_(t.base, symbols);
      return b && t.exp.k === 'num' ? power(b, t.exp.v) : undefined;
    }
    case 'fn':
      return fnBounds(t, symbols, rules);
  }
}

function fnBounds(
  t: TreeFn,
  symbols: Record<string, Interval | undefined>,
  rules: typeof INTERVAL_RULES,
): Interval | undefined {
  const rule = rules[t.name];
  if (!rule) return undefined;
  // A folded exponent certificate (argbound with a floor) is the value itself: NaN where it fails.
  if (t.name === 'argbound' && t.args.length > 2) return undefined;
  const args = t.args.map((a) => boundsOf(a, symbols, rules));
  return args.every((a) => a) ? rule.rule(args as Interval[]) : undefined;
}

/** The exponents k tried, largest first: variances in [2^-k, 2^k]. */
export const FINITE_EXPONENTS = [64, 32, 16, 8, 4, 2, 1] as const;

/** The domain's bound m on cov12² / (var1·var2) (parts.ts DOMAIN_BOUND). */
export function finiteWithin(trees: readonly Tree[], m: number): number | undefined {
  for (const k of FINITE_EXPONENTS) {
    const symbols = boundsBox(k, m);
    if (trees.every((t) => boundsOf(t, symbols))) return k;
  }
  return undefined;
}

/** The exponents k of the boxes 0 ≤ var1, var2 ≤ 2^k tried for the gap certificates, largest first. */
export const CERTAIN_EXPONENTS = [64, 32, 16, 8, 4, 3, 2, 1, 0] as const;

/**
 * The largest k (CERTAIN_EXPONENTS) for which every certificate of a plain sum read against the
 * gap's magnitude (interior.ts gapMagnitudeOf: |sum| ≥ b × magnitude, the gap's magnitude being
 * var1*var2) holds wherever 0 < var1, var2 ≤ 2^k and 0 ≤ gap ≤ var1*var2; undefined if there is
 * none or a sum is not of the one form proven here.
 *
 * The form: a sum of monomials in var1, var2 and gap with positive coefficients, its terms
 * without the gap P and with it G = Σ a gap^e r (e ≥ 1), whose magnitudes with gap → var1*var2
 * make Q = Σ a (var1 var2)^e r, a single monomial. Then sum ≥ P (G ≥ 0) and magnitude = P + Q,
 * so (1 - b) P ≥ b Q proves the certificate; P/Q is a sum of monomials with integer exponents
 * and positive coefficients, each at least its value at var = 2^k where no exponent is positive
 * (else at least 0), and their sum at least b/(1 - b) (1 + 2^-20) is the proof: the emitted
 * sums' roundings, a few ulps each, are far inside that margin where every term stays in range
 * (inRange: no overflow, and a constant term far above the subnormal roundings).
 *
 * `onHalf`: only where cov12² ≤ var1·var2/2 (the half domain), where the plain gap is at least
 * half of var1*var2 and G ≥ Q/2^e (e the largest power of the gap): then (1 - b) P ≥ (b - 2^-e) Q
 * proves it, which holds outright where b < 2^-e and on a box of its own at b = 2^-e (the loops'
 * `onHalf`, emit/module.ts halfCopy: their half-domain entries skip the certificates).
 */
export function certainWithin(trees: readonly Tree[], onHalf = false): number | undefined {
  const sums: TreeFn[] = [];
  for (const t of trees)
    E.some(t, (x: Tree) => {
      if (x.k === 'fn' && x.name === 'plainsum' && x.args.length === 3) sums.push(x);
      return false;
    });
  if (!sums.length) return undefined;
  const forms = sums.map((sum) => gapForm(sum, onHalf));
  if (forms.some((f) => !f)) return undefined;
  for (const k of CERTAIN_EXPONENTS) if (forms.every((f) => f!(k))) return k;
  return undefined;
}

/** A plain sum's proof as a function of k (certainWithin), or undefined if the sum is not of its form. */
function gapForm(sum: TreeFn, onHalf: boolean): ((k: number) => boolean) | undefined {
  const [terms, bound] = sum.args as [Tree, Tree];
  if (bound.k !== 'num') return undefined;
  const b = bound.v;
  const poly = fromTree(terms);
  if (!poly) return undefined;
  // Monomials (coefficient, exponents of var1, var2, gap).
  const withGap = poly.filter((m) => m.gap > 0);
  const without = poly.filter((m) => m.gap === 0);
  if (!withGap.length || poly.some((m) => Q.cmp(m.coef, Q.ZERO) <= 0)) return undefined;
  // Q: the gap terms with gap → var1*var2, one monomial.
  const qs = withGap.map((m) => [m.v1 + m.gap, m.v2 + m.gap] as const);
  if (qs.some(([a, c]) => a !== qs[0]![0] || c !== qs[0]![1])) return undefined;
  const [qa, qb] = qs[0]!;
  const qCoef = withGap.reduce((a, m) => Q.add(a, m.coef), Q.ZERO);
  // Needed: Σ P/Q ≥ (b - φ)/(1 - b), b with a margin, G ≥ φ Q (φ: 0 to the bound, 2^-e on the half domain).
  const margined = Q.mul(b, Q.add(Q.ONE, Q.rat(1, 2 ** 20)));
  const phi = onHalf ? Q.rat(1, 2 ** Math.max(...withGap.map((m) => m.gap))) : Q.ZERO;
  const excess = Q.sub(margined, phi);
  const need = Q.cmp(excess, Q.ZERO) <= 0 ? Q.ZERO : Q.div(excess, Q.sub(Q.ONE, b));
  const q: Monomial = { coef: qCoef, v1: qa, v2: qb, gap: 0 };
  // The magnitude's monomials, the gap as var1*var2: each within range on the box (below).
  const magnitude = [...without, ...withGap.map((m) => ({ ...m, v1: m.v1 + m.gap, v2: m.v2 + m.gap, gap: 0 }))];
  return (k) => inRange(without, magnitude, k) && Q.cmp(ratioLowerBound(without, q, k), need) >= 0;
}

/**
 * Whether the emitted sums stay clear of overflow and of subnormal roundings on [0, 2^k]: every
 * monomial at most 2^500 at the box's corner (the sums, of a few such terms, stay finite: an
 * infinite magnitude would fail the emitted test where the proof says it holds), and a constant
 * term of at least 2^-500 among the sum's own terms (every other term's rounding, absolute at
 * most 2^-1074, is then far inside the proof's relative margin).
 */
function inRange(sum: readonly Monomial[], all: readonly Monomial[], k: number): boolean {
  const top = Q.powInt(Q.rat(2), 500n);
  const abs = (r: Rat) => (Q.cmp(r, Q.ZERO) < 0 ? Q.neg(r) : r);
  const atCorner = (m: Monomial) => Q.mul(abs(m.coef), Q.powInt(Q.rat(2), BigInt(k * (m.v1 + m.v2 + 2 * m.gap))));
  const constant = sum.find((m) => m.v1 === 0 && m.v2 === 0 && m.gap === 0);
  return (
    all.every((m) => Q.cmp(atCorner(m), top) <= 0) &&
    !!constant &&
    Q.cmp(abs(constant.coef), Q.powInt(Q.rat(2), -500n)) >= 0
  );
}

/**
 * A lower bound of Σ p / q over 0 < var1, var2 ≤ 2^k, for monomials p with positive coefficients
 * and q one: each term p/q at 2^k where none of its exponents is positive (it decreases in both
 * variances), else 0 (its infimum as a variance → 0).
 */
function ratioLowerBound(ps: readonly Monomial[], q: Monomial, k: number): Rat {
  let lower: Rat = Q.ZERO;
  for (const m of ps) {
    const [x, y] = [m.v1 - q.v1, m.v2 - q.v2];
    if (x > 0 || y > 0) continue;
    lower = Q.add(lower, Q.mul(Q.div(m.coef, q.coef), Q.powInt(Q.rat(2), BigInt(k * (x + y)))));
  }
  return lower;
}

/**
 * The largest k (CERTAIN_EXPONENTS) for which every angle (y, x) given has |x| ≤ y wherever
 * 0 < var1, var2 ≤ 2^k and cov12² ≤ var1·var2, with a margin; undefined if there is none or an
 * angle is not of the one form proven here: x = b·cov12 and y = sqrt(S) (or a·sqrt(S/a²)), S a sum of monomials in
 * var1, var2 and gap with positive coefficients. Then y² - x² = S - b² cov12² ≥ P - b² var1 var2
 * (P: S's terms without the gap; gap ≥ 0 and cov12² ≤ var1·var2), so P / (b² var1 var2) ≥ 1 +
 * 2^-20 (ratioLowerBound) proves it: y ≥ (1 + 2^-21)|x|, far beyond the few ulps by which the
 * emitted x and y can err, so the plain test |x/y| ≤ 1 holds there too (emit/values.ts drops it
 * where a call's variances lie in the box: the loops' `anglesUpTo<k>`).
 */
export function anglesWithin(angles: readonly (readonly [Tree, Tree])[]): number | undefined {
  if (!angles.length) return undefined;
  const proofs = angles.map(([y, x]) => angleForm(y, x));
  if (proofs.some((p) => !p)) return undefined;
  for (const k of CERTAIN_EXPONENTS) if (proofs.every((p) => p!(k))) return k;
  return undefined;
}

function angleForm(y: Tree, x: Tree): ((k: number) => boolean) | undefined {
  const X = T.canonicalOf(uncertified(x));
  const b =
    X.k === 'sym' && X.name === 'cov12'
      ? Q.ONE
      : X.k === 'mul' &&
          X.factors.length === 2 &&
          X.factors[0]!.k === 'num' &&
          X.factors[1]!.k === 'sym' &&
          X.factors[1]!.name === 'cov12'
        ? X.factors[0]!.v
        : undefined;
  // y = a·sqrt(S') with a > 0 (a root's scale pulled out, expr.ts factorSum) is sqrt(a² S').
  const scaled = uncertified(y);
  const [a, Y] =
    scaled.k === 'mul' && scaled.factors.length === 2 && scaled.factors[0]!.k === 'num' && scaled.factors[0]!.v.n > 0n
      ? [scaled.factors[0]!.v, scaled.factors[1]!]
      : [Q.ONE, scaled];
  if (!b || Y.k !== 'pow' || Y.exp.k !== 'num' || !Q.eq(Y.exp.v, Q.HALF)) return undefined;
  const S = fromTree(Y.base)?.map((m) => ({ ...m, coef: Q.mul(m.coef, Q.mul(a, a)) }));
  if (!S || S.some((m) => Q.cmp(m.coef, Q.ZERO) <= 0)) return undefined;
  const q: Monomial = { coef: Q.mul(b, b), v1: 1, v2: 1, gap: 0 };
  const need = Q.add(Q.ONE, Q.rat(1, 2 ** 20));
  const without = S.filter((m) => m.gap === 0);
  // x = b·cov12 and y² = S within range (inRange; x² as b² var1 var2 at most).
  return (k) => inRange(without, [...S, q], k) && Q.cmp(ratioLowerBound(without, q, k), need) >= 0;
}

interface Monomial {
  readonly coef: Rat;
  readonly v1: number;
  readonly v2: number;
  readonly gap: number;
}

/** A sum of monomials in var1, var2 and gap (numbers, those symbols, their positive integer powers, products), or undefined. */
function fromTree(t: Tree): Monomial[] | undefined {
  const terms = t.k === 'add' ? t.terms : [t];
  const out: Monomial[] = [];
  for (const term of terms) {
    let m: Monomial | undefined = { coef: Q.ONE, v1: 0, v2: 0, gap: 0 };
    const factor = (f: Tree, power: number): void => {
      if (!m) return;
      if (f.k === 'num') m = { ...m, coef: Q.mul(m.coef, Q.powInt(f.v, BigInt(power))) };
      else if (f.k === 'sym' && (f.name === 'var1' || f.name === 'var2' || f.name === 'gap'))
        m = {
          ...m,
          [f.name === 'var1' ? 'v1' : f.name === 'var2' ? 'v2' : 'gap']:
            m[f.name === 'var1' ? 'v1' : f.name === 'var2' ? 'v2' : 'gap'] + power,
        };
      else if (f.k === 'mul') f.factors.forEach((g) => factor(g, power));
      else if (f.k === 'pow' && f.exp.k === 'num' && Q.isInt(f.exp.v) && f.exp.v.n > 0n && f.exp.v.n < 64n)
        factor(f.base, power * Number(f.exp.v.n));
      else m = undefined;
    };
    factor(term, 1);
    if (!m) return undefined;
    out.push(m);
  }
  return out;
}

/**
 * Interval rules that follow the functions' monotonicity, for proofs about values rather than
 * finiteness (provenOnHalf): atan increasing; for y > 0, atan2(y, x) = angle(y, x) decreasing in
 * x, and increasing in y where x > 0 (decreasing where x < 0); for x > 0 and y of either sign,
 * increasing in y and monotone in x by y's sign; y − x·angle(y, x) increasing in y
 * (∂/∂y = y²/(x² + y²)) and decreasing in x (∂/∂x = −(θ − sin θ cos θ) < 0 for θ in (0, π));
 * elsewhere the finiteness rules.
 */
export const TIGHT_RULES: typeof INTERVAL_RULES = {
  ...INTERVAL_RULES,
  atan: { why: 'increasing', rule: ([x]) => monotone(Math.atan, x!) },
  atan2: { why: 'monotone in each argument where y > 0 or x > 0', rule: ([y, x]) => angleBounds(y!, x!) },
  angle: { why: 'as atan2', rule: ([y, x]) => angleBounds(y!, x!) },
  // Its value cancels where the angle is small (y³/3x² at y ≪ x): each end is widened by the
  // rounding of y − x·angle itself, 2^-40 of |y| + π|x|, absolute.
  ymxangle: {
    why: 'increasing in y, decreasing in x, where y > 0',
    rule: ([y, x]) => {
      if (!(y!.lo > TINY) || !quotientSafe(y!, x!)) return undefined;
      const at = (v: number, u: number) => v - u * Math.atan2(v, u);
      const slack = (v: number, u: number) => (Math.abs(v) + Math.PI * Math.abs(u)) * SLACK;
      return interval(at(y!.lo, x!.hi) - slack(y!.lo, x!.hi), at(y!.hi, x!.lo) + slack(y!.hi, x!.lo));
    },
  },
};

function angleBounds(y: Interval, x: Interval): Interval | undefined {
  if (!quotientSafe(y, x)) return undefined;
  // Where x > 0, atan(y/x) of any sign: increasing in y; in x decreasing where y > 0 and
  // increasing where y < 0, so each extreme at the corner of its own y (the angle of
  // ab_relu's cov12·atan2(cov12, √gap), whose cov12 takes both signs).
  if (x.lo > TINY)
    return interval(Math.atan2(y.lo, y.lo >= 0 ? x.hi : x.lo), Math.atan2(y.hi, y.hi >= 0 ? x.lo : x.hi));
  if (!(y.lo > TINY)) return undefined;
  // Decreasing in x; in y increasing where x > 0, decreasing where x < 0: the extremes at corners.
  if (x.hi < 0) return interval(Math.atan2(y.hi, x.hi), Math.atan2(y.lo, x.lo));
  return interval(Math.atan2(y.lo, x.hi), Math.atan2(y.lo, x.lo));
}

/** The homogeneous degree of a tree in cov12 (1) and the gap (2), or undefined if it reads anything else or is not homogeneous. */
function degreeOf(t: Tree): number | undefined {
  switch (t.k) {
    case 'num':
      return 0;
    case 'sym':
      return t.name === 'cov12' ? 1 : t.name === 'gap' ? 2 : t.name === 'pi' ? 0 : undefined;
    case 'add': {
      const ds = t.terms.map(degreeOf);
      return ds.every((d) => d !== undefined && d === ds[0]) ? ds[0] : undefined;
    }
    case 'mul': {
      const ds = t.factors.map(degreeOf);
      return ds.every((d) => d !== undefined) ? (ds as number[]).reduce((a, b) => a + b, 0) : undefined;
    }
    case 'pow': {
      const d = degreeOf(t.base);
      return d !== undefined && t.exp.k === 'num' ? d * Q.toNumber(t.exp.v) : undefined;
    }
    case 'fn': {
      const ds = t.args.map(degreeOf);
      if (ds.some((d) => d === undefined)) return undefined;
      if (['angle', 'atan2', 'xangle', 'ymxangle'].includes(t.name)) {
        if (ds[0] !== ds[1]) return undefined;
        return t.name === 'angle' || t.name === 'atan2' ? 0 : ds[0];
      }
      if (t.name === 'abs' || t.name === 'plainsum' || t.name === 'argbound') return ds[0];
      return ds.every((d) => d === 0) ? 0 : undefined;
    }
  }
}

/** The pieces of rho in [−√½, √½] over which provenOnHalf bounds a certificate. */
const RHO_PIECES = 2048;

/**
 * Whether a plain sum's certificate, |sum| ≥ b·Σ|terms|, holds wherever the half domain runs
 * (cov12² ≤ var1·var2/2) and the call's variances lie in the finiteness box (its terms, of
 * degree at most 4 and within 2^±700 at var1·var2 = 1, then normal): a proof, or false. Where every term reads only cov12 and the gap, homogeneously of
 * one degree (cov12 1, the gap 2: √gap, cov12·atan(cov12/√gap), leaky_relu's nngp), the ratio
 * depends on rho alone, so var1·var2 = 1 loses nothing; over RHO_PIECES pieces of rho, with the
 * gap 1 − rho², TIGHT_RULES bound the sum away from 0 and its terms' magnitudes above, and
 * min|sum| ≥ b·max Σ|terms|·(1 + 2^-20) on every piece is the proof (the emitted roundings, a few
 * ulps of the terms, are far inside that margin).
 */
export function provenOnHalf(sum: TreeFn): boolean {
  return halfMemo.get(sum.key, () => halfProof(sum));
}
const halfMemo = memoTable<boolean>();

function halfProof(sum: TreeFn): boolean {
  const [terms, bound] = sum.args as [Tree, Tree];
  if (sum.name !== 'plainsum' || sum.args.length !== 2 || bound.k !== 'num' || terms.k !== 'add') return false;
  const degree = degreeOf(terms);
  // Within the finiteness box (var1·var2 from 2^-128 to 2^128) the terms scale by at most
  // 2^(64·|degree|): kept within 2^±700 at var1·var2 = 1, they stay normal there, and the
  // roundings stay inside the proof's relative margin.
  if (degree === undefined || Math.abs(degree) > 4) return false;
  const b = Q.toNumber(bound.v) * (1 + 2 ** -20);
  const r = Math.SQRT1_2 * (1 + 2 ** -30);
  for (let i = 0; i < RHO_PIECES; i++) {
    const lo = -r + (2 * r * i) / RHO_PIECES,
      hi = i === RHO_PIECES - 1 ? r : -r + (2 * r * (i + 1)) / RHO_PIECES;
    const sq = [lo * lo, hi * hi];
    const gap = interval(1 - Math.max(...sq), lo < 0 && hi > 0 ? 1 : 1 - Math.min(...sq));
    const cov12 = interval(lo, hi);
    if (!gap || !cov12) return false;
    const symbols = { cov12, gap, pi: point(Math.PI) };
    const parts = terms.terms.map((t) => boundsOf(t, symbols, TIGHT_RULES));
    if (parts.some((p) => !p)) return false;
    const total = add(parts as Interval[]);
    if (!total) return false;
    const least = total.lo > 0 ? total.lo : total.hi < 0 ? -total.hi : 0;
    const most = (parts as Interval[]).reduce((a, p) => a + magnitude(p), 0);
    if (!(least > 0 && most >= 2 ** -700 && most <= 2 ** 700 && least >= b * most)) return false;
  }
  return true;
}
