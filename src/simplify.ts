// The simplify pass: canonical IR → canonical IR. The constructors of expr.ts already fold
// constants, collect like terms and bases, expand products of sums and distribute powers;
// this pass rebuilds an expression through them and applies three tables of rules, bottom-up,
// to a fixed point (rewrite.ts):
//   GUARDS      clip / max / min / where / abs that act only outside the kernel domain or at
//               its boundary are read as domain guards and dropped (the compiler implements
//               the bound itself: projection onto |cov12| <= sqrt(var1 var2), theta = pi/2 at 0/0);
//   IDENTITIES  the normal form of functions: every inverse trig function as acos, sinh and
//               cosh as exp, inverse pairs, values at special points, parity;
//   CANCEL      terms over a common denominator, cancelled (cancel.ts).
// Together they make equivalent sources meet in one canonical form (README, "Normal form").
import { cancelSum } from './cancel.js';
import { dependsOnInputs, nonnegOnDomain } from './domain.js';
import { GUARDS } from './guards.js';
import * as E from './expr.js';
import { children, num } from './node.js';
import * as P from './poly.js';
import * as Q from './rational.js';
import { fixpoint, type Rule } from './rewrite.js';
import type { Add, Expr, Fn, FnName, Rat } from './types.js';

export type { Rule } from './rewrite.js';
export { GUARDS } from './guards.js';

const two = E.num(2);
const mhalf = E.num(-0.5);
const PI_HALF = E.mul(E.HALF, E.PI);
const oneMinusSq = (x: Expr) => E.sub(E.ONE, E.pow(x, two));
const radius = (x: Expr, y: Expr) => E.pow(E.add(E.pow(x, two), E.pow(y, two)), mhalf);
const isFn = (e: Expr, ...names: FnName[]): e is Fn => e.k === 'fn' && names.includes(e.name);
const arg0 = (e: Expr) => (e as Fn).args[0]!;
/** f(g(x)): the inner argument x when e is f applied to g, else undefined. */
const inner = (e: Expr, f: FnName, g: FnName) => (isFn(e, f) && isFn(arg0(e), g) ? arg0(arg0(e)) : undefined);

const CANONICAL = 'one form for equivalent sources, so that their terms meet and cancel';

// ---------------------------------------------------------------- identities

const ODD: readonly FnName[] = ['sin', 'tan', 'asin', 'atan', 'sinh', 'tanh', 'erf', 'sign'];
const EVEN: readonly FnName[] = ['cos', 'cosh', 'abs'];
const VANISH_AT_0: readonly FnName[] = ['sin', 'tan', 'asin', 'atan', 'sinh', 'tanh', 'erf', 'expm1', 'log1p', 'sign'];

/** sin(x + k pi/2) and cos(x + k pi/2) as ± sin x or ± cos x. */
function shiftByQuarterTurns(e: Expr): Expr | undefined {
  if (!isFn(e, 'sin', 'cos') || arg0(e).k !== 'add') return undefined;
  const terms = (arg0(e) as { terms: readonly Expr[] }).terms;
  const i = terms.findIndex((t) => {
    const [c, rest] = E.splitCoeff(t);
    return rest.key === E.PI.key && Q.isInt(Q.mul(c, Q.rat(2)));
  });
  if (i < 0) return undefined;
  const twice = Q.mul(E.splitCoeff(terms[i]!)[0], Q.rat(2));
  const k = Number(((twice.n % 4n) + 4n) % 4n);
  const x = E.add(...terms.filter((_, j) => j !== i));
  const table: [FnName, number][] =
    e.name === 'sin'
      ? [
          ['sin', 1],
          ['cos', 1],
          ['sin', -1],
          ['cos', -1],
        ]
      : [
          ['cos', 1],
          ['sin', -1],
          ['cos', -1],
          ['sin', 1],
        ];
  const [f, sign] = table[k]!;
  return E.mul(E.num(sign), E.fn(f, [x]));
}

/** sin(k pi/2), cos(k pi/2) for integer k. */
function atQuarterTurns(e: Expr): Expr | undefined {
  if (!isFn(e, 'sin', 'cos')) return undefined;
  const [c, rest] = E.splitCoeff(arg0(e));
  if (E.isZero(arg0(e)) || rest.key !== E.PI.key) return undefined;
  const twice = Q.mul(c, Q.rat(2));
  if (!Q.isInt(twice)) return undefined;
  const k = Number(((twice.n % 4n) + 4n) % 4n);
  return E.num(e.name === 'sin' ? [0, 1, 0, -1][k]! : [1, 0, -1, 0][k]!);
}

/** Sums whose roots are merged have at most this many term products (conjugates have 4). */
const MAX_CONJUGATE_PRODUCTS = 16;

/**
 * Whether a × b, expanded, has a monomial whose coefficients sum to 0 (1 - rho and 1 + rho: the
 * rho terms), not merely like terms collected ((1 - rho)(1 + 2 rho) = 1 + rho - 2 rho^2).
 */
function cancels(a: Add, b: Add): boolean {
  if (a.terms.length * b.terms.length > MAX_CONJUGATE_PRODUCTS) return false;
  const coefficients = new Map<string, Rat>();
  for (const s of a.terms)
    for (const t of b.terms) {
      const [c, rest] = E.splitCoeff(E.mul(s, t));
      coefficients.set(rest.key, Q.add(coefficients.get(rest.key) ?? Q.ZERO, c));
    }
  return [...coefficients.values()].some(Q.isZero);
}

