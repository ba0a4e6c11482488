// The stabilize pass: canonical IR → evaluation tree, for floating-point stability. Two steps:
//   1. REWRITES, rules on the canonical IR (data, rewrite.ts's driver): trig complements
//      chosen by the residual they leave, acos/asin as angles of exactly computed points,
//      y - x*angle without cancellation, differences of exponentials, log1p;
//   2. the evaluation tree (evaluation.ts, its decisions in LOWERINGS): raw constructors, so
//      that a factored form is kept as written, and the stable primitives of types.ts
//      (gap, rho, angle, dd, ddq, csum, expdd, expdiff, xangle).
import * as E from './expr.js';
import * as Q from './rational.js';
import { memoTable } from './memo.js';
import { fixpoint, type Rule } from './rewrite.js';
import { constantHP } from './evaluate.js';
import { evaluationTree, isConstant } from './evaluation.js';
import { simplify } from './simplify.js';
import { smallAngleSeries } from './smallangle.js';
import type { Expr, Fn, Rat, Tree } from './types.js';

const isFn = (e: Expr, ...names: string[]): e is Fn => e.k === 'fn' && names.includes(e.name);

/** Splits a term into m × F for its first factor F satisfying pred. */
function splitFactor(t: Expr, pred: (f: Expr) => boolean): [Expr, Fn] | undefined {
  const fs = t.k === 'mul' ? t.factors : [t];
  const i = fs.findIndex(pred);
  if (i < 0) return undefined;
  return [E.mul(...fs.filter((_, j) => j !== i)), fs[i] as Fn];
}

/**
 * For a sum, the first term i for which `partner` names the key of another term j (the key of
 * its non-numeric part) and a replacement of both; the sum with the pair replaced.
 */
type Partner = (ti: Expr) => { readonly restKey: string; readonly replace: (tj: Expr) => Expr | undefined } | undefined;

function rewritePair(e: Expr, partner: Partner): Expr | undefined {
  if (e.k !== 'add') return undefined;
  const ts = e.terms;
  const byRest = new Map<string, number[]>();
  ts.forEach((t, j) => {
    const k = E.splitCoeff(t)[1].key;
    byRest.set(k, [...(byRest.get(k) ?? []), j]);
  });
  for (let i = 0; i < ts.length; i++) {
    const p = partner(ts[i]!);
    if (!p) continue;
    for (const j of byRest.get(p.restKey) ?? []) {
      if (j === i) continue;
      const r = p.replace(ts[j]!);
      if (r) return E.add(...ts.filter((_, k) => k !== i && k !== j), r);
    }
  }
  return undefined;
}

/**
 * m*acos(u) + T with T = r*m*pi (r rational): the angle and the constant, written with the
 * residual constant nearest zero, so that the angle term carries the value:
 *   m*(acos(u) + r pi)               |r|        (r ≥ -1/4: kept as is)
 *   -m*asin(u) + (r + 1/2)*m*pi      |r + 1/2|  (-3/4 < r < -1/4)
 *   -m*acos(-u) + (r + 1)*m*pi       |r + 1|    (r ≤ -3/4)
 * (pi - acos(u) = acos(-u) exactly, ReLU near rho = -1; pi/2 - acos(u) = asin(u), erf.)
 */
const acosComplement: Partner = (ti) => {
  const a = splitFactor(ti, (f) => isFn(f, 'acos'));
  if (!a) return undefined;
  const [m, F] = a;
  const mpi = E.mul(m, E.PI);
  const u = F.args[0]!;
  return {
    restKey: E.splitCoeff(mpi)[1].key,
    replace: (tj) => {
      const ratio = E.div(tj, mpi); // a rational: tj has the key of m*pi
      if (ratio.k !== 'num') return undefined;
      const r = ratio.v;
      if (Q.cmp(r, Q.rat(-1, 4)) >= 0) return undefined;
      if (Q.cmp(r, Q.rat(-3, 4)) > 0)
        return E.add(E.neg(E.mul(m, E.fn('asin', [u]))), E.mul(E.num(Q.add(r, Q.HALF)), mpi));
      return E.add(E.neg(E.mul(m, E.fn('acos', [E.neg(u)]))), E.mul(E.num(Q.add(r, Q.ONE)), mpi));
    },
  };
};

/** m*y - m*x*angle(y, x) → m*ymxangle(y, x). */
const ymxangle: Partner = (ti) => {
  const an = splitFactor(ti, (f) => isFn(f, 'angle', 'atan2'));
  if (!an) return undefined;
  const [k, F] = an;
  const [y, x] = F.args as [Expr, Expr];
  const m = E.neg(E.mul(k, E.pow(x, E.MINUS_ONE)));
  const target = E.mul(m, y);
  return {
    restKey: E.splitCoeff(target)[1].key,
    replace: (tj) => (tj.key === target.key ? E.mul(m, E.fn('ymxangle', [y, x])) : undefined),
  };
};

