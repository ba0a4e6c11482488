// The runtime helpers an emitted module may contain, as source text (TypeScript or plain
// JavaScript), in one place. emit.ts copies the ones a module uses; evaluate.ts instantiates
// erf from the same text, so quadrature integrands use exactly the erf users get.

import { Decimal } from 'decimal.js';
import { gaussLaguerre, gaussLegendre } from './quadrature.js';
import { fromNumber } from './rational.js';

const PI_OVER_2 = String(Math.PI / 2);

export const HELPERS_DD = (ts: boolean) => {
  const n = ts ? ': number' : '';
  return `/** sqrt(h + l) to about an ulp, for a double-double h + l; 0 for h <= 0. */
function sqrtDD(h${n}, l${n})${n} {
  if (!(h > 0)) return 0;
  const s = Math.sqrt(h);
  return s + l / (2 * s);
}`;
};

/**
 * cov12 projected onto the Cauchy–Schwarz bound, |cov12| <= sqrt(var1 var2), decided by the exact
 * gap (Dekker's two-products, Knuth's two-sum): the prologue of a module that reads only the
 * projected cov12, for the entries its plain test cannot clear (emit/parts.ts lazyProjection).
 * The same operations, in the same order, as the inline prologue, so the same doubles.
 */
export const HELPER_PROJECT = (ts: boolean) => {
  const n = ts ? ': number' : '';
  return `function projectedCov(c0${n}, v1${n}, v2${n})${n} {
  const aa = v1 * 134217729, ah = aa - (aa - v1), al = v1 - ah;
  const ba = v2 * 134217729, bh = ba - (ba - v2), bl = v2 - bh;
  const ka = c0 * 134217729, kh = ka - (ka - c0), kl = c0 - kh;
  const pp = v1 * v2, pl = Math.abs(pp) < Infinity ? ((ah * bh - pp) + ah * bl + al * bh) + al * bl : 0;
  const cc = c0 * c0, cl = Math.abs(cc) < Infinity ? ((kh * kh - cc) + 2 * kh * kl) + kl * kl : 0;
  const gs = pp - cc, gv = gs - pp, ge = Math.abs(gs) < Infinity ? (pp - (gs - gv)) + (-cc - gv) : 0;
  const gRaw = gs + (ge + (pl - cl));
  return gRaw < 0 ? (c0 < 0 ? -sqrtDD(pp, pl) : sqrtDD(pp, pl)) : c0;
}`;
};

/**
 * The loops' lazy projection past the row's bound (emit/parts.ts ROW_BOUND): the per-entry test
 * of the scalar code (CLEARLY_INSIDE, behind the call's \`normal\` flag), then projectedCov; and
 * the smallest of cov2, which the row's bound reads.
 */
export const HELPER_PROJECT_AT = (ts: boolean, inside: { readonly margin: number; readonly minProduct: number }) => {
  const n = ts ? ': number' : '';
  const a = ts ? ': Float64Array' : '';
  return `function projectedCovAt(c0${n}, v1${n}, C2${a}, j${n}, normal${ts ? ': boolean' : ''})${n} {
  const v2 = C2[j]${ts ? '!' : ''}, pp = v1 * v2, cc = c0 * c0;
  return cc <= pp * ${inside.margin} && (normal || pp > ${inside.minProduct} && pp < Infinity) ? c0 : projectedCov(c0, v1, v2);
}

function smallestOf(a${a})${n} {
  let low = Infinity;
  for (let i = 0; i < a.length; i++) if (a[i]${ts ? '!' : ''} < low) low = a[i]${ts ? '!' : ''};
  return low;
}`;
};

const PI_LO = '1.2246467991473532e-16'; // pi - Math.PI, as fdlibm's pi_lo

/**
 * atan2 through Math.atan: the same formula as fdlibm's e_atan2.c, which V8's Math.atan2 runs
 * (z = atan(|y/x|); z, -z, pi - (z - pi_lo) or (z - pi_lo) - pi by quadrant), so the same
 * double for finite x > 0 and for x < 0 with 0 < |y/x| <= 2^59; V8 optimises Math.atan into
 * the loop, while Math.atan2 is a slower call (measured: ~10 ns per entry of an erf kernel).
 * x = +-0 with y != 0 is +-pi/2 and y = +-0 with x < 0 is +-pi, as fdlibm returns them: the
 * diagonal of a map whose angle is atan2(cov12, sqrt(gap)) or atan2(sqrt(gap), -cov12) lands
 * there, and a Math.atan2 call that ran there before V8 optimised the kernel made the whole
 * loop about twice as slow in some processes (abs and sign: 11 or 21 ns per realistic entry,
 * the same code and input; with this case, 11 in every process).
 * The rest goes to Math.atan2.
 */
export const HELPER_ATAN2 = (ts: boolean) => {
  const n = ts ? ': number' : '';
  return `/** Math.atan2(y, x), bit for bit, faster: fdlibm's atan2 formula around Math.atan. */
function atan2(y${n}, x${n})${n} {
  if (x > 0 && x < Infinity) return Math.atan(y / x);
  if (x === 0) { // fdlibm: +-pi/2 for y != 0 (the diagonal of an atan2(c, sqrt(gap)) map)
    if (y > 0) return ${PI_OVER_2};
    if (y < 0) return -${PI_OVER_2};
  }
  if (y === 0 && x < 0) return 1 / y > 0 ? ${String(Math.PI)} : -${String(Math.PI)}; // the diagonal of atan2(sqrt(gap), -cov12)
  const t = Math.abs(y / x);
  if (x < 0 && t > 0 && t <= 576460752303423488) { // 0 < |y/x| <= 2^59: fdlibm's general case
    const z = Math.atan(t) - ${PI_LO};
    return y > 0 ? ${String(Math.PI)} - z : z - ${String(Math.PI)};
  }
  return Math.atan2(y, x);
}`;
};

