// Evaluation of core IR and evaluation trees in high precision (decimal.js), independent of
// the emitted float64 code. Used to fold constants (rounded once to a double) and as the
// truth for accuracy measurements.
import { Decimal } from 'decimal.js';
import type { Tree } from './types.js';
import { fromNumber, toNumber } from './rational.js';
import { HELPER_ERF } from './runtime.js';

/** A decimal.js class with the given precision (significant digits) and an unbounded exponent. */
export function decimalClass(precision: number) {
  return Decimal.clone({
    precision,
    rounding: Decimal.ROUND_HALF_EVEN,
    toExpNeg: -9e15,
    toExpPos: 9e15,
    minE: -9e15,
    maxE: 9e15,
  });
}
/** 50 significant digits: the default high precision. Evaluation runs in the class of its inputs. */
export const HP = decimalClass(50);
export type HPNum = InstanceType<typeof HP>;
type HPClass = typeof HP;
const classOf = (x: HPNum) => x.constructor as HPClass;

/** A double's exact binary value in HP (new HP(x) would go through its 17-digit decimal string). */
export function hpFromDouble(x: number, D: HPClass = HP): HPNum {
  if (!Number.isFinite(x)) return new D(x);
  const r = fromNumber(x);
  return new D(r.n.toString()).div(r.d.toString());
}

export interface HPInputs {
  readonly cov12: HPNum;
  readonly var1: HPNum;
  readonly var2: HPNum;
}

const piCache = new Map<number, HPNum>();
function pi(D: HPClass): HPNum {
  const p = D.precision;
  let v = piCache.get(p);
  if (!v) {
    v = D.acos(-1);
    piCache.set(p, v);
  }
  return new D(v);
}

/**
 * exp in HP, saturated beyond |x| > 1e5 (exp(-1e5) and exp(1e5) are 0 and ∞ as doubles
 * and as far out as any kernel value goes); decimal.js would take unbounded memory there.
 */
function expHP(x: HPNum): HPNum {
  const HP = classOf(x);
  if (x.gt(1e5)) return new HP(Infinity);
  if (x.lt(-1e5)) return new HP(0);
  return x.exp();
}

/** erf by its Taylor series (|x| < 3) or the continued fraction of erfc, in HP. */
export function erfHP(x: HPNum): HPNum {
  const HP = classOf(x);
  if (x.isZero()) return new HP(0);
  if (x.isNeg()) return erfHP(x.neg()).neg();
  if (x.lt(3)) {
    // erf x = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    const x2 = x.mul(x);
    let term = x;
    let sum = x;
    const eps = new HP(10).pow(-HP.precision - 5);
    for (let n = 1; n < 2000; n++) {
      term = term.mul(x2).neg().div(n);
      const add = term.div(2 * n + 1);
      sum = sum.add(add);
      if (add.abs().lt(eps)) break;
    }
    return sum.mul(2).div(pi(HP).sqrt());
  }
  return new HP(1).sub(erfcHP(x));
}

/** erfc for x ≥ 3 by its continued fraction (evaluated backward with many terms). */
export function erfcHP(x: HPNum): HPNum {
  const HP = classOf(x);
  if (x.lt(3)) return new HP(1).sub(erfHP(x));
  if (x.gt(1e4)) return new HP(0);
  // erfc x = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
  let f = x;
  for (let k = 400; k >= 1; k--) f = x.add(new HP(k).div(2).div(f));
  return expHP(x.mul(x).neg()).div(pi(HP).sqrt()).div(f);
}

