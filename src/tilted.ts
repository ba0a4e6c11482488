// Kernels through the bivariate normal CDF: activations that are piecewise x^k e^(a x) with
// their break at 0 (k ≤ 1): ELU, SELU, CELU, and any where(x > 0, ..., ...) of affine and
// exponential pieces. Each piece pair is an orthant moment under an exponentially tilted
// Gaussian: with a = (a1, a2), E[x1^k1 x2^k2 e^(a1 x1 + a2 x2) 1{s1 x1 > 0} 1{s2 x2 > 0}]
// = e^(a'Σa/2) E'[...], x ~ N(Σa, Σ) under the tilt; with y = (s1 x1, s2 x2) the moments of
// degree ≤ 1 in each are the orthant probability P = Φ2 (Genz's bivariate normal algorithm,
// runtime.ts) and Stein's lemma's boundary terms (a normal density times the conditional
// law's Φ). Everything is scaled in the exponent (e^(a'Σa/2) never multiplies a tiny
// probability as two doubles), and 1 - rho^2 comes from the exact Cauchy–Schwarz gap.
import { NoClosedForm, type Combination } from './expectation.js';
import { evaluateHP, hpFromDouble } from './evaluate.js';
import { evaluationTree } from './evaluation.js';
import type { Expr } from './types.js';

/** coef · x^k e^(a x) on the side s (s x > 0). */
export interface Piece {
  readonly k: 0 | 1;
  readonly a: number;
  readonly s: 1 | -1;
  readonly coef: number;
}

export interface TiltedKernel {
  /** f and f' as pieces. */
  readonly f: readonly Piece[];
  readonly df: readonly Piece[];
  /** f(0), and f'(0) as the mean of its one-sided values (the limit a zero variance takes). */
  readonly f0: number;
  readonly df0: number;
}

const toNumber = (e: Expr) =>
  evaluateHP(evaluationTree(e), { cov12: hpFromDouble(0), var1: hpFromDouble(0), var2: hpFromDouble(0) }).toNumber();

/** Pieces with equal (k, a, s) merged and zeros dropped, in a fixed order. */
function merged(ps: readonly Piece[]): Piece[] {
  const m = new Map<string, Piece>();
  for (const p of ps) {
    const key = `${p.k},${p.a},${p.s}`;
    const q = m.get(key);
    m.set(key, q ? { ...q, coef: q.coef + p.coef } : p);
  }
  return [...m.values()].filter((p) => p.coef !== 0).sort((p, q) => p.s - q.s || p.k - q.k || p.a - q.a);
}

/** The value at 0 from one side. */
const sideValue = (ps: readonly Piece[], s: 1 | -1) =>
  ps.reduce((acc, p) => acc + (p.s === s && p.k === 0 ? p.coef : 0), 0);

/** The tilted kernel of a combination with exp terms (and piecewise polynomials of degree ≤ 1), else NoClosedForm. */
export function tiltedOf(c: Combination): TiltedKernel {
  if (c.erf.length || c.cos.length || c.logistic.length)
    throw new NoClosedForm(
      'exp terms are in the table beside piecewise polynomials, not beside erf, sin, cos or the logistic family',
    );
  const pieces: Piece[] = [];
  for (const [side, s] of [
    ['neg', -1],
    ['pos', 1],
  ] as const)
    c.pp[side].forEach((e, k) => {
      const coef = toNumber(e);
      if (coef === 0) return;
      if (k > 1) throw new NoClosedForm('exp terms are in the table beside pieces of degree ≤ 1 (x, constants, relu)');
      pieces.push({ k: k as 0 | 1, a: 0, s, coef });
    });
  for (const t of c.exps)
    pieces.push({ k: t.k, a: toNumber(t.a), s: t.side === 'neg' ? -1 : 1, coef: toNumber(t.coef) });
  if (pieces.some((p) => p.s * p.a > 0))
    throw new NoClosedForm(
      'exp terms are in the table where they decay away from 0 (exp(a x), a > 0, for x < 0 as in ELU), or as one whole exp(a x + p) beside constants and x that do not cancel it at x = 0; not where they grow',
    );
  const f = merged(pieces);
  const [left, right] = [sideValue(f, -1), sideValue(f, 1)];
  if (Math.abs(left - right) > 1e-15 * Math.max(1, Math.abs(left), Math.abs(right)))
    throw new NoClosedForm(
      `f jumps at 0 (${left} to ${right}): with exp terms, only continuous activations are in the table`,
    );
  // d/dx coef x^k e^(a x) = coef (k x^(k-1) + a x^k) e^(a x)
  const df = merged(
    f.flatMap((p) => [
      ...(p.k === 1 ? [{ ...p, k: 0 as const }] : []),
      ...(p.a !== 0 ? [{ ...p, coef: p.coef * p.a }] : []),
    ]),
  );
  return { f, df, f0: right, df0: (sideValue(df, -1) + sideValue(df, 1)) / 2 };
}

/** The kernel in words, for the banner, `simplified` and `derive --print`. */
export function describeTilted(t: TiltedKernel, derivative: boolean): string {
  const piece = (p: Piece) => `${p.coef}${p.k ? '*x' : ''}${p.a ? `*exp(${p.a}*x)` : ''}*[x ${p.s > 0 ? '>' : '<'} 0]`;
  const ps = derivative ? t.df : t.f;
  return `${derivative ? "E[f'(x1) f'(x2)]" : 'E[f(x1) f(x2)]'}, ${derivative ? "f'" : 'f'} = ${ps.map(piece).join(' + ')}: ${ps.length ** 2} piece pairs, each e^(a'Sigma a/2) times a bivariate normal orthant moment (Phi2 by Genz's algorithm)`;
}
