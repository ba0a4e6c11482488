// The small-angle series of the arc-cosine family (a stabilize rewrite). A sum of terms
// coefficient × cov12^i × gap^(j/2) × (var1 var2)^k × theta^e (e ≤ 1) with theta =
// angle(sqrt(gap), ±cov12) is, in polar form (±cov12 = r cos phi, sqrt(gap) = r sin phi,
// r^2 = var1 var2, phi = theta), K × r^n × F(phi) with F(phi) = sum of c cos^p sin^q phi^e.
// Near rho = ∓1 (phi → 0) its terms cancel to a high order: J_2 is (4/15) phi^5 against terms of
// order phi, J_3 is of order phi^7. F's Taylor series, with exact rational coefficients
// computed here, has no cancellation: at phi < PHI_MAX the sum is evaluated as
// K r^n phi^k0 (a0 + a1 phi + ...), elsewhere as written.
import * as E from './expr.js';
import { memoTable } from './memo.js';
import * as P from './poly.js';
import * as Q from './rational.js';
import * as S from './series.js';
import type { Expr, Fn, Rat } from './types.js';

/** The series is used below at most this angle; its coefficients are taken until the tail there is < 2^-60. */
export const PHI_MAX = 2.5;
const TERMS = 64;

const GAP = P.sub(P.mul(P.variable('var1'), P.variable('var2'))!, P.variable('cov12', 2));
const isGap = (e: Expr) => {
  const p = e.k === 'add' ? P.fromExpr(e) : undefined;
  return !!p && P.sub(p, GAP).size === 0;
};

const trigMemo = memoTable<S.Series>(200);
/** cos^p sin^q as a series of n terms (memoized: the same powers recur in every J_n). */
function trigPower(p: number, q: number, n: number): S.Series {
  return trigMemo.get(`${p},${q},${n}`, () => S.mul(S.pow(S.cos(n), p), S.pow(S.sin(n), q)));
}

/** angle(sqrt(var1*var2 - cov12^2), s*cov12) with s = ±1: s, else undefined. */
function polarAngle(f: Expr): 1 | -1 | undefined {
  if (f.k !== 'fn' || f.name !== 'angle') return undefined;
  const [y, x] = f.args as [Expr, Expr];
  if (!(y.k === 'pow' && y.exp.k === 'num' && Q.eq(y.exp.v, Q.HALF) && isGap(y.base))) return undefined;
  if (x.key === E.COV12.key) return 1;
  if (x.key === E.neg(E.COV12).key) return -1;
  return undefined;
}

interface PolarTerm {
  coef: Rat;
  p: number;
  q: number;
  e: number;
  group: string;
  constant: Expr;
  param: Expr;
  r: Rat;
}

/** A term in polar form, or undefined. */
function polar(t: Expr, angleKey: string, s: 1 | -1): PolarTerm | undefined {
  let [coef, rest] = E.splitCoeff(t);
  const fs = rest.k === 'mul' ? rest.factors : E.isOne(rest) ? [] : [rest];
  let p = 0,
    q = 0,
    e = 0;
  let r = Q.ZERO;
  let a = Q.ZERO,
    b = Q.ZERO;
  const constant: Expr[] = [];
  for (const f of fs) {
    if (f.key === angleKey) {
      e++;
      continue;
    }
    const [base, exp] = f.k === 'pow' ? [f.base, f.exp] : [f, E.ONE];
    if (exp.k !== 'num') return undefined;
    const k = exp.v;
    if (base.key === E.COV12.key) {
      if (!Q.isInt(k) || k.n < 0n) return undefined;
      p += Number(k.n); // cov12 = s r cos(phi)
      r = Q.add(r, k);
      if (s < 0 && k.n % 2n === 1n) coef = Q.neg(coef);
    } else if (isGap(base)) {
      const twice = Q.mul(k, Q.rat(2));
      if (!Q.isInt(twice) || twice.n < 0n) return undefined;
      q += Number(twice.n); // sqrt(gap) = r sin(phi)
      r = Q.add(r, twice);
    } else if (base.key === E.VAR1.key) a = Q.add(a, k);
    else if (base.key === E.VAR2.key) b = Q.add(b, k);
    else if (base.k === 'num' || (base.k === 'sym' && base.name === 'pi')) constant.push(f);
    else return undefined;
  }
  if (e > 1) return undefined;
  // var1^a var2^b = (var1 var2)^m var1^(a-m) var2^(b-m), (var1 var2)^m = r^(2m).
  const m = Q.min(a, b);
  r = Q.add(r, Q.mul(m, Q.rat(2)));
  const param = E.mul(E.pow(E.VAR1, E.num(Q.sub(a, m))), E.pow(E.VAR2, E.num(Q.sub(b, m))));
  const K = E.mul(...constant);
  return { coef, p, q, e, constant: K, param, r, group: `${K.key}|${param.key}|${Q.toString(r)}` };
}