/**
 * a^r b^r as (a b)^r, for two sum bases with the same non-integer exponent whose expanded product
 * cancels (cancels()). A product without
 * cancellation (the separable normalisation (1 + 2 var1)(1 + 2 var2), which the normal form keeps
 * as two roots) is left alone, so the rule and the constructors do not undo each other.
 */
function conjugateRoots(e: Expr): Expr | undefined {
  if (e.k !== 'mul') return undefined;
  const roots = e.factors.filter(
    (f): f is Expr & { k: 'pow' } => f.k === 'pow' && f.base.k === 'add' && f.exp.k === 'num' && !Q.isInt(f.exp.v),
  );
  for (let i = 0; i < roots.length; i++)
    for (let j = i + 1; j < roots.length; j++) {
      const [a, b] = [roots[i]!, roots[j]!];
      if (a.exp.key !== b.exp.key || a.base.k !== 'add' || b.base.k !== 'add') continue;
      if (!cancels(a.base, b.base)) continue;
      const product = E.mul(a.base, b.base);
      return E.mul(...e.factors.filter((f) => f !== a && f !== b), E.pow(product, a.exp));
    }
  return undefined;
}

/**
 * Products and powers of sin(t/2) and cos(t/2), t = acos x: sin·cos = sqrt(1 - x^2)/2, sin^2 =
 * (1 - x)/2, cos^2 = (1 + x)/2; a lone odd power stays as written (its root, sqrt((1 - x)/2),
 * cancels near x = 1 in a way the stabilizer does not see, where sin(acos(x)/2) does not).
 */
function halfAnglePowers(e: Expr): Expr | undefined {
  const factors = e.k === 'mul' ? e.factors : e.k === 'pow' ? [e] : [];
  const halves = new Map<string, { x: Expr; sin: bigint; cos: bigint; arg: Expr; factors: Expr[] }>();
  for (const f of factors) {
    const power = f.k === 'pow' && f.exp.k === 'num' && Q.isInt(f.exp.v) && f.exp.v.n > 0n;
    const base = power ? (f as Expr & { k: 'pow' }).base : f;
    if (!isFn(base, 'sin', 'cos')) continue;
    const [k, angle] = E.splitCoeff(arg0(base));
    if (!Q.eq(k, Q.HALF) || !isFn(angle, 'acos')) continue;
    const n = power ? ((f as Expr & { k: 'pow' }).exp as Expr & { k: 'num' }).v.n : 1n;
    const h = halves.get(angle.key) ?? { x: arg0(angle), sin: 0n, cos: 0n, arg: arg0(base), factors: [] };
    h[base.name === 'sin' ? 'sin' : 'cos'] += n;
    h.factors.push(f);
    halves.set(angle.key, h);
  }
  for (const h of halves.values()) {
    if (h.sin + h.cos < 2n) continue;
    const m = h.sin < h.cos ? h.sin : h.cos;
    const [rs, rc] = [h.sin - m, h.cos - m];
    const x = h.x;
    const parts = [
      E.pow(E.mul(E.num(Q.rat(1, 4)), oneMinusSq(x)), E.num(Q.rat(m, 2n))),
      E.pow(E.mul(E.HALF, E.sub(E.ONE, x)), E.num(Q.rat(rs / 2n))),
      E.pow(E.mul(E.HALF, E.add(E.ONE, x)), E.num(Q.rat(rc / 2n))),
      E.pow(E.fn('sin', [h.arg]), E.num(Q.rat(rs % 2n))),
      E.pow(E.fn('cos', [h.arg]), E.num(Q.rat(rc % 2n))),
    ];
    return E.mul(...factors.filter((f) => !h.factors.includes(f)), ...parts);
  }
  return undefined;
}

/** Roots of sums in e (powers of a sum with a non-integer exponent), counted through the tree. */
function rootsOfSums(e: Expr): number {
  const own = e.k === 'pow' && e.base.k === 'add' && e.exp.k === 'num' && !Q.isInt(e.exp.v) ? 1 : 0;
  return children(e).reduce((n, c) => n + rootsOfSums(c), own);
}

/**
 * acos(x) = acos(2x^2 - 1)/2 for x ≥ 0 whose square has fewer roots of sums than x and where
 * 2x^2 - 1 is one term: the half angle of a cosine written as its root, acos(sqrt((1 + rho)/2)) =
 * acos(rho)/2.
 */
function halfAngle(e: Expr): Expr | undefined {
  if (!isFn(e, 'acos')) return undefined;
  const x = arg0(e);
  if (rootsOfSums(x) === 0 || !nonnegOnDomain(x)) return undefined;
  if (rootsOfSums(E.pow(x, two)) >= rootsOfSums(x)) return undefined;
  // The cosine one term (rho, or the erf map's u): a sum's 1 - (.)^2 would cancel unfactored
  // (acos(sqrt((3 + rho)/4)) as acos((1 + rho)/2)/2 lost 17 bits near rho = 1).
  const cosine = inRho(
    x,
    (y) => together(E.sub(E.mul(two, E.pow(y, two)), E.ONE)),
    (y) => y.k !== 'add',
  );
  return cosine.k === 'add' ? undefined : E.mul(E.HALF, E.fn('acos', [cosine]));
}

const freeOfSums = (e: Expr) => !E.some(e, (y: Expr) => y.k === 'add');

/** A sum over a common denominator where it cancels to fewer terms (cancel.ts), else as it is. */
const together = (e: Expr): Expr => (e.k === 'add' ? (cancelSum(e) ?? e) : e);

/**
 * f of e where the result is `done`; else f of e computed with cov12 = rho sqrt(var1 var2), read
 * back in cov12: the normal form's roots sqrt(var1) sqrt(var2) then factor out of sums such as
 * sqrt(var1) sqrt(var2) + cov12, and a rational function of rho cancels over its common denominator.
 * Exact algebra where var1 var2 > 0; the result is an expression in the inputs again.
 */