/**
 * k*exp(a) - k → k*expm1(a); k*exp(a) - k'*exp(b) → k*expdiff(a, b, a - b) + (k - k')*exp(b)
 * where k' = k or k'/k is a constant within 2^-20 of 1 (a param such as c0 = -1.5707963267948966
 * makes cos(2*c0 + pi) = -1 + 7.5e-33: the difference is then a tiny separate term); for any
 * other constant k'/k = r > 0, k*expdiff(a, b + log r, a - b - log r).
 */
function expDifference(ti: Expr, tj: Expr, anyRatio: boolean): Expr | undefined {
  const ex = splitFactor(ti, (f) => isFn(f, 'exp'));
  if (!ex) return undefined;
  const [m, F] = ex;
  const a = F.args[0]!;
  const negm = E.neg(m);
  if (tj.key === negm.key) return E.mul(m, E.fn('expm1', [a]));
  const other = splitFactor(tj, (f) => isFn(f, 'exp'));
  if (!other) return undefined;
  const [m2, G] = other;
  const b = G.args[0]!;
  const diff = () => E.mul(m, E.fn('expdiff', [a, b, simplify(E.sub(a, b))]));
  if (m2.key === negm.key) return diff();
  const ratio = E.div(m2, negm);
  if (!isConstant(ratio)) return undefined;
  // k' = r k with r ≈ 1: the correction (k - k')*exp(b) = k (1 - r) exp(b), 1 - r folded to one
  // rational in 50 digits (its own rounding is relative to a term 2^20 times smaller than k).
  const oneMinusR = constantHP(E.sub(E.ONE, ratio));
  if (!oneMinusR.isFinite()) return undefined;
  if (oneMinusR.abs().lt(2 ** -20)) return E.add(diff(), E.mul(E.num(Q.fromNumber(oneMinusR.toNumber())), m, G));
  // Any other r > 0 (a Sin layer's phase: exp(a) - cos(2 c0) exp(b)): r exp(b) = exp(b + log r), so
  // the two still cancel where a = b + log r. log r enters as a rational of its 50 digits (1e-50
  // relative to it, far below a double-double's 1e-32), so that b + log r and a - b - log r are
  // polynomials with rational coefficients: evaluated in double-double, exp(b + log r) as exp(hi)(1 + lo).
  // r < 0 is a sum of one sign: nothing cancels.
  if (!anyRatio || !oneMinusR.lt(1)) return undefined;
  const logR = constantHP(E.fn('log', [ratio]));
  const logRational = Q.fromDecimal(logR.abs().toString());
  const shifted = E.add(b, E.num(logR.isNegative() ? Q.neg(logRational) : logRational));
  return E.mul(m, E.fn('expdiff', [a, shifted, simplify(E.sub(a, shifted))]));
}

/** The key of a term's non-constant factors (two terms whose keys agree differ by a constant factor). */
function variableKey(t: Expr): string {
  const fs = t.k === 'mul' ? t.factors : [t];
  return fs
    .filter((f) => !isConstant(f))
    .map((f) => f.key)
    .join('*');
}

/**
 * The pairs expDifference can match: terms k*exp(a) whose cofactors k differ by a constant (with
 * `anyRatio`, any constant r > 0; without, r = 1 or within 2^-20 of it).
 */
function expPairs(e: Expr, anyRatio: boolean): Expr | undefined {
  if (e.k !== 'add') return undefined;
  const ts = e.terms;
  const keys = ts.map((t) => {
    const ex = splitFactor(t, (f) => isFn(f, 'exp'));
    return ex ? variableKey(ex[0]) : undefined;
  });
  if (keys.every((k) => k === undefined)) return undefined;
  for (let i = 0; i < ts.length; i++) {
    if (keys[i] === undefined) continue;
    for (let j = 0; j < ts.length; j++) {
      if (i === j) continue;
      // exp(a) - 1 pairs with a constant multiple of the cofactor; exp(a) - exp(b) with another exp term.
      if (keys[j] !== undefined ? keys[j] !== keys[i] : variableKey(ts[j]!) !== keys[i]) continue;
      const r = expDifference(ts[i]!, ts[j]!, anyRatio);
      if (r) return E.add(...ts.filter((_, k) => k !== i && k !== j), r);
    }
  }
  return undefined;
}

/**
 * k*exp(a) + k*exp(b) - 2k*exp(m), m = (a + b)/2, d = (a - b)/2: a second difference of
 * exponentials (cosh(x) - 1 in exp form, a centred cosine's map), which cancels to order d^2
 * where d → 0; the third term may be the constant -2k (a + b = 0). Written as
 * k*exp(m)*(expm1(d/2) - expm1(-d/2))^2 where |d| ≤ 40, k*exp(max(a, b))*expm1(-|d|)^2 beyond.
 */
