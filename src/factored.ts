// The factored form of a polynomial map: Σ_k cov12^k × f_k(var1) × g_k(var2), the coefficient
// of each power of cov12 a product of a polynomial in var1 and one in var2 (rank one, as
// Mehler's expansion makes every polynomial activation's map). Each factor is evaluated exactly
// (double-double, rounded once) per row and per column of a kernel, where the expanded form
// cancels (1/4 - 3 var1/20 - 3 var2/20 + 9 var1 var2/100 = (1/2 - 3 var1/10)(1/2 - 3 var2/10) is
// a sixteenth of its terms' magnitudes at var1 = var2 = 1, and 0 at 5/3); per entry a plain sum
// over the powers of cov12 remains, certified at run time like any plain sum (interior.ts
// plainTree's `plainsum`).
import { isPolynomial, shareOneSign } from './domain.js';
import * as E from './expr.js';
import * as P from './poly.js';
import * as Q from './rational.js';
import type { Expr, Tree } from './types.js';
import * as T from './tree.js';

/**
 * A polynomial map in its factored form, as a plain sum certified to lose at most `lostBits`
 * bits (|sum| ≥ 2^-lostBits Σ|terms|); undefined where the map is not a polynomial in cov12,
 * var1 and var2 alone, or a coefficient of some power of cov12 has rank above one.
 */
export function factoredPolynomial(e: Expr, lostBits: number): Tree | undefined {
  if (!isPolynomial(e)) return undefined;
  const p = P.fromExpr(e);
  if (!p) return undefined;
  const byPower = new Map<number, P.Poly>();
  for (const { coef, vars } of P.terms(p)) {
    if (vars.some(([v]) => v === 'gap' || v === 'rho')) return undefined;
    const k = vars.find(([v]) => v === 'cov12')?.[1] ?? 0;
    const rest = vars.filter(([v]) => v !== 'cov12');
    const term = rest.reduce<P.Poly>((acc, [v, n]) => P.mul(acc, P.variable(v, n))!, P.constant(coef));
    byPower.set(k, P.add(byPower.get(k) ?? new Map(), term));
  }
  const terms: Tree[] = [];
  for (const [k, q] of [...byPower].sort(([a], [b]) => a - b)) {
    const coefficient = rankOne(q);
    if (!coefficient) return undefined;
    const power = k === 1 ? E.sym('cov12') : T.pow(E.sym('cov12'), E.num(Q.rat(k)));
    terms.push(k === 0 ? coefficient : T.mul([coefficient, power]));
  }
  if (terms.length === 1) return terms[0]; // one power of cov12: nothing cancels
  return T.fn('plainsum', [T.add(terms), E.num(Q.rat(1, 2 ** lostBits))]);
}

/**
 * A coefficient q(var1, var2) as one tree: a monomial or a sum of one-signed terms as it is;
 * otherwise f(var1) × g(var2), each factor exact in double-double (`dd`) unless it is a
 * monomial; undefined if q does not separate so.
 */
function rankOne(q: P.Poly): Tree | undefined {
  // Terms of one sign cannot cancel: summed as they are (fewer roundings than a product of factors).
  const expanded = E.fromPoly(q);
  if (q.size === 1 || (expanded.k === 'add' && shareOneSign(expanded.terms))) return expanded;
  // f: the terms of least degree in var2, that degree divided out (q = f g exactly, if q separates).
  const all = P.terms(q);
  const degree = (vars: [P.PolyVar, number][]) => vars.find(([v]) => v === 'var2')?.[1] ?? 0;
  const least = Math.min(...all.map((t) => degree(t.vars)));
  const f = all
    .filter((t) => degree(t.vars) === least)
    .reduce<P.Poly>(
      (acc, t) =>
        P.add(acc, P.mul(P.constant(t.coef), P.variable('var1', t.vars.find(([v]) => v === 'var1')?.[1] ?? 0))!),
      new Map(),
    );
  const g = P.divExact(q, f);
  if (!g || P.terms(g).some((t) => t.vars.some(([v]) => v !== 'var2'))) return undefined;
  const exact = (x: P.Poly): Tree => (x.size === 1 ? E.fromPoly(x) : T.fn('dd', [E.fromPoly(x)]));
  const factors = [exact(f), exact(g)].filter((x) => !(x.k === 'num' && Q.isOne(x.v)));
  return factors.length === 1 ? factors[0]! : T.mul(factors);
}
