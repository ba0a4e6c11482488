// From the activation to its kernel: nngp_fn(cov12, var1, var2) = E[f(x1) f(x2)] in closed form,
// by an algebra of known expectations (not a list of whole activations). f, a core expression in
// x (written as cov12 by the caller), is decomposed into a combination of basis families, and
// the kernel is the sum of the families' pairwise cross-expectations, each from a table entry
// that test/expectation.test.ts checks by quadrature:
// - piecewise polynomials with their break at 0 (x, constants, relu, abs, sign, step, leaky and
//   rectified monomials, polynomials; products and powers of them): every pair by the orthant
//   moments M(a, b; rho) = E[z1^a z2^b 1{z1 > 0} 1{z2 > 0}] of a standard bivariate normal, from
//   Stein's lemma with its boundary terms (`orthantMoment`);
// - erf(b x): with itself (the arcsine kernel), and with the odd part of a piecewise polynomial
//   when that is a x + c sign(x) (its even part meets erf's oddness in 0);
// - cos(a x + p) and sin(a x + p): with themselves, and with polynomials of degree ≤ 1; their
//   products and whole powers by the product-to-sum identities (sin(x)^2 = (1 - cos(2 x))/2).
// The logistic family (sigmoid(b x), tanh(b x), softplus(b x), x sigmoid(b x), affine in them) has
// no closed form; it is recognised here as terms of a Gaussian scale mixture (mixture.ts), whose
// kernel is a sum over the mixture's nodes of closed forms.
// x erf(b x) (GELU's shape) joins them as an exact block of the same closed forms, one node.
// Everything else (products such as x^2 erf(x), erf with relu's kink beyond its odd part, ...) is
// refused with the reason: no closed form in the table.
import * as E from './expr.js';
import * as Q from './rational.js';
import { constantHP } from './evaluate.js';
import type { Expr } from './types.js';

/** A piecewise polynomial with its break at 0: coefficients (constants) of x^k for x < 0 and x > 0. */
interface Piecewise {
  readonly neg: readonly Expr[];
  readonly pos: readonly Expr[];
}

/**
 * coef · B(x; b) for a constant b > 0, B one of (mixture.ts writes each as a scale mixture):
 * 'odd' sigmoid(b x) - 1/2; 'even' (softplus(b x) - b x/2) / b; 'xodd' x (sigmoid(b x) - 1/2).
 */
export interface LogisticTerm {
  readonly kind: 'odd' | 'even' | 'xodd';
  readonly b: Expr;
  readonly coef: Expr;
  /**
   * A single exact block with Phi(b x) in place of sigmoid(b x) (no mixture): x erf(a x) =
   * 2 sign(a) x (Phi(sqrt(2) |a| x) - 1/2), and the erf terms beside it.
   */
  readonly exact?: boolean;
}

/** f as a combination of the basis families. */
export interface Combination {
  readonly pp: Piecewise;
  /** coef · erf(b x). */
  readonly erf: readonly { readonly b: Expr; readonly coef: Expr }[];
  /** coef · cos(a x + p) (sin as cos with p - pi/2). */
  readonly cos: readonly { readonly a: Expr; readonly p: Expr; readonly coef: Expr }[];
  /** The logistic family's terms (no closed form: a scale-mixture kernel). */
  readonly logistic: readonly LogisticTerm[];
  /** coef · x^k e^(a x) on one side of 0 (a ≠ 0): kernels through the bivariate normal CDF (tilted.ts). */
  readonly exps: readonly ExpTerm[];
}

/** coef · x^k · e^(a x) · 1{x < 0} (side 'neg') or 1{x > 0} ('pos'), k ≤ 1. */
export interface ExpTerm {
  readonly k: 0 | 1;
  readonly a: Expr;
  readonly side: 'neg' | 'pos';
  readonly coef: Expr;
}

/** Why f has no closed form in the table. */
export class NoClosedForm extends Error {}

const same = (a: Expr, b: Expr) => a.key === b.key;
/** Free of x (cov12 here): numbers, pi and params kept as symbols for a gradient. */
const isConst = (e: Expr) => !E.mentions(e, 'cov12');
const ZERO_PP: Piecewise = { neg: [], pos: [] };
const coeff = (cs: readonly Expr[], k: number) => cs[k] ?? E.ZERO;