function expSecondDifference(e: Expr): Expr | undefined {
  if (e.k !== 'add') return undefined;
  const ts = e.terms;
  const exps = ts.map((t) => splitFactor(t, (f) => isFn(f, 'exp')));
  for (let i = 0; i < ts.length; i++) {
    const ei = exps[i];
    if (!ei) continue;
    for (let j = i + 1; j < ts.length; j++) {
      const ej = exps[j];
      if (!ej || ej[0].key !== ei[0].key) continue;
      const [m, F] = ei;
      const [a, b] = [F.args[0]!, ej[1].args[0]!];
      const mid = simplify(E.div(E.add(a, b), E.num(2)));
      const third = E.mul(E.num(-2), m, E.fn('exp', [mid])).key;
      const l = ts.findIndex((t, k) => k !== i && k !== j && t.key === third);
      if (l < 0) continue;
      const d = simplify(E.div(E.sub(a, b), E.num(2)));
      const q = simplify(E.div(d, E.num(2)));
      // |d| ≤ 40: k e^mid (e^(d/2) - e^(-d/2))^2, the exponentials' own arguments kept apart (a
      // merged exponent c - var1 rounds by var1 ulps); beyond, the largest exponential times a
      // factor in [0, 1], which neither overflows nor underflows where the terms do not.
      const small = E.mul(m, E.fn('exp', [mid]), E.pow(E.sub(E.fn('expm1', [q]), E.fn('expm1', [E.neg(q)])), E.num(2)));
      const large = E.mul(
        m,
        E.fn('exp', [E.fn('max', [a, b])]),
        E.pow(E.fn('expm1', [E.neg(E.fn('abs', [d]))]), E.num(2)),
      );
      const pair = E.fn('where', [E.fn('le', [E.fn('abs', [d]), E.num(40)]), small, large]);
      return E.add(...ts.filter((_, k) => k !== i && k !== j && k !== l), pair);
    }
  }
  return undefined;
}

/** A linear exponent α var1 + β var2 + γ cov12 + d (rational α, β, γ; d constant), or undefined. */
function linearExponent(L: Expr): { a: Rat; b: Rat; g: Rat; d: Expr } | undefined {
  let [a, b, g] = [Q.ZERO, Q.ZERO, Q.ZERO];
  const d: Expr[] = [];
  for (const t of L.k === 'add' ? L.terms : [L]) {
    if (isConstant(t)) {
      d.push(t);
      continue;
    }
    const [k, rest] = E.splitCoeff(t);
    if (rest.k !== 'sym') return undefined;
    if (rest.name === 'var1') a = Q.add(a, k);
    else if (rest.name === 'var2') b = Q.add(b, k);
    else if (rest.name === 'cov12') g = Q.add(g, k);
    else return undefined;
  }
  return { a, b, g, d: E.add(...d) };
}

/**
 * A sum of exponentials of linear exponents (and constants), S = Σ k_i exp(α_i var1 + β_i var2 +
 * γ_i cov12 + d_i), written as its value at cov12 = 0 plus the rest: S = S0 + Σ k_i (exp(L_i) -
 * exp(L_i at cov12 = 0)), where S0 = f(var1) g(var2) factors (its coefficient matrix over (α, β)
 * has rank one) and f or g vanishes at 0, so that f = Σ u_α expm1(α var1): the kernel of an
 * activation of zero value and nonzero even part (sin(x)^2: 1/4 - exp(-2 var1)/4 - exp(-2 var2)/4
 * + exp(-2 var1 - 2 var2)(exp(4 cov12) + exp(-4 cov12))/8) is E[f(x1)] E[f(x2)] plus a
 * second difference in cov12, each without cancellation. Undefined for any other sum.
 */