function inRho(e: Expr, f: (x: Expr) => Expr, done: (x: Expr) => boolean): Expr {
  const direct = f(e);
  if (done(direct) || E.mentions(e, 'rho')) return direct;
  const toRho = E.mul(E.sym('rho'), E.pow(E.VAR1, E.HALF), E.pow(E.VAR2, E.HALF));
  const fromRho = E.mul(E.COV12, E.pow(E.VAR1, mhalf), E.pow(E.VAR2, mhalf));
  const swap = (x: Expr, name: 'cov12' | 'rho', by: Expr) =>
    E.rebuild(x, (y) => (y.k === 'sym' && y.name === name ? by : y));
  return swap(f(swap(e, 'cov12', toRho)), 'rho', fromRho);
}

/**
 * atan(x) = acos((1 - x^2)/(1 + x^2))/2 for x ≥ 0 with roots of sums, where that cosine is a
 * product free of sums over a common denominator: the half angle's tangent written as a root, 2 atan(sqrt((1 -
 * rho)/(1 + rho))) = acos(rho).
 */
function halfAngleTangent(e: Expr): Expr | undefined {
  if (!isFn(e, 'atan')) return undefined;
  const x = arg0(e);
  if (rootsOfSums(x) === 0 || !nonnegOnDomain(x)) return undefined;
  const cosine = inRho(
    x,
    (y) => {
      const square = E.pow(y, two);
      return together(E.div(together(E.sub(E.ONE, square)), together(E.add(E.ONE, square))));
    },
    freeOfSums,
  );
  return freeOfSums(cosine) ? E.mul(E.HALF, E.fn('acos', [cosine])) : undefined;
}

/**
 * In a sum, k A cos(u)^2 + k A sin(u)^2 = k A and k A cos(u)^2 - k A sin(u)^2 = k A cos(2u)
 * (the first such pair, A the same other factors): a constant phase written cos(c0)^2 -
 * sin(c0)^2 becomes one coefficient, and the terms it multiplies meet the rest.
 */
function squaredSineCosine(e: Expr): Expr | undefined {
  if (e.k !== 'add') return undefined;
  const squares = e.terms.map((t) => {
    const [k, rest] = E.splitCoeff(t);
    const factors = rest.k === 'mul' ? rest.factors : [rest];
    const at = factors.findIndex(
      (f) => f.k === 'pow' && f.exp.k === 'num' && Q.cmp(f.exp.v, Q.rat(2)) === 0 && isFn(f.base, 'sin', 'cos'),
    );
    if (at < 0) return undefined;
    const sq = factors[at] as Extract<Expr, { k: 'pow' }>;
    const others = E.mul(...factors.filter((_, i) => i !== at));
    return { k, name: (sq.base as Fn).name, u: arg0(sq.base), others };
  });
  for (let i = 0; i < squares.length; i++) {
    const a = squares[i];
    if (a?.name !== 'cos') continue;
    for (let j = 0; j < squares.length; j++) {
      const b = squares[j];
      if (b?.name !== 'sin' || b.u.key !== a.u.key || b.others.key !== a.others.key) continue;
      const same = Q.cmp(a.k, b.k) === 0;
      if (!same && Q.cmp(a.k, Q.neg(b.k)) !== 0) continue;
      const merged = E.scale(a.k, same ? a.others : E.mul(a.others, E.fn('cos', [E.mul(two, a.u)])));
      return E.add(...e.terms.filter((_, t) => t !== i && t !== j), merged);
    }
  }
  return undefined;
}

/**
 * The largest multiple of an angle whose sine and cosine become polynomials (Chebyshev): J_n
 * maps need 2 and 3; the erf map's u expands large beyond (sin(4 acos u) cos(4 acos u): 166 KB
 * of code in 6 s; at 3, 97 KB in 1.9 s).
 */
const MAX_MULTIPLE = 3;

/** cos(k acos x) = T_k(x) and sin(k acos x) = sqrt(1 - x^2) U_(k-1)(x), for integer 2 ≤ k ≤ MAX_MULTIPLE. */
function multipleAngle(e: Expr): Expr | undefined {
  if (!isFn(e, 'sin', 'cos')) return undefined;
  const [k, angle] = E.splitCoeff(arg0(e));
  if (!isFn(angle, 'acos')) return undefined;
  const x = arg0(angle);
  if (!Q.isInt(k) || k.n < 2n || k.n > BigInt(MAX_MULTIPLE)) return undefined;
  // T_(n+1) = 2x T_n - T_(n-1) (T_0 = 1, T_1 = x); U likewise from U_0 = 1, U_1 = 2x.
  const chebyshev = (first: Expr, n: number): Expr => {
    let [prev, cur]: [Expr, Expr] = [E.ONE, first];
    for (let i = 1; i < n; i++) [prev, cur] = [cur, E.sub(E.mul(two, x, cur), prev)];
    return n === 0 ? E.ONE : cur;
  };
  const n = Number(k.n);
  return e.name === 'cos' ? chebyshev(x, n) : E.mul(E.pow(oneMinusSq(x), E.HALF), chebyshev(E.mul(two, x), n - 1));
}

/**
 * Identities on function applications. Each holds wherever both sides are defined (real
 * arithmetic; sqrt of a negative number is undefined on both sides). Inverse trig functions
 * all become acos (the angle theta in [0, pi] of the arc-cosine kernels).
 */