/** The series rewrite of a sum, or undefined when it does not apply or would not help. */
export function smallAngleSeries(s: Expr): Expr | undefined {
  if (s.k !== 'add') return undefined;
  let angle: Fn | undefined;
  let sign: 1 | -1 | undefined;
  for (const t of s.terms) {
    for (const f of t.k === 'mul' ? t.factors : [t]) {
      const sg = polarAngle(f);
      if (sg === undefined) continue;
      if (angle && f.key !== angle.key) return undefined;
      angle = f as Fn;
      sign = sg;
    }
  }
  if (!angle || !sign) return undefined;
  const terms = s.terms.map((t) => polar(t, angle!.key, sign!));
  if (terms.some((t) => !t) || new Set(terms.map((t) => t!.group)).size !== 1) return undefined;
  const series = (n: number) => {
    let F: S.Series = S.zeros(n);
    for (const t of terms as PolarTerm[]) F = S.add(F, S.mul(trigPower(t.p, t.q, n), S.monomial(t.e, n)), t.coef);
    return F;
  };
  const lowest = Math.min(...(terms as PolarTerm[]).map((t) => t.q + t.e));
  // A short series first: most sums (one angle term, or no cancellation) stop here.
  const short = series(lowest + 3);
  const first = short.findIndex((c) => !Q.isZero(c));
  if (first >= 0 && first <= lowest + 1) return undefined; // at most one order cancels: little to gain
  const F = series(TERMS);
  const k0 = F.findIndex((c) => !Q.isZero(c));
  if (k0 < 0) return E.ZERO;
  if (k0 <= lowest + 1) return undefined;
  // Where the series is the more accurate (measured on J_2, J_3: the sum as written, accumulated
  // in double-double, errs by about a fifth of a bit per unit of its condition number, the sum
  // of the terms' magnitudes over the value; the series by 1-1.7 bits, from phi^k0 of a rounded
  // phi): below the first angle where that condition number falls to 3.
  const cond = (phi: number) => {
    const parts = (terms as PolarTerm[]).map(
      (t) => Q.toNumber(t.coef) * Math.cos(phi) ** t.p * Math.sin(phi) ** t.q * phi ** t.e,
    );
    return parts.reduce((a, b) => a + Math.abs(b), 0) / Math.abs(parts.reduce((a, b) => a + b, 0));
  };
  let phiMax = 0.05;
  while (phiMax < PHI_MAX && !(cond(phiMax) <= 3)) phiMax += 0.05;
  // Coefficients from k0 until the tail at phiMax is below 2^-60 of F(phiMax).
  const values = F.map((c) => Q.toNumber(c));
  const at = (n: number) => values.slice(k0, n).reduce((acc, c, j) => acc + Math.abs(c) * phiMax ** (k0 + j), 0);
  const total = Math.abs(values.reduce((acc, c, k) => acc + c * phiMax ** k, 0));
  let n = k0 + 1;
  while (n < TERMS && at(TERMS) - at(n) > 2 ** -60 * total) n++;
  if (n >= TERMS - 2) return undefined;
  const t0 = terms[0]!;
  const scale = E.mul(t0.constant, t0.param, E.pow(E.mul(E.VAR1, E.VAR2), E.num(Q.div(t0.r, Q.rat(2)))));
  const [y, x] = angle.args as [Expr, Expr];
  return E.fn('smallangle', [
    y,
    x,
    scale,
    s,
    E.num(Q.fromNumber(phiMax)),
    E.num(k0),
    ...F.slice(k0, n).map((c) => E.num(c)),
  ]);
}
