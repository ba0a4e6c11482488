// Kernels without a closed form, as finite sums of closed forms: the logistic family through a
// Gaussian scale mixture. The logistic distribution is a normal scale mixture (Andrews & Mallows
// 1974): sigmoid(x) = E[Phi(x / S)] with S = 2K, K Kolmogorov-distributed. The expectation over S
// is an integral in t = log S whose integrand is analytic in a strip and decays doubly
// exponentially at both ends, so the trapezoid rule in t converges exponentially; with step 0.13
// (LOGISTIC.nodes) it gives
//   sigmoid(x) = 1/2 + sum_k w_k (Phi(x / s_k) - 1/2) + delta(x),  |delta| <= LOGISTIC.sup (~5e-15).
// Every term of the family is then a weighted sum of Gaussian-smoothed blocks (Z standard normal,
// independent of x), whose pairwise expectations under N(0, [[var1, cov12], [cov12, var2]]) are
// closed forms (PAIRS below, each checked against quadrature in test/mixture.test.ts):
//   'odd'  O(x; s) = Phi(x / s) - 1/2 = E[step(x + s Z)] - 1/2      sigmoid(b x) - 1/2 = sum w O(x; s_k/b)
//   'even' A(x; s) = E|x + s Z| / 2 = E[relu(x + s Z)] - x/2        (softplus(b x) - b x/2)/b = sum w A(x; s_k/b)
//   'xodd' X(x; s) = x (Phi(x / s) - 1/2)                            x (sigmoid(b x) - 1/2) = sum w X(x; s_k/b)
// With y = x + s Z the pairs are orthant expectations of (y1, y2), whose covariance has the
// augmented gap G = V1 V2 - cov12^2 = (var1 var2 - cov12^2) + var1 t^2 + var2 s^2 + s^2 t^2 > 0
// (V = var + s^2): a sum of nonnegative terms once the Cauchy-Schwarz gap is exact, so no pair
// is singular at |rho| = 1 or on the diagonal, and every pair's terms share one sign.
import { NoClosedForm, type Combination } from './expectation.js';
import { erfD, evaluateHP, hpFromDouble } from './evaluate.js';
import { evaluationTree } from './evaluation.js';
import type { Expr } from './types.js';

/** The density of S = 2K (K Kolmogorov), from the two theta-function series of K's density. */
function mixingDensity(s: number): number {
  const k = s / 2;
  if (!(k > 0)) return 0;
  let sum = 0;
  if (k < 1) {
    for (let j = 1; j < 8; j++) {
      const a = ((2 * j - 1) ** 2 * Math.PI ** 2) / (8 * k * k);
      sum += (2 * a - 1) * Math.exp(-a);
    }
    return (Math.sqrt(2 * Math.PI) / (k * k)) * sum * 0.5;
  }
  for (let j = 1; j < 12; j++) sum += (j % 2 ? 1 : -1) * j * j * Math.exp(-2 * j * j * k * k);
  return 8 * k * sum * 0.5;
}

const STEP = 0.13;

/** The mixture's nodes s_k and weights w_k (summing to 1), trapezoid in log s at STEP, weights below 1e-14 dropped (5e-15 from sigmoid in all). */
function logisticNodes(): { readonly s: readonly number[]; readonly w: readonly number[] } {
  const s: number[] = [];
  const w: number[] = [];
  for (let k = -30; k <= 30; k++) {
    const e = Math.exp(k * STEP);
    const weight = STEP * mixingDensity(e) * e;
    if (weight > 1e-14) {
      s.push(e);
      w.push(weight);
    }
  }
  const total = w.reduce((a, b) => a + b, 0);
  return { s, w: w.map((x) => x / total) };
}

/**
 * How far the mixture is from the logistic function, sampled on u in [0, 40] at 1/200 (delta is
 * odd and below 1e-17 beyond): sup |delta|, integral of |delta| over the line, sup |u delta(u)|,
 * sup |delta'|, sup |u delta'(u)|.
 */
