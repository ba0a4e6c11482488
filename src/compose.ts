// Kernel composition: a map written as outer(inner(cov12, var1, var2), w1(var1), w2(var2)), a
// helper def applied to another kernel's value and its variances (two layers, as a user writes
// relu's map of relu's map). As one expression its inner value reaches the outer's
// Cauchy–Schwarz bound only to rounding, so the outer's arccos or square root sees |rho| > 1 on
// the diagonal (NaN), its clip differentiates to 0 there, and the outer's gap cancels. Compiled as
// two kernels instead, each has its own stable code, and the outer's prologue projects the inner
// value onto its bound: the diagonal is exact, d = outer' · inner' by the chain rule.
//
// Found from the calls lowering inlined (lower.ts InlinedCall), and taken only where it is
// one: exactly one argument reads cov12 (the inner value), one only var1 and one only var2 (the
// variances), the others neither; both the inner and the outer read their cov through a function
// or a root (a polynomial outer, or an affine inner, loses nothing as one expression); and, in 50
// digits, the variances are the inner map's own diagonal, the inner value is within their
// Cauchy–Schwarz bound, and outer(inner, w1, w2) is the map, at sampled points.
import { HP, evaluateHP, hpFromDouble, type HPNum } from './evaluate.js';
import { samplePoints } from './measure.js';
import { COV12, ONE, VAR1, VAR2, ZERO, isOne, isZero, mentions, num, some, splitCoeff } from './node.js';
import * as Q from './rational.js';
import { add, mul, sub } from './expr.js';
import type { Expr, InlinedCall } from './types.js';

/**
 * A map as outer(inner, w1, w2): the outer with its cov and variances as cov12, var1, var2 (a
 * constant multiple and shift of the map folded in), the inner with the calls inlined into it
 * (where it may be a composition again).
 */
export interface Composition {
  /**
   * Where the inner value is on the outer's bound whenever its input is on its own, at either
   * sign (inner(±sqrt(var1 var2), var1, var2)^2 = w1 w2: relu's map at +, an odd homogeneous
   * map's at -): there the outer's distance to its bound starts at 0 exactly (emit/chain.ts).
   */
  readonly tight: { readonly plus: boolean; readonly minus: boolean };
  readonly inner: Expr;
  readonly innerCalls: readonly InlinedCall[];
  readonly outer: Expr;
}

/**
 * Relative agreement in 50 digits that counts as equal: on a bound, an arccos or square root
 * turns a rounding of 1e-50 in its argument into 1e-25 (sqrt(var1) sqrt(var2) is not exact).
 */
const AGREE = '1e-20';
// Squares of dyadics: each sqrt(var) is exact in 50 digits, so that a source's
// arccos(cov12 / sqrt(var1 var2)) without a clip is at 1 on the bound, not past it.
const DIAGONAL_VARIANCES = [0.140625, 1, 9.765625, 420.25];
const TIGHT_VARIANCES = [
  [1, 1],
  [0.25, 4],
  [0.0625, 2.25],
  [4, 0.140625],
] as const;

/** The composition whose value the map is, if it is one (above); undefined otherwise. */
export function compositionOf(map: Expr, calls: readonly InlinedCall[]): Composition | undefined {
  // The map is the call's value, or a constant multiple of it plus a constant (2 * relu's map).
  let call: InlinedCall | undefined;
  let affine: { readonly scale: Expr; readonly shift: Expr } | undefined;
  for (const c of calls) {
    affine = affineIn(map, c.result);
    if (affine) {
      call = c;
      break;
    }
  }
  if (!call || !affine) return undefined;
  const roles: string[] = call.args.map((a) =>
    mentions(a, 'cov12')
      ? 'cov'
      : mentions(a, 'var1') && mentions(a, 'var2')
        ? 'both'
        : mentions(a, 'var1')
          ? 'var1'
          : mentions(a, 'var2')
            ? 'var2'
            : 'constant',
  );
  const only = (role: string) => (roles.filter((r) => r === role).length === 1 ? roles.indexOf(role) : -1);
  const [ic, i1, i2] = [only('cov'), only('var1'), only('var2')];
  if (ic < 0 || i1 < 0 || i2 < 0 || roles.includes('both')) return undefined;
  const inner = call.args[ic]!;
  if (!readsCovThroughFunction(inner)) return undefined;
  const bindings = new Map([
    [call.params[ic]!, COV12],
    [call.params[i1]!, VAR1],
    [call.params[i2]!, VAR2],
  ]);
  let outer: { readonly expr: Expr };
  try {
    outer = call.again(bindings);
  } catch {
    return undefined;
  }
  if (!readsCovThroughFunction(outer.expr)) return undefined;
  const outerMap =
    isOne(affine.scale) && isZero(affine.shift) ? outer.expr : add(mul(affine.scale, outer.expr), affine.shift);
  const innerCalls = calls.slice(0, calls.indexOf(call));
  try {
    if (!isComposition(map, inner, call.args[i1]!, call.args[i2]!, outerMap)) return undefined;
  } catch {
    return undefined; // a value the checks cannot evaluate: not shown to be one
  }
  let tight;
  try {
    tight = { plus: tightAt(inner, 1), minus: tightAt(inner, -1) };
  } catch {
    tight = { plus: false, minus: false };
  }
  return {
    tight,
    inner,
    innerCalls,
    outer: outerMap,
  };
}

