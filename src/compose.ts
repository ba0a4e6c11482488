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
// variances; constants in the helper's parameter order), the others neither; the outer reads its
// cov through a function or a root (a polynomial outer loses nothing as one expression), and so
// does the inner, or it is a Dense layer's affine map with a bias; the variances are proved to be
// the inner map's own diagonal (symbolically); and, in 50 digits, the inner value is within their
// Cauchy–Schwarz bound and outer(inner, w1, w2) is the map, at sampled points.
import { HP, evaluateHP, hpFromDouble, type HPNum } from './evaluate.js';
import { samplePoints } from './measure.js';
import { COV12, ONE, VAR1, VAR2, ZERO, isOne, isZero, mentions, num, some, splitCoeff } from './node.js';
import * as Q from './rational.js';
import { add, mul, pow, rebuild, sub } from './expr.js';
import { simplify } from './simplify.js';
import type { Expr, InlinedCall } from './types.js';

/**
 * A map as outer(inner, w1, w2): the outer with its cov and variances as cov12, var1, var2 (a
 * constant multiple and shift of the map folded in), the inner with the calls inlined into it
 * (where it may be a composition again).
 */
export interface Composition {
  /**
   * Where the inner value is on the outer's bound whenever its input is on its own: per side of
   * the inner's bound (plus: cov12 = sqrt(var1 var2), minus: its negative), the sign of the
   * outer's bound it meets there at every variance (inner(±sqrt(var1 var2), var1, var2) =
   * ±sqrt(w1 w2): relu's map at plus meets +; an even map such as |x|'s at minus meets +; an odd
   * homogeneous one at minus meets -), or 0 where it does not (erf's map at unequal variances).
   * Only there is the outer's distance to its bound integrated (emit/chain.ts): it starts at 0.
   */
  readonly tight: { readonly plus: -1 | 0 | 1; readonly minus: -1 | 0 | 1 };
  /** The same at equal variances only (erf's map: odd, and at var1 = var2 on both bounds). */
  readonly tightEqual: { readonly plus: -1 | 0 | 1; readonly minus: -1 | 0 | 1 };
  readonly inner: Expr;
  /** The calls inlined before the outer one (the inner's, and the variances'): where a nested composition is found. */
  readonly innerCalls: readonly InlinedCall[];
  readonly outer: Expr;
  /** An affine inner, a Dense layer's (scale cov12 + shift with a bias shift > 0): no inner kernel to compile. */
  readonly dense?: { readonly scale: number; readonly shift: number };
}

/**
 * Relative agreement in 50 digits that counts as equal: on a bound, an arccos or square root
 * turns a rounding of 1e-50 in its argument into 1e-25 (sqrt(var1) sqrt(var2) is not exact).
 */
const AGREE = '1e-20';
// Squares of dyadics: each sqrt(var) is exact in 50 digits, so that a source's
// arccos(cov12 / sqrt(var1 var2)) without a clip is at 1 on the bound, not past it.
const DIAGONAL_VARIANCES = [0.140625, 1, 9.765625, 420.25];
const TIGHT_VARIANCES: readonly (readonly [number, number])[] = [
  [1, 1],
  [0.140625, 0.140625],
  [9, 9],
  [0.25, 4],
  [0.0625, 2.25],
  [4, 0.140625],
];

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
  let [ic, i1, i2] = [only('cov'), only('var1'), only('var2')];
  // A variance may be a constant (an RBF map's diagonal is 1): then (cov, var1, var2) in the
  // order of the kernel's own parameters, as nngp_fn takes them.
  if (
    ic === 0 &&
    call.args.length === 3 &&
    (roles[1] === 'var1' || roles[1] === 'constant') &&
    (roles[2] === 'var2' || roles[2] === 'constant')
  )
    [i1, i2] = [1, 2];
  if (ic < 0 || i1 < 0 || i2 < 0 || roles.includes('both')) return undefined;
  const inner = call.args[ic]!;
  // An affine inner is a Dense layer's (scale cov12 + shift, its variances likewise): one
  // expression already, unless the shift (a bias variance) moves the outer's bound off
  // var1 var2 - cov12^2; then the outer's gap has a closed form (emit/chain.ts).
  const dense = readsCovThroughFunction(inner) ? undefined : denseLayer(inner, call.args[i1]!, call.args[i2]!);
  if (!readsCovThroughFunction(inner) && !dense) return undefined;
  const bindings = new Map([
    [call.params[ic]!, COV12],
    [call.params[i1]!, VAR1],
    [call.params[i2]!, VAR2],
  ]);
  let outer: Expr;
  try {
    outer = call.again(bindings);
  } catch {
    return undefined;
  }
  if (!readsCovThroughFunction(outer)) return undefined;
  const outerMap = isOne(affine.scale) && isZero(affine.shift) ? outer : add(mul(affine.scale, outer), affine.shift);
  const innerCalls = calls.slice(0, calls.indexOf(call));
  try {
    if (!isComposition(map, inner, innerCalls, call.args[i1]!, call.args[i2]!, outerMap)) return undefined;
  } catch {
    return undefined; // a value the checks cannot evaluate: not shown to be one
  }
  let tight: Composition['tight'] = { plus: 0, minus: 0 };
  let tightEqual: Composition['tight'] = { plus: 0, minus: 0 };
  try {
    tight = { plus: tightAt(inner, 1, TIGHT_VARIANCES), minus: tightAt(inner, -1, TIGHT_VARIANCES) };
    const equal = TIGHT_VARIANCES.filter(([a, b]) => a === b);
    tightEqual = { plus: tightAt(inner, 1, equal), minus: tightAt(inner, -1, equal) };
  } catch {
    // not shown tight
  }
  return {
    tight,
    tightEqual,
    inner,
    innerCalls,
    ...(dense ? { dense } : {}),
    outer: outerMap,
  };
}

