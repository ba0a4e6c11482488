// The oracle: what a map's value is at a point, in high precision, from the source as written
// (with its guards read by the guard rule), never from the compiler's own stabilized tree.
//
// - Inside the domain: the formula in 50 digits (inputs rounded at 1e-50; the worst
//   amplification, 1/sqrt(1 - |rho|) at |rho| = 1 - 1e-16, leaves ~40 good digits), checked at
//   60, then at 100 and 200 until two agree; an exact 0 only if it holds to 200.
// - Where the formula is undefined (0/0, inf - inf), on the boundary where its precisions do
//   not agree (cov12^2 = var1*var2 exactly, the diagonal: a formula's sqrt(var1)*sqrt(var2)
//   rounds, and 1/sqrt(1 - rho^2) amplifies any rounding without bound), and outside it (the
//   value is the one at the bound): the limit from inside along cov12, from three points at 1e-15, 1e-25, 1e-35 of
//   the bound, each in 110 digits checked at 125 (and more, until two agree: near rho = -1 a formula's rounding is
//   amplified by 1/sqrt(s), and J_3 vanishes like s^3.5),
//   extrapolated by Aitken's delta-squared (exact for f0 + c s^a, so a limit of 0 is found
//   as 0). If the three do not converge the point is undecided, and callers count it as a
//   failure, never as zero error.
import { decimalClass, evaluateHP, hpFromDouble, type HPNum } from './evaluate.js';
import * as Q from './rational.js';
import type { Tree } from './types.js';

export type Truth =
  | { readonly kind: 'value'; readonly value: number }
  | { readonly kind: 'infinite' }
  | { readonly kind: 'undecided'; readonly why: string };

const HP50 = decimalClass(50);
const PRECISIONS = [HP50, decimalClass(60), decimalClass(100), decimalClass(200)];
/** The quick pair of truthsOfRegularForms: ample for a stabilized tree, which cancels little. */
const QUICK = [HP50, decimalClass(60)] as const;
const STEPS = ['1e-15', '1e-25', '1e-35'] as const;
const LIMIT_PRECISIONS = [decimalClass(110), decimalClass(125), decimalClass(250), decimalClass(400)];