function ppAdd(a: Piecewise, b: Piecewise, k: Expr = E.ONE): Piecewise {
  const side = (x: readonly Expr[], y: readonly Expr[]) =>
    Array.from({ length: Math.max(x.length, y.length) }, (_, i) => E.add(coeff(x, i), E.mul(k, coeff(y, i))));
  return { neg: side(a.neg, b.neg), pos: side(a.pos, b.pos) };
}
function ppMul(a: Piecewise, b: Piecewise): Piecewise {
  const side = (x: readonly Expr[], y: readonly Expr[]) => {
    const out: Expr[] = [];
    x.forEach((xi, i) => y.forEach((yj, j) => (out[i + j] = E.add(out[i + j] ?? E.ZERO, E.mul(xi, yj)))));
    return out;
  };
  return { neg: side(a.neg, b.neg), pos: side(a.pos, b.pos) };
}
const ppConst = (k: Expr): Piecewise => ({ neg: [k], pos: [k] });
const trim = (cs: readonly Expr[]) => {
  const out = [...cs];
  while (out.length && E.isZero(out[out.length - 1]!)) out.pop();
  return out;
};
/** The sign of a piecewise polynomial on each side, where each side is one monomial (else undefined). */
function sides(d: Piecewise): { neg: -1 | 0 | 1; pos: -1 | 0 | 1 } | undefined {
  const sideSign = (cs: readonly Expr[], negative: boolean): -1 | 0 | 1 | undefined => {
    const nz = trim(cs)
      .map((c, k) => [c, k] as const)
      .filter(([c]) => !E.isZero(c));
    if (nz.length === 0) return 0;
    if (nz.length > 1) return undefined;
    const [c, k] = nz[0]!;
    if (c.k !== 'num') return undefined;
    const s = c.v.n > 0n ? 1 : -1;
    return (negative && k % 2 === 1 ? -s : s) as -1 | 1;
  };
  const neg = sideSign(d.neg, true);
  const pos = sideSign(d.pos, false);
  return neg === undefined || pos === undefined ? undefined : { neg, pos };
}

const only = (pp: Piecewise): Combination => ({ pp, erf: [], cos: [], logistic: [], exps: [] });
const isPP = (c: Combination) =>
  c.erf.length === 0 && c.cos.length === 0 && c.logistic.length === 0 && c.exps.length === 0;
/** Only piecewise polynomials and exp terms. */
const isPPE = (c: Combination) => c.erf.length === 0 && c.cos.length === 0 && c.logistic.length === 0;
const isConstantPP = (c: Combination) =>
  isPP(c) && trim(c.pp.neg).length <= 1 && trim(c.pp.pos).length <= 1 && same(coeff(c.pp.neg, 0), coeff(c.pp.pos, 0));
function scale(c: Combination, k: Expr): Combination {
  return {
    pp: ppAdd(ZERO_PP, c.pp, k),
    erf: c.erf.map((t) => ({ ...t, coef: E.mul(k, t.coef) })),
    cos: c.cos.map((t) => ({ ...t, coef: E.mul(k, t.coef) })),
    logistic: c.logistic.map((t) => ({ ...t, coef: E.mul(k, t.coef) })),
    exps: c.exps.map((t) => ({ ...t, coef: E.mul(k, t.coef) })),
  };
}
function sum(a: Combination, b: Combination): Combination {
  return {
    pp: ppAdd(a.pp, b.pp),
    erf: [...a.erf, ...b.erf],
    cos: mergeCos([...a.cos, ...b.cos]),
    logistic: [...a.logistic, ...b.logistic],
    exps: [...a.exps, ...b.exps],
  };
}
/** The constant of a combination of only cos terms and a constant (undefined for anything else). */
function trigConstant(c: Combination): Expr | undefined {
  if (c.erf.length || c.logistic.length || c.exps.length) return undefined;
  const [n, p] = [trim(c.pp.neg), trim(c.pp.pos)];
  if (n.length > 1 || p.length > 1 || !same(coeff(n, 0), coeff(p, 0))) return undefined;
  return coeff(p, 0);
}
/** The largest whole power of a sum of sin and cos taken by product-to-sum (2^n terms before merging). */
const MAX_TRIG_POWER = 8;
/**
 * The most distinct frequencies an activation's sin and cos may have: the kernel has their terms'
 * pairs (a power of two incommensurate frequencies, (cos(x) + cos(1.4142 x))^4, made 81 pairs
 * and compiled in 14 s).
 */
const MAX_TRIG_TERMS = 8;
/** cos(p) folded where p is a multiple of pi/2 (0, ±1), else cos(p). */
function cosOf(p: Expr): Expr {
  if (E.isZero(p)) return E.ONE;
  const [q, rest] = E.splitCoeff(p);
  const twice = Q.mul(q, Q.rat(2));
  if (rest.key !== E.PI.key || !Q.isInt(twice)) return E.fn('cos', [p]);
  const quarter = Number(((twice.n % 4n) + 4n) % 4n);
  return E.num([1, 0, -1, 0][quarter]!);
}
/**
 * (k1 + Σ a_i cos(α_i x + p_i)) (k2 + Σ b_j cos(β_j x + q_j)) by the product-to-sum identity
 * cos A cos B = (cos(A + B) + cos(A - B))/2, terms of one frequency and phase merged, a term of
 * frequency 0 a constant; undefined unless both are such sums.
 */