/** Evaluates e at the inputs, in HP (values of subexpressions shared through `memo`, for one point). */
export function evaluateHP(e: Tree, at: HPInputs, memo = new Map<string, HPNum>()): HPNum {
  const HP = classOf(at.cov12);
  const p = at.var1.mul(at.var2);
  // For double inputs p - c^2 is 0 or at least ~2^-106 p, so a relative 1e-40 is 0 (it is the
  // rounding of a bound sqrt(p) given in HP).
  const gap = () => {
    const g = p.sub(at.cov12.mul(at.cov12));
    return g.isNeg() || g.abs().lt(p.mul('1e-40')) ? new HP(0) : g;
  };
  const rho = () => {
    if (p.isZero()) return new HP(0);
    const r = at.cov12.div(p.sqrt());
    return HP.max(-1, HP.min(1, r));
  };
  const ev = (e: Tree): HPNum => {
    const hit = memo.get(e.key);
    if (hit) return hit;
    const r = ev1(e);
    memo.set(e.key, r);
    return r;
  };
  const ev1 = (e: Tree): HPNum => {
    switch (e.k) {
      case 'num':
        return new HP(e.v.n.toString()).div(e.v.d.toString());
      case 'sym':
        switch (e.name) {
          case 'cov12':
            return at.cov12;
          case 'var1':
            return at.var1;
          case 'var2':
            return at.var2;
          case 'pi':
            return pi(HP);
          case 'gap':
            return gap();
          case 'rho':
            return rho();
        }
        break;
      case 'add':
        return e.terms.reduce((s, t) => s.add(ev(t)), new HP(0));
      case 'mul':
        return e.factors.reduce((s, t) => s.mul(ev(t)), new HP(1));
      case 'pow': {
        const b = ev(e.base);
        if (e.exp.k === 'num' && e.exp.v.d === 1n) {
          const n = e.exp.v.n;
          if ((n > 4096n || n < -4096n) && !b.isZero()) {
            // Huge integer powers through exp(n log|b|), saturated like exp.
            const mag = expHP(b.abs().ln().mul(n.toString()));
            return b.isNeg() && n % 2n !== 0n ? mag.neg() : mag;
          }
          return b.pow(n.toString());
        }
        if (e.exp.k === 'num' && e.exp.v.d === 2n) {
          const s = b.sqrt();
          return e.exp.v.n === 1n ? s : s.pow(e.exp.v.n.toString());
        }
        const x = ev(e.exp);
        if (b.gt(0)) return expHP(b.ln().mul(x)); // saturates like exp for huge results
        return b.pow(x);
      }
      case 'fn': {
        const a = e.args.map(ev);
        const [x, y, z] = a as [HPNum, HPNum, HPNum];
        switch (e.name) {
          case 'exp':
          case 'expdd':
            return expHP(x);
          case 'log':
            return x.ln();
          case 'log1p':
            return x.add(1).ln();
          case 'expm1':
            return expHP(x).sub(1);
          case 'expdiff':
            return expHP(x).sub(expHP(y));
          case 'dd':
          case 'ddq':
          case 'csum':
          case 'plainsum':
          case 'argbound':
            return x;
          case 'sin':
            return x.sin();
          case 'cos':
            return x.cos();
          case 'tan':
            return x.tan();
          case 'asin':
            return x.asin();
          case 'acos':
            return x.acos();
          case 'atan':
            return x.atan();
          case 'atan2':
            return HP.atan2(x, y);
          case 'ymxangle':
            return x.sub(y.mul(x.isZero() && y.isZero() ? pi(HP).div(2) : HP.atan2(x, y)));
          case 'angle':
            return x.isZero() && y.isZero() ? pi(HP).div(2) : HP.atan2(x, y);
          case 'xangle':
            return y.isZero() ? new HP(0) : y.mul(HP.atan2(x, y));
          case 'sinh':
            return x.abs().gt(1e3)
              ? expHP(x.abs())
                  .div(2)
                  .mul(x.isNeg() ? -1 : 1)
              : x.sinh();
          case 'cosh':
            return x.abs().gt(1e3) ? expHP(x.abs()).div(2) : x.cosh();
          case 'tanh':
            return x.abs().gt(1e3) ? new HP(x.isNeg() ? -1 : 1) : x.tanh();
          case 'erf':
            return erfHP(x);
          case 'erfc':
            return erfcHP(x);
          case 'abs':
            return x.abs();
          case 'sign':
            return new HP(x.isZero() ? 0 : x.isNeg() ? -1 : 1);
          case 'min':
            return HP.min(x, y);
          case 'max':
            return HP.max(x, y);
          case 'clip':
            return HP.min(HP.max(x, y), z);
          case 'where':
            return truthy(e.args[0]!, ev) ? y : z;
          case 'smallangle':
            return ev(e.args[3]!); // the sum itself; the series is its expansion
          case 'nearbound':
            return p.sub(at.cov12.mul(at.cov12)).lte(p.div(64)) ? x : y;
          case 'lt':
          case 'le':
          case 'gt':
          case 'ge':
          case 'eq':
          case 'ne':
            return new HP(truthy(e, ev) ? 1 : 0);
        }
      }
    }
    throw new Error(`cannot evaluate ${(e as Tree).key}`);
  };
  return ev(e);
}

