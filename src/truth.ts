// The oracle: what a map's value is at a point, in high precision, from the source as written
// (with its guards read by the guard rule), never from the compiler's own stabilized tree.
//
// - Inside the domain: the formula in 50 digits (inputs rounded at 1e-50; the worst
//   amplification, 1/sqrt(1 - |rho|) at |rho| = 1 - 1e-16, leaves ~40 good digits).
// - Where the formula is undefined (0/0, inf - inf), and on or outside the boundary
//   (cov12^2 = var1*var2 exactly, the diagonal: a formula's sqrt(var1)*sqrt(var2) rounds, and
//   1/sqrt(1 - rho^2) amplifies any rounding without bound; outside, the value is the one at
//   the bound): the limit from inside along cov12, from three points at 1e-15, 1e-25, 1e-35 of
//   the bound, in 120 digits,
//   extrapolated by Aitken's delta-squared (exact for f0 + c s^a, so a limit of 0 is found
//   as 0). If the three do not converge the point is undecided, and callers count it as a
//   failure, never as zero error.
import { decimalClass, evaluateHP, hpFromDouble, type HPNum } from './evaluate.js';
import * as Q from './rational.js';
import type { Expr } from './types.js';

export type Truth =
  | { readonly kind: 'value'; readonly value: number }
  | { readonly kind: 'infinite' }
  | { readonly kind: 'undecided'; readonly why: string };

const HP50 = decimalClass(50);
const HP120 = decimalClass(120);
const STEPS = ['1e-15', '1e-25', '1e-35'] as const;

function evaluate(e: Expr, c: HPNum, v1: HPNum, v2: HPNum, memo?: Map<string, HPNum>): HPNum | undefined {
  try {
    const x = evaluateHP(e, { cov12: c, var1: v1, var2: v2 }, memo);
    return x.isFinite() ? x : undefined;
  } catch {
    return undefined;
  }
}

/** Exactly cov12^2 = var1*var2 (the bound), in rationals. */
function onBound(c: number, v1: number, v2: number): boolean {
  const C = Q.fromNumber(c);
  return Q.eq(Q.mul(C, C), Q.mul(Q.fromNumber(v1), Q.fromNumber(v2)));
}

/** The limit of e as cov12 → the bound (or the point) from inside, by Aitken's delta-squared. */
function limitFromInside(e: Expr, cov12: number, var1: number, var2: number, atBound: boolean): Truth {
  const V1 = hpFromDouble(var1, HP120);
  const V2 = hpFromDouble(var2, HP120);
  const B = V1.mul(V2).sqrt();
  if (B.isZero()) return { kind: 'undecided', why: 'undefined at a zero variance' };
  const C0 = atBound ? (cov12 < 0 ? B.neg() : B) : hpFromDouble(cov12, HP120);
  // Toward the inside: |cov12| shrinks (at cov12 = 0, toward -bound).
  const at = (s: string) => evaluate(e, C0.isZero() ? B.neg().mul(s) : C0.sub(C0.mul(s)), V1, V2);
  const f = STEPS.map(at);
  if (f.some((x) => x === undefined)) return { kind: 'undecided', why: 'undefined near the point' };
  const [f1, f2, f3] = f as [HPNum, HPNum, HPNum];
  const scale = HP120.max(f1.abs(), f2.abs(), f3.abs());
  if (f3.abs().gt(f2.abs().mul('1e6')) && f2.abs().gt(f1.abs().mul('1e6'))) return { kind: 'infinite' };
  const d1 = f2.sub(f1);
  const d2 = f3.sub(f2);
  if (d2.abs().gt(d1.abs().mul('1e-3')) && d2.abs().gt(scale.mul('1e-40'))) return { kind: 'undecided', why: 'no limit found' };
  const den = d2.sub(d1);
  const limit = den.isZero() ? f3 : f3.sub(d2.mul(d2).div(den));
  // Aitken's estimate is good to about the next difference, d2^2/d1: a limit below that is 0.
  const resolution = HP120.max(d1.isZero() ? 0 : d2.mul(d2).div(d1).abs().mul(10), scale.mul('1e-100'));
  return { kind: 'value', value: limit.abs().lte(resolution) ? 0 : limit.toNumber() };
}

/**
 * The value of e at (cov12, var1, var2). Outside the Cauchy–Schwarz bound the point is taken
 * at the bound (a kernel's value there; rounding in a Dense layer puts inputs just outside).
 */
export function truthAt(e: Expr, cov12: number, var1: number, var2: number): Truth {
  const cc = Q.mul(Q.fromNumber(cov12), Q.fromNumber(cov12));
  const p = Q.mul(Q.fromNumber(var1), Q.fromNumber(var2));
  const outside = Q.cmp(cc, p) > 0;
  if (!outside && !onBound(cov12, var1, var2)) {
    const direct = evaluate(e, hpFromDouble(cov12, HP50), hpFromDouble(var1, HP50), hpFromDouble(var2, HP50));
    if (direct) return { kind: 'value', value: direct.toNumber() };
  }
  return limitFromInside(e, cov12, var1, var2, outside || onBound(cov12, var1, var2));
}

/**
 * The values of forms without singular terms (the canonical map and its derivative) at one
 * point, projected onto the bound, in 50 digits with their common subexpressions evaluated
 * once; the limit (truthAt) only where a form is undefined there.
 */
export function truthsOfRegularForms(es: readonly Expr[], cov12: number, var1: number, var2: number): Truth[] {
  const [C, V1, V2] = [hpFromDouble(cov12, HP50), hpFromDouble(var1, HP50), hpFromDouble(var2, HP50)];
  const bound = V1.mul(V2).sqrt();
  const c = C.abs().gt(bound) ? (cov12 < 0 ? bound.neg() : bound) : C;
  const memo = new Map<string, HPNum>();
  return es.map((e) => {
    const direct = evaluate(e, c, V1, V2, memo);
    return direct ? { kind: 'value', value: direct.toNumber() } : truthAt(e, cov12, var1, var2);
  });
}
