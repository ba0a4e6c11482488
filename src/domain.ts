// Facts about the kernel domain, for rules with preconditions. The domain: var1 ≥ 0,
// var2 ≥ 0 and |cov12| ≤ sqrt(var1*var2) (Cauchy–Schwarz: x1, x2 jointly Gaussian). Its
// boundary: a zero variance, or gap = var1*var2 - cov12^2 = 0 (|rho| = 1, the diagonal).
//
// Every answer here is a proof or "don't know" (false/undefined), never a guess.
import * as E from './expr.js';
import * as P from './poly.js';
import * as Q from './rational.js';
import type { Expr, Rat } from './types.js';

/**
 * The largest floor a guard may add and still be read as a domain guard: `max(gap, eps)`,
 * `where(p > eps, ...)` with 0 ≤ eps ≤ GUARD_EPSILON act only within eps of the boundary.
 */
export const GUARD_EPSILON = Q.fromDecimal('1e-12');

const MAX_DEPTH = 4;

/** e ≥ 0 everywhere on the domain where e is defined (a proof, or false). */
export function nonnegOnDomain(e: Expr, depth = 0): boolean {
  if (E.isNonneg(e)) return true;
  if (e.k === 'mul') return e.factors.every((f) => nonnegOnDomain(f, depth));
  if (e.k !== 'add' || depth >= MAX_DEPTH) return false;
  const p = P.fromExpr(clearPositiveDenominators(e), true);
  if (p) return P.nonnegOnDomain(p);
  // k + terms t with |t| ≤ 1 (t^2 ≤ 1): ≥ 0 if k is at least their number.
  let budget = Q.ZERO;
  const rest: Expr[] = [];
  for (const t of e.terms) {
    if (t.k === 'num') budget = Q.add(budget, t.v);
    else rest.push(t);
  }
  for (const t of rest) {
    if (nonnegOnDomain(t, depth + 1)) continue;
    if (!absAtMostOne(t, depth + 1)) return false;
    budget = Q.sub(budget, Q.ONE);
  }
  return budget.n >= 0n;
}

/**
 * A sum times the powers of its positive denominators (bases known ≥ 0 with negative
 * exponents), which keeps its sign: 1 - 4 c^2/P becomes P - 4 c^2.
 */
function clearPositiveDenominators(s: Expr): Expr {
  if (s.k !== 'add') return s;
  const most = new Map<string, { base: Expr; exp: Rat }>();
  for (const t of s.terms) {
    for (const f of t.k === 'mul' ? t.factors : [t]) {
      if (f.k !== 'pow' || f.exp.k !== 'num' || f.exp.v.n >= 0n || !E.isNonneg(f.base)) continue;
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
    case 'num': return e.v.n > 0n;
    case 'sym': return e.name === 'var1' || e.name === 'var2' || e.name === 'pi' || e.name === 'gap';
    case 'mul': return e.factors.every(positiveInsideDomain);
    case 'pow': return e.exp.k === 'num' && positiveInsideDomain(e.base);
    case 'add': {
      const p = P.fromExpr(e, true);
      return !!p && P.positiveInsideDomain(p);
    }
    case 'fn': return e.name === 'exp';
  }
}

/** How x compares with y everywhere on the domain: 'ge' (x ≥ y), 'le' (x ≤ y), or unknown. */
export function compareOnDomain(x: Expr, y: Expr): 'ge' | 'le' | undefined {
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