function truthy(c: Tree, ev: (e: Tree) => HPNum): boolean {
  if (c.k !== 'fn') return !ev(c).isZero();
  const [a, b] = c.args.map(ev) as [HPNum, HPNum];
  switch (c.name) {
    case 'lt':
      return a.lt(b);
    case 'le':
      return a.lte(b);
    case 'gt':
      return a.gt(b);
    case 'ge':
      return a.gte(b);
    case 'eq':
      return a.eq(b);
    case 'ne':
      return !a.eq(b);
    default:
      return !ev(c).isZero();
  }
}

/** A constant expression's value in HP. */
export function constantHP(e: Tree): HPNum {
  return evaluateHP(e, { cov12: new HP(0), var1: new HP(0), var2: new HP(0) });
}

/** The double nearest to a constant expression (evaluated in HP, rounded once). */
export function foldConstant(e: Tree): number {
  return constantHP(e).toNumber();
}

/** erf and erfc in float64: the very helper emitted modules contain (runtime.ts). */
export const { erf: erfD, erfc: erfcD } = new Function(`${HELPER_ERF(false)}\nreturn { erf, erfc };`)() as {
  erf: (x: number) => number;
  erfc: (x: number) => number;
};

type DoubleFn = (c: number, v1: number, v2: number) => number;

const MATH1: Partial<Record<string, (x: number) => number>> = {
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  erf: erfD,
  erfc: erfcD,
  abs: Math.abs,
  sign: Math.sign,
};
const MATH2: Partial<Record<string, (x: number, y: number) => number>> = {
  atan2: Math.atan2,
  min: Math.min,
  max: Math.max,
  lt: (x, y) => (x < y ? 1 : 0),
  le: (x, y) => (x <= y ? 1 : 0),
  gt: (x, y) => (x > y ? 1 : 0),
  ge: (x, y) => (x >= y ? 1 : 0),
  eq: (x, y) => (x === y ? 1 : 0),
  ne: (x, y) => (x !== y ? 1 : 0),
};

/**
 * A core expression as a float64 function of (cov12, var1, var2), evaluated directly as
 * written (no stabilization): closures built once, for quadrature integrands.
 */
export function doubleFunction(e: Tree): DoubleFn {
  switch (e.k) {
    case 'num': {
      const k = toNumber(e.v);
      return () => k;
    }
    case 'sym':
      switch (e.name) {
        case 'pi':
          return () => Math.PI;
        case 'cov12':
          return (c) => c;
        case 'var1':
          return (_, v1) => v1;
        case 'var2':
          return (_, __, v2) => v2;
        default:
          return () => NaN;
      }
    case 'add': {
      const fs = e.terms.map(doubleFunction);
      return (c, v1, v2) => {
        let s = 0;
        for (const f of fs) s += f(c, v1, v2);
        return s;
      };
    }
    case 'mul': {
      const fs = e.factors.map(doubleFunction);
      return (c, v1, v2) => {
        let s = 1;
        for (const f of fs) s *= f(c, v1, v2);
        return s;
      };
    }
    case 'pow': {
      const b = doubleFunction(e.base);
      const x = doubleFunction(e.exp);
      return (c, v1, v2) => Math.pow(b(c, v1, v2), x(c, v1, v2));
    }
    case 'fn': {
      const [a, b, d] = e.args.map(doubleFunction) as [DoubleFn, DoubleFn | undefined, DoubleFn | undefined];
      const f1 = MATH1[e.name];
      if (f1) return (c, v1, v2) => f1(a(c, v1, v2));
      const f2 = MATH2[e.name];
      if (f2) return (c, v1, v2) => f2(a(c, v1, v2), b!(c, v1, v2));
      if (e.name === 'clip') return (c, v1, v2) => Math.min(Math.max(a(c, v1, v2), b!(c, v1, v2)), d!(c, v1, v2));
      if (e.name === 'where') return (c, v1, v2) => (a(c, v1, v2) !== 0 ? b!(c, v1, v2) : d!(c, v1, v2));
      return () => NaN;
    }
  }
}

/** Evaluates a core expression in float64, directly (no stabilization). */
export function evaluateDouble(e: Tree, at: { cov12: number; var1: number; var2: number }): number {
  return doubleFunction(e)(at.cov12, at.var1, at.var2);
}