export const HELPER_ANGLE = (ts: boolean) => {
  const n = ts ? ': number' : '';
  return `/** atan2(y, x), but pi/2 at (0, 0): acos(0/0) with neural-tangents' theta = pi/2. */
function angle(y${n}, x${n})${n} {
  return y === 0 && x === 0 ? ${PI_OVER_2} : atan2(y, x);
}`;
};

/** (-1)^k / (2k + 3), k = 0..15: v - atan v = v^3 (1/3 - v^2/5 + ...), 16 terms for 2^-56 at v^2 <= 0.0845. */
const ATAN_TAIL = Array.from({ length: 16 }, (_, k) => (k % 2 ? -1 : 1) / (2 * k + 3));

/**
 * (t - atan t) / t^3 as a polynomial in s = t^2 for s in [0, below] (t ≤ 1/2, rho ≤ -0.89 in an
 * arc-cosine map's y - x·angle): Chebyshev interpolation at 14 nodes in 40-digit arithmetic,
 * converted to monomial coefficients and rounded to doubles (test/runtime.test.ts derives them
 * again and samples their error against 50-digit truth). The function's nearest singularity
 * (s = -1, atan's branch points at t = ±i) bounds the interpolation error by about 17.9^-14 of
 * 1/3, under 2^-60, where the Taylor series needs 27 terms.
 */
export const ATAN_TAIL_NEAR = {
  below: 0.25,
  coefficients: [
    0.3333333333333333, -0.19999999999999968, 0.14285714285706202, -0.11111111110278944, 0.0909090904607358,
    -0.07692306240562284, 0.06666636087824868, -0.05881913328517996, 0.05258718904277028, -0.04729953834332562,
    0.041833386159884724, -0.03398634344047341, 0.021682234961125823, -0.007656295362176976,
  ],
} as const;

/**
 * Estrin's scheme for sum a_k z^k: pairs a_2i + a_(2i+1) z, then pairs of those with z^2, z^4,
 * ...: the same operations as Horner's rule but a dependency chain of depth log2(n) instead of n
 * (the series runs at every anti-correlated entry of an arc-cosine map; its latency, not its
 * operation count, was its cost). `powers` names z^2, z^4, ... (declared by the caller).
 */
export function estrin(a: readonly number[], z: string, powers: readonly string[]): string {
  let level = [];
  for (let i = 0; i < a.length; i += 2) level.push(i + 1 < a.length ? `(${a[i]} + ${z} * ${a[i + 1]})` : String(a[i]));
  for (let p = 0; level.length > 1; p++) {
    const next = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? `(${level[i]} + ${powers[p]} * ${level[i + 1]})` : level[i]!);
    level = next;
  }
  return level[0]!;
}

export const HELPER_YMXANGLE = (ts: boolean) => {
  const n = ts ? ': number' : '';
  const near = estrin(ATAN_TAIL_NEAR.coefficients, 's', ['s2', 's4', 's8']);
  const tail = estrin(ATAN_TAIL, 'v2', ['v4', 'v8', 'v16']);
  return `/**
 * y - x * angle(y, x) for small angles (x > 0, |y| < 2x; the caller computes y - x * angle
 * directly elsewhere), with no cancellation anywhere. Where t = y/x has t^2 <= ${ATAN_TAIL_NEAR.below}:
 * x (t - atan t) = y t^2 P(t^2), P a fixed polynomial (Chebyshev, near 1/3) by Estrin's scheme:
 * one division. Beyond, with r = hypot(x, y) and u = y / (x + r) = tan(angle/2):
 * y - x * angle = y^3 / (x + r)^2 + 2 x (u - atan u). With the half angle again,
 * v = u / (1 + sqrt(1 + u^2)) = y / (w + sqrt(2 r w)) = tan(angle/4), w = x + r, |v| <= 0.291
 * (from y, x and r directly: fewer roundings than through u): u - atan u = 2 v^3 / (1 - v^2) +
 * 2 (v - atan v), and v - atan v = v^3 (1/3 - v^2/5 + v^4/7 - ...) to 16 terms.
 */
function ymxangleSmall(y${n}, x${n})${n} {
  const t = y / x, s = t * t;
  if (!(s <= ${ATAN_TAIL_NEAR.below})) return ymxangleQuarter(y, x);
  const s2 = s * s, s4 = s2 * s2, s8 = s4 * s4;
  return y * s * ${near};
}

/** ymxangleSmall beyond its polynomial, by the quarter angle (a function of its own, so that V8 inlines the first). */
function ymxangleQuarter(y${n}, x${n})${n} {
  const r = Math.sqrt(x * x + y * y), w = x + r;
  const v = y / (w + Math.sqrt(2 * r * w)), v2 = v * v, v3 = v * v2; // u / (1 + sqrt(1 + u^2)), as 1 + u^2 = 2r/w
  const v4 = v2 * v2, v8 = v4 * v4, v16 = v8 * v8;
  // y^3/w^2, as y (y/w)^2 where y^3 would overflow (y above 5.6e102: variances near 1e103)
  const cube = Math.abs(y) < 1e100 ? (y * y * y) / (w * w) : y * (y / w) * (y / w);
  return cube + 2 * x * (2 * v3 / (1 - v2) + 2 * v3 * ${tail});
}`;
};

/**
 * e^x without a call, for the emitted code (emit/values.ts expOf): x = (32k + j)·ln2/32 + r,
 * e^x = 2^k · 2^(j/32) · e^r, with n = 32k + j = round(x·32/ln2), |r| ≤ ln2/64, e^r - 1 by its
 * Taylor polynomial of degree 7 (the next term, r^8/8!, is below 2^-67 there; degree 6 left
 * r^7/7! ≈ 2^-58, 0.03 ulps of a result just below 2: 0.555 ulps at x = 627.807..., a review
 * found), and 2^(j/32) in two doubles: 2^k · (hi + (lo + hi·(e^r - 1))) rounds once at the end
 * (0.25 ulps mean, 0.53 max against 60 digits, also near ties of n and below each k·ln2, where
 * Math.exp, fdlibm's, measures 0.26 and 0.83).
 * ln2/32 in two parts, the first with 38 bits, so n times it is exact for |n| < 2^15 (|x| < 708,
 * where the code runs; NaN, infinities and beyond go to Math.exp). Why: fdlibm's exp branches on
 * |x| against 0.5 ln2 and 1.5 ln2, which a kernel's arguments straddle (exp's anti-correlated
 * entries, cov12 near -1): a mispredicted branch per entry (a loop of Math.exp over x in
 * [-1.1, -0.9] measured 9.0 ns per call against 3.8 on x in [0, 0.3]; this code 4.9 and 5.1).
 * The tables and constants in 60 digits, from decimal.js, when the text is built.
 */