function expSumAroundZero(e: Expr): Expr | undefined {
  if (e.k !== 'add' || e.terms.length < 3) return undefined;
  const terms: { k: Expr; L: { a: Rat; b: Rat; g: Rat; d: Expr }; exp: Expr }[] = [];
  for (const t of e.terms) {
    if (isConstant(t)) {
      terms.push({ k: t, L: { a: Q.ZERO, b: Q.ZERO, g: Q.ZERO, d: E.ZERO }, exp: E.ONE });
      continue;
    }
    const ex = splitFactor(t, (f) => isFn(f, 'exp'));
    if (!ex || !isConstant(ex[0])) return undefined;
    const L = linearExponent(ex[1].args[0]!);
    if (!L) return undefined;
    terms.push({ k: ex[0], L, exp: ex[1] });
  }
  // The coefficient matrix of S0 over the exponents' var1 and var2 parts.
  const key = (q: Rat) => Q.toString(q);
  const rows = new Map<string, Rat>();
  const cols = new Map<string, Rat>();
  const cell = new Map<string, Expr>();
  for (const { k, L } of terms) {
    rows.set(key(L.a), L.a);
    cols.set(key(L.b), L.b);
    const at = `${key(L.a)}|${key(L.b)}`;
    cell.set(at, E.add(cell.get(at) ?? E.ZERO, E.mul(k, E.fn('exp', [L.d]))));
  }
  if (rows.size < 2 && cols.size < 2) return undefined;
  const value = (r: string, c: string) => constantHP(cell.get(`${r}|${c}`) ?? E.ZERO);
  let pivot: [string, string] | undefined;
  let largest = constantHP(E.ZERO);
  for (const r of rows.keys())
    for (const c of cols.keys()) {
      const v = value(r, c).abs();
      if (v.gt(largest)) [pivot, largest] = [[r, c], v];
    }
  if (!pivot) return undefined;
  const [r0, c0] = pivot;
  const p = value(r0, c0);
  for (const r of rows.keys())
    for (const c of cols.keys()) {
      const minor = value(r, c)
        .mul(p)
        .sub(value(r, c0).mul(value(r0, c)));
      if (!minor.abs().lte(p.mul(p).abs().mul('1e-40'))) return undefined;
    }
  // f = Σ u_α exp(α var1), g = Σ w_β exp(β var2); a factor that vanishes at 0 by its expm1s.
  const pivotExpr = cell.get(`${r0}|${c0}`)!;
  const u = [...rows].map(([r, a]) => ({ q: a, c: E.div(cell.get(`${r}|${c0}`) ?? E.ZERO, pivotExpr) }));
  const w = [...cols].map(([c, b]) => ({ q: b, c: cell.get(`${r0}|${c}`) ?? E.ZERO }));
  const vanishes = (cs: { c: Expr }[]) => {
    const sum = constantHP(E.add(...cs.map((x) => x.c))).abs();
    const size = cs.reduce((acc, x) => acc.add(constantHP(x.c).abs()), constantHP(E.ZERO));
    return sum.lte(size.mul('1e-40'));
  };
  const factor = (cs: { q: Rat; c: Expr }[], v: Expr): Expr[] =>
    vanishes(cs)
      ? cs.filter((x) => !Q.isZero(x.q)).map((x) => E.mul(x.c, E.fn('expm1', [E.mul(E.num(x.q), v)])))
      : cs.map((x) => E.mul(x.c, E.fn('exp', [E.mul(E.num(x.q), v)])));
  if (!vanishes(u) && !vanishes(w)) return undefined;
  // The two parts must not cancel each other: the rest a sum of second differences in cov12
  // (k e^B (e^(g cov12) + e^(-g cov12) - 2), of one sign) and the product of that sign too, for
  // var1, var2 > 0. (exp(3x) - exp(2x)'s kernel splits into two parts that cancel for cov12 < 0:
  // its value at cov12 = 0 is of order e^(9 var/2) beside a sum of order e^(9 var/4).)
  const sign = (x: Expr) => Math.sign(constantHP(x).toNumber());
  const factorSign = (cs: { q: Rat; c: Expr }[]) => {
    const live = cs.filter((x) => !E.isZero(x.c));
    if (vanishes(cs)) {
      const moving = live.filter((x) => !Q.isZero(x.q));
      return moving.length === 1 ? sign(moving[0]!.c) * Math.sign(Q.toNumber(moving[0]!.q)) : 0;
    }
    const signs = new Set(live.map((x) => sign(x.c)));
    return signs.size === 1 ? [...signs][0]! : 0;
  };
  const productSign = factorSign(u) * factorSign(w) * sign(pivotExpr);
  const moving = terms.filter(({ L }) => !Q.isZero(L.g));
  const evenPairs = moving.every(({ k, L }) =>
    moving.some(
      (o) =>
        Q.eq(o.L.g, Q.neg(L.g)) &&
        Q.eq(o.L.a, L.a) &&
        Q.eq(o.L.b, L.b) &&
        o.L.d.key === L.d.key &&
        o.k.key === k.key &&
        sign(k) === productSign,
    ),
  );
  if (productSign === 0 || !evenPairs) return undefined;
  const [fs, gs] = [factor(u, E.VAR1), factor(w, E.VAR2)];
  const s0 = fs.flatMap((f) => gs.map((g) => E.mul(f, g)));
  // The rest: each term less its value at cov12 = 0 (like terms merge: a second difference).
  const rest = terms
    .filter(({ L }) => !Q.isZero(L.g))
    .flatMap(({ k, L, exp }) => [
      E.mul(k, exp),
      E.mul(E.neg(k), E.fn('exp', [E.add(E.mul(E.num(L.a), E.VAR1), E.mul(E.num(L.b), E.VAR2), L.d)])),
    ]);
  return E.add(...s0, ...rest);
}