function logisticError(nodes: ReturnType<typeof logisticNodes>) {
  let sup = 0;
  let integral = 0;
  let xsup = 0;
  let dsup = 0;
  let xdsup = 0;
  const h = 1 / 200;
  for (let i = 0; i <= 8000; i++) {
    const u = i * h;
    const e = Math.exp(-u);
    let g = 0.5;
    let dg = 0;
    nodes.s.forEach((s, k) => {
      g += nodes.w[k]! * 0.5 * erfD(u / (s * Math.SQRT2));
      dg += (nodes.w[k]! * Math.exp(-(u * u) / (2 * s * s))) / (s * Math.sqrt(2 * Math.PI));
    });
    const delta = 1 / (1 + e) - g;
    const ddelta = e / ((1 + e) * (1 + e)) - dg;
    sup = Math.max(sup, Math.abs(delta));
    integral += 2 * h * Math.abs(delta);
    xsup = Math.max(xsup, Math.abs(u * delta));
    dsup = Math.max(dsup, Math.abs(ddelta));
    xdsup = Math.max(xdsup, Math.abs(u * ddelta));
  }
  return { sup, integral, xsup, dsup, xdsup };
}

let logistic: (ReturnType<typeof logisticNodes> & { error: ReturnType<typeof logisticError> }) | undefined;
/** The logistic function's scale mixture and its measured distance (computed once). */
export function logisticMixture() {
  if (!logistic) {
    const nodes = logisticNodes();
    logistic = { ...nodes, error: logisticError(nodes) };
  }
  return logistic;
}

// ---------------------------------------------------------------- the table of pairs

export type BlockKind = 'odd' | 'even' | 'xodd';

/**
 * E[B1(x1; s) B2(x2; t)] for two blocks, times 2 pi, and its derivative in cov12, as code over
 * the names of a pair loop: c (cov12), v1, v2, gap (var1 var2 - cov12^2, exact), si = s^2,
 * tj = t^2, V1 = v1 + si, V2 = v2 + tj, G (augmented gap), r = 1/sqrt(G), sG = sqrt(G),
 * th = asin(c / sqrt(V1 V2)) = atan(c r). Pairs of an odd and an even block vanish (parity).
 */
export interface PairRule {
  readonly kinds: readonly [BlockKind, BlockKind];
  readonly identity: string;
  readonly why: string;
  readonly nngp: string;
  readonly dNngp: string;
  /** The loop's names the two formulas read (beyond c, v1, v2, gap, si, tj, V2, G, r, the loop's own). */
  readonly reads: readonly ('sG' | 'th' | 'V1')[];
}

export const PAIRS: readonly PairRule[] = [
  {
    kinds: ['odd', 'odd'],
    identity: '2 pi E[O1 O2] = asin(rho_y), rho_y = c / sqrt(V1 V2); d: 1 / sqrt(G)',
    why: 'P(y1 > 0, y2 > 0) - 1/4 (Sheppard); atan(c / sqrt(G)) keeps full accuracy as |rho_y| -> 1',
    nngp: 'th',
    dNngp: 'r',
    reads: ['th'],
  },
  {
    kinds: ['even', 'even'],
    identity: '2 pi E[A1 A2] = sqrt(G) + c asin(rho_y); d: asin(rho_y)',
    why: 'the arc-cosine kernel of relu(y) less c/4; both terms >= 0, no cancellation at any rho',
    nngp: 'sG + c * th',
    dNngp: 'th',
    reads: ['sG', 'th'],
  },
  {
    kinds: ['even', 'xodd'],
    identity: '2 pi E[A1 X2] = sqrt(G) v2 / V2 + c asin(rho_y); d: asin(rho_y) + c t^2 / (V2 sqrt(G))',
    why: 'X = A - t dA/dt (so (1 - 2 t^2 d/dV2) of the even pair); terms of one sign',
    nngp: 'sG * v2 / V2 + c * th',
    dNngp: 'th + c * tj * r / V2',
    reads: ['sG', 'th'],
  },
  {
    kinds: ['xodd', 'even'],
    identity: '2 pi E[X1 A2] = sqrt(G) v1 / V1 + c asin(rho_y); d: asin(rho_y) + c s^2 / (V1 sqrt(G))',
    why: 'the mirror of even-xodd',
    nngp: 'sG * v1 / V1 + c * th',
    dNngp: 'th + c * si * r / V1',
    reads: ['sG', 'th', 'V1'],
  },
  {
    kinds: ['xodd', 'xodd'],
    identity:
      '2 pi E[X1 X2] = N / sqrt(G) + c asin(rho_y), N = v1 (gap + v2 s^2) / V1 + c^2 t^2 / V2; d: asin(rho_y) + (c / sqrt(G)) (s^2 / V1 + t^2 / V2) + c s^2 t^2 / G^(3/2)',
    why: '(1 - 2 s^2 d/dV1)(1 - 2 t^2 d/dV2) of the even pair, with N rearranged into nonnegative terms',
    nngp: '(v1 * (gap + v2 * si) / V1 + c * c * tj / V2) * r + c * th',
    dNngp: 'th + c * r * (si / V1 + tj / V2) + c * si * tj * r * r * r',
    reads: ['th', 'V1'],
  },
];