export interface ExpConstants {
  /** 32/ln2. */
  readonly inverseStep: number;
  /** ln2/32 to 38 bits, and the rest. */
  readonly stepHi: number;
  readonly stepLo: number;
  /** 1/3!, ..., 1/7!. */
  readonly taylor: readonly number[];
}

let expMemo: { constants: ExpConstants; hi: number[]; lo: number[] } | undefined;

function expTables() {
  if (expMemo) return expMemo;
  const D = Decimal.clone({ precision: 60 });
  const exact = (x: number) => {
    const r = fromNumber(x);
    return new D(r.n.toString()).div(r.d.toString());
  };
  const step = D.ln(2).div(32);
  const stepHi = step
    .mul(2 ** 43)
    .floor()
    .div(2 ** 43)
    .toNumber(); // 38 significant bits: step < 2^-5
  const hi: number[] = [];
  const lo: number[] = [];
  for (let j = 0; j < 32; j++) {
    const t = new D(2).pow(new D(j).div(32));
    hi.push(t.toNumber());
    lo.push(t.sub(exact(hi[j]!)).toNumber());
  }
  expMemo = {
    constants: {
      inverseStep: new D(32).div(D.ln(2)).toNumber(),
      stepHi,
      stepLo: step.sub(exact(stepHi)).toNumber(),
      taylor: [6, 24, 120, 720, 5040].map((f) => 1 / f),
    },
    hi,
    lo,
  };
  return expMemo;
}

export const EXP_CONSTANTS = (): ExpConstants => expTables().constants;

export const HELPER_EXP = () => {
  const { hi, lo } = expTables();
  return `/** 2^(j/32) = EXP_HI[j] + EXP_LO[j] within 2^-104, and 2^k = EXP_SCALE[k + 1022] (k ≤ 1023), for e^x without a call (nngpc's exp). */
const EXP_HI = new Float64Array([${hi.join(', ')}]);
const EXP_LO = new Float64Array([${lo.join(', ')}]);
const EXP_SCALE = new Float64Array(2048);
for (let k = 0, s = 2 ** -1022; k < 2048; k++, s *= 2) EXP_SCALE[k] = s;`;
};

/**
 * e^x - 1 without a call, for |x| below 2.7 (emit/values.ts expdiff, where |x| < ln 4): with n
 * and r as for e^x (HELPER_EXP), e^x - 1 = (2^(n/32) - 1) + 2^(n/32)·(e^r - 1), the first in two
 * doubles per n in [-128, 127] (from EXP_HI and EXP_LO by a two-sum when the module loads, within
 * 2^-104), the sum rounded once at the end; n = 0 below ln2/32 in magnitude (e^r - 1 to degree 8
 * there), so that for n = ±1 the two parts share a sign and beyond cancel at most a quarter.
 * Against 60 digits on |x| < ln 4, its ties of n and near 0: 0.25-0.28 ulps mean, 0.88 at most
 * (Math.expm1, fdlibm's: 0.25-0.28 and 0.75; review of 2026-11-29). Why: a call of Math.expm1 in
 * a kernel's loop, behind a branch on its argument's sign that realistic entries flip, cost cos's
 * realistic entries 62.9 -> 49.8 ns (paired, n = 1024; its hand loop 41.8). A function, not
 * statements, so that it runs only where the difference cancels (V8 inlines it). Needs HELPER_EXP.
 */
export const HELPER_EXPM1 = (ts: boolean) => {
  const n = ts ? ': number' : '';
  const { inverseStep, stepHi, stepLo, taylor } = expTables().constants;
  const [c3, c4, c5, c6, c7] = taylor.map(String);
  const c8 = String(1 / 40320);
  // Below ln2/32 in magnitude, n = 0 (r = x up to ln2/32: a degree-8 polynomial, its next term
  // 2^-65 of it): e^x - 1 is then the polynomial alone, and beyond, the two parts share a sign
  // for n = ±1 and cancel at most a quarter for |n| ≥ 2 (at the ties of n = 0 and ±1 they
  // cancelled half: 0.268 ulps mean on [0.011, 0.05] against Math.expm1's 0.247).
  const step = String(stepHi);
  const b = ts ? '!' : '';
  return `/** 2^(n/32) - 1 = EXPM1_HI[n + 128] + EXPM1_LO[n + 128] within 2^-104, and 2^(n/32) = EXPM1_SCALE[n + 128] + EXPM1_SCALE_LO[n + 128], for e^x - 1 without a call (nngpc's expm1). */
const EXPM1_HI = new Float64Array(256), EXPM1_LO = new Float64Array(256), EXPM1_SCALE = new Float64Array(256), EXPM1_SCALE_LO = new Float64Array(256);
for (let i = 0; i < 256; i++) {
  const n = i - 128, s = 2 ** (n >> 5), hi = s * EXP_HI[n & 31]${b}, lo = s * EXP_LO[n & 31]${b};
  const m = hi - 1, v = m - hi, e = (hi - (m - v)) + (-1 - v);
  EXPM1_HI[i] = m;
  EXPM1_LO[i] = e + lo;
  EXPM1_SCALE[i] = hi;
  EXPM1_SCALE_LO[i] = lo;
}

/** e^x - 1 for |x| < 2.7 (beyond, or NaN, a wrong or NaN value: the caller tests |x| first). */
function expm1Table(x${n})${n} {
  const k = x < ${step} && x > -${step} ? 0 : Math.floor(x * ${inverseStep} + 0.5);
  const r = x - k * ${stepHi} - k * (${stepLo}), r2 = r * r;
  const p = r + r2 * ((0.5 + r * ${c3}) + r2 * ((${c4} + r * ${c5}) + r2 * ((${c6} + r * ${c7}) + r2 * ${c8})));
  const i = (k + 128) & 255;
  return EXPM1_HI[i]${b} + ((EXPM1_LO[i]${b} + EXPM1_SCALE_LO[i]${b} * p) + EXPM1_SCALE[i]${b} * p);
}`;
};