/** k*cos(x) - k → -2k*sin(x/2)^2 and k*cos(x) + k → 2k*cos(x/2)^2: the pair's replacement. */
const cosineComplement: Partner = (ti) => {
  const c = splitFactor(ti, (f) => isFn(f, 'cos'));
  if (!c) return undefined;
  const [m, F] = c;
  const half = simplify(E.div(F.args[0]!, E.num(2)));
  const square = (name: 'sin' | 'cos') => E.pow(E.fn(name, [half]), E.num(2));
  return {
    restKey: E.splitCoeff(m.k === 'num' ? E.ONE : m)[1].key,
    replace: (tj) =>
      tj.key === E.neg(m).key
        ? E.mul(E.num(-2), m, square('sin'))
        : tj.key === m.key
          ? E.mul(E.num(2), m, square('cos'))
          : undefined,
  };
};

/** k*cos(x)^2 - k → -k*sin(x)^2 and k*sin(x)^2 - k → -k*cos(x)^2: the pair's replacement. */
const pythagorean: Partner = (ti) => {
  const c = splitFactor(
    ti,
    (f) =>
      f.k === 'pow' && f.exp.k === 'num' && Q.eq(f.exp.v, Q.rat(2)) && (isFn(f.base, 'cos') || isFn(f.base, 'sin')),
  );
  if (!c) return undefined;
  const [m, F] = c as unknown as [Expr, Expr & { k: 'pow'; base: Expr & { k: 'fn' } }];
  const other = F.base.name === 'cos' ? 'sin' : 'cos';
  return {
    restKey: E.splitCoeff(m.k === 'num' ? E.ONE : m)[1].key,
    replace: (tj) => (tj.key === E.neg(m).key ? E.mul(E.neg(m), E.pow(E.fn(other, F.base.args), E.num(2))) : undefined),
  };
};

/**
 * m*sqrt(u) - m*w → m*(u - w^2)/(sqrt(u) + w) for w ≥ 0 where u - w^2 simplifies to fewer terms
 * than u (sqrt(1 + x) - 1 = x/(sqrt(1 + x) + 1), sqrt(var1*var2 + x) - sqrt(var1*var2)): the
 * difference done symbolically, the denominator a sum of two non-negative terms. Where w is
 * not a constant, both may be 0 (zero inputs), and so is the difference: 0 there.
 */
function rationalizeRoot(e: Expr): Expr | undefined {
  if (e.k !== 'add') return undefined;
  const ts = e.terms;
  for (let i = 0; i < ts.length; i++) {
    const r = splitFactor(ts[i]!, (f) => f.k === 'pow' && f.exp.k === 'num' && Q.eq(f.exp.v, Q.HALF));
    if (!r) continue;
    const [m, root] = r as unknown as [Expr, Expr & { k: 'pow' }];
    const u = root.base;
    if (u.k !== 'add') continue;
    for (let j = 0; j < ts.length; j++) {
      if (j === i) continue;
      const w = simplify(E.div(ts[j]!, E.neg(m)));
      if (!E.isNonneg(w)) continue;
      const diff = simplify(E.sub(u, E.pow(w, E.num(2))));
      if ((diff.k === 'add' ? diff.terms.length : 1) >= u.terms.length) continue;
      const denominator = E.add(root, w);
      const quotient = E.mul(m, diff, E.pow(denominator, E.MINUS_ONE));
      const guarded = isConstant(w) ? quotient : E.fn('where', [E.fn('gt', [denominator, E.ZERO]), quotient, E.ZERO]);
      return E.add(...ts.filter((_, k) => k !== i && k !== j), guarded);
    }
  }
  return undefined;
}

/** 1 - u^2 simplified, its root: the other coordinate of the point at angle acos(u) or asin(u). */
const cosineMemo = memoTable<Expr>(1000);
function cosine(u: Expr): Expr {
  return cosineMemo.get(u.key, () => E.pow(simplify(E.sub(E.ONE, E.pow(u, E.num(2)))), E.HALF));
}

