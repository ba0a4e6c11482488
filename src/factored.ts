// The factored form of a polynomial map: Σ_k cov12^k × f_k(var1) × g_k(var2), the coefficient
// of each power of cov12 a product of a polynomial in var1 and one in var2 (rank one, as
// Mehler's expansion makes every polynomial activation's map). Each factor is evaluated exactly
// (double-double, rounded once) per row and per column of a kernel, where the expanded form
// cancels (1/4 - 3 var1/20 - 3 var2/20 + 9 var1 var2/100 = (1/2 - 3 var1/10)(1/2 - 3 var2/10) is
// a sixteenth of its terms' magnitudes at var1 = var2 = 1, and 0 at 5/3); per entry a plain sum
// over the powers of cov12 remains, certified at run time like any plain sum (interior.ts
// plainTree's `plainsum`): about half a bit of error where it holds. The compensated form
// (compensatedPolynomial) keeps the low powers exact as well, for a value as accurate as the
// double-double stable code, at about half its cost per entry.
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
  const powers = powersOfCov12(e);
  if (!powers) return undefined;
  const terms: Tree[] = [];
  for (const { k, q } of powers) {
    const coefficient = rankOne(q);
    if (!coefficient) return undefined;
    terms.push(k === 0 ? coefficient : T.mul([coefficient, ...powerOf(k)]));
  }
  if (terms.length === 1) return terms[0]; // one power of cov12: nothing cancels
  // Proven to cancel by at most lostBits bits on the whole domain: bound 0, no test (interior.ts CERTIFICATE_RULE).
  const meanings = powers.map(({ k, q }) => P.mul(q, P.variable('cov12', k)));
  const proven = meanings.every((m) => m !== undefined) && P.sumCertainOnDomain(meanings as P.Poly[], lostBits);
  return T.fn('plainsum', [T.add(terms), E.num(proven ? Q.ZERO : Q.rat(1, 2 ** lostBits))]);
}

/** How much of the exact part the plain tail may be: its few roundings are then under an ulp of the value. */
const TAIL_BOUND = Q.rat(1, 8);

/**
 * A polynomial map with its powers of cov12 up to `exactUpTo` exact and the rest a plain tail:
 * csum(ddq(f_0 g_0) + ddq(f_1 g_1 cov12) + ... + argbound(tail, |exact part|/8)). Each exact
 * term is a product of double-double factors (f_k of var1 once per row, g_k of var2 once per
 * column, emit/ddvalues.ts; a coefficient of rank above one as one double-double polynomial),
 * times cov12^k exactly, and the terms are summed compensated: where the low powers cancel (a
 * Polynomial layer's 1/4 - 3 var1/20 - ... + cov12 (1 + 3 var1/5)(1 + 3 var2/5) at cov12 near
 * -1/64) the value is still correctly rounded but for a few units in the last place of the tail,
 * which the certificate (the tail's terms at most an eighth of the exact part) keeps under an ulp
 * of the value. Far from the bound (|cov12| small) the tail is small; near it the certificate
 * fails and the entry takes the stable code. Undefined where the map is not a polynomial in
 * cov12, var1 and var2 or has one power of cov12.
 */
export function compensatedPolynomial(e: Expr, exactUpTo: number): Tree | undefined {
  const powers = powersOfCov12(e);
  if (!powers || powers.length < 2) return undefined;
  const times = (coefficient: Tree[], k: number) => {
    const all = [...coefficient.filter((x) => !(x.k === 'num' && Q.isOne(x.v))), ...powerOf(k)];
    return all.length === 1 ? all[0]! : T.mul(all);
  };
  // An exact term: its factors, or its coefficient whole, as polynomials the double-double product reads.
  const exactTerm = ({ k, q }: Power) => T.fn('ddq', [times(factorsOf(q)?.map(E.fromPoly) ?? [E.fromPoly(q)], k)]);
  // A tail term: each of its values within a few roundings of itself (rankOne: a factor that
  // could cancel in double-double, rounded once; a coefficient that does not separate, likewise),
  // so that the certificate, which reads the computed terms, bounds the tail's error.
  const tailTerm = ({ k, q }: Power) => {
    const coefficient = rankOne(q) ?? T.fn('dd', [E.fromPoly(q)]);
    return times(coefficient.k === 'mul' ? [...coefficient.factors] : [coefficient], k);
  };
  const exact = powers.filter((p) => p.k <= exactUpTo).map(exactTerm);
  const tail = powers.filter((p) => p.k > exactUpTo).map(tailTerm);
  if (!exact.length) return undefined;
  if (!tail.length) return T.fn('csum', [T.add(exact)]);
  const bound = T.mul([E.num(TAIL_BOUND), T.fn('abs', [T.add(exact)])]);
  return T.fn('csum', [T.add([...exact, T.fn('argbound', [T.add(tail), bound])])]);
}

interface Power {
  readonly k: number;
  /** The coefficient of cov12^k, a polynomial in var1 and var2. */
  readonly q: P.Poly;
}

/** A polynomial map in cov12, var1 and var2 by powers of cov12, ascending; undefined for any other. */
function powersOfCov12(e: Expr): Power[] | undefined {
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
  return [...byPower].sort(([a], [b]) => a - b).map(([k, q]) => ({ k, q }));
}

/**
 * cov12^k as factors of at most the fourth power, which the emitter multiplies out (a higher
 * power is a Math.pow call: about 38 ns a call in a loop here (55 in an earlier measure) against 1, Node 20; the held-out try-out's seventh-degree
 * map ran 46 -> 140 ns per entry with it): cov12^7 = cov12^4 · cov12^3.
 */
const powerOf = (k: number): Tree[] => {
  const c = E.sym('cov12');
  const of = (j: number) => (j === 1 ? c : T.pow(c, E.num(Q.rat(j))));
  return [...Array<Tree>(Math.floor(k / 4)).fill(of(4)), ...(k % 4 ? [of(k % 4)] : [])];
};

/** q(var1, var2) = f(var1) g(var2), or undefined if q does not separate so. */
function factorsOf(q: P.Poly): [P.Poly, P.Poly] | undefined {
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
  return [f, g];
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
  const fg = factorsOf(q);
  if (!fg) return undefined;
  const exact = (x: P.Poly): Tree => (x.size === 1 ? E.fromPoly(x) : T.fn('dd', [E.fromPoly(x)]));
  const factors = fg.map(exact).filter((x) => !(x.k === 'num' && Q.isOne(x.v)));
  return factors.length === 1 ? factors[0]! : T.mul(factors);
}
