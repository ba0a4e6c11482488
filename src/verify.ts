// Independent checks of a compiled map:
// - verify: E[f(x1) f(x2)] and E[f'(x1) f'(x2)] by quadrature over the bivariate Gaussian,
//   against nngp and the symbolic derivative (Price's theorem);
// - accuracy: bits of error of the emitted float64 code against a 50-digit evaluation of
//   the same map, per domain group.
import { lower } from './ast.js';
import { compile, derive } from './compile.js';
import { differentiate } from './differentiate.js';
import { evaluateDouble, evaluateHP, hpFromDouble } from './evaluate.js';
import { parse } from './parse.js';
import { simplify } from './simplify.js';
import type { CompileOptions, Expr } from './types.js';
import { GROUPS, bitsOfError, rng, samplePoints, type AccuracyReport, type BitsSummary } from './measure.js';
export type { AccuracyReport, BitsSummary, Group } from './measure.js';
export { GROUPS, bitsOfError, rng, samplePoints } from './measure.js';

// ---------------------------------------------------------------- quadrature

/** Gauss–Legendre nodes and weights on [-1, 1] (Newton on P_n). */
function gaussLegendre(n: number): { x: number[]; w: number[] } {
  const x: number[] = [];
  const w: number[] = [];
  for (let i = 1; i <= n; i++) {
    let z = Math.cos((Math.PI * (i - 0.25)) / (n + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = z;
      for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * z * p1 - (k - 1) * p0) / k];
      dp = (n * (z * p1 - p0)) / (z * z - 1);
      const dz = p1 / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-16) break;
    }
    x.push(z);
    w.push(2 / ((1 - z * z) * dp * dp));
  }
  return { x, w };
}

/** ∫_a^b g by composite Gauss–Legendre: `pieces` equal panels of `rule`. */
function integrate(g: (z: number) => number, a: number, b: number, rule: { x: number[]; w: number[] }, pieces: number): number {
  let s = 0;
  const h = (b - a) / pieces;
  for (let p = 0; p < pieces; p++) {
    const lo = a + p * h;
    for (let i = 0; i < rule.x.length; i++) s += rule.w[i]! * g(lo + (h / 2) * (rule.x[i]! + 1));
  }
  return (s * h) / 2;
}

const PHI = 1 / Math.sqrt(2 * Math.PI);
const L = 9; // the Gaussian weight beyond 9 standard deviations is < 1e-18

/**
 * E[g(x1) h(x2)] for (x1, x2) centered Gaussian with variances v1, v2 and covariance c.
 * x1 = sqrt(v1) z1, x2 = sqrt(v2) (rho z1 + s z2). Both integrals are split where x1 = 0 and
 * x2 = 0, the kinks and jumps of the piecewise activations, so each panel is smooth.
 */
export function gaussianExpectation(g: (x: number) => number, h: (x: number) => number, c: number, v1: number, v2: number, degree = 32): number {
  const rule = gaussLegendre(degree);
  const rho = c / Math.sqrt(v1 * v2);
  const s = Math.sqrt(Math.max(0, 1 - rho * rho));
  const a = Math.sqrt(v1);
  const b = Math.sqrt(v2);
  const inner = (z1: number) => {
    const gz = g(a * z1);
    if (gz === 0) return 0;
    const f = (z2: number) => h(b * (rho * z1 + s * z2)) * PHI * Math.exp(-z2 * z2 / 2);
    const kink = s > 0 ? (-rho * z1) / s : NaN;
    let total: number;
    if (kink > -L && kink < L) total = integrate(f, -L, kink, rule, 4) + integrate(f, kink, L, rule, 4);
    else total = integrate(f, -L, L, rule, 8);
    return gz * total * PHI * Math.exp(-z1 * z1 / 2);
  };
  return integrate(inner, -L, 0, rule, 4) + integrate(inner, 0, L, rule, 4);
}

// ---------------------------------------------------------------- verify

export interface Discrepancy {
  /** Worst relative discrepancy, scaled by the Cauchy–Schwarz magnitude sqrt(K(v1) K(v2)). */
  readonly worst: number;
  readonly at: { readonly cov12: number; readonly var1: number; readonly var2: number };
  readonly got: number;
  readonly expected: number;
}

export interface VerifyReport {
  readonly points: number;
  /** nngp against E[f(x1) f(x2)] by quadrature. */
  readonly nngp: Discrepancy;
  /** The symbolic derivative against E[f'(x1) f'(x2)] (absent for a jump in f). */
  readonly dNngp?: Discrepancy;
}

export interface VerifyOptions extends CompileOptions {
  /** The activation f(x) in plain math, in the variable x. */
  readonly fn: string;
  /** Number of sample points (default 50). */
  readonly points?: number;
  /** Gauss–Legendre degree per panel (default 32). */
  readonly degree?: number;
  /** Only var1 = var2 = 1 (maps valid for unit variance only). */
  readonly unitVariance?: boolean;
  /** f jumps: skip the derivative (E[f' f'] holds a delta). */
  readonly jump?: boolean;
  readonly seed?: number;
}