/**
 * E[B(x)] and E[B(x1) x2] (times sqrt(2 pi)) and the latter's derivative in cov12, of one block
 * over N(0, var): code over c, v (its variance), s (s^2) and V = v + s.
 */
export const SINGLES: Readonly<
  Record<BlockKind, { readonly mean: string; readonly timesX: string; readonly dTimesX: string }>
> = {
  odd: { mean: '0', timesX: 'c / Math.sqrt(V)', dTimesX: '1 / Math.sqrt(V)' },
  even: { mean: 'Math.sqrt(V)', timesX: '0', dTimesX: '0' },
  xodd: { mean: 'v / Math.sqrt(V)', timesX: '0', dTimesX: '0' },
};

// ---------------------------------------------------------------- an activation's mixture

/** One kind of block: its nodes' squared scales and weights (coefficient times w_k). */
export interface BlockGroup {
  readonly kind: BlockKind;
  readonly s2: readonly number[];
  readonly w: readonly number[];
}

/** f = alpha + beta x + sum of block groups: its kernel is MIXTURE's sum (emit/mixture.ts). */
export interface Mixture {
  readonly alpha: number;
  readonly beta: number;
  readonly groups: readonly BlockGroup[];
  /** sup |f - g| and sup |f' - g'| over the line, g the mixture (from the measured logistic error). */
  readonly error: { readonly f: number; readonly df: number };
  /** How f was read: each term as coef · kind(b). */
  readonly terms: readonly {
    readonly kind: BlockKind;
    readonly b: number;
    readonly coef: number;
    /** One exact block, Phi(b x) for sigmoid(b x) (erf terms and x erf). */
    readonly exact: boolean;
  }[];
}

const toNumber = (e: Expr) =>
  evaluateHP(evaluationTree(e), { cov12: hpFromDouble(0), var1: hpFromDouble(0), var2: hpFromDouble(0) }).toNumber();

