// Pass 4: simplify. The canonical constructors (expr.ts) already fold constants, collect
// like terms and bases, expand products of sums and distribute powers; this pass rebuilds
// an expression through them and applies the identities below, bottom-up, to a fixpoint.
import { cancelSum } from './cancel.js';
import { compareOnDomain, isGuardEpsilon, nonnegOnDomain, positiveInsideDomain } from './domain.js';
import * as E from './expr.js';
import * as Q from './rational.js';
import type { Expr, Fn, FnName } from './types.js';

const two = E.num(2);
const mhalf = E.num(-0.5);
const oneMinusSq = (x: Expr) => E.sub(E.ONE, E.pow(x, two));
const isFn = (e: Expr, name: FnName): e is Fn => e.k === 'fn' && e.name === name;
const arg0 = (e: Expr) => (e as Fn).args[0]!;
const PI_HALF = E.mul(E.HALF, E.PI);
const radius = (x: Expr, y: Expr) => E.pow(E.add(E.pow(x, two), E.pow(y, two)), mhalf);

/**
 * A guard in `where`, decided on the domain: the comparison x > y (or x ≥ y) holds
 * everywhere on the domain, or nowhere, or fails only on the boundary (where the guard
 * supplies the limit the compiler implements itself), or acts only within a floor of at most
 * GUARD_EPSILON of the boundary. Returns the branch that holds, or undefined.
 */
function decideWhere(e: Fn): Expr | undefined {
  const c = e.args[0]!;
  if (c.k !== 'fn') return undefined;
  const [a, b] = [e.args[1]!, e.args[2]!];
  // Normalise to x > y / x >= y / x == y / x != y.
  const swap = c.name === 'lt' || c.name === 'le';
  const [x, y] = swap ? [c.args[1]!, c.args[0]!] : [c.args[0]!, c.args[1]!];
  const strict = c.name === 'lt' || c.name === 'gt';
  const clamp = (a.key === x.key && b.key === y.key) || (a.key === y.key && b.key === x.key); // branches agree where x = y
  const d = E.sub(x, y);
  if (c.name === 'eq' || c.name === 'ne') {
    if (!positiveInsideDomain(d) && !positiveInsideDomain(E.neg(d))) return undefined;
    return c.name === 'eq' ? b : a; // x = y only on the boundary
  }
  if (!strict && !clamp && !['gt', 'ge', 'lt', 'le'].includes(c.name)) return undefined;
  // x > eps with x ≥ 0 on the domain, eps a tiny floor: acts only at the boundary.
  if (isGuardEpsilon(y) && positiveInsideDomain(x)) return a;
  const rel = compareOnDomain(x, y);
  if (rel === 'ge') return !strict || clamp || positiveInsideDomain(d) ? a : undefined;
  if (rel === 'le') return strict || clamp || positiveInsideDomain(E.neg(d)) ? b : undefined;
  return undefined;
}

export interface Identity {
  readonly name: string;
  /** Why the rewrite is sound. */
  readonly sound: string;
  readonly apply: (e: Fn) => Expr | undefined;
}

/**
 * Identities on function applications. Each holds wherever both sides are defined
 * (real arithmetic; sqrt of a negative number is undefined on both sides).
 */