function trigProduct(a: Combination, b: Combination): Combination | undefined {
  const [k1, k2] = [trigConstant(a), trigConstant(b)];
  if (!k1 || !k2) return undefined;
  const terms: CosTerm[] = [
    ...b.cos.map((t) => ({ ...t, coef: E.mul(k1, t.coef) })),
    ...a.cos.map((t) => ({ ...t, coef: E.mul(k2, t.coef) })),
  ];
  for (const s of a.cos)
    for (const t of b.cos) {
      const coef = E.mul(E.HALF, s.coef, t.coef);
      terms.push({ a: E.add(s.a, t.a), p: E.add(s.p, t.p), coef });
      terms.push({ a: E.sub(s.a, t.a), p: E.sub(s.p, t.p), coef });
    }
  // A term of frequency 0 is the constant cos(p).
  const still = terms.filter((t) => !E.isZero(t.a));
  const constant = E.add(E.mul(k1, k2), ...terms.filter((t) => E.isZero(t.a)).map((t) => E.mul(t.coef, cosOf(t.p))));
  return { ...only(ppConst(constant)), cos: mergeCos(still) };
}

type CosTerm = Combination['cos'][number];
/** Cos terms of one frequency and phase merged (cos(-a x - p) = cos(a x + p): one sign of frequency), zeros dropped. */
function mergeCos(ts: readonly CosTerm[]): CosTerm[] {
  const merged = new Map<string, CosTerm>();
  for (const t of ts) {
    const [a, p] = t.a.k === 'num' && t.a.v.n < 0n ? [E.neg(t.a), E.neg(t.p)] : [t.a, t.p];
    const key = `${a.key}|${p.key}`;
    const prev = merged.get(key);
    merged.set(key, { a, p, coef: prev ? E.add(prev.coef, t.coef) : t.coef });
  }
  return [...merged.values()].filter((t) => !E.isZero(t.coef));
}

/** u as k x + p with constants k, p (or undefined). */
function linear(u: Combination): { k: Expr; p: Expr } | undefined {
  if (!isPP(u)) return undefined;
  const [n, p] = [trim(u.pp.neg), trim(u.pp.pos)];
  if (n.length > 2 || p.length > 2 || !same(coeff(n, 0), coeff(p, 0)) || !same(coeff(n, 1), coeff(p, 1)))
    return undefined;
  return { k: coeff(p, 1), p: coeff(p, 0) };
}

/** f(x) (x as cov12) as a combination of the basis families, or NoClosedForm naming what is not covered. */
export function decompose(f: Expr): Combination {
  if (isConst(f)) return only(ppConst(f));
  switch (f.k) {
    case 'sym':
      return only({ neg: [E.ZERO, E.ONE], pos: [E.ZERO, E.ONE] });
    case 'add':
      return f.terms.map(decompose).reduce(sum);
    case 'mul': {
      const consts = f.factors.filter(isConst);
      const rest = sigmoidQuotients(f.factors.filter((x) => !isConst(x))).map((x) => ('k' in x ? decompose(x) : x));
      const k = consts.length ? E.mul(...consts) : E.ONE;
      const product = rest.reduce((a, b) => {
        if (isConstantPP(a)) return scale(b, coeff(a.pp.pos, 0));
        if (isConstantPP(b)) return scale(a, coeff(b.pp.pos, 0));
        if (isPP(a) && isPP(b)) return only(ppMul(a.pp, b.pp));
        const timesX =
          affineTimesLogistic(a, b) ?? affineTimesLogistic(b, a) ?? affineTimesErf(a, b) ?? affineTimesErf(b, a);
        if (timesX) return timesX;
        const timesExp = ppTimesExps(a, b) ?? ppTimesExps(b, a);
        if (timesExp) return timesExp;
        const trig = trigProduct(a, b);
        if (trig) return trig;
        throw new NoClosedForm(
          'a product of erf, sin, cos or the logistic family with a function of x is not in the table (a + b x times erf(c x), sigmoid(c x) or tanh(c x) is)',
        );
      });
      return scale(product, k);
    }
    case 'pow': {
      const s = sigmoidOf(f);
      if (s) return s;
      if (onePlusExpSafe(f.base))
        throw new NoClosedForm('of the logistic family, sigmoid(b x) is in the table, not its powers or quotients');
      const n = f.exp.k === 'num' && f.exp.v.d === 1n && f.exp.v.n >= 0n && f.exp.v.n <= 12n ? Number(f.exp.v.n) : -1;
      const base = decompose(f.base);
      // sin and cos with constants: whole powers by the product-to-sum identities.
      if (n >= 0 && n <= MAX_TRIG_POWER && !isPP(base) && trigConstant(base)) {
        let acc = only(ppConst(E.ONE));
        for (let i = 0; i < n; i++) acc = trigProduct(acc, base)!;
        return acc;
      }
      if (n < 0 || !isPP(base))
        throw new NoClosedForm(
          `only whole powers of piecewise polynomials (up to 12) and of sin and cos with constants (up to ${MAX_TRIG_POWER}) are in the table`,
        );
      let acc: Piecewise = ppConst(E.ONE);
      for (let i = 0; i < n; i++) acc = ppMul(acc, base.pp);
      return only(acc);
    }
    case 'fn':
      return decomposeFunction(f.name, f.args);
    case 'num':
      return only(ppConst(f));
  }
}