export const HELPER_ERF = (ts: boolean) => {
  const n = ts ? ': number' : '';
  return `/** erf and erfc: Taylor series for |x| < 2.5, continued fraction of erfc beyond (to ~1e-16 relative). */
function erf(x${n})${n} {
  if (Number.isNaN(x)) return x;
  const a = Math.abs(x);
  if (a >= 2.5) return x > 0 ? 1 - erfc(a) : erfc(a) - 1;
  const x2 = x * x;
  let term = x, sum = x;
  for (let k = 1; k < 80; k++) {
    term *= -x2 / k;
    const t = term / (2 * k + 1);
    sum += t;
    if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
  }
  return sum * 1.1283791670955126;
}
function erfc(x${n})${n} {
  if (Number.isNaN(x)) return x;
  if (x < 2.5) return 1 - erf(x);
  if (x > 27.3) return 0;
  // Continued fraction, evaluated backward: erfc x = exp(-x^2)/sqrt(pi) / (x + 1/2/(x + 1/(x + 3/2/(x + ...))))
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + (k / 2) / f;
  return Math.exp(-x * x) * 0.5641895835477563 / f;
}`;
};

/** The pieces of the kernel loop the module writer fills in (emit/module.ts), as printed text. */
export interface KernelLoops {
  /** The loop variables (c0, v1, v2) each loop reads: only those are declared. */
  readonly fusedInputs: ReadonlySet<string>;
  readonly nngpInputs: ReadonlySet<string>;
  /** The fused loop (nngp and ntk): per-row statements, per-entry statements and stores. */
  readonly fusedOuter: string;
  readonly fusedInner: string;
  readonly nngpOuter: string;
  readonly nngpInner: string;
  /** Each loop's per-column work, before its rows (empty: none). */
  readonly fusedColumns: string;
  readonly nngpColumns: string;
  /** The box of variances [lo, hi] where the interior values are proven finite (finite.ts), if any. */
  readonly finiteWithin?: { readonly lo: number; readonly hi: number };
  /** The box of variances where the interior's gap certificates are proven (emit/module.ts `certain`). */
  readonly certainWithin?: { readonly lo: number; readonly hi: number };
  /** The box of variances where a block to the bound runs its half-domain copy (emit/module.ts `onHalf`). */
  readonly onHalfWithin?: { readonly lo: number; readonly hi: number };
  /** The k of the boxes [0, 2^k] where angle tests are proven (emit/values.ts `anglesUpTo<k>`). */
  readonly angleBoxes?: readonly number[];
  /** The box of variances where every product var1*var2 is normal and finite (emit/parts.ts `normal`), if read. */
  readonly normalWithin?: { readonly lo: number; readonly hi: number };
  /** A loop reads `lowV2`, the smallest of cov2 in a `normal` call (emit/parts.ts ROW_BOUND). */
  readonly readsLowV2?: boolean;
}

/**
 * Whether every variance of a call lies in [lo, hi] (NaN does not): where it does, the loops'
 * interior blocks skip their finiteness test (finite.ts proves their values finite there).
 */
export const HELPER_WITHIN = (ts: boolean) => {
  const a = ts ? ': Float64Array' : '';
  return `function variancesWithin(C1${a}, C2${a}, lo${ts ? ': number' : ''}, hi${ts ? ': number' : ''})${ts ? ': boolean' : ''} {
  for (let i = 0; i < C1.length; i++) if (!(C1[i]${ts ? '!' : ''} >= lo && C1[i]${ts ? '!' : ''} <= hi)) return false;
  if (C2 !== C1) for (let j = 0; j < C2.length; j++) if (!(C2[j]${ts ? '!' : ''} >= lo && C2[j]${ts ? '!' : ''} <= hi)) return false;
  return true;
}`;
};

/**
 * The scratch array of per-column values (emit/parts.ts hoistColumns), kept between calls and
 * grown when a call needs more: kernel() is synchronous, so one call uses it at a time, and a
 * layer loop with options.out allocates nothing after the first call.
 */
export const HELPER_COLUMNS = (ts: boolean) => `let columnBuffer = new Float64Array(0);

function columnScratch(size${ts ? ': number' : ''})${ts ? ': Float64Array' : ''} {
  if (columnBuffer.length < size) columnBuffer = new Float64Array(size);
  return columnBuffer;
}`;

/**
 * The layer's kernel map and its finishing step, for TypeScript or JavaScript: validation of
 * the inputs, the two loops (with the NTK, and without), and the variances' own maps.
 */