/** The mixture of a combination that has logistic terms (affine in x besides them), else NoClosedForm. */
export function mixtureOf(f: Combination): Mixture {
  if (f.cos.length || f.exps.length)
    throw new NoClosedForm('the logistic family together with sin, cos or exp terms is not in the table');
  const [neg, pos] = [f.pp.neg, f.pp.pos].map((cs) => cs.map(toNumber));
  const at = (cs: readonly number[], k: number) => cs[k] ?? 0;
  if (
    neg!.some((c, k) => k > 1 && c !== 0) ||
    pos!.some((c, k) => k > 1 && c !== 0) ||
    at(neg!, 0) !== at(pos!, 0) ||
    at(neg!, 1) !== at(pos!, 1)
  )
    throw new NoClosedForm(
      'the logistic family is in the table with affine terms a + b x beside it, not with kinks or powers',
    );
  const { s, w, error } = logisticMixture();
  // erf(a x) beside them: 2 sign(a) (Phi(sqrt(2) |a| x) - 1/2), one exact block
  const erfs = f.erf.map((t) => {
    const a = toNumber(t.b);
    return {
      kind: 'odd' as const,
      b: Math.SQRT2 * Math.abs(a),
      coef: 2 * Math.sign(a) * toNumber(t.coef),
      exact: true,
    };
  });
  // (an exact block's scale may come signed: Phi(-b x) - 1/2 = -(Phi(b x) - 1/2), so the sign moves to coef)
  const signed = f.logistic.map((t) => ({ kind: t.kind, b: toNumber(t.b), coef: toNumber(t.coef), exact: !!t.exact }));
  const terms = [...signed.map((t) => (t.b < 0 ? { ...t, b: -t.b, coef: -t.coef } : t)), ...erfs].filter(
    (t) => t.coef !== 0,
  );
  const groups = (['odd', 'even', 'xodd'] as const)
    .map((kind) => {
      const mine = terms.filter((t) => t.kind === kind);
      return {
        kind,
        s2: mine.flatMap((t) => (t.exact ? [1 / t.b ** 2] : s.map((sk) => (sk / t.b) ** 2))),
        w: mine.flatMap((t) => (t.exact ? [t.coef] : w.map((wk) => t.coef * wk))),
      };
    })
    .filter((g) => g.w.length > 0);
  // sup |f - g| per term (u = b x): odd |delta(u)|; even (1/b) |int delta| <= integral / b;
  // xodd |x delta(b x)| <= xsup / b. Derivatives: odd b |delta'|; even |delta|; xodd |delta| + |u delta'|.
  let fErr = 0;
  let dfErr = 0;
  for (const t of terms) {
    const k = t.exact ? 0 : Math.abs(t.coef);
    fErr += k * (t.kind === 'odd' ? error.sup : t.kind === 'even' ? error.integral / t.b : error.xsup / t.b);
    dfErr += k * (t.kind === 'odd' ? t.b * error.dsup : t.kind === 'even' ? error.sup : error.sup + error.xdsup);
  }
  return { alpha: at(pos!, 0), beta: at(pos!, 1), groups, error: { f: fErr, df: dfErr }, terms };
}

/** The mixture's kernel in words and symbols, for the banner, `simplified` and `derive --print`. */
export function describeMixture(m: Mixture, derivative: boolean): string {
  const name = { odd: 'sigmoid(b x) - 1/2', even: '(softplus(b x) - b x/2)/b', xodd: 'x (sigmoid(b x) - 1/2)' };
  const f = [
    m.alpha ? String(m.alpha) : '',
    m.beta ? `${m.beta}*x` : '',
    ...m.terms.map(
      (t) =>
        `${t.coef}*[${(t.exact ? name[t.kind].replace('sigmoid', 'Phi') : name[t.kind]).replace(/b x/g, `${t.b}*x`).replace(/\/b$/, `/${t.b}`)}]`,
    ),
  ]
    .filter(Boolean)
    .join(' + ');
  const n = m.groups.reduce((a, g) => a + g.w.length, 0);
  const what = m.terms.every((t) => t.exact)
    ? `${n} exact Gaussian-smoothed blocks, sum over their pairs of closed forms in cov12, var1 + s_k^2, var2 + s_l^2`
    : `a Gaussian scale mixture of ${n} nodes, sum over node pairs of closed forms in cov12, var1 + s_k^2, var2 + s_l^2 (|f - mixture| <= ${m.error.f.toExponential(1)}, |f' - mixture'| <= ${m.error.df.toExponential(1)})`;
  return `${derivative ? "E[f'(x1) f'(x2)]" : 'E[f(x1) f(x2)]'}, f = ${f}: ${what}`;
}
