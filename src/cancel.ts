// Combining terms over a common denominator ("together", then "cancel"), part of the
// canonical form. Terms of a sum that share their transcendental factors (acos(...), exp(...),
// pi^k, ...) and the fractional part of each radical's exponent are rational functions of the
// inputs times the same radicals: over their common denominator their numerators add to one
// polynomial N, and N may vanish or be divisible by a denominator factor. So
//   -c/sqrt(g) + c^3/(sqrt(g) v1 v2) + sqrt(g) c/(v1 v2)   (g = v1 v2 - c^2)
// has N = -c v1 v2 + c^3 + g c = 0, and (v1 v2 - c^2)/sqrt(g) has N = g, which cancels to
// sqrt(g). Those are the singular terms autodiff leaves as inf - inf at the diagonal.
//
// The result is kept only when it has fewer terms than the group it replaces, so forms that
// do not cancel stay as they are (expanded, one term per monomial).
import * as E from './expr.js';
import { memoTable } from './memo.js';
import * as P from './poly.js';
import * as Q from './rational.js';
import type { Add, Expr, Rat } from './types.js';

interface Algebraic {
  readonly base: Expr;
  readonly poly: P.Poly;
  exp: Rat;
}

interface TermParts {
  readonly coef: Rat;
  /** Base key → polynomial base and its rational exponent. */
  readonly algebraic: Map<string, Algebraic>;
  /** The other factors (transcendental, constants such as pi), unchanged. */
  readonly other: Expr[];
  readonly signature: string;
}

const polyMemo = memoTable<P.Poly | undefined>();
function polyOf(e: Expr): P.Poly | undefined {
  return polyMemo.get(e.key, () => (e.k === 'sym' || e.k === 'add' ? P.fromExpr(e) : undefined));
}

function parts(t: Expr): TermParts {
  const [coef, rest] = E.splitCoeff(t);
  const fs = rest.k === 'mul' ? rest.factors : E.isOne(rest) ? [] : [rest];
  const algebraic = new Map<string, Algebraic>();
  const other: Expr[] = [];
  for (const f of fs) {
    const [base, exp] = f.k === 'pow' ? [f.base, f.exp] : [f, E.ONE];
    const poly = exp.k === 'num' ? polyOf(base) : undefined;
    if (poly && exp.k === 'num') algebraic.set(base.key, { base, poly, exp: exp.v });
    else other.push(f);
  }
  const fractional = [...algebraic.entries()]
    .filter(([, a]) => !Q.isInt(a.exp))
    .map(([k, a]) => `${k}@${Q.toString(Q.sub(a.exp, Q.floor(a.exp)))}`);
  const signature = [...other.map((o) => o.key), ...fractional].sort().join('|');
  return { coef, algebraic, other, signature };
}

/** Does the term have a denominator or a radical that a common denominator could act on? */
function hasDenominatorOrRadical(p: TermParts): boolean {
  for (const a of p.algebraic.values()) if (a.exp.n < 0n || !Q.isInt(a.exp)) return true;
  return false;
}

/** The group's terms over their common denominator, cancelled; undefined if that gives up. */
function combine(group: TermParts[]): Expr | undefined {
  const least = new Map<string, Algebraic>();
  for (const p of group) {
    for (const [k, a] of p.algebraic) {
      const prev = least.get(k);
      least.set(k, { base: a.base, poly: a.poly, exp: prev ? Q.min(prev.exp, a.exp) : a.exp });
    }
  }
  // A base missing from a term has exponent 0 there (only integer exponents can be missing).
  for (const [k, a] of least) if (group.some((p) => !p.algebraic.has(k))) a.exp = Q.min(a.exp, Q.ZERO);
  let numerator: P.Poly = new Map();
  for (const p of group) {
    let term: P.Poly | undefined = P.constant(p.coef);
    for (const [k, a] of least) {
      const e = Q.sub(p.algebraic.get(k)?.exp ?? Q.ZERO, a.exp);
      if (!Q.isInt(e)) return undefined; // cannot happen within a signature group
      const power = P.pow(a.poly, Number(e.n));
      term = power && term && P.mul(term, power);
    }
    if (!term) return undefined;
    numerator = P.add(numerator, term);
  }
  if (numerator.size === 0) return E.ZERO;
  // Cancel denominator factors (negative exponents) that divide the numerator.
  for (const a of least.values()) {
    while (a.exp.n < 0n) {
      const q = P.divExact(numerator, a.poly);
      if (!q) break;
      numerator = q;
      a.exp = Q.add(a.exp, Q.ONE);
    }
  }
  const common = [...least.values()].map((a) => E.pow(a.base, E.num(a.exp)));
  const other = group[0]!.other;
  const expanded = E.mul(E.fromPoly(numerator), ...common, ...other);
  // One radical of a sum B: the numerator in base B, N = r0 + r1 B + ..., each digit reduced by
  // B, gives the group as r0 B^m + r1 B^(m+1) + ...; the form with fewer terms is the canonical
  // one (a tie goes to the digits), whatever shape the source gave the group.
  const radicals = [...least.values()].filter((a) => a.base.k === 'add' && !Q.isInt(a.exp));
  if (radicals.length !== 1) return expanded;
  const B = radicals[0]!;
  const digits = P.radixDigits(numerator, B.poly);
  if (!digits || digits.length < 2) return expanded;
  const rest = [...least.values()].filter((a) => a !== B).map((a) => E.pow(a.base, E.num(a.exp)));
  const inBase = E.add(
    ...digits.map((r, i) => E.mul(E.fromPoly(r), E.pow(B.base, E.num(Q.add(B.exp, Q.rat(i)))), ...rest, ...other)),
  );
  return termCount(inBase) <= termCount(expanded) ? inBase : expanded;
}

/** Does the group hold exactly one radical of a sum (where the digit form is canonical)? */
function hasSumRadical(group: TermParts[]): boolean {
  return group.some((p) => [...p.algebraic.values()].some((a) => a.base.k === 'add' && !Q.isInt(a.exp)));
}

const termCount = (e: Expr) => (e.k === 'add' ? e.terms.length : E.isZero(e) ? 0 : 1);

/**
 * The sum with every group of like-signature terms combined where that cancels (fewer terms
 * than before); undefined when nothing cancels.
 */
const cancelMemo = memoTable<Expr | undefined>(5000);
export function cancelSum(s: Add): Expr | undefined {
  return cancelMemo.get(s.key, () => cancelSumUncached(s));
}

function cancelSumUncached(s: Add): Expr | undefined {
  const all = s.terms.map(parts);
  if (all.filter(hasDenominatorOrRadical).length === 0) return undefined;
  const groups = new Map<string, number[]>();
  all.forEach((p, i) => {
    const g = groups.get(p.signature);
    if (g) g.push(i);
    else groups.set(p.signature, [i]);
  });
  const replaced = new Set<number>();
  const out: Expr[] = [];
  for (const idx of groups.values()) {
    if (idx.length < 2) continue;
    const group = idx.map((i) => all[i]!);
    if (!group.some(hasDenominatorOrRadical)) continue;
    const combined = combine(group);
    if (!combined) continue;
    // Groups with a radical of a sum take their canonical form whenever it differs; others only
    // when it cancels (fewer terms).
    const before = E.add(...idx.map((i) => s.terms[i]!));
    if (combined.key === before.key) continue;
    if (!hasSumRadical(group) && termCount(combined) >= idx.length) continue;
    for (const i of idx) replaced.add(i);
    out.push(combined);
  }
  if (replaced.size === 0) return undefined;
  return E.add(...s.terms.filter((_, i) => !replaced.has(i)), ...out);
}