export const KERNEL = (ts: boolean, exported: boolean, loops: KernelLoops) => {
  const bang = ts ? '!' : '';
  const row = (inputs: ReadonlySet<string>, indent: string) =>
    inputs.has('v1') ? `${indent}const v1 = C1[i]${bang};\n` : '';
  const entry = (inputs: ReadonlySet<string>) =>
    [inputs.has('v2') ? `v2 = C2[j]${bang}` : '', 'idx = i * n2 + j', inputs.has('c0') ? `c0 = K[idx]${bang}` : '']
      .filter(Boolean)
      .join(', ');
  const inT = ts ? ': KernelInput' : '';
  const outT = ts ? ': KernelOutput' : '';
  const optT = ts ? '?: KernelOptions' : '';
  const arr = ts ? ': Float64Array | undefined' : '';
  return `/**
 * The layer's kernel map (neural-tangents semantics): nngp'[i,j] = nngp_fn(nngp[i,j], cov1[i], cov2[j]),
 * ntk'[i,j] = ntk[i,j] * d_nngp_fn(...), cov1'[i] = nngp_fn(cov1[i], cov1[i], cov1[i]), cov2' likewise.
 * Inputs are not modified; new arrays are returned. With options.out, the results are written into
 * its arrays instead (nngp, cov1, and ntk / cov2 where the input has them, of the input's sizes; each
 * a new array or the input's array of the same name, updated in place) and out itself is returned:
 * nothing is allocated.
 */
${exported ? 'export ' : ''}function kernel(input${inT}, options${optT})${outT} {
  if (input === null || typeof input !== 'object') throw new TypeError('kernel: expected { nngp, ntk?, cov1, cov2? }');
  const K = input.nngp, T = input.ntk, C1 = input.cov1, C2 = input.cov2 === undefined ? input.cov1 : input.cov2;
  checkArray('input.nngp', K, true);
  checkArray('input.cov1', C1, true);
  checkArray('input.cov2', input.cov2, false);
  checkArray('input.ntk', T, false);
  const n1 = C1.length, n2 = C2.length;
  if (K.length !== n1 * n2) throw new RangeError('kernel: nngp has ' + K.length + ' entries, expected cov1.length * cov2.length = ' + n1 + ' * ' + n2 + ' = ' + n1 * n2);
  if (T !== undefined && T.length !== K.length) throw new RangeError('kernel: ntk has ' + T.length + ' entries, expected ' + K.length + ' (the size of nngp)');
  const out = options === undefined || options === null ? undefined : options.out;
  if (out !== undefined) checkOut(input, out);
  const outK = out === undefined ? new Float64Array(K.length) : out.nngp;
${loops.finiteWithin ? `  const safe = variancesWithin(C1, C2, ${loops.finiteWithin.lo}, ${loops.finiteWithin.hi});\n` : ''}${loops.certainWithin ? `  const certain = variancesWithin(C1, C2, ${loops.certainWithin.lo}, ${loops.certainWithin.hi});\n` : ''}${loops.onHalfWithin ? `  const onHalf = variancesWithin(C1, C2, ${loops.onHalfWithin.lo}, ${loops.onHalfWithin.hi});\n` : ''}${(loops.angleBoxes ?? []).map((k) => `  const anglesUpTo${k} = variancesWithin(C1, C2, 0, ${2 ** k});\n`).join('')}${loops.normalWithin ? `  const normal = variancesWithin(C1, C2, ${loops.normalWithin.lo}, ${loops.normalWithin.hi});\n` : ''}${loops.readsLowV2 ? '  const lowV2 = normal ? smallestOf(C2) : 0;\n' : ''}  if (T !== undefined) {
    const outT = out === undefined ? new Float64Array(T.length) : out.ntk${bang};
${loops.fusedColumns}    for (let i = 0; i < n1; i++) {
${row(loops.fusedInputs, '      ')}${loops.fusedOuter}
      for (let j = 0; j < n2; j++) {
        const ${entry(loops.fusedInputs)};
${loops.fusedInner}
      }
    }
    return finish(input, outK, outT, out);
  }
${loops.nngpColumns}  for (let i = 0; i < n1; i++) {
${row(loops.nngpInputs, '    ')}${loops.nngpOuter}
    for (let j = 0; j < n2; j++) {
      const ${entry(loops.nngpInputs)};
${loops.nngpInner}
    }
  }
  return finish(input, outK, undefined, out);
}

function checkArray(name${ts ? ': string' : ''}, a${ts ? ': unknown' : ''}, required${ts ? ': boolean' : ''})${ts ? ': void' : ''} {
  if ((required || a !== undefined) && !(a instanceof Float64Array)) throw new TypeError('kernel: ' + name + ' must be a Float64Array' + (a === undefined ? ' (it is missing)' : ''));
}

/** options.out: one Float64Array per output, of its size, none another input's array (it is read after written). */
function checkOut(input${inT}, out${ts ? ': KernelOutput' : ''})${ts ? ': void' : ''} {
  if (out === null || typeof out !== 'object') throw new TypeError('kernel: options.out must be { nngp, ntk?, cov1, cov2? } of Float64Arrays');
  checkSize('nngp', input, out.nngp, input.nngp.length);
  checkSize('cov1', input, out.cov1, input.cov1.length);
  checkSize('ntk', input, out.ntk, input.ntk === undefined ? -1 : input.ntk.length);
  checkSize('cov2', input, out.cov2, input.cov2 === undefined ? -1 : input.cov2.length);
  checkApart('nngp', out.nngp, 'cov1', out.cov1);
  checkApart('nngp', out.nngp, 'ntk', input.ntk === undefined ? undefined : out.ntk);
  checkApart('nngp', out.nngp, 'cov2', input.cov2 === undefined ? undefined : out.cov2);
  checkApart('cov1', out.cov1, 'ntk', input.ntk === undefined ? undefined : out.ntk);
  checkApart('cov1', out.cov1, 'cov2', input.cov2 === undefined ? undefined : out.cov2);
  checkApart('ntk', input.ntk === undefined ? undefined : out.ntk, 'cov2', input.cov2 === undefined ? undefined : out.cov2);
}

function checkSize(name${ts ? ': string' : ''}, input${inT}, a${arr}, size${ts ? ': number' : ''})${ts ? ': void' : ''} {
  if (size < 0) return;
  checkArray('options.out.' + name, a, true);
  if (a${bang}.length !== size) throw new RangeError('kernel: options.out.' + name + ' has ' + a${bang}.length + ' entries, expected ' + size + ' (the size of input.' + name + ')');
  checkInput(name, a${bang}, 'nngp', input.nngp);
  checkInput(name, a${bang}, 'ntk', input.ntk);
  checkInput(name, a${bang}, 'cov1', input.cov1);
  checkInput(name, a${bang}, 'cov2', input.cov2);
}

/** An output may be its own input array (in place), never memory of another input (read after written). */
function checkInput(name${ts ? ': string' : ''}, a${ts ? ': Float64Array' : ''}, other${ts ? ': string' : ''}, b${arr})${ts ? ': void' : ''} {
  if (b === undefined || !overlaps(a, b)) return;
  if (name === other && a.byteOffset === b.byteOffset && a.length === b.length) return;
  throw new RangeError('kernel: options.out.' + name + ' overlaps input.' + other + '; it may only be input.' + name + ' itself (updated in place) or separate memory');
}

function checkApart(n1${ts ? ': string' : ''}, a${arr}, n2${ts ? ': string' : ''}, b${arr})${ts ? ': void' : ''} {
  if (a !== undefined && b !== undefined && overlaps(a, b)) throw new RangeError('kernel: options.out.' + n1 + ' and options.out.' + n2 + ' share memory');
}

function overlaps(a${ts ? ': Float64Array' : ''}, b${ts ? ': Float64Array' : ''})${ts ? ': boolean' : ''} {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

function finish(input${inT}, outK${ts ? ': Float64Array' : ''}, outT${arr}, out${ts ? ': KernelOutput | undefined' : ''})${outT} {
  const C1 = input.cov1;
  const outC1 = out === undefined ? new Float64Array(C1.length) : out.cov1;
  for (let i = 0; i < C1.length; i++) outC1[i] = nngp(C1[i]${bang}, C1[i]${bang}, C1[i]${bang});
  const C2 = input.cov2;
  const outC2 = C2 === undefined ? undefined : out === undefined ? new Float64Array(C2.length) : out.cov2${bang};
  if (C2 !== undefined) for (let i = 0; i < C2.length; i++) outC2${bang}[i] = nngp(C2[i]${bang}, C2[i]${bang}, C2[i]${bang});
  if (out !== undefined) return out;
  // One literal per shape: a property added after creation gives the result a transitioned map,
  // which only the results keep alive, so every full collection that freed them deoptimized
  // kernel() (erf at 256x256: 21 -> 102 ns per entry with a collection before each call).
  if (outT !== undefined) return outC2 === undefined ? { nngp: outK, ntk: outT, cov1: outC1 } : { nngp: outK, ntk: outT, cov1: outC1, cov2: outC2 };
  return outC2 === undefined ? { nngp: outK, cov1: outC1 } : { nngp: outK, cov1: outC1, cov2: outC2 };
}`;
};