function decomposeFunction(name: string, args: readonly Expr[]): Combination {
  const pp = (i: number): Piecewise => {
    const c = decompose(args[i]!);
    if (!isPP(c)) throw new NoClosedForm(`${name} of erf, sin or cos is not in the table`);
    return c.pp;
  };
  const signs = (d: Piecewise) => {
    const s = sides(d);
    if (!s)
      throw new NoClosedForm(
        `${name}(...) is in the table only where its argument's sign changes at x = 0 alone (as in relu(x), abs(x), max(x, a x))`,
      );
    return s;
  };
  const pick = (s: { neg: number; pos: number }, ifPos: Piecewise, ifNeg: Piecewise, atZero = ifNeg): Piecewise => ({
    neg: s.neg > 0 ? ifPos.neg : s.neg < 0 ? ifNeg.neg : atZero.neg,
    pos: s.pos > 0 ? ifPos.pos : s.pos < 0 ? ifNeg.pos : atZero.pos,
  });
  switch (name) {
    case 'max':
    case 'min': {
      const [a, b] = [pp(0), pp(1)];
      const s = signs(ppAdd(a, b, E.MINUS_ONE)); // sign of a - b
      return only(name === 'max' ? pick(s, a, b) : pick(s, b, a));
    }
    case 'abs': {
      const a = pp(0);
      return only(pick(signs(a), a, ppAdd(ZERO_PP, a, E.MINUS_ONE)));
    }
    case 'sign': {
      const s = signs(pp(0));
      return only({ neg: [E.num(s.neg)], pos: [E.num(s.pos)] });
    }
    case 'where': {
      const cond = args[0]!;
      if (cond.k !== 'fn' || !['lt', 'le', 'gt', 'ge'].includes(cond.name))
        throw new NoClosedForm('where(...) is in the table with a condition x < 0, x > 0 and the like');
      const d = ppAdd(decompose(cond.args[0]!).pp, decompose(cond.args[1]!).pp, E.MINUS_ONE);
      const s = signs(d);
      const holds = (v: number) => ((cond.name === 'lt' || cond.name === 'le' ? v < 0 : v > 0) ? 1 : -1);
      const [ca, cb] = [decompose(args[1]!), decompose(args[2]!)];
      if (!isPPE(ca) || !isPPE(cb))
        throw new NoClosedForm(`${name} of erf, sin, cos or the logistic family is not in the table`);
      const chosen = { neg: holds(s.neg), pos: holds(s.pos) };
      // exp terms of the branch each side takes, kept on that side
      const exps = (['neg', 'pos'] as const).flatMap((side) =>
        (chosen[side] > 0 ? ca : cb).exps.filter((t) => t.side === side),
      );
      return { ...only(pick(chosen, ca.pp, cb.pp)), exps };
    }
    case 'exp': {
      // e^(k x + p) = e^p e^(k x) on both sides of 0
      const u = linear(decompose(args[0]!));
      if (!u || u.k.k !== 'num') throw new NoClosedForm('exp is in the table as exp(a x + p) for a number a');
      const coef = E.fn('exp', [u.p]);
      return {
        ...only(ZERO_PP),
        exps: (['neg', 'pos'] as const).map((side) => ({ k: 0 as const, a: u.k, side, coef })),
      };
    }
    case 'tanh': {
      // tanh(k x) = 2 sigmoid(2 k x) - 1 = 2 sign(k) (sigmoid(2 |k| x) - 1/2)
      const k = logisticSlope(args[0]!, 'tanh');
      return logisticTerm('odd', E.mul(E.num(2), abs(k)), E.num(2 * sign(k)));
    }
    case 'log': {
      // softplus(k x) = log(1 + exp(k x)) = k x/2 + |k| (softplus(|k| x) - |k| x/2) / |k|
      const k = onePlusExp(args[0]!);
      if (!k) throw new NoClosedForm('log is in the table as softplus, log(1 + exp(b x))');
      return sum(
        only({ neg: [E.ZERO, E.mul(E.HALF, k)], pos: [E.ZERO, E.mul(E.HALF, k)] }),
        logisticTerm('even', abs(k), abs(k)),
      );
    }
    case 'erf': {
      const u = linear(decompose(args[0]!));
      if (!u || !E.isZero(u.p)) throw new NoClosedForm('erf is in the table as erf(b x) (no shift)');
      return { ...only(ZERO_PP), erf: [{ b: u.k, coef: E.ONE }] };
    }
    case 'sin':
    case 'cos': {
      const u = linear(decompose(args[0]!));
      if (!u) throw new NoClosedForm(`${name} is in the table as ${name}(a x + p)`);
      const p = name === 'cos' ? u.p : E.sub(u.p, E.mul(E.HALF, E.PI));
      return { ...only(ZERO_PP), cos: [{ a: u.k, p, coef: E.ONE }] };
    }
    default:
      throw new NoClosedForm(`${name} has no closed-form kernel in the table`);
  }
}