/** Rules on sums (run first, while acos/asin are still visible, then with FUNCTION_REWRITES). */
const SUM_REWRITES: readonly Rule[] = [
  {
    name: 'm*acos(u) + r*m*pi → with the residual constant nearest 0: -m*asin(u) + (r + 1/2)*m*pi or -m*acos(-u) + (r + 1)*m*pi',
    sound: 'acos(-u) = pi - acos(u) and asin(u) = pi/2 - acos(u) on [-1, 1]',
    helps:
      'pi - acos(u) cancels when u → -1 (ReLU near rho = -1), pi/2 - acos(u) when u → 0 (erf); the angle computed directly keeps its digits',
    examples: [
      '(pi - acos(cov12/sqrt(var1*var2)))*cov12',
      '1 - 2*acos(cov12/sqrt(var1*var2))/pi',
      '0.7*cov12 - 0.2*cov12*acos(cov12/sqrt(var1*var2))/pi',
    ],
    apply: (e) => rewritePair(e, acosComplement),
  },
  {
    name: 'm*y - m*x*angle(y, x) → m*ymxangle(y, x)',
    sound:
      'definition; ymxangle evaluates x*(t - atan t), t = y/x, as x*(t^3/(1 + sqrt(1 + t^2))^2 + 2*(u - atan u)) with u = t/(1 + sqrt(1 + t^2)) (atan t = 2 atan u), u - atan u by its series',
    helps: 'sin(theta) - theta*cos(theta) (arc-cosine kernels near rho = -1) cancels to theta^3/3',
    examples: ['sqrt(var1*var2 - cov12^2) - cov12*atan2(sqrt(var1*var2 - cov12^2), cov12)'],
    apply: (e) => rewritePair(e, ymxangle),
  },
  {
    name: "Σ k_i exp(α_i var1 + β_i var2 + γ_i cov12 + d_i) → f(var1) g(var2) + Σ k_i (exp(L_i) - exp(L_i at cov12 = 0)) where the value at cov12 = 0 factors, f or g vanishes at 0 (as Σ u expm1(α var1)), and the rest is second differences in cov12 of the product's sign",
    sound:
      'S = S(cov12 = 0) + (S - S(cov12 = 0)); S(cov12 = 0) = Σ m_αβ exp(α var1) exp(β var2) = f(var1) g(var2) where the matrix m has rank one (checked in 50 digits); Σ u_α exp(α v) = Σ u_α expm1(α v) where Σ u_α = 0',
    helps:
      'sin(x)^2 and other activations of zero value and nonzero even part: their kernel 1/4 - exp(-2 var1)/4 - exp(-2 var2)/4 + ... cancels at small variances (33 bits lost at var = 1e-5, 9 on the diagonal at var ~ 1); the product of expm1s and the second difference in cov12 cancel nothing',
    examples: [
      '1/4 - exp(-2*var1)/4 - exp(-2*var2)/4 + exp(-2*var1 - 2*var2 - 4*cov12)/8 + exp(-2*var1 - 2*var2 + 4*cov12)/8',
      '1 - exp(-var1/2) - exp(-var2/2) + exp(cov12 - var1/2 - var2/2)/2 + exp(-cov12 - var1/2 - var2/2)/2',
    ],
    declines: [
      '1 - exp(-var1) - exp(-var2) + exp(-var1 - var2) + exp(cov12 - var1/2 - var2/2) - exp(-var1/2 - var2/2)',
      'exp(9*var1/2 + 9*var2/2 + 9*cov12) - exp(9*var1/2 + 2*var2 + 6*cov12) - exp(2*var1 + 9*var2/2 + 6*cov12) + exp(2*var1 + 2*var2 + 4*cov12)',
      'exp(cov12 - var1/2 - var2/2)/2 + exp(-cov12 - var1/2 - var2/2)/2',
      'exp(cov12 - var1/2 - var2/2) - exp(-cov12 - var1/2 - var2/2)',
      '2 - exp(-var1) - exp(-var2) + exp(cov12)',
    ],
    apply: expSumAroundZero,
  },
  {
    name: 'k*exp(a) - k → k*expm1(a); k*exp(a) - k*exp(b) → k*expdiff(a, b, a - b)',
    sound:
      'expm1(a) = exp(a) - 1; exp(a) - exp(b) = exp(max) * -expm1(-|a - b|) (sign restored), a - b simplified exactly',
    helps: 'no cancellation when a ≈ b (sin, sinh-like maps) or a ≈ 0; no inf*0 when exp overflows',
    examples: ['exp(cov12) - 1', 'exp(cov12 - var1) - exp(-cov12 - var1)'],
    apply: (e) => expPairs(e, false),
  },
  {
    name: 'k*exp(a) + k*exp(b) - 2k*exp(m), m = (a + b)/2, d = (a - b)/2 → k*exp(m)*(expm1(d/2) - expm1(-d/2))^2 where |d| ≤ 40, else k*exp(max(a, b))*expm1(-|d|)^2',
    sound:
      'exp(a) + exp(b) - 2 exp(m) = exp(m)(exp(d) + exp(-d) - 2) = exp(m)(exp(d/2) - exp(-d/2))^2 = exp(m + |d|)(1 - exp(-|d|))^2, and m + |d| = max(a, b)',
    helps:
      'cosh(x) - 1 (a centred cosine: exp(-(var1 + var2)/2)*(cosh(cov12) - 1)) cancels to x^2/2 at small x: all digits lost at cov12 = 3e-9, 13 bits at 0.01; the square of an expm1 cancels nothing',
    examples: [
      'exp(cov12)/2 + exp(-cov12)/2 - 1',
      'exp(cov12 - var1/2 - var2/2) + exp(-cov12 - var1/2 - var2/2) - 2*exp(-var1/2 - var2/2)',
      'exp(cov12 + var1) + exp(var1 - cov12) - 2*exp(var1)',
    ],
    declines: [
      'exp(cov12) + exp(-cov12) - 3',
      'exp(cov12) + 2*exp(-cov12) - 2',
      'exp(cov12) + exp(-cov12) - 2*exp(var1)',
    ],
    apply: expSecondDifference,
  },
  {
    name: 'k*exp(a) - k*r*exp(b) → k*expdiff(a, b + log r, a - b - log r) for a constant r > 0',
    sound:
      'r exp(b) = exp(b + log r) for r > 0, then expdiff as above; log r as the rational of its 50 digits (a relative change of 1e-50)',
    helps:
      'exp(a) - r exp(b) still cancels where a = b + log r (a Sin layer with a phase: exp(cov12/4) - cos(3/5) exp(-cov12/4) lost 6 bits at realistic entries); after the second differences, which it would split',
    examples: ['exp(cov12/4 - var1) - cos(3/5)*exp(-cov12/4 - var1)', '2*exp(cov12) - 3*exp(-cov12)'],
    declines: ['exp(cov12) + 3*exp(-cov12)', 'exp(cov12)*var1 - exp(-cov12)*var2'],
    apply: (e) => expPairs(e, true),
  },
  {
    name: 'k*cos(x) - k → -2k*sin(x/2)^2; k*cos(x) + k → 2k*cos(x/2)^2',
    sound: 'the half-angle identities 1 - cos(x) = 2 sin(x/2)^2 and 1 + cos(x) = 2 cos(x/2)^2',
    helps: '1 - cos(x) cancels to x^2/2 at small x (1 + cos(x) near x = pi): the squares cancel nothing',
    examples: ['1 - cos(cov12)', '(cos(2*cov12) - 1)*var1', '1 + cos(cov12)'],
    declines: ['cos(cov12) + 0.5', 'var1*cos(cov12) - var2', '2*cos(cov12) - 1'],
    apply: (e) => rewritePair(e, cosineComplement),
  },
  {
    name: 'm*sqrt(u) - m*w → m*(u - w^2)/(sqrt(u) + w) for w ≥ 0 where u - w^2 has fewer terms than u (0 where sqrt(u) + w = 0)',
    sound:
      '(sqrt(u) - w)(sqrt(u) + w) = u - w^2; sqrt(u) + w > 0 unless u = w = 0, where both sides are 0 (a constant w > 0: never)',
    helps:
      'sqrt(1 + x) - 1 and sqrt(var1*var2 + x) - sqrt(var1*var2) cancel to x/2 (over the root) at small x: 13 bits lost at cov12 = 0.01, all at 1e-8',
    examples: [
      'sqrt(1 + cov12^2) - 1',
      '2*sqrt(4 + cov12^2*var1) - 4',
      'sqrt(var1*var2 + cov12^2) - sqrt(var1*var2)',
      'sqrt(1 + cov12^2/(var1*var2)) - 1',
      'sqrt(var1 + cov12^2) - sqrt(var1)',
    ],
    declines: [
      'sqrt(1 + cov12^2) + 1',
      'sqrt(1 + cov12^2) - var1',
      'sqrt(1 + cov12^2) - 2',
      'sqrt(var1 + cov12^2) - sqrt(var2)',
      'sqrt(var1 + cov12^2) - cov12',
    ],
    apply: rationalizeRoot,
  },
  {
    name: 'k - k*cos(x)^2 → k*sin(x)^2; k - k*sin(x)^2 → k*cos(x)^2',
    sound: 'sin(x)^2 + cos(x)^2 = 1',
    helps: '1 - cos(x)^2 cancels to x^2 at small x (1 - sin(x)^2 near x = pi/2): all digits lost at cov12 = 1e-8',
    examples: ['1 - cos(cov12)^2', 'var1 - var1*cos(cov12)**2', '2 - 2*sin(cov12 + 1)^2'],
    declines: ['1 + cos(cov12)^2', '1 - cos(cov12)^3', '2 - cos(cov12)^2'],
    apply: (e) => rewritePair(e, pythagorean),
  },
];