function evaluate(e: Tree, c: HPNum, v1: HPNum, v2: HPNum, memo?: Map<string, HPNum>): HPNum | undefined {
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
function limitFromInside(e: Tree, cov12: number, var1: number, var2: number, atBound: boolean): Truth {
  // Each sample in 120 digits, checked at 240: near rho = -1 a formula's rounding is amplified by
  // 1/sqrt(s), and it may cancel to s^3.5 (J_3), far below its terms.
  const sample = (s: string) =>
    agreeingValue((D) => {
      const V1 = hpFromDouble(var1, D);
      const V2 = hpFromDouble(var2, D);
      const B = V1.mul(V2).sqrt();
      if (B.isZero()) return undefined;
      const C0 = atBound ? (cov12 < 0 ? B.neg() : B) : hpFromDouble(cov12, D);
      // Toward the inside: |cov12| shrinks (at cov12 = 0, toward -bound).
      return evaluate(e, C0.isZero() ? B.neg().mul(s) : C0.sub(C0.mul(s)), V1, V2);
    }, LIMIT_PRECISIONS);
  if (var1 === 0 || var2 === 0) return { kind: 'undecided', why: 'undefined at a zero variance' };
  const f = STEPS.map(sample);
  if (f.some((x) => x === undefined)) return { kind: 'undecided', why: 'undefined near the point' };
  const [f1, f2, f3] = f as [HPNum, HPNum, HPNum];
  const D = LIMIT_PRECISIONS[LIMIT_PRECISIONS.length - 1]!;
  const scale = D.max(f1.abs(), f2.abs(), f3.abs());
  if (f3.abs().gt(f2.abs().mul(100)) && f2.abs().gt(f1.abs().mul(100))) return { kind: 'infinite' };
  const d1 = f2.sub(f1);
  const d2 = f3.sub(f2);
  if (d2.abs().gt(d1.abs().mul('1e-3')) && d2.abs().gt(scale.mul('1e-40')))
    return { kind: 'undecided', why: 'no limit found' };
  const den = d2.sub(d1);
  const limit = den.isZero() ? f3 : f3.sub(d2.mul(d2).div(den));
  // Aitken's estimate is good to about the next difference, d2^2/d1: a limit below that is 0.
  const resolution = D.max(d1.isZero() ? 0 : d2.mul(d2).div(d1).abs().mul(10), scale.mul('1e-100'));
  return { kind: 'value', value: limit.abs().lte(resolution) ? 0 : limit.toNumber() };
}

/** f at increasing precision until two agree to 1e-25 relative (the last one otherwise). */
function agreeingValue(
  f: (D: typeof HP50) => HPNum | undefined,
  precisions: readonly (typeof HP50)[],
): HPNum | undefined {
  let prev: HPNum | undefined;
  for (const D of precisions) {
    const x = f(D);
    if (!x) return undefined;
    if (prev && x.sub(prev).abs().lte(x.abs().mul('1e-25'))) return x;
    prev = x;
  }
  return prev;
}

/**
 * The value of e at (cov12, var1, var2). Outside the Cauchy–Schwarz bound the point is taken
 * at the bound (a kernel's value there; rounding in a Dense layer puts inputs just outside).
 */
export function truthAt(e: Tree, cov12: number, var1: number, var2: number): Truth {
  const cc = Q.mul(Q.fromNumber(cov12), Q.fromNumber(cov12));
  const p = Q.mul(Q.fromNumber(var1), Q.fromNumber(var2));
  const outside = Q.cmp(cc, p) > 0;
  const bound = onBound(cov12, var1, var2);
  if (!outside) {
    // On the bound too, where the formula is defined there and its precisions agree (a map
    // analytic in cov12, such as a sum of exponentials: the limit's resolution, about 1e-34 of
    // its slope, read 1.0e-66 as 0); a formula whose rounding the bound amplifies never agrees.
    const direct = agreeing((D) => evaluate(e, hpFromDouble(cov12, D), hpFromDouble(var1, D), hpFromDouble(var2, D)));
    if (direct?.kind === 'value') return direct;
    if (direct && !bound) return direct;
  }
  return limitFromInside(e, cov12, var1, var2, outside || bound);
}

/**
 * A value computed at increasing precision until two precisions agree to 1e-25 relative (a
 * formula may cancel to far below its terms: J_2 near rho = -1 to theta^5, 37 digits at
 * 1 - |rho| = 1e-15); undefined if it is undefined or never agrees.
 */
function agreeing(f: (D: typeof HP50) => HPNum | undefined, precisions = PRECISIONS): Truth | undefined {
  let prev: HPNum | undefined;
  for (const D of precisions) {
    const x = f(D);
    if (!x) return undefined;
    // An exact 0 agrees only at the last precision: terms that cancel below one precision give
    // 0 at every precision short of it ((sin(x) + 1/2)^2's derivative at rho = -1, var = 75:
    // 1.0e-66 from terms of 1/2).
    const last = D === precisions[precisions.length - 1];
    if (prev && x.sub(prev).abs().lte(x.abs().mul('1e-25')) && (!x.isZero() || last))
      return { kind: 'value', value: x.toNumber() };
    prev = x;
  }
  return { kind: 'undecided', why: `no agreement up to ${precisions[precisions.length - 1]!.precision} digits` };
}

/**
 * The values of forms without singular terms (a stabilized map and its derivative) at one point,
 * projected onto the bound, in 50 digits with their common subexpressions evaluated once,
 * checked at 60; truthAt (more digits, or the limit) only where that does not agree, and only
 * if `escalate` (else that point is undecided: the compile-time choice skips it rather than spend
 * seconds on it).
 */
export function truthsOfRegularForms(
  es: readonly Tree[],
  cov12: number,
  var1: number,
  var2: number,
  escalate = true,
): Truth[] {
  // Outside the bound, the point on it (a stabilized tree's gap is then 0 and its rho ±1 exactly).
  const inside = (D: typeof HP50): [HPNum, HPNum, HPNum] => {
    const [C, V1, V2] = [hpFromDouble(cov12, D), hpFromDouble(var1, D), hpFromDouble(var2, D)];
    const bound = V1.mul(V2).sqrt();
    return [C.abs().gt(bound) ? (cov12 < 0 ? bound.neg() : bound) : C, V1, V2];
  };
  const [c, V1, V2] = inside(QUICK[0]);
  const memo = new Map<string, HPNum>();
  const memo40 = new Map<string, HPNum>();
  const at40 = () => inside(QUICK[1]);
  return es.map((e) => {
    const direct = evaluate(e, c, V1, V2, memo);
    if (!direct) return escalate ? truthAt(e, cov12, var1, var2) : { kind: 'undecided', why: 'undefined in 50 digits' };
    // Checked at 60 digits (a form may cancel far below its terms): 1e-20 is ample to round to
    // a double.
    const [C1, W1, W2] = at40();
    const again = evaluate(e, C1, W1, W2, memo40);
    if (again && !again.isZero() && again.sub(direct).abs().lte(again.abs().mul('1e-20')))
      return { kind: 'value', value: again.toNumber() };
    return escalate ? truthAt(e, cov12, var1, var2) : { kind: 'undecided', why: '50 and 60 digits disagree' };
  });
}