export const IDENTITIES: readonly Rule[] = [
  {
    name: 'sqrt(p)^m = q^m (m odd) for a polynomial p = q^2 in one variable, q ≥ 0 on the domain',
    sound: 'sqrt(q^2) = |q| = q where q ≥ 0 (domain.nonnegOnDomain; else -q where that is)',
    helps:
      "a kernel's diagonal value written through its map, sqrt((1 + 2 var1)(1 + 2 var1)) expanded as sqrt(1 + 4 var1 + 4 var1^2), reads 1 + 2 var1: the composition's variances are then proved to be it (compose.ts)",
    examples: [
      'sqrt(1 + 4*var1 + 4*var1^2) + cov12',
      'sqrt(var1^2 + 2*var1 + 1)*cov12',
      'asin(2*var1/sqrt(1 + 4*var1^2 + 4*var1)) + cov12',
    ],
    // |var2 - 1| is not var2 - 1 nor its negative on the domain; not a square
    declines: ['sqrt(var2^2 - 2*var2 + 1)*cov12', 'sqrt(1 + 4*var1 + 3*var1^2)*cov12'],
    apply: (e) => {
      // sqrt(p)^m for odd m (1/sqrt(p) included)
      if (e.k !== 'pow' || e.exp.k !== 'num' || e.exp.v.d !== 2n || e.base.k !== 'add') return undefined;
      const p = P.fromExpr(e.base);
      const q = p && P.squareRoot(p);
      if (!q) return undefined;
      const root = E.fromPoly(q);
      const abs = nonnegOnDomain(root) ? root : nonnegOnDomain(E.neg(root)) ? E.neg(root) : undefined;
      return abs && E.pow(abs, num(e.exp.v.n));
    },
  },
  {
    name: 'exp(log x) = x',
    sound: 'exp inverts log on x > 0, where log x is defined',
    helps: CANONICAL,
    examples: ['exp(log(var1))'],
    apply: (e) => inner(e, 'exp', 'log'),
  },
  {
    name: 'exp(a + r log b) = b^r exp(a)',
    sound: 'exp(r log b) = b^r for b > 0, where log b is defined',
    helps: CANONICAL,
    examples: ['exp(cov12/sqrt(var1*var2) - 1 + log(sqrt(var1*var2)))', 'exp(log(var1*var2 - cov12^2)/2)'],
    apply: (e) => {
      if (!isFn(e, 'exp')) return undefined;
      // A sum of terms, or one term r log b (exp(log(gap)/2), a root written through log).
      const a = arg0(e);
      const terms = a.k === 'add' ? a.terms : [a];
      const logs = terms.map((t) => E.splitCoeff(t)).filter(([, rest]) => isFn(rest, 'log'));
      if (!logs.length) return undefined;
      const rest = terms.filter((t) => !isFn(E.splitCoeff(t)[1], 'log'));
      return E.mul(E.fn('exp', [E.add(...rest)]), ...logs.map(([r, l]) => E.pow(arg0(l), E.num(r))));
    },
  },
  {
    name: 'expm1(x) = exp(x) - 1',
    sound: 'definition (stabilize writes expm1 back where a sum needs it)',
    helps: 'a product exp(a)*expm1(b) merges into single exponentials: no inf*0 at large arguments',
    examples: ['exp(-cov12 - var1/2)*expm1(2*cov12)'],
    apply: (e) => (isFn(e, 'expm1') ? E.sub(E.fn('exp', [arg0(e)]), E.ONE) : undefined),
  },
  {
    name: 'log1p(x) = log(1 + x)',
    sound: 'definition (stabilize writes log1p back)',
    helps: CANONICAL,
    examples: ['log1p(var1) - log(1 + var1)'],
    apply: (e) => (isFn(e, 'log1p') ? E.fn('log', [E.add(E.ONE, arg0(e))]) : undefined),
  },
  {
    name: 'log(exp x) = x',
    sound: 'log inverts exp on all reals',
    helps: CANONICAL,
    examples: ['log(exp(cov12))'],
    apply: (e) => inner(e, 'log', 'exp'),
  },
  {
    name: 'log(x^r) = r log x',
    sound: 'for x > 0, where the left side is defined for non-integer r',
    helps: CANONICAL,
    examples: ['log(sqrt(var1))', 'log(var1^3)'],
    apply: (e) => {
      const a = isFn(e, 'log') ? arg0(e) : undefined;
      return a && a.k === 'pow' && E.isNonneg(a.base) ? E.mul(a.exp, E.fn('log', [a.base])) : undefined;
    },
  },
  {
    name: 'sin(asin x) = x',
    sound: 'sin inverts asin on [-1, 1]',
    helps: CANONICAL,
    examples: ['sin(asin(cov12/sqrt(var1*var2)))'],
    apply: (e) => inner(e, 'sin', 'asin'),
  },
  {
    name: 'cos(acos x) = x',
    sound: 'cos inverts acos on [-1, 1]',
    helps: CANONICAL,
    examples: ['cos(acos(cov12/sqrt(var1*var2)))'],
    apply: (e) => inner(e, 'cos', 'acos'),
  },
  {
    name: 'tan(atan x) = x',
    sound: 'tan inverts atan',
    helps: CANONICAL,
    examples: ['tan(atan(cov12))'],
    apply: (e) => inner(e, 'tan', 'atan'),
  },
  {
    name: 'sin(acos x) = sqrt(1 - x^2)',
    sound: 'acos x is in [0, pi], where sin ≥ 0',
    helps: CANONICAL,
    examples: ['sin(acos(cov12/sqrt(var1*var2)))'],
    apply: (e) => {
      const x = inner(e, 'sin', 'acos');
      return x && E.pow(oneMinusSq(x), E.HALF);
    },
  },
  {
    name: 'cos(asin x) = sqrt(1 - x^2)',
    sound: 'asin x is in [-pi/2, pi/2], where cos ≥ 0',
    helps: CANONICAL,
    examples: ['cos(asin(cov12/sqrt(var1*var2)))'],
    apply: (e) => {
      const x = inner(e, 'cos', 'asin');
      return x && E.pow(oneMinusSq(x), E.HALF);
    },
  },
  {
    name: 'cos(atan x) = 1/sqrt(1 + x^2)',
    sound: 'atan x is in (-pi/2, pi/2), where cos > 0',
    helps: CANONICAL,
    examples: ['cos(atan(cov12))'],
    apply: (e) => {
      const x = inner(e, 'cos', 'atan');
      return x && radius(E.ONE, x);
    },
  },
  {
    name: 'sin(atan x) = x/sqrt(1 + x^2)',
    sound: 'sin = tan cos on (-pi/2, pi/2)',
    helps: CANONICAL,
    examples: ['sin(atan(cov12))'],
    apply: (e) => {
      const x = inner(e, 'sin', 'atan');
      return x && E.mul(x, radius(E.ONE, x));
    },
  },
  {
    name: 'cos(atan2(y, x)) = x/sqrt(x^2 + y^2)',
    sound: 'the point (x, y) has angle atan2(y, x) and radius sqrt(x^2 + y^2)',
    helps: CANONICAL,
    examples: ['cos(atan2(cov12, var1))'],
    apply: (e) => {
      if (!isFn(e, 'cos') || !isFn(arg0(e), 'atan2')) return undefined;
      const [y, x] = (arg0(e) as Fn).args as [Expr, Expr];
      return E.mul(x, radius(x, y));
    },
  },
  {
    name: 'sin(atan2(y, x)) = y/sqrt(x^2 + y^2)',
    sound: 'as above',
    helps: CANONICAL,
    examples: ['sin(atan2(cov12, var1))'],
    apply: (e) => {
      if (!isFn(e, 'sin') || !isFn(arg0(e), 'atan2')) return undefined;
      const [y, x] = (arg0(e) as Fn).args as [Expr, Expr];
      return E.mul(y, radius(x, y));
    },
  },
  {
    name: 'a^r b^r = (a b)^r for sums a, b whose product cancels (r not an integer)',
    sound:
      'holds where a, b ≥ 0 (conjugate sums such as 1 - rho and 1 + rho, both ≥ 0 on the domain); where the source as written is undefined (a or b < 0 under an even root) the merged root may be defined, as cos(acos(2)) = 2 already is: a source is read where it has a value',
    helps:
      'a difference of squares split into two roots, sqrt(1 - rho) sqrt(1 + rho), becomes the one root of 1 - rho^2 (the gap), whose singular terms the normal form cancels',
    examples: [
      'sqrt(1 - cov12/sqrt(var1*var2))*sqrt(1 + cov12/sqrt(var1*var2))',
      '(1 - cov12)^0.5*(1 + cov12)^0.5*var1',
      '(var1 - cov12)^(1/3)*(var1^2 + var1*cov12 + cov12^2)^(1/3)',
    ],
    declines: [
      'sqrt(1 + var1)*sqrt(1 + var2)',
      'sqrt(1 - cov12)*sqrt(1 + 2*cov12)',
      'sqrt(1 - cov12)*(1 + cov12)^(1/3)',
    ],
    apply: conjugateRoots,
  },
  {
    name: 'cos(k acos x) = T_k(x), sin(k acos x) = sqrt(1 - x^2) U_(k-1)(x) for integer 2 ≤ k ≤ 3',
    sound:
      'the Chebyshev polynomials: cos(k t) and sin(k t)/sin t are polynomials in cos t (t = acos x in [0, pi], where sin t = sqrt(1 - x^2))',
    helps:
      "an angle's multiples become polynomials in its cosine, so that their singular terms meet the rest and cancel (J_2 written with sin 2θ and cos 2θ)",
    examples: [
      'sin(2*acos(cov12/sqrt(var1*var2)))',
      'cos(2*acos(cov12/sqrt(var1*var2)))',
      'sin(3*acos(cov12/sqrt(var1*var2)))',
      'cos(3*acos(cov12/2))',
    ],
    declines: ['sin(acos(cov12)/2)', 'cos(9*acos(cov12/2))', 'sin(2*acos(cov12) + cov12)'],
    apply: multipleAngle,
  },
  {
    name: 'sin(t/2) cos(t/2) = sqrt(1 - x^2)/2, sin(t/2)^2 = (1 - x)/2, cos(t/2)^2 = (1 + x)/2 for t = acos x',
    sound: 't/2 is in [0, pi/2]: sin(t/2) cos(t/2) = sin(t)/2 ≥ 0, and the squares are (1 ∓ cos t)/2',
    helps:
      "half angles in pairs and squares (2 sin(θ/2) cos(θ/2), 2 cos(θ/2)^2 - 1) become the angle's sine and cosine, whose singular terms cancel with the rest",
    examples: [
      'sin(acos(cov12/sqrt(var1*var2))/2)*cos(acos(cov12/sqrt(var1*var2))/2)',
      'var1*cos(acos(cov12/sqrt(var1*var2))/2)^2',
      'sin(acos(cov12/2)/2)^3*cos(acos(cov12/2)/2)',
    ],
    declines: ['sin(acos(cov12/2)/2)*var1', 'sin(acos(cov12/2)/3)^2', 'sin(acos(cov12/2)/2)*cos(acos(var1/4)/2)'],
    apply: halfAnglePowers,
  },
  {
    name: 'acos(x) = acos(2x^2 - 1)/2 for x ≥ 0 whose square has fewer roots of sums, 2x^2 - 1 one term',
    sound: 't = acos x is in [0, pi/2] for x in [0, 1], where cos 2t = 2x^2 - 1 and 2t in [0, pi] is its acos',
    helps:
      "the half angle written as a root (asin(sqrt((1 + rho)/2)), 2 acos(sqrt((1 + rho)/2)), 2 atan(sqrt((1 - rho)/(1 + rho)))) becomes the angle's own acos, whose singular terms cancel with the rest",
    examples: ['acos(sqrt((1 + cov12/sqrt(var1*var2))/2))', 'acos(sqrt((1 - cov12/sqrt(var1*var2))/2))'],
    declines: [
      'acos(cov12*sqrt(1 + var1)/4)',
      'acos(cov12/sqrt(var1*var2))',
      'acos(-sqrt((1 + cov12)/2))',
      'acos(sqrt((3 + cov12/sqrt(var1*var2))/4))',
    ],
    apply: halfAngle,
  },
  {
    name: 'tan(k acos x) = sin(k acos x)/cos(k acos x)',
    sound: 'definition of tan, wherever cos ≠ 0',
    helps: 'sin and cos of the angle have closed forms (and polynomials for integer k), so 1/tan(theta) meets the rest',
    examples: ['tan(acos(cov12/sqrt(var1*var2)))', 'cov12/tan(2*acos(cov12/2))'],
    declines: ['tan(cov12)'],
    apply: (e) => {
      if (!isFn(e, 'tan') || !isFn(E.splitCoeff(arg0(e))[1], 'acos')) return undefined;
      return E.div(E.fn('sin', [arg0(e)]), E.fn('cos', [arg0(e)]));
    },
  },
  {
    name: 'asin(u) = pi/2 - acos(u)',
    sound: 'asin and acos are complementary on [-1, 1]',
    helps: CANONICAL,
    examples: ['asin(cov12/sqrt(var1*var2))'],
    apply: (e) => (isFn(e, 'asin') ? E.sub(PI_HALF, E.fn('acos', [arg0(e)])) : undefined),
  },
  {
    name: 'atan(x) = acos((1 - x^2)/(1 + x^2))/2 for x ≥ 0 with roots of sums, the cosine a product free of sums',
    sound:
      'for x ≥ 0, t = 2 atan(x) is in [0, pi), where cos t = (1 - tan^2(t/2))/(1 + tan^2(t/2)) and acos inverts cos',
    helps:
      "the half angle's tangent written as a root (2 atan(sqrt((1 - rho)/(1 + rho)))) becomes the angle's own acos, whose singular terms cancel with the rest",
    examples: [
      'atan(sqrt((1 - cov12/sqrt(var1*var2))/(1 + cov12/sqrt(var1*var2))))',
      'atan(sqrt((1 - cov12)/(1 + cov12)))',
    ],
    declines: ['atan(cov12/sqrt(var1*var2 - cov12^2))', 'atan(sqrt(1 + var1))', 'atan(-sqrt((1 - cov12)/(1 + cov12)))'],
    apply: halfAngleTangent,
  },
  {
    name: 'atan(u) = pi/2 - acos(u/sqrt(1 + u^2))',
    sound: 'atan u = asin(u/sqrt(1 + u^2)), the angle of the point (1, u)',
    helps: CANONICAL,
    examples: ['atan(cov12/sqrt(var1*var2 - cov12^2))', 'atan(cov12)'],
    apply: (e) =>
      isFn(e, 'atan') ? E.sub(PI_HALF, E.fn('acos', [E.mul(arg0(e), radius(E.ONE, arg0(e)))])) : undefined,
  },
  {
    name: 'atan2(y, x) = acos(x/sqrt(x^2 + y^2)) for y ≥ 0',
    sound: 'the angle of (x, y) with y ≥ 0 is in [0, pi], where acos inverts cos; (x, y) ≠ (0, 0)',
    helps: CANONICAL,
    examples: ['atan2(sqrt(var1*var2 - cov12^2), cov12)', 'atan2(sqrt(max(var1*var2 - cov12^2, 0)), cov12)'],
    apply: (e) => {
      if (!isFn(e, 'atan2') || !nonnegOnDomain(e.args[0]!)) return undefined;
      const [y, x] = e.args as [Expr, Expr];
      return E.fn('acos', [E.mul(x, radius(x, y))]);
    },
  },
  {
    name: 'atan2(y, x) = pi/2 - acos(y/sqrt(x^2 + y^2)) for x ≥ 0',
    sound:
      'the angle of (x, y) with x ≥ 0 is in [-pi/2, pi/2], where it is asin(y/r) = pi/2 - acos(y/r); (x, y) ≠ (0, 0)',
    helps: CANONICAL,
    examples: ['atan2(cov12, sqrt((1 + var1)*(1 + var2) - cov12^2))'],
    apply: (e) => {
      if (!isFn(e, 'atan2') || !nonnegOnDomain(e.args[1]!)) return undefined;
      const [y, x] = e.args as [Expr, Expr];
      return E.sub(PI_HALF, E.fn('acos', [E.mul(y, radius(x, y))]));
    },
  },
  {
    name: 'acos(u) = pi - acos(-u) when u leads with a negative term',
    sound: 'acos(-u) = pi - acos(u) on [-1, 1]',
    helps: CANONICAL,
    examples: ['acos(-cov12/sqrt(var1*var2))'],
    apply: (e) =>
      isFn(e, 'acos') && E.leadsNegative(arg0(e)) ? E.sub(E.PI, E.fn('acos', [E.neg(arg0(e))])) : undefined,
  },
  {
    name: 'sinh(x) = (exp(x) - exp(-x))/2',
    sound: 'definition',
    helps: 'products with exp merge into single exponentials (no inf*0 at large variances)',
    examples: ['exp(-(var1 + var2)/2)*sinh(cov12)'],
    apply: (e) =>
      isFn(e, 'sinh') ? E.mul(E.HALF, E.sub(E.fn('exp', [arg0(e)]), E.fn('exp', [E.neg(arg0(e))]))) : undefined,
  },
  {
    name: 'cosh(x) = (exp(x) + exp(-x))/2',
    sound: 'definition',
    helps: 'as for sinh',
    examples: ['exp(-(var1 + var2)/2)*cosh(cov12)'],
    apply: (e) =>
      isFn(e, 'cosh') ? E.mul(E.HALF, E.add(E.fn('exp', [arg0(e)]), E.fn('exp', [E.neg(arg0(e))]))) : undefined,
  },
  {
    name: 'f(0) = 0 for odd f',
    sound: `${VANISH_AT_0.join(', ')} vanish at 0`,
    helps: CANONICAL,
    examples: ['cov12 + sin(0*cov12)'],
    apply: (e) => (e.k === 'fn' && VANISH_AT_0.includes(e.name) && E.isZero(arg0(e)) ? E.ZERO : undefined),
  },
  {
    name: 'cos(0) = cosh(0) = erfc(0) = 1, log(1) = 0, acos(0) = pi/2, acos(1) = 0',
    sound: 'values at a point',
    helps: CANONICAL,
    examples: ['cov12*cos(0)', 'acos(0)*cov12'],
    apply: (e) => {
      if (e.k !== 'fn') return undefined;
      const a = e.args[0]!;
      if ((e.name === 'cos' || e.name === 'cosh' || e.name === 'erfc') && E.isZero(a)) return E.ONE;
      if (e.name === 'log' && E.isOne(a)) return E.ZERO;
      if (e.name === 'acos' && E.isZero(a)) return PI_HALF;
      if (e.name === 'acos' && E.isOne(a)) return E.ZERO;
      return undefined;
    },
  },
  {
    name: 'sin(k pi/2), cos(k pi/2) are 0 or ±1',
    sound: 'values at multiples of pi/2 (k integer)',
    helps: CANONICAL,
    examples: ['cov12*cos(pi)', 'cov12*sin(3*pi/2)'],
    apply: atQuarterTurns,
  },
  {
    name: 'sin(x + k pi/2), cos(x + k pi/2) = ±sin x or ±cos x',
    sound: 'sin(x + pi/2) = cos x and cos(x + pi/2) = -sin x, applied k times',
    helps: CANONICAL,
    examples: ['cos(pi/2 - acos(cov12/sqrt(var1*var2)))', 'sin(cov12 + pi)'],
    apply: shiftByQuarterTurns,
  },
  {
    name: 'f(-x) = -f(x) for odd f',
    sound: `${ODD.join(', ')} are odd`,
    helps: CANONICAL,
    examples: ['sin(-cov12)', 'erf(-2*cov12)'],
    apply: (e) =>
      e.k === 'fn' && ODD.includes(e.name) && E.splitCoeff(arg0(e))[0].n < 0n
        ? E.neg(E.fn(e.name, [E.neg(arg0(e))]))
        : undefined,
  },
  {
    name: 'f(-x) = f(x) for even f',
    sound: `${EVEN.join(', ')} are even`,
    helps: CANONICAL,
    examples: ['cos(-cov12)', 'abs(-cov12)'],
    apply: (e) =>
      e.k === 'fn' && EVEN.includes(e.name) && E.splitCoeff(arg0(e))[0].n < 0n
        ? E.fn(e.name, [E.neg(arg0(e))])
        : undefined,
  },
  {
    name: 'sign(k) for a constant k',
    sound: 'definition of sign',
    helps: CANONICAL,
    examples: ['cov12*sign(3)'],
    apply: (e) =>
      isFn(e, 'sign') && arg0(e).k === 'num'
        ? E.num(Math.sign(Number((arg0(e) as { v: { n: bigint } }).v.n)))
        : undefined,
  },
  {
    name: 'sin(k)^2 = (1 - cos(2k))/2, cos(k)^2 = (1 + cos(2k))/2 for a constant k',
    sound: 'the double-angle formulas, for every real k',
    helps:
      'a constant phase in any of its spellings (cos(c0)^2 - sin(c0)^2, 1 - 2 sin(c0)^2, 2 cos(c0)^2 - 1) becomes the one coefficient cos(2 c0), so the exponentials it multiplies pair exactly',
    examples: ['exp(cov12)*(1 - 2*sin(3/10)^2) - exp(-cov12)', 'cos(3/10)^2*var1'],
    declines: ['sin(cov12)^2', 'cos(3/10)^3', 'sin(3/10)'],
    apply: (e) => {
      if (e.k !== 'pow' || e.exp.k !== 'num' || Q.cmp(e.exp.v, Q.rat(2)) !== 0 || !isFn(e.base, 'sin', 'cos'))
        return undefined;
      const k = arg0(e.base);
      if (dependsOnInputs(k)) return undefined;
      const double = E.fn('cos', [E.mul(two, k)]);
      return E.mul(E.HALF, e.base.name === 'sin' ? E.sub(E.ONE, double) : E.add(E.ONE, double));
    },
  },
  {
    name: 'k A cos(u)^2 + k A sin(u)^2 = k A, k A cos(u)^2 - k A sin(u)^2 = k A cos(2u)',
    sound: 'Pythagoras and the double angle, for every real u',
    helps:
      'a phase written cos(c0)^2 - sin(c0)^2 becomes one coefficient, so the exponentials it multiplies pair with the rest (their difference cancels exactly where the derivative crosses zero)',
    examples: [
      'exp(var1)*cos(cov12)^2 - exp(var1)*sin(cov12)^2 - exp(-cov12)',
      'var1*cos(cov12)^2 + var1*sin(cov12)^2',
    ],
    declines: ['cos(cov12)^2 + 2*sin(cov12)^2', 'cos(cov12)^2 - sin(var1)^2'],
    apply: squaredSineCosine,
  },
  {
    name: 'abs(u) sign(u) = u',
    sound: '|u| sign(u) = u for every real u (both sides 0 at u = 0)',
    helps: "the identity's derivative is 1 everywhere; the product rule's sign(u)^2 + 2|u| delta(u) is 0 at u = 0",
    examples: ['abs(cov12)*sign(cov12)', 'var1*abs(cov12 - var2)*sign(cov12 - var2)'],
    declines: ['abs(cov12)*sign(var1)', 'cov12*sign(cov12)'],
    apply: (e) => {
      if (e.k !== 'mul') return undefined;
      const abs = e.factors.find(
        (f) => isFn(f, 'abs') && e.factors.some((g) => isFn(g, 'sign') && g.args[0]!.key === arg0(f).key),
      );
      if (!abs) return undefined;
      const sign = e.factors.find((g) => isFn(g, 'sign') && g.args[0]!.key === arg0(abs).key)!;
      return E.mul(...e.factors.filter((f) => f !== abs && f !== sign), arg0(abs));
    },
  },
  {
    name: 'm where(c, a, b) = where(c, m a, m b) (into nested wheres) where that is smaller',
    sound: 'each branch is multiplied by the same m, wherever it is taken',
    helps:
      "the derivative of a kept clip, where(inside, 1/sqrt(var1 var2), 0), meets the map's sqrt(var1 var2) factor and cancels: finite at zero inputs (NaN before)",
    examples: [
      'sqrt(var1)*sqrt(var2)*where(cov12 > 0, 1/(sqrt(var1)*sqrt(var2)), 0)',
      'var1*where(cov12 > 0, 1/var1, 2)',
    ],
    declines: ['var1*where(cov12 > 0, var2, 0)', 'where(cov12 > 0, var1, 0)'],
    apply: (e) => {
      if (e.k !== 'mul') return undefined;
      const at = e.factors.findIndex((f) => isFn(f, 'where'));
      if (at < 0) return undefined;
      const w = e.factors[at] as Fn;
      const m = E.mul(...e.factors.filter((_, i) => i !== at));
      // Into nested wheres too (a clip's derivative is where(below, 0, where(above, 0, u'))).
      const into = (x: Expr): Expr =>
        isFn(x, 'where') ? E.fn('where', [x.args[0]!, into(x.args[1]!), into(x.args[2]!)]) : E.mul(m, x);
      const pushed = into(w);
      return E.size(pushed) < E.size(e) ? pushed : undefined;
    },
  },
  {
    name: 'where(c, a, a) = a',
    sound: 'both branches agree',
    helps: CANONICAL,
    examples: ['where(cov12 > 0, var1, var1)'],
    apply: (e) => (isFn(e, 'where') && e.args[1]!.key === e.args[2]!.key ? e.args[1]! : undefined),
  },
  {
    name: 'where(k1 < k2, a, b) for constants',
    sound: 'the comparison is decided exactly on rationals',
    helps: CANONICAL,
    examples: ['where(2 > 1, cov12, var1)'],
    apply: (e) => {
      if (!isFn(e, 'where')) return undefined;
      const c = e.args[0] as Fn;
      const [a, b] = c.args;
      if (a!.k !== 'num' || b!.k !== 'num') return undefined;
      const s = Q.cmp(a.v, b.v);
      const holds = { lt: s < 0, le: s <= 0, gt: s > 0, ge: s >= 0, eq: s === 0, ne: s !== 0 }[c.name as 'lt'];
      return holds ? e.args[1]! : e.args[2]!;
    },
  },
];