// ---------------------------------------------------------------- the logistic family

/** The sign and magnitude of a number (logisticSlope's k). */
const sign = (k: Expr) => (k.k === 'num' && k.v.n < 0n ? -1 : 1);
const abs = (k: Expr) => (sign(k) < 0 ? E.neg(k) : k);
const logisticTerm = (kind: LogisticTerm['kind'], b: Expr, coef: Expr): Combination => ({
  ...only(ZERO_PP),
  logistic: [{ kind, b, coef }],
});

/** A piecewise polynomial times exp terms: x^j e^(a x) on each side, j + k ≤ 1; else undefined. */
function ppTimesExps(a: Combination, b: Combination): Combination | undefined {
  if (
    !isPP(a) ||
    !isPPE(b) ||
    !b.exps.length ||
    b.pp.neg.some((c) => !E.isZero(c)) ||
    b.pp.pos.some((c) => !E.isZero(c))
  )
    return undefined;
  const exps: ExpTerm[] = [];
  for (const t of b.exps)
    trim(a.pp[t.side]).forEach((c, j) => {
      if (E.isZero(c)) return;
      if (j + t.k > 1) throw new NoClosedForm('exp terms are in the table times 1 or x, not higher powers');
      exps.push({ ...t, k: (j + t.k) as 0 | 1, coef: E.mul(c, t.coef) });
    });
  return { ...only(ZERO_PP), exps };
}

/** k for an argument k x (a nonzero number k, no shift), else NoClosedForm naming the function. */
function logisticSlope(u: Expr, name: string): Expr {
  const l = linear(decompose(u));
  if (!l || !E.isZero(l.p) || l.k.k !== 'num' || E.isZero(l.k))
    throw new NoClosedForm(`${name} is in the table as ${name}(b x) for a number b (no shift)`);
  return l.k;
}

/** k where e = 1 + exp(k x), else undefined. */
function onePlusExp(e: Expr): Expr | undefined {
  if (e.k !== 'add' || e.terms.length !== 2) return undefined;
  const [one, ex] = e.terms[0]!.k === 'num' ? [e.terms[0]!, e.terms[1]!] : [e.terms[1]!, e.terms[0]!];
  if (one.k !== 'num' || !same(one, E.ONE) || ex.k !== 'fn' || ex.name !== 'exp') return undefined;
  return logisticSlope(ex.args[0]!, 'sigmoid');
}

/** sigmoid(k x) = 1/2 + sign(k) (sigmoid(|k| x) - 1/2). */
const sigmoidTerm = (k: Expr): Combination => sum(only(ppConst(E.HALF)), logisticTerm('odd', abs(k), E.num(sign(k))));

/** 1/(1 + exp(k x)) = sigmoid(-k x), else undefined. */
function sigmoidOf(e: Expr): Combination | undefined {
  if (e.k !== 'pow' || !same(e.exp, E.MINUS_ONE)) return undefined;
  const k = onePlusExp(e.base);
  return k ? sigmoidTerm(E.neg(k)) : undefined;
}

/** Factors with each exp(k x) · 1/(1 + exp(k x)) pair (= sigmoid(k x)) replaced by its combination. */
function sigmoidQuotients(factors: readonly Expr[]): (Expr | Combination)[] {
  const out: (Expr | Combination)[] = [...factors];
  for (let i = 0; i < out.length; i++) {
    const q = out[i]!;
    if (!('k' in q) || q.k !== 'pow' || !same(q.exp, E.MINUS_ONE) || !onePlusExpSafe(q.base)) continue;
    const base = q.base as Extract<Expr, { k: 'add' }>;
    const ex = base.terms.find((t) => t.k === 'fn')!;
    const j = out.findIndex((x) => 'k' in x && same(x, ex));
    if (j < 0) continue;
    out[i] = sigmoidTerm(onePlusExp(base)!);
    out.splice(j, 1);
    if (j < i) i--;
  }
  return out;
}
function onePlusExpSafe(e: Expr): boolean {
  try {
    return onePlusExp(e) !== undefined;
  } catch (err) {
    if (err instanceof NoClosedForm) return false;
    throw err;
  }
}