/** inner(s sqrt(var1 var2), var1, var2) = s sqrt(w1 w2) in 50 digits, unequal variances included. */
function tightAt(inner: Expr, s: 1 | -1): boolean {
  for (const [v1, v2] of TIGHT_VARIANCES) {
    const [a, b] = [hpFromDouble(v1), hpFromDouble(v2)];
    const bound = a.mul(b).sqrt().mul(s);
    const k = evaluateHP(inner, { cov12: bound, var1: a, var2: b });
    const w = evaluateHP(inner, { cov12: a, var1: a, var2: a })
      .mul(evaluateHP(inner, { cov12: b, var1: b, var2: b }))
      .sqrt()
      .mul(s);
    if (!k.isFinite() || !w.isFinite() || w.isZero() || k.sub(w).abs().gt(w.abs().mul(AGREE))) return false;
  }
  return true;
}

/**
 * map = scale * value + shift with constant scale and shift, where the canonical constructors
 * may have spread the scale over a sum's terms: the scale from one term of value matched in
 * map, then map - scale * value must be a constant.
 */
function affineIn(map: Expr, value: Expr): { scale: Expr; shift: Expr } | undefined {
  if (map === value) return { scale: ONE, shift: ZERO };
  const terms = (e: Expr) => (e.k === 'add' ? e.terms : [e]);
  const probe = terms(value).find((t) => t.k !== 'num');
  if (!probe) return undefined;
  const [cv, rest] = splitCoeff(probe);
  const match = terms(map).find((t) => splitCoeff(t)[1].key === rest.key);
  if (!match) return undefined;
  const scale = num(Q.div(splitCoeff(match)[0], cv));
  const shift = sub(map, mul(scale, value));
  return shift.k === 'num' ? { scale, shift } : undefined;
}

/** Reads cov12 inside a function or a non-integer power (not a polynomial in it). */
function readsCovThroughFunction(e: Expr): boolean {
  return some(
    e,
    (x: Expr) =>
      (x.k === 'fn' && mentions(x, 'cov12')) ||
      (x.k === 'pow' && mentions(x.base, 'cov12') && !(x.exp.k === 'num' && x.exp.v.d === 1n)),
  );
}

function isComposition(map: Expr, inner: Expr, w1: Expr, w2: Expr, outer: Expr): boolean {
  const at = (c: HPNum, v1: HPNum, v2: HPNum) => ({ cov12: c, var1: v1, var2: v2 });
  const same = (x: HPNum, y: HPNum) =>
    x.isFinite() && y.isFinite() && !x.sub(y).abs().gt(HP.max(x.abs(), y.abs()).mul(AGREE));
  // The variances are the inner map's diagonal: there inner is w1 = w2, on its bound.
  for (const v of DIAGONAL_VARIANCES) {
    const x = hpFromDouble(v);
    const k = evaluateHP(inner, at(x, x, x));
    if (!same(evaluateHP(w1, at(x, x, x)), k) || !same(evaluateHP(w2, at(x, x, x)), k)) return false;
  }
  for (const [c, v1, v2] of [...samplePoints('interior', 6, 71), ...samplePoints('near', 4, 72)]) {
    const p = at(hpFromDouble(c), hpFromDouble(v1), hpFromDouble(v2));
    const k = evaluateHP(inner, p);
    const [a, b] = [evaluateHP(w1, p), evaluateHP(w2, p)];
    // Inside the bound: k^2 <= w1 w2 (w1, w2 >= 0).
    if (!k.isFinite() || a.isNeg() || b.isNeg() || k.mul(k).gt(a.mul(b).mul(HP.add(1, AGREE)))) return false;
    // And the map is the outer at (k, w1, w2).
    if (!same(evaluateHP(outer, at(k, a, b)), evaluateHP(map, p))) return false;
  }
  return true;
}