/** The activation f and its a.e. derivative f', as core expressions in `cov12` (standing for x). */
function activationExprs(fn: string, params: Record<string, number> | undefined): [Expr, Expr] {
  const src = fn.replace(/\bx\b/g, 'cov12');
  const f = simplify(lower(parse(src, '<fn>'), src, { params, filename: '<fn>' }));
  return [f, simplify(differentiate(f))];
}

/** Checks nngp (and its derivative) against quadrature of E[f f] (and E[f' f']). */
export function verify(source: string, options: VerifyOptions): VerifyReport {
  const k = compile(source, options);
  const params = { ...options.params };
  const [f, df] = activationExprs(options.fn, params);
  const fx = (e: Expr) => (x: number) => evaluateDouble(e, { cov12: x, var1: 0, var2: 0 });
  const next = rng(options.seed ?? 1);
  const n = options.points ?? 50;
  const worst = { n: { worst: -1 } as Discrepancy, d: { worst: -1 } as Discrepancy };
  for (let i = 0; i < n; i++) {
    const v1 = options.unitVariance ? 1 : 0.3 + 2.7 * next();
    const v2 = options.unitVariance ? 1 : 0.3 + 2.7 * next();
    const rho = -0.95 + 1.9 * next();
    const c = rho * Math.sqrt(v1 * v2);
    const at = { cov12: c, var1: v1, var2: v2 };
    const scaleN = Math.sqrt(Math.abs(gaussianExpectation(fx(f), fx(f), v1, v1, v1, options.degree) * gaussianExpectation(fx(f), fx(f), v2, v2, v2, options.degree)));
    const qn = gaussianExpectation(fx(f), fx(f), c, v1, v2, options.degree);
    const gn = k.nngp(c, v1, v2);
    const en = Math.abs(gn - qn) / Math.max(Math.abs(qn), 1e-6 * scaleN, 1e-300);
    if (!(en <= worst.n.worst)) worst.n = { worst: Number.isNaN(en) ? Infinity : en, at, got: gn, expected: qn };
    if (!options.jump) {
      const scaleD = Math.sqrt(Math.abs(gaussianExpectation(fx(df), fx(df), v1, v1, v1, options.degree) * gaussianExpectation(fx(df), fx(df), v2, v2, v2, options.degree)));
      const qd = gaussianExpectation(fx(df), fx(df), c, v1, v2, options.degree);
      const gd = k.dNngp(c, v1, v2);
      const ed = Math.abs(gd - qd) / Math.max(Math.abs(qd), 1e-6 * scaleD, 1e-300);
      if (!(ed <= worst.d.worst)) worst.d = { worst: Number.isNaN(ed) ? Infinity : ed, at, got: gd, expected: qd };
    }
  }
  return { points: n, nngp: worst.n, dNngp: options.jump ? undefined : worst.d };
}

// ---------------------------------------------------------------- accuracy

/** Bits of error of the emitted code against a 50-digit evaluation, per domain group. */
export function accuracy(source: string, options: CompileOptions & { points?: number; unitVariance?: boolean; seed?: number } = {}): AccuracyReport {
  const k = compile(source, options);
  const d = derive(source, options);
  const groups = {} as AccuracyReport['groups'];
  GROUPS.forEach((g, gi) => {
    const bn: number[] = [];
    const bd: number[] = [];
    let nonFinite = 0;
    for (const [c, v1, v2] of samplePoints(g, options.points ?? 40, (options.seed ?? 7) * 31 + gi, options.unitVariance)) {
      const x = k.nngp(c, v1, v2);
      const y = k.dNngp(c, v1, v2);
      // Truth: the exact inputs; outside the bound, the value at the bound.
      const V1 = hpFromDouble(v1);
      const V2 = hpFromDouble(v2);
      let C = hpFromDouble(c);
      const bound = V1.mul(V2).sqrt();
      if (C.abs().gt(bound)) C = C.isNeg() ? bound.neg() : bound;
      // The evaluation tree in 50 digits: exact where float64 rounds (the gap var1*var2 - cov12^2
      // of two doubles is exact in 50 digits, so the singular points rho = ±1 are exact too).
      for (const [expr, out, acc] of [[d.stableNngp, x, bn], [d.stableDNngp, y, bd]] as const) {
        let t: number;
        try { t = evaluateHP(expr, { cov12: C, var1: V1, var2: V2 }).toNumber(); } catch { continue; }
        if (Number.isFinite(t)) {
          acc.push(bitsOfError(out, t));
          if (!Number.isFinite(out)) nonFinite++;
        }
      }
    }
    const sum = (xs: number[]): BitsSummary => ({ mean: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length), max: Math.max(0, ...xs), count: xs.length });
    groups[g] = { nngp: sum(bn), dNngp: sum(bd), nonFinite };
  });
  return { groups };
}