/** (beta x + gamma) times constants and 'odd' logistic terms: x · odd = 'xodd'; else undefined. */
function affineTimesLogistic(a: Combination, b: Combination): Combination | undefined {
  const l = linear(a);
  if (!l || b.erf.length || b.cos.length || !isConstantPP({ ...b, logistic: [] })) return undefined;
  if (!b.logistic.length || b.logistic.some((t) => t.kind !== 'odd')) return undefined;
  let out = only(ppMul(a.pp, b.pp));
  for (const t of b.logistic) {
    if (!E.isZero(l.k)) out = sum(out, logisticTerm('xodd', t.b, E.mul(l.k, t.coef)));
    if (!E.isZero(l.p)) out = sum(out, logisticTerm('odd', t.b, E.mul(l.p, t.coef)));
  }
  return out;
}

/**
 * (beta x + gamma) times constants and erf terms: x erf(a x) = 2 x (Phi(sqrt(2) a x) - 1/2),
 * an exact 'xodd' block (the pairs' closed forms of mixture.ts with one node); gamma erf stays erf.
 */
function affineTimesErf(a: Combination, b: Combination): Combination | undefined {
  const l = linear(a);
  if (!l || !b.erf.length || b.cos.length || b.logistic.length || b.exps.length || !isConstantPP({ ...b, erf: [] }))
    return undefined;
  let out = only(ppMul(a.pp, b.pp));
  for (const t of b.erf) {
    // (a signed scale: mixture.ts folds its sign into the coefficient, both blocks being odd in b)
    const scale = E.mul(E.pow(E.num(2), E.HALF), t.b);
    if (!E.isZero(l.k))
      out = sum(out, {
        ...only(ZERO_PP),
        logistic: [{ kind: 'xodd', b: scale, coef: E.mul(E.num(2), l.k, t.coef), exact: true }],
      });
    if (!E.isZero(l.p)) out = sum(out, { ...only(ZERO_PP), erf: [{ b: t.b, coef: E.mul(l.p, t.coef) }] });
  }
  return out;
}

// ---------------------------------------------------------------- the table of expectations

const V1 = E.VAR1;
const V2 = E.VAR2;
const C = E.COV12;
const sqrt = (e: Expr) => E.pow(e, E.HALF);
const RHO = E.div(C, E.mul(sqrt(V1), sqrt(V2)));
/** 1/sqrt(2 pi): the standard normal density at 0. */
const PHI0 = E.pow(E.mul(E.num(2), E.PI), E.num(-0.5));

/** E[w^b 1{w > 0}] for a standard normal w: 1/2, 1/sqrt(2 pi), 1/2, 2/sqrt(2 pi), ... */
function halfMoment(b: number): Expr {
  if (b === 0) return E.HALF;
  if (b === 1) return PHI0;
  return E.mul(E.num(b - 1), halfMoment(b - 2));
}

/**
 * M(a, b; rho) = E[z1^a z2^b 1{z1 > 0} 1{z2 > 0}] for standard normals of correlation rho. Stein's
 * lemma on z1 with the indicator's boundary terms: M(a, b) = (a-1) M(a-2, b) + rho b M(a-1, b-1)
 * + [a = 1] phi(0) s^b m_b + rho [b = 0] phi(0) s^(a-1) m_(a-1), s = sqrt(1 - rho^2), m the half
 * moments; M(0, 0) = (pi - acos rho)/(2 pi); M(0, b) = M(b, 0).
 */
export function orthantMoment(a: number, b: number, rho: Expr): Expr {
  const s = sqrt(E.sub(E.ONE, E.mul(rho, rho)));
  const memo = new Map<string, Expr>();
  const m = (a: number, b: number): Expr => {
    if (a < 0 || b < 0) return E.ZERO;
    if (a === 0 && b > 0) return m(b, 0);
    const key = `${a},${b}`;
    const hit = memo.get(key);
    if (hit) return hit;
    let r: Expr;
    if (a === 0) r = E.div(E.sub(E.PI, E.fn('acos', [rho])), E.mul(E.num(2), E.PI));
    else
      r = E.add(
        E.mul(E.num(a - 1), m(a - 2, b)),
        E.mul(rho, E.num(b), m(a - 1, b - 1)),
        a === 1 ? E.mul(PHI0, E.pow(s, E.num(b)), halfMoment(b)) : E.ZERO,
        b === 0 ? E.mul(rho, PHI0, E.pow(s, E.num(a - 1)), halfMoment(a - 1)) : E.ZERO,
      );
    memo.set(key, r);
    return r;
  };
  return m(a, b);
}