/** Rules on functions (second step). */
const FUNCTION_REWRITES: readonly Rule[] = [
  {
    name: 'asin(u) → atan2(u, sqrt(1 - u^2)) with 1 - u^2 simplified',
    sound: 'asin(u) is the angle of the point (sqrt(1 - u^2), u)',
    helps:
      'asin loses half the digits near |u| = 1; 1 - u^2 built symbolically is var1*var2 - cov12^2 over a positive factor, computed exactly',
    examples: ['asin(cov12/sqrt(var1*var2))'],
    apply: (e) => (isFn(e, 'asin') ? E.fn('atan2', cancelPositive(e.args[0]!, cosine(e.args[0]!))) : undefined),
  },
  {
    name: 'acos(u) → angle(sqrt(1 - u^2), u) with 1 - u^2 simplified',
    sound: "acos(u) is the angle of (u, sqrt(1 - u^2)); angle(0, 0) = pi/2 is neural-tangents' theta at zero inputs",
    helps: 'as for asin; finite at zero inputs',
    examples: ['acos(cov12/sqrt(var1*var2))'],
    apply: (e) => (isFn(e, 'acos') ? E.fn('angle', cancelPositive(cosine(e.args[0]!), e.args[0]!)) : undefined),
  },
  {
    name: 'atan2(k y, k x) → atan2(y, x) for k > 0 (angle likewise)',
    sound: 'the angle of a point does not change under positive scaling',
    helps: 'removes the 0/0 of cov12/sqrt(var1*var2) and a rounding',
    examples: ['atan2(cov12*var1, var1*var2)'],
    apply: (e) => {
      if (!isFn(e, 'atan2', 'angle')) return undefined;
      const [y, x] = cancelPositive(e.args[0]!, e.args[1]!);
      return y.key === e.args[0]!.key && x.key === e.args[1]!.key ? undefined : E.fn(e.name, [y, x]);
    },
  },
  {
    name: 'log(1 + x) → log1p(x)',
    sound: 'definition of log1p',
    helps: '1 + x rounds away x when x is small',
    examples: ['log(1 + cov12^2)'],
    apply: (e) => {
      if (!isFn(e, 'log')) return undefined;
      const u = e.args[0]!;
      return u.k === 'add' && u.terms[0]!.k === 'num' && Q.isOne(u.terms[0]!.v)
        ? E.fn('log1p', [E.add(...u.terms.slice(1))])
        : undefined;
    },
  },
];

