// verify: an independent check of a compiled map against its activation. E[f(x1) f(x2)] and
// E[f'(x1) f'(x2)] by quadrature over the bivariate Gaussian, against nngp and the symbolic
// derivative (Price's theorem), at interior points and near |rho| = 1 and the diagonal.
// (accuracy.ts measures bits of error against the source's meaning.)
import { checkSource, checkVerifyOptions } from './arguments.js';
import { gaussLegendre } from './quadrature.js';
import { compile } from './compile.js';
import { activationExprs } from './activation.js';
import { doubleFunction } from './evaluate.js';
import type { CompileOptions, Expr } from './types.js';
import { rng } from './measure.js';
import { effectiveParams } from './sourcefile.js';

// ---------------------------------------------------------------- quadrature

/** ∫_a^b g by composite Gauss–Legendre: `pieces` equal panels of `rule`. */
function integrate(
  g: (z: number) => number,
  a: number,
  b: number,
  rule: { x: number[]; w: number[] },
  pieces: number,
): number {
  let s = 0;
  const h = (b - a) / pieces;
  for (let p = 0; p < pieces; p++) {
    const lo = a + p * h;
    for (let i = 0; i < rule.x.length; i++) s += rule.w[i]! * g(lo + (h / 2) * (rule.x[i]! + 1));
  }
  return (s * h) / 2;
}

/** v1*v2 - c^2 (≥ 0) from exact products (Dekker's two-product; JavaScript has no fma). */
function exactGap(c: number, v1: number, v2: number): number {
  const split = (x: number) => {
    const t = x * 134217729;
    const hi = t - (t - x);
    return [hi, x - hi] as const;
  };
  const twoProduct = (x: number, y: number) => {
    const p = x * y;
    const [xh, xl] = split(x);
    const [yh, yl] = split(y);
    return [p, xh * yh - p + xh * yl + xl * yh + xl * yl] as const;
  };
  const [pp, pl] = twoProduct(v1, v2);
  const [cc, cl] = twoProduct(c, c);
  return Math.max(0, pp - cc + (pl - cl));
}

/** The radial range: the weight r exp(-r^2/2) beyond 14 is < 1e-40, room for activations that grow like exp. */
const R = 14;

/**
 * E[g(x1) h(x2)] for (x1, x2) centered Gaussian with variances v1, v2 and covariance c.
 * x1 = sqrt(v1) z1 and x2 = sqrt(v2) (rho z1 + s z2) with (z1, z2) standard normal, integrated
 * in polar coordinates: the kinks and jumps of the catalog's piecewise activations (x1 = 0,
 * x2 = 0) are rays from the origin, so the angle integral is split at their angles and every
 * panel is smooth, at any correlation, |rho| = 1 included (where the two rays meet).
 */
export function gaussianExpectation(
  g: (x: number) => number,
  h: (x: number) => number,
  c: number,
  v1: number,
  v2: number,
  degree = 32,
): number {
  const rule = gaussLegendre(degree);
  const p = Math.sqrt(v1 * v2);
  const rho = Math.max(-1, Math.min(1, c / p)) || 0;
  // sqrt(1 - rho^2) from the exact gap v1*v2 - c^2: from 1 - rho^2 it loses ~all digits as |rho| → 1.
  const s = p > 0 ? Math.min(1, Math.sqrt(exactGap(c, v1, v2)) / p) : 1;
  const a = Math.sqrt(v1);
  const b = Math.sqrt(v2);
  const radial = (phi: number) => {
    const cx = a * Math.cos(phi);
    const cy = b * (rho * Math.cos(phi) + s * Math.sin(phi));
    return integrate((r) => r * Math.exp((-r * r) / 2) * g(cx * r) * h(cy * r), 0, R, rule, 6);
  };
  const TWO_PI = 2 * Math.PI;
  const kinkOfH = Math.atan2(-rho, s);
  const cuts = [
    0,
    Math.PI / 2,
    1.5 * Math.PI,
    ((kinkOfH % TWO_PI) + TWO_PI) % TWO_PI,
    (((kinkOfH + Math.PI) % TWO_PI) + TWO_PI) % TWO_PI,
    TWO_PI,
  ].sort((x, y) => x - y);
  let total = 0;
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [lo, hi] = [cuts[i]!, cuts[i + 1]!];
    if (hi - lo < 1e-300) continue;
    total += integrate(radial, lo, hi, rule, Math.max(1, Math.ceil((hi - lo) / (Math.PI / 4))));
  }
  return total / TWO_PI;
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

/** Checks nngp (and its derivative) against quadrature of E[f f] (and E[f' f']). */
export function verify(source: string, options: VerifyOptions): VerifyReport {
  checkSource('verify', source);
  checkVerifyOptions(options);
  const k = compile(source, options);
  const params = effectiveParams(source, options.filename ?? '<input>', options.params);
  const [f, df] = activationExprs(options.fn, params);
  const fx = (e: Expr) => {
    const f = doubleFunction(e);
    return (x: number) => f(x, 0, 0);
  };
  const [F, DF] = [fx(f), fx(df)];
  const next = rng(options.seed ?? 1);
  const n = options.points ?? 50;
  const worst = { n: { worst: -1 } as Discrepancy, d: { worst: -1 } as Discrepancy };
  for (let i = 0; i < n; i++) {
    // A third each: interior correlations, |rho| = 1 - 10^-U(2, 9), and the diagonal (rho = ±1).
    const v1 = options.unitVariance ? 1 : 0.3 + 2.7 * next();
    let v2 = options.unitVariance ? 1 : 0.3 + 2.7 * next();
    const sign = next() < 0.5 ? -1 : 1;
    const u = next();
    const rho = i % 3 === 0 ? -0.95 + 1.9 * u : i % 3 === 1 ? sign * (1 - 10 ** -(2 + 7 * u)) : sign;
    if (i % 3 === 2) v2 = v1;
    const c = rho * Math.sqrt(v1 * v2);
    const at = { cov12: c, var1: v1, var2: v2 };
    const scaleN = Math.sqrt(
      Math.abs(
        gaussianExpectation(F, F, v1, v1, v1, options.degree) * gaussianExpectation(F, F, v2, v2, v2, options.degree),
      ),
    );
    const qn = gaussianExpectation(F, F, c, v1, v2, options.degree);
    const gn = k.nngp(c, v1, v2);
    const en = Math.abs(gn - qn) / Math.max(Math.abs(qn), 1e-6 * scaleN, 1e-300);
    if (!(en <= worst.n.worst)) worst.n = { worst: Number.isNaN(en) ? Infinity : en, at, got: gn, expected: qn };
    if (!options.jump) {
      const scaleD = Math.sqrt(
        Math.abs(
          gaussianExpectation(DF, DF, v1, v1, v1, options.degree) *
            gaussianExpectation(DF, DF, v2, v2, v2, options.degree),
        ),
      );
      const qd = gaussianExpectation(DF, DF, c, v1, v2, options.degree);
      const gd = k.dNngp(c, v1, v2);
      const ed = Math.abs(gd - qd) / Math.max(Math.abs(qd), 1e-6 * scaleD, 1e-300);
      if (!(ed <= worst.d.worst)) worst.d = { worst: Number.isNaN(ed) ? Infinity : ed, at, got: gd, expected: qd };
    }
  }
  return { points: n, nngp: worst.n, dNngp: options.jump ? undefined : worst.d };
}