const MILLS_TERMS = 18;
let millsMemo: Map<number, number[]> | undefined;
/**
 * Taylor coefficients R^(n)(u0)/n! of Mills' ratio about u0: R(u0) from Laplace's continued
 * fraction with 4000 terms and the recursion (n + 1) a_(n+1) = u0 a_n + a_(n-1) (from
 * R' = u R - 1), both in 50 digits (the recursion is unstable in doubles).
 */
function millsTaylor(u0: number, terms: number): number[] {
  millsMemo ??= new Map();
  const hit = millsMemo.get(u0);
  if (hit) return hit;
  const D = Decimal.clone({ precision: 50 });
  const u = new D(u0);
  let f = u;
  for (let k = 4000; k >= 1; k--) f = u.add(new D(k).div(f));
  const a = [new D(1).div(f)];
  a.push(u.mul(a[0]!).sub(1));
  for (let m = 1; a.length < terms; m++)
    a.push(
      u
        .mul(a[m]!)
        .add(a[m - 1]!)
        .div(m + 1),
    );
  const out = a.map((x) => x.toNumber());
  millsMemo.set(u0, out);
  return out;
}

/**
 * The standard normal CDF and its log to full relative accuracy in the left tail (Mills' ratio
 * by its continued fraction), and Genz's bivariate normal upper orthant probability (TVPACK's
 * BVNU: the Drezner–Wesolowsky integral in asin(r) for |r| < 0.925, the expansion around
 * |r| = 1 beyond; 20-point Gauss–Legendre), scaled by e^ls in every exponent, with 1 - r^2 given
 * (from the exact gap) rather than recomputed. Plus the tilted orthant moment of one pair of pieces.
 */