/**
 * inner = a cov12 + b with w1 = a var1 + b, w2 = a var2 + b, a > 0 and b > 0 (a Dense layer's
 * weight and bias variances): {a, b}; else undefined (b = 0 scales the bound with the map).
 */
function denseLayer(inner: Expr, w1: Expr, w2: Expr): { scale: number; shift: number } | undefined {
  const b = simplify(rebuild(inner, (x) => (x.k === 'sym' && x.name === 'cov12' ? ZERO : x)));
  const scale = simplify(mul(sub(inner, b), pow(COV12, num(-1))));
  if (scale.k !== 'num' || b.k !== 'num' || scale.v.n <= 0n || b.v.n <= 0n) return undefined;
  for (const [w, v] of [
    [w1, VAR1],
    [w2, VAR2],
  ] as const)
    if (!isZero(simplify(sub(w, add(mul(scale, v), b))))) return undefined;
  return { scale: Q.toNumber(scale.v), shift: Q.toNumber(b.v) };
}

/** The sign σ with inner(s sqrt(var1 var2), var1, var2) = σ sqrt(w1 w2) in 50 digits at every sampled pair (unequal included), else 0. */
function tightAt(inner: Expr, s: 1 | -1, pairs: readonly (readonly [number, number])[]): -1 | 0 | 1 {
  let sign: -1 | 0 | 1 = 0;
  for (const [v1, v2] of pairs) {
    const [a, b] = [hpFromDouble(v1), hpFromDouble(v2)];
    const k = evaluateHP(inner, { cov12: a.mul(b).sqrt().mul(s), var1: a, var2: b });
    const w = evaluateHP(inner, { cov12: a, var1: a, var2: a })
      .mul(evaluateHP(inner, { cov12: b, var1: b, var2: b }))
      .sqrt();
    if (!k.isFinite() || !w.isFinite() || w.isZero() || k.abs().sub(w).abs().gt(w.mul(AGREE))) return 0;
    const here = k.isNeg() ? -1 : 1;
    if (sign !== 0 && here !== sign) return 0;
    sign = here;
  }
  return sign;
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

/**
 * inner(v, v, v) for v = var1 or var2: lowered again from the call it is the value of (so that a
 * source's own inner(var1, var1, var1) is the same canonical expression), else substituted.
 */
function diagonalOf(inner: Expr, calls: readonly InlinedCall[], v: Expr, depth = 0): Expr {
  const at = (e: Expr) =>
    rebuild(e, (x) => (x.k === 'sym' && (x.name === 'cov12' || x.name === 'var1' || x.name === 'var2') ? v : x));
  if (inner.k === 'sym' || depth > 16) return at(inner);
  for (const c of calls) {
    const affine = affineIn(inner, c.result);
    if (!affine) continue;
    try {
      // the cov argument's own diagonal (an inner composition's), the others substituted
      const arg = (a: Expr) => (mentions(a, 'cov12') ? diagonalOf(a, calls, v, depth + 1) : at(a));
      const d = c.again(new Map(c.params.map((p, i) => [p, arg(c.args[i]!)] as const)));
      return add(mul(affine.scale, d), affine.shift);
    } catch {
      break;
    }
  }
  return at(inner);
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

function isComposition(
  map: Expr,
  inner: Expr,
  calls: readonly InlinedCall[],
  w1: Expr,
  w2: Expr,
  outer: Expr,
): boolean {
  const at = (c: HPNum, v1: HPNum, v2: HPNum) => ({ cov12: c, var1: v1, var2: v2 });
  const same = (x: HPNum, y: HPNum) =>
    x.isFinite() && y.isFinite() && !x.sub(y).abs().gt(HP.max(x.abs(), y.abs()).mul(AGREE));
  // The variances are the inner map's diagonal, proved: w - inner(var, var, var) simplifies to 0
  // (sampling took max(var1/2, 0.01) for relu's var1/2, and a smooth floor or a sin^2 term that
  // vanishes at the sampled variances too; a review measured 40-53 bits); then checked in 50 digits.
  for (const [w, v] of [
    [w1, VAR1],
    [w2, VAR2],
  ] as const) {
    if (!isZero(simplify(sub(w, diagonalOf(inner, calls, v))))) return false;
  }
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