/** Terms over a common denominator, cancelled (cancel.ts). */
export const CANCEL: readonly Rule[] = [
  {
    name: 'a/q + b/q = (a + b)/q, then common factors of numerator and denominator cancel',
    sound: 'arithmetic of fractions; the division is exact polynomial division',
    helps:
      'singular terms (inf - inf at the diagonal) cancel symbolically: the derivative of an arctan2 angle, a hand-written J_2',
    examples: [
      '-cov12/sqrt(var1*var2 - cov12^2) + cov12^3/(sqrt(var1*var2 - cov12^2)*var1*var2) + sqrt(var1*var2 - cov12^2)*cov12/(var1*var2)',
      '-cov12^2/sqrt(var1*var2 - cov12^2) + var1*var2/sqrt(var1*var2 - cov12^2) + 3*sqrt(var1*var2 - cov12^2)',
    ],
    apply: (e) => (e.k === 'add' ? cancelSum(e) : undefined),
  },
];

const ALL = [...GUARDS, ...IDENTITIES, ...CANCEL];

/** Reads the guards of a source by the guard rule and nothing else (the source's meaning: accuracy's truth). */
export function readGuards(e: Expr): Expr {
  return fixpoint(e, GUARDS);
}

/** Simplifies e: canonical form plus the rules above, to a fixed point. */
export function simplify(e: Expr): Expr {
  return fixpoint(e, ALL);
}