/** E[P(x1) Q(x2)] for piecewise polynomials, over the four quadrants. */
function ppPair(P: Piecewise, Q: Piecewise): Expr {
  const terms: Expr[] = [];
  for (const s1 of [1, -1])
    for (const s2 of [1, -1]) {
      const cp = s1 > 0 ? P.pos : P.neg;
      const cq = s2 > 0 ? Q.pos : Q.neg;
      cp.forEach((ka, a) =>
        cq.forEach((kb, b) => {
          if (E.isZero(ka) || E.isZero(kb)) return;
          const sign = E.num((s1 ** a * s2 ** b) as number);
          const scale = E.mul(E.pow(V1, E.num(a / 2)), E.pow(V2, E.num(b / 2)));
          terms.push(E.mul(ka, kb, sign, scale, orthantMoment(a, b, E.mul(E.num(s1 * s2), RHO))));
        }),
      );
    }
  return E.add(...terms);
}

/** The odd part of a piecewise polynomial as alpha x + beta sign(x), or undefined if it is not one. */
function oddPart(P: Piecewise): { alpha: Expr; beta: Expr } | undefined {
  const n = Math.max(P.neg.length, P.pos.length);
  const odd = (k: number) => E.mul(E.HALF, E.sub(coeff(P.pos, k), E.mul(E.num((-1) ** k), coeff(P.neg, k))));
  for (let k = 2; k < n; k++) if (!E.isZero(odd(k))) return undefined;
  return { alpha: odd(1), beta: odd(0) };
}

/** E[erf(b x1) P(x2)], with (v1, v2) as given (swapped for the other order). */
function erfPP(b: Expr, P: Piecewise, v1: Expr, v2: Expr): Expr {
  const odd = oddPart(P);
  if (!odd)
    throw new NoClosedForm(
      'erf(b x) with a piecewise polynomial whose odd part is more than a x + c sign(x) is not in the table',
    );
  const root = sqrt(E.add(E.ONE, E.mul(E.num(2), b, b, v1)));
  // E[erf(b x1) x2] = 2 b c / sqrt(pi (1 + 2 b^2 v1)) (Stein); E[erf(b x1) sign(x2)] = 2/pi asin(sqrt(2) b c / sqrt(v2 (1 + 2 b^2 v1))).
  const linearPart = E.div(E.mul(E.num(2), b, C), E.mul(sqrt(E.PI), root));
  const signPart = E.mul(
    E.div(E.num(2), E.PI),
    E.fn('asin', [E.div(E.mul(sqrt(E.num(2)), b, C), E.mul(sqrt(v2), root))]),
  );
  return E.add(E.mul(odd.alpha, linearPart), E.mul(odd.beta, signPart));
}

/** E[cos(a x1 + p) P(x2)] for P of degree ≤ 1 without a kink. */
function cosPP(t: Combination['cos'][number], P: Piecewise, v1: Expr): Expr {
  const u = linear(only(P));
  if (!u) throw new NoClosedForm('sin or cos with anything but constants, x, sin and cos is not in the table');
  const damp = E.fn('exp', [E.mul(E.num(-0.5), t.a, t.a, v1)]);
  // E[cos(a x1 + p)] = exp(-a^2 v1/2) cos p; E[cos(a x1 + p) x2] = -a c exp(-a^2 v1/2) sin p.
  return E.mul(damp, E.add(E.mul(u.p, E.fn('cos', [t.p])), E.mul(u.k, E.num(-1), t.a, C, E.fn('sin', [t.p]))));
}

/** E[f(x1) f(x2)] for f = the decomposition, as a canonical expression in cov12, var1, var2. */
/**
 * The exp terms as whole exponentials coef e^(a x) (each side's term matched by the other's), if
 * they all are and the rest is an affine function of x without a kink (x, constants): the
 * kernel is then in closed form (Exp(a, b)'s e^(b^2 (var1 + var2 + 2 cov12)/2)); undefined
 * otherwise (one-sided pieces: the bivariate normal CDF, tilted.ts).
 */
export function wholeExps(f: Combination): { a: Expr; coef: Expr }[] | undefined {
  if (!f.exps.length || f.erf.length || f.cos.length || f.logistic.length) return undefined;
  const [n, p] = [trim(f.pp.neg), trim(f.pp.pos)];
  if (n.length > 2 || p.length > 2 || !same(coeff(n, 0), coeff(p, 0)) || !same(coeff(n, 1), coeff(p, 1)))
    return undefined;
  // Each side's terms with like exponents merged; the two sides must then be the same terms.
  const side = (which: 'neg' | 'pos') => {
    const merged = new Map<string, { a: Expr; coef: Expr }>();
    for (const t of f.exps) {
      if (t.side !== which) continue;
      if (t.k !== 0) return undefined;
      const prev = merged.get(t.a.key);
      merged.set(t.a.key, { a: t.a, coef: prev ? E.add(prev.coef, t.coef) : t.coef });
    }
    return merged;
  };
  const [pos, neg] = [side('pos'), side('neg')];
  if (!pos || !neg || pos.size !== neg.size) return undefined;
  for (const [key, t] of pos) if (!neg.has(key) || !same(neg.get(key)!.coef, t.coef)) return undefined;
  const whole = [...pos.values()].filter((t) => !E.isZero(t.coef));
  if (whole.length > MAX_WHOLE_EXPS) return undefined;
  // f(0) = 0 (exp(x) - 1, exp(x) - 1 - x): the kernel's terms of order 1 cancel to order var^2 at
  // small variances (exp(x) - 1 - x: 16.5 bits mean, 20 max, in the small- and large-variance
  // group, measured), which no rule here recovers.
  const atZero = (x: Expr) => constantHP(x).toNumber();
  const f0 = atZero(coeff(p, 0)) + whole.reduce((acc, t) => acc + atZero(t.coef), 0);
  const size = Math.abs(atZero(coeff(p, 0))) + whole.reduce((acc, t) => acc + Math.abs(atZero(t.coef)), 0);
  return Math.abs(f0) > 1e-12 * size ? whole : undefined;
}
/**
 * The most whole exponentials an activation may have: two already cancel in ways the stabilizer
 * does not recover ((e^x - 1)^2, e^(3x) - e^(2x): up to 58 bits at small or unequal variances).
 */