export const IDENTITIES: readonly Identity[] = [
  { name: 'exp(log x) = x', sound: 'exp inverts log on x > 0, where log x is defined', apply: (e) => (isFn(e, 'exp') && isFn(arg0(e), 'log') ? arg0(arg0(e)) : undefined) },
  { name: 'log(exp x) = x', sound: 'log inverts exp on all reals', apply: (e) => (isFn(e, 'log') && isFn(arg0(e), 'exp') ? arg0(arg0(e)) : undefined) },
  { name: 'log(x^r) = r log x', sound: 'for x > 0, where the left side is defined for non-integer r', apply: (e) => { const a = arg0(e); return isFn(e, 'log') && a.k === 'pow' && E.isNonneg(a.base) ? E.mul(a.exp, E.fn('log', [a.base])) : undefined; } },
  { name: 'sin(asin x) = x', sound: 'sin inverts asin on [-1, 1]', apply: (e) => (isFn(e, 'sin') && isFn(arg0(e), 'asin') ? arg0(arg0(e)) : undefined) },
  { name: 'cos(acos x) = x', sound: 'cos inverts acos on [-1, 1]', apply: (e) => (isFn(e, 'cos') && isFn(arg0(e), 'acos') ? arg0(arg0(e)) : undefined) },
  { name: 'tan(atan x) = x', sound: 'tan inverts atan', apply: (e) => (isFn(e, 'tan') && isFn(arg0(e), 'atan') ? arg0(arg0(e)) : undefined) },
  { name: 'sin(acos x) = sqrt(1 - x^2)', sound: 'acos x is in [0, pi], where sin ≥ 0', apply: (e) => (isFn(e, 'sin') && isFn(arg0(e), 'acos') ? E.pow(oneMinusSq(arg0(arg0(e))), E.HALF) : undefined) },
  { name: 'cos(asin x) = sqrt(1 - x^2)', sound: 'asin x is in [-pi/2, pi/2], where cos ≥ 0', apply: (e) => (isFn(e, 'cos') && isFn(arg0(e), 'asin') ? E.pow(oneMinusSq(arg0(arg0(e))), E.HALF) : undefined) },
  { name: 'cos(atan x) = 1/sqrt(1 + x^2)', sound: 'atan x is in (-pi/2, pi/2), where cos > 0', apply: (e) => (isFn(e, 'cos') && isFn(arg0(e), 'atan') ? E.pow(E.add(E.ONE, E.pow(arg0(arg0(e)), two)), mhalf) : undefined) },
  { name: 'sin(atan x) = x/sqrt(1 + x^2)', sound: 'sin = tan cos on (-pi/2, pi/2)', apply: (e) => (isFn(e, 'sin') && isFn(arg0(e), 'atan') ? E.mul(arg0(arg0(e)), E.pow(E.add(E.ONE, E.pow(arg0(arg0(e)), two)), mhalf)) : undefined) },
  { name: 'cos(atan2(y, x)) = x/sqrt(x^2 + y^2)', sound: 'the point (x, y) has angle atan2(y, x) and radius sqrt(x^2 + y^2)', apply: (e) => { if (!isFn(e, 'cos') || !isFn(arg0(e), 'atan2')) return undefined; const [y, x] = (arg0(e) as Fn).args; return E.mul(x!, E.pow(E.add(E.pow(x!, two), E.pow(y!, two)), mhalf)); } },
  { name: 'sin(atan2(y, x)) = y/sqrt(x^2 + y^2)', sound: 'as above', apply: (e) => { if (!isFn(e, 'sin') || !isFn(arg0(e), 'atan2')) return undefined; const [y, x] = (arg0(e) as Fn).args; return E.mul(y!, E.pow(E.add(E.pow(x!, two), E.pow(y!, two)), mhalf)); } },
  { name: 'f(0) for odd f', sound: 'sin, tan, asin, atan, sinh, tanh, erf, expm1, log1p vanish at 0', apply: (e) => (['sin', 'tan', 'asin', 'atan', 'sinh', 'tanh', 'erf', 'expm1', 'log1p', 'sign'].includes(e.name) && E.isZero(arg0(e)) ? E.ZERO : undefined) },
  { name: 'cos(0) = cosh(0) = erfc(0) = 1, log(1) = 0, acos(0) = pi/2, acos(1) = 0', sound: 'values at a point', apply: (e) => {
    const a = e.args[0]!;
    if ((e.name === 'cos' || e.name === 'cosh' || e.name === 'erfc') && E.isZero(a)) return E.ONE;
    if (e.name === 'log' && E.isOne(a)) return E.ZERO;
    if (e.name === 'acos' && E.isZero(a)) return E.mul(E.HALF, E.PI);
    if (e.name === 'acos' && E.isOne(a)) return E.ZERO;
    return undefined;
  } },
  { name: 'sin and cos at multiples of pi/2', sound: 'sin(k pi/2), cos(k pi/2) are 0 or ±1 for integer k', apply: (e) => {
    if (e.name !== 'sin' && e.name !== 'cos') return undefined;
    const a = e.args[0]!;
    const [c, rest] = E.splitCoeff(a);
    if (E.isZero(a) || rest.key !== E.PI.key) return undefined;
    const twice = Q.mul(c, Q.rat(2));
    if (!Q.isInt(twice)) return undefined;
    const k = Number(((twice.n % 4n) + 4n) % 4n); // angle = k * pi/2 (mod 2 pi)
    const sin = [0, 1, 0, -1][k]!;
    const cos = [1, 0, -1, 0][k]!;
    return E.num(e.name === 'sin' ? sin : cos);
  } },
  { name: 'sin and cos of x + k pi/2', sound: 'sin(x + pi/2) = cos x, cos(x + pi/2) = -sin x, applied k times (k integer)', apply: (e) => {
    if ((e.name !== 'sin' && e.name !== 'cos') || arg0(e).k !== 'add') return undefined;
    const terms = (arg0(e) as { terms: readonly Expr[] }).terms;
    const i = terms.findIndex((t) => { const [c, rest] = E.splitCoeff(t); return rest.key === E.PI.key && Q.isInt(Q.mul(c, Q.rat(2))); });
    if (i < 0) return undefined;
    const twice = Q.mul(E.splitCoeff(terms[i]!)[0], Q.rat(2));
    const k = Number(((twice.n % 4n) + 4n) % 4n);
    const x = E.add(...terms.filter((_, j) => j !== i));
    // sin(x + k pi/2) = [sin, cos, -sin, -cos][k](x); cos(x + k pi/2) = [cos, -sin, -cos, sin][k](x)
    const table: [FnName, number][] = e.name === 'sin' ? [['sin', 1], ['cos', 1], ['sin', -1], ['cos', -1]] : [['cos', 1], ['sin', -1], ['cos', -1], ['sin', 1]];
    const [f, sign] = table[k]!;
    return E.mul(E.num(sign), E.fn(f, [x]));
  } },
  { name: 'odd f(-x) = -f(x)', sound: 'sin, tan, asin, atan, sinh, tanh, erf, sign are odd', apply: (e) => {
    if (!['sin', 'tan', 'asin', 'atan', 'sinh', 'tanh', 'erf', 'sign'].includes(e.name)) return undefined;
    const [c] = E.splitCoeff(e.args[0]!);
    return c.n < 0n ? E.neg(E.fn(e.name, [E.neg(e.args[0]!)])) : undefined;
  } },
  { name: 'even f(-x) = f(x)', sound: 'cos, cosh, abs are even', apply: (e) => {
    if (!['cos', 'cosh', 'abs'].includes(e.name)) return undefined;
    const [c] = E.splitCoeff(e.args[0]!);
    return c.n < 0n ? E.fn(e.name, [E.neg(e.args[0]!)]) : undefined;
  } },
  { name: 'abs(x) = x for x ≥ 0', sound: 'definition of abs', apply: (e) => (isFn(e, 'abs') && nonnegOnDomain(arg0(e)) ? arg0(e) : undefined) },
  { name: 'sign(x) = 1 for x > 0 known', sound: 'definition of sign (only for positive constants)', apply: (e) => (isFn(e, 'sign') && arg0(e).k === 'num' ? E.num(Q.rat(BigInt(Math.sign(Number((arg0(e) as { v: { n: bigint } }).v.n))))) : undefined) },
  { name: 'asin(u) = pi/2 - acos(u)', sound: 'asin and acos are complementary on [-1, 1]', apply: (e) => (isFn(e, 'asin') ? E.sub(PI_HALF, E.fn('acos', [arg0(e)])) : undefined) },
  { name: 'atan(u) = pi/2 - acos(u/sqrt(1 + u^2))', sound: 'atan u = asin(u/sqrt(1 + u^2)), the angle of the point (1, u)', apply: (e) => (isFn(e, 'atan') ? E.sub(PI_HALF, E.fn('acos', [E.mul(arg0(e), radius(E.ONE, arg0(e)))])) : undefined) },
  { name: 'atan2(y, x) = acos(x/sqrt(x^2 + y^2)) for y ≥ 0', sound: 'the angle of (x, y) with y ≥ 0 is in [0, pi], where acos inverts cos; (x, y) ≠ (0, 0)', apply: (e) => {
    if (!isFn(e, 'atan2') || !nonnegOnDomain(e.args[0]!)) return undefined;
    const [y, x] = e.args as [Expr, Expr];
    return E.fn('acos', [E.mul(x, radius(x, y))]);
  } },
  { name: 'atan2(y, x) = pi/2 - acos(y/sqrt(x^2 + y^2)) for x ≥ 0', sound: 'the angle of (x, y) with x ≥ 0 is in [-pi/2, pi/2], where it is asin(y/r) = pi/2 - acos(y/r); (x, y) ≠ (0, 0)', apply: (e) => {
    if (!isFn(e, 'atan2') || !nonnegOnDomain(e.args[1]!)) return undefined;
    const [y, x] = e.args as [Expr, Expr];
    return E.sub(PI_HALF, E.fn('acos', [E.mul(y, radius(x, y))]));
  } },
  { name: 'acos(u) = pi - acos(-u) when u leads with a negative term', sound: 'acos(-u) = pi - acos(u) on [-1, 1]', apply: (e) => (isFn(e, 'acos') && E.leadsNegative(arg0(e)) ? E.sub(E.PI, E.fn('acos', [E.neg(arg0(e))])) : undefined) },
  { name: 'sinh(x) = (exp(x) - exp(-x))/2', sound: 'definition', apply: (e) => (isFn(e, 'sinh') ? E.mul(E.HALF, E.sub(E.fn('exp', [arg0(e)]), E.fn('exp', [E.neg(arg0(e))]))) : undefined) },
  { name: 'cosh(x) = (exp(x) + exp(-x))/2', sound: 'definition', apply: (e) => (isFn(e, 'cosh') ? E.mul(E.HALF, E.add(E.fn('exp', [arg0(e)]), E.fn('exp', [E.neg(arg0(e))]))) : undefined) },
  { name: 'clip(u, lo, hi) = u where lo ≤ u ≤ hi on the domain', sound: 'the clip acts only outside the domain (a guard: the compiler projects onto the bound itself)', apply: (e) => {
    if (!isFn(e, 'clip')) return undefined;
    const [u, lo, hi] = e.args as [Expr, Expr, Expr];
    return compareOnDomain(u, lo) === 'ge' && compareOnDomain(u, hi) === 'le' ? u : undefined;
  } },
  { name: 'max(a, b) = a where a ≥ b on the domain, or b is a tiny floor under a ≥ 0', sound: 'the max acts only outside the domain, or within GUARD_EPSILON of its boundary (a guard)', apply: (e) => {
    if (!isFn(e, 'max')) return undefined;
    for (const [a, b] of [[e.args[0]!, e.args[1]!], [e.args[1]!, e.args[0]!]] as const) {
      if (compareOnDomain(a, b) === 'ge' || (isGuardEpsilon(b) && nonnegOnDomain(a))) return a;
    }
    return undefined;
  } },
  { name: 'min(a, b) = a where a ≤ b on the domain', sound: 'the min acts only outside the domain (a guard)', apply: (e) => {
    if (!isFn(e, 'min')) return undefined;
    if (compareOnDomain(e.args[0]!, e.args[1]!) === 'le') return e.args[0]!;
    if (compareOnDomain(e.args[1]!, e.args[0]!) === 'le') return e.args[1]!;
    return undefined;
  } },
  { name: 'where(x > y, a, b) decided on the domain', sound: 'the comparison holds everywhere on the domain, or nowhere, or fails only on its boundary (a guard for 0/0 or the bound) or within GUARD_EPSILON of it', apply: (e) => (isFn(e, 'where') ? decideWhere(e) : undefined) },
  { name: 'where(c, a, a) = a', sound: 'both branches agree', apply: (e) => (isFn(e, 'where') && e.args[1]!.key === e.args[2]!.key ? e.args[1]! : undefined) },
  { name: 'comparison of constants', sound: 'decided exactly on rationals', apply: (e) => {
    if (!isFn(e, 'where')) return undefined;
    const c = e.args[0] as Fn;
    const [a, b] = c.args;
    if (a!.k !== 'num' || b!.k !== 'num') return undefined;
    const s = Q.cmp(a.v, b.v);
    const holds = { lt: s < 0, le: s <= 0, gt: s > 0, ge: s >= 0, eq: s === 0, ne: s !== 0 }[c.name as 'lt'];
    return holds ? e.args[1]! : e.args[2]!;
  } },
];

function applyIdentities(e: Expr): Expr {
  if (e.k === 'add') return cancelSum(e) ?? e;
  for (let i = 0; i < 16 && e.k === 'fn'; i++) {
    let changed = false;
    for (const rule of IDENTITIES) {
      const r = rule.apply(e as Fn);
      if (r && r.key !== e.key) { e = r; changed = true; break; }
    }
    if (!changed) break;
  }
  return e;
}

/** Simplifies e: canonical form plus the identities above, to a fixpoint. */
export function simplify(e: Expr): Expr {
  let cur = e;
  for (let i = 0; i < 8; i++) {
    const next = E.rebuild(cur, applyIdentities);
    if (next.key === cur.key) return next;
    cur = next;
  }
  return cur;
}