/** The canonical-level rewrites of this pass (tests sample each for soundness). */
export const REWRITES: readonly Rule[] = [...SUM_REWRITES, ...FUNCTION_REWRITES];

/**
 * Applies the canonical-level rewrites: first those on sums, which must see acos before it
 * becomes an angle; then all of them.
 */
export function rewriteCanonical(e: Expr): Expr {
  const rewritten = fixpoint(fixpoint(e, SUM_REWRITES, 6), REWRITES, 6);
  // Then the small-angle series of the sums that still cancel at small angles (J_1 has become
  // ymxangle, cheaper; J_2, J_3 remain): one pass, the series keeping the sum as `direct`.
  return E.rebuild(rewritten, (x) => SMALL_ANGLE.apply(x) ?? x);
}

/** The small-angle series (smallangle.ts), applied once after the fixed points above. */
export const SMALL_ANGLE: Rule = {
  name: 'sum of c cov12^i gap^(j/2) (var1 var2)^k theta^e → smallangle(..., Taylor series in theta) where the terms cancel to high order at theta → 0',
  sound:
    'the polar form (±cov12, sqrt(gap)) = r (cos theta, sin theta), r^2 = var1 var2, and the Taylor series of the resulting F(theta) with exact coefficients, truncated where its tail at PHI_MAX is below 2^-60 of F; the sum as written elsewhere',
  helps:
    'J_2 and J_3 (rectified monomials of degree 2, 3) near rho = -1 cancel to theta^5 and theta^7 against terms of order theta: they lost up to all their bits',
  examples: ['((var1*var2/2 + cov12^2)*acos(-cov12/sqrt(var1*var2)) + 3*sqrt(var1*var2 - cov12^2)*cov12/2)/pi'],
  apply: smallAngleSeries,
};

/** Divides y and x by the factors they share that are known ≥ 0 (same base and exponent). */
function cancelPositive(y: Expr, x: Expr): [Expr, Expr] {
  const fy = y.k === 'mul' ? y.factors : [y];
  const fx = x.k === 'mul' ? x.factors : [x];
  const common = fy.filter((f) => f.k !== 'num' && E.isNonneg(f) && fx.some((g) => g.key === f.key));
  if (common.length === 0) return [y, x];
  const inv = E.pow(E.mul(...common), E.MINUS_ONE);
  return [E.mul(y, inv), E.mul(x, inv)];
}

/** The stabilize pass: canonical expression → evaluation tree. */
export function stabilize(e: Expr): Tree {
  return evaluationTree(rewriteCanonical(e));
}