const MAX_WHOLE_EXPS = 1;

export function kernelOf(f: Combination): Expr {
  if (f.logistic.length)
    throw new NoClosedForm('the logistic family (sigmoid, tanh, softplus, x sigmoid) has no closed-form kernel');
  const whole = f.exps.length ? wholeExps(f) : [];
  if (!whole) throw new NoClosedForm('exp terms have kernels through the bivariate normal CDF, not in closed form');
  const terms: Expr[] = [ppPair(f.pp, f.pp)];
  // Whole exponentials: E[e^(a x1) e^(b x2)] = e^((a^2 var1 + b^2 var2)/2 + a b cov12), and beside
  // k0 + k1 x (no kink), E[e^(a x1) (k0 + k1 x2)] = e^(a^2 var1/2) (k0 + k1 a cov12), both orders.
  const [k0, k1] = [coeff(f.pp.pos, 0), coeff(f.pp.pos, 1)];
  for (const t1 of whole) {
    for (const t2 of whole)
      terms.push(
        E.mul(
          t1.coef,
          t2.coef,
          E.fn('exp', [E.add(E.mul(E.HALF, t1.a, t1.a, V1), E.mul(E.HALF, t2.a, t2.a, V2), E.mul(t1.a, t2.a, C))]),
        ),
      );
    for (const v of [V1, V2])
      terms.push(E.mul(t1.coef, E.fn('exp', [E.mul(E.HALF, t1.a, t1.a, v)]), E.add(k0, E.mul(k1, t1.a, C))));
  }
  for (const e1 of f.erf) {
    for (const e2 of f.erf) {
      const root = (b: Expr, v: Expr) => sqrt(E.add(E.ONE, E.mul(E.num(2), b, b, v)));
      const arg = E.div(E.mul(E.num(2), e1.b, e2.b, C), E.mul(root(e1.b, V1), root(e2.b, V2)));
      terms.push(E.mul(e1.coef, e2.coef, E.div(E.num(2), E.PI), E.fn('asin', [arg])));
    }
    // Both orders: erf(x1) P(x2) and P(x1) erf(x2).
    if (f.pp.neg.length || f.pp.pos.length) {
      const a = erfPP(e1.b, f.pp, V1, V2);
      const swapped = erfPP(e1.b, f.pp, V2, V1);
      terms.push(E.mul(e1.coef, E.add(a, swapped)));
    }
  }
  if (f.cos.length && f.erf.length) throw new NoClosedForm('erf together with sin or cos is not in the table');
  const frequencies = new Set(f.cos.map((t) => t.a.key)).size;
  if (frequencies > MAX_TRIG_TERMS)
    throw new NoClosedForm(
      `sin and cos are in the table up to ${MAX_TRIG_TERMS} frequencies in all; this activation has ${frequencies}`,
    );
  for (const t1 of f.cos) {
    for (const t2 of f.cos) {
      const base = E.add(E.mul(t1.a, t1.a, V1), E.mul(t2.a, t2.a, V2));
      const cross = E.mul(E.num(2), t1.a, t2.a, C);
      const plus = E.mul(E.fn('exp', [E.mul(E.num(-0.5), E.add(base, cross))]), E.fn('cos', [E.add(t1.p, t2.p)]));
      const minus = E.mul(E.fn('exp', [E.mul(E.num(-0.5), E.sub(base, cross))]), E.fn('cos', [E.sub(t1.p, t2.p)]));
      terms.push(E.mul(t1.coef, t2.coef, E.HALF, E.add(plus, minus)));
    }
    if (f.pp.neg.length || f.pp.pos.length) {
      const a = cosPP(t1, f.pp, V1);
      const swapped = cosPP(t1, f.pp, V2);
      terms.push(E.mul(t1.coef, E.add(a, swapped)));
    }
  }
  return E.add(...terms);
}