export const HELPER_BVN = (ts: boolean) => {
  const n = ts ? ': number' : '';
  // 12 Gauss–Legendre points for |r| < 0.3, 20 beyond (Genz's 6 lose bits once scaled by e^ls), positive halves
  const half = (m: number) => {
    const rule = gaussLegendre(m);
    return { x: rule.x.slice(0, m / 2), w: rule.w.slice(0, m / 2) };
  };
  const [g12, { x, w }] = [half(12), half(20)];
  const arr = (xs: number[]) => `[${xs.map(String).join(', ')}]`;
  const lag = gaussLaguerre(32);
  const mills = [1.25, 1.75, 2.25, 2.75].map((u0) => millsTaylor(u0, MILLS_TERMS));
  return `const GLX12${ts ? ': readonly number[]' : ''} = ${arr(g12.x)};
const GLW12${ts ? ': readonly number[]' : ''} = ${arr(g12.w)};
const GLX${ts ? ': readonly number[]' : ''} = ${arr(x)};
const MILLS${ts ? ': readonly (readonly number[])[]' : ''} = [${mills.map(arr).join(', ')}];
const LAGX${ts ? ': readonly number[]' : ''} = ${arr(lag.x)};
const LAGW${ts ? ': readonly number[]' : ''} = ${arr(lag.w)};
const GLW${ts ? ': readonly number[]' : ''} = ${arr(w)};
const SQRT2PI = ${Math.sqrt(2 * Math.PI)};

/**
 * For u >= 1, D in Mills' ratio R = Phi(-u)/phi(u) = 1/(u + D), D = 1/(u + 2/(u + 3/(u + ...))):
 * Laplace's continued fraction, evaluated backward with 420/u^2 + 10 terms (its error falls
 * as e^(-c u sqrt(n)): measured below 1e-16 from u = 1 on).
 */
function millsD(u${n})${n} {
  let f = u;
  for (let k = Math.ceil(420 / (u * u)) + 10; k >= 2; k--) f = u + k / f;
  return 1 / f;
}
/** Mills' ratio R(u) = Phi(-u)/phi(u) for u >= 1: Taylor polynomials about 1.25, 1.75, 2.25, 2.75 below 3, the continued fraction beyond. */
function millsR(u${n})${n} {
  if (u >= 3) return 1 / (u + millsD(u));
  const i = u < 1.5 ? 0 : u < 2 ? 1 : u < 2.5 ? 2 : 3, d = u - (1.25 + 0.5 * i), c = MILLS[i]${ts ? '!' : ''};
  let r = c[${MILLS_TERMS - 1}]${ts ? '!' : ''};
  for (let j = ${MILLS_TERMS - 2}; j >= 0; j--) r = r * d + c[j]${ts ? '!' : ''};
  return r;
}
/** log Phi(x), accurate relative to Phi in the whole left tail (1 - erf would lose bits below -1). */
function logPhi(x${n})${n} {
  if (x > -1) return x > 3 ? Math.log1p(-0.5 * erfc(x / Math.SQRT2)) : Math.log(0.5 * erfc(-x / Math.SQRT2));
  const u = -x;
  return -0.5 * u * u - Math.log(SQRT2PI) + Math.log(millsR(u));
}
/** e^ls Phi(mu / tau), tau >= 0 (a step at tau = 0). */
function phiScaled(mu${n}, tau${n}, ls${n})${n} {
  if (tau > 0) return Math.exp(ls + logPhi(mu / tau));
  return mu > 0 ? Math.exp(ls) : mu < 0 ? 0 : 0.5 * Math.exp(ls);
}
/** E[z^+] for z ~ N(mu, tau^2), times e^ls: tau (phi(t) + t Phi(t)), t = mu / tau, without cancellation for t << 0. */
function posScaled(mu${n}, tau${n}, ls${n})${n} {
  if (!(tau > 0)) return mu > 0 ? mu * Math.exp(ls) : 0;
  const t = mu / tau;
  if (t > -3) return mu * phiScaled(mu, tau, ls) + tau * Math.exp(ls - 0.5 * t * t) / SQRT2PI;
  const u = -t, D = millsD(u), R = 1 / (u + D);
  return tau * Math.exp(ls - 0.5 * u * u) / SQRT2PI * D * R; // phi(u) (1 - u R) = phi(u) D R
}

/**
 * e^ls P(X > h, Y > k) for r < 0, h > 0 and (r h - k) / s <= -1: the integral over x > h of phi(x) Phi((r x - k) / s),
 * every term positive and decreasing, by 32-point Gauss–Laguerre in x - h scaled by the
 * integrand's decay rate at x = h.
 */
function bvnuTail(h${n}, k${n}, r${n}, as${n}, ls${n})${n} {
  // lam: the log-slope of the integrand at x = h, h + (-r / s) phi(z0) / Phi(z0)
  const s = Math.sqrt(as), z0 = (r * h - k) / s;
  const lam = h - (r / s) * Math.exp(-0.5 * z0 * z0 - Math.log(SQRT2PI) - logPhi(z0));
  let sum = 0;
  for (let i = 0; i < 32; i++) {
    const u = LAGX[i]${ts ? '!' : ''}, t = u / lam;
    sum += LAGW[i]${ts ? '!' : ''} * Math.exp(ls - (h * h) / 2 + u - h * t - (t * t) / 2 + logPhi(z0 + (r * t) / s));
  }
  return sum / (SQRT2PI * lam);
}

/** e^ls P(X > h, Y > k) for standard normals of correlation r, as = 1 - r^2. */
function bvnu(h${n}, k${n}, r${n}, as${n}, ls${n})${n} {
  let b = 0;
  // With r < 0 and a threshold far out, Genz's forms are differences of nearly equal terms (the
  // product form, and the |r| -> 1 form at the scale e^ls): the tail integral over the larger
  // threshold instead, every term positive.
  // Used where Phi((r x - k) / s) starts in its tail and falls (z0 = (r h - k) / s <= -1 for the
  // larger threshold h; nearer 0 the factor is a steep half Gaussian, not a Laguerre shape),
  // and either the threshold is far out (h >= 2: the Laguerre scale fits; measured 100x closer
  // than Genz's |r| -> 1 form there) or the product form would lose more than e (the exponent).
  const hi = Math.max(h, k), lo = Math.min(h, k);
  if (r < 0 && hi > 0 && r * hi - lo <= -Math.sqrt(as) && (hi >= 2 || (hi * hi - 2 * r * hi * lo + lo * lo) / (2 * as) - (hi * hi + lo * lo) / 2 > 1)) {
    if (!(as > 0)) return 0; // r = -1: X > h and -X > k cannot both hold when h + k >= (1 - r) h > 0
    return bvnuTail(hi, lo, r, as, ls);
  }
  if (Math.abs(r) < 0.925) {
    const hs = (h * h + k * k) / 2, asr = Math.asin(r), hk = h * k;
    const [X, W] = Math.abs(r) < 0.3 ? [GLX12, GLW12] : [GLX, GLW];
    for (let i = 0; i < X.length; i++) {
      const sa = Math.sin((asr * (1 - X[i]${ts ? '!' : ''})) / 2), sb = Math.sin((asr * (1 + X[i]${ts ? '!' : ''})) / 2);
      b += W[i]${ts ? '!' : ''} * (Math.exp((sa * hk - hs) / (1 - sa * sa) + ls) + Math.exp((sb * hk - hs) / (1 - sb * sb) + ls));
    }
    return (b * asr) / (4 * Math.PI) + Math.exp(ls + logPhi(-h) + logPhi(-k));
  }
  const kk = r < 0 ? -k : k, hk = r < 0 ? -h * k : h * k;
  if (as > 0) {
    const a = Math.sqrt(as), bs = (h - kk) * (h - kk), c = (4 - hk) / 8, d = (12 - hk) / 16;
    b = a * Math.exp(ls - (bs / as + hk) / 2) * (1 - (c * (bs - as) * (1 - (d * bs) / 5)) / 3 + (c * d * as * as) / 5);
    const bb = Math.sqrt(bs);
    if (bb > 0) b -= Math.exp(ls - hk / 2 + logPhi(-bb / a)) * SQRT2PI * bb * (1 - (c * bs * (1 - (d * bs) / 5)) / 3);
    const a2 = a / 2;
    for (let i = 0; i < 10; i++) {
      for (const sg of [-1, 1]) {
        const xs = (a2 + a2 * sg * GLX[i]${ts ? '!' : ''}) ** 2, rs = Math.sqrt(1 - xs), asr = ls - (bs / xs + hk) / 2;
        const sp = 1 + c * xs * (1 + d * xs);
        const ep = Math.exp(asr - (hk * xs) / (2 * (1 + rs) * (1 + rs))) / rs;
        b += a2 * GLW[i]${ts ? '!' : ''} * (ep - Math.exp(asr) * sp);
      }
    }
    b = -b / (2 * Math.PI);
  }
  if (r > 0) return b + Math.exp(ls + logPhi(-Math.max(h, kk)));
  if (h >= kk) return -b;
  const L = h < 0 ? Math.exp(ls + logPhi(kk)) - Math.exp(ls + logPhi(h)) : Math.exp(ls + logPhi(-h)) - Math.exp(ls + logPhi(-kk));
  return L - b;
}

/**
 * E[x1^k1 x2^k2 e^(a1 x1 + a2 x2) 1{s1 x1 > 0} 1{s2 x2 > 0}] for (x1, x2) ~ N(0, [[v1, c], [c, v2]]),
 * v1, v2 > 0, gap = v1 v2 - c^2 (exact, >= 0), k1, k2 in {0, 1}: the tilt moves the mean to
 * Sigma a and scales by e^(a'Sigma a/2); with y = (s1 x1, s2 x2), Stein's lemma gives the
 * moments from P(y1 > 0, y2 > 0) and the densities at 0 times the other's conditional law.
 */
function tiltedPair(k1${n}, a1${n}, s1${n}, k2${n}, a2${n}, s2${n}, c${n}, v1${n}, v2${n}, gap${n})${n} {
  const m1 = s1 * (a1 * v1 + a2 * c), m2 = s2 * (a1 * c + a2 * v2), C = s1 * s2 * c;
  const ls = (a1 * a1 * v1 + 2 * a1 * a2 * c + a2 * a2 * v2) / 2;
  const sd1 = Math.sqrt(v1), sd2 = Math.sqrt(v2);
  const r0 = C / (sd1 * sd2), r = r0 > 1 ? 1 : r0 < -1 ? -1 : r0;
  const P = bvnu(-m1 / sd1, -m2 / sd2, r, gap / (v1 * v2), ls);
  if (k1 === 0 && k2 === 0) return P;
  // y2 | y1 = 0 ~ N(mu21, tau2^2); y1 | y2 = 0 ~ N(mu12, tau1^2); e1, e2: log of e^ls phi(m/sd) sqrt(2 pi)
  // (mu21 = m2 - C m1 / v1 = s2 a2 gap / v1 exactly: written so, it has no cancellation and is 0 at the bound)
  const tau2 = Math.sqrt(gap / v1), mu21 = (s2 * a2 * gap) / v1, e1 = ls - (m1 * m1) / (2 * v1);
  const tau1 = Math.sqrt(gap / v2), mu12 = (s1 * a1 * gap) / v2, e2 = ls - (m2 * m2) / (2 * v2);
  const q1 = phiScaled(mu21, tau2, e1) / (sd1 * SQRT2PI); // e^ls E[delta(y1) 1{y2 > 0}]
  const q2 = phiScaled(mu12, tau1, e2) / (sd2 * SQRT2PI); // e^ls E[1{y1 > 0} delta(y2)]
  const M01 = m2 * P + C * q1 + v2 * q2;
  if (k1 === 1 && k2 === 0) return s1 * (m1 * P + v1 * q1 + C * q2);
  if (k1 === 0) return s2 * M01;
  return s1 * s2 * (m1 * M01 + (v1 * posScaled(mu21, tau2, e1)) / (sd1 * SQRT2PI) + C * P);
}

/** E[x^k e^(a x) 1{s x > 0}] for x ~ N(0, v), v > 0. */
function tiltedSingle(k${n}, a${n}, s${n}, v${n})${n} {
  const sd = Math.sqrt(v), m = s * a * v, ls = (a * a * v) / 2;
  if (k === 0) return phiScaled(m, sd, ls);
  return s * posScaled(m, sd, ls);
}`;
};

/** var1 var2 - cov12^2 with both products exact (Dekker's two-product), clamped at 0 (NaN stays NaN). */
export const HELPER_EXACT_GAP = (ts: boolean) => {
  const n = ts ? ': number' : '';
  return `function exactGap(c${n}, v1${n}, v2${n})${n} {
  const p = v1 * v2, q = c * c;
  const s = 134217729;
  let h = s * v1;
  const a1 = h - (h - v1), a2 = v1 - a1;
  h = s * v2;
  const b1 = h - (h - v2), b2 = v2 - b1;
  h = s * c;
  const c1 = h - (h - c), c2 = c - c1;
  const ep = a1 * b1 - p + a1 * b2 + a2 * b1 + a2 * b2;
  const eq = c1 * c1 - q + 2 * c1 * c2 + c2 * c2;
  const g = p - q + (ep - eq);
  return g > 0 ? g : g === g ? 0 : g;
}`;
};
