// The differentiate pass: symbolic d/dx of a core expression (x is cov12 for d_nngp_fn).
// The chain rule is applied here; the rule for each function is one row of DERIVATIVES.
// Non-smooth functions get the derivative neural-tangents / JAX use almost everywhere.
import * as E from './expr.js';
import type { Expr, Fn, FnName, SymName } from './types.js';

const two = E.num(2);
const mhalf = E.num(-0.5);
/** 2/sqrt(pi), exactly as a product of a rational and a power of pi. */
const twoOverSqrtPi = E.mul(two, E.pow(E.PI, mhalf));

/**
 * d f(u1, ..., un) / d ui for each argument i, as functions of the arguments. The chain
 * rule multiplies by dui/dx. `where` rows return the derivative already piecewise.
 */
type Rule = (args: readonly Expr[], d: readonly Expr[]) => Expr;

export const DERIVATIVES: Partial<Record<FnName, Rule>> = {
  exp: ([u], [du]) => E.mul(E.fn('exp', [u!]), du!),
  log: ([u], [du]) => E.div(du!, u!),
  log1p: ([u], [du]) => E.div(du!, E.add(E.ONE, u!)),
  expm1: ([u], [du]) => E.mul(E.fn('exp', [u!]), du!),
  sin: ([u], [du]) => E.mul(E.fn('cos', [u!]), du!),
  cos: ([u], [du]) => E.neg(E.mul(E.fn('sin', [u!]), du!)),
  tan: ([u], [du]) => E.mul(E.pow(E.fn('cos', [u!]), E.num(-2)), du!),
  // d asin u = u' / sqrt(1 - u^2)
  asin: ([u], [du]) => E.mul(du!, E.pow(E.sub(E.ONE, E.pow(u!, two)), mhalf)),
  // d acos u = -u' / sqrt(1 - u^2)
  acos: ([u], [du]) => E.neg(E.mul(du!, E.pow(E.sub(E.ONE, E.pow(u!, two)), mhalf))),
  atan: ([u], [du]) => E.div(du!, E.add(E.ONE, E.pow(u!, two))),
  // d atan2(y, x) = (x y' - y x') / (x^2 + y^2)
  atan2: ([y, x], [dy, dx]) => E.div(E.sub(E.mul(x!, dy!), E.mul(y!, dx!)), E.add(E.pow(x!, two), E.pow(y!, two))),
  sinh: ([u], [du]) => E.mul(E.fn('cosh', [u!]), du!),
  cosh: ([u], [du]) => E.mul(E.fn('sinh', [u!]), du!),
  tanh: ([u], [du]) => E.mul(E.sub(E.ONE, E.pow(E.fn('tanh', [u!]), two)), du!),
  // d erf u = 2/sqrt(pi) exp(-u^2) u'
  erf: ([u], [du]) => E.mul(twoOverSqrtPi, E.fn('exp', [E.neg(E.pow(u!, two))]), du!),
  erfc: ([u], [du]) => E.neg(E.mul(twoOverSqrtPi, E.fn('exp', [E.neg(E.pow(u!, two))]), du!)),
  // Non-smooth: the a.e. derivative, as JAX computes it.
  abs: ([u], [du]) => E.mul(E.fn('sign', [u!]), du!),
  sign: () => E.ZERO,
  min: ([a, b], [da, db]) => where(E.fn('lt', [a!, b!]), da!, db!),
  max: ([a, b], [da, db]) => where(E.fn('gt', [a!, b!]), da!, db!),
  clip: ([x, lo, hi], [dx, dlo, dhi]) => where(E.fn('lt', [x!, lo!]), dlo!, where(E.fn('gt', [x!, hi!]), dhi!, dx!)),
  where: ([c], [, da, db]) => where(c!, da!, db!),
  // Comparisons are piecewise constant.
  lt: () => E.ZERO,
  le: () => E.ZERO,
  gt: () => E.ZERO,
  ge: () => E.ZERO,
  eq: () => E.ZERO,
  ne: () => E.ZERO,
};

/** where(c, a, a) = a; otherwise the piecewise node. */
function where(c: Expr, a: Expr, b: Expr): Expr {
  if (a.key === b.key) return a;
  return E.fn('where', [c, a, b]);
}

/** d e / d x, in canonical form. */
export function differentiate(e: Expr, x: SymName = 'cov12'): Expr {
  const memo = new Map<string, Expr>();
  const d = (e: Expr): Expr => {
    const hit = memo.get(e.key);
    if (hit) return hit;
    const r = d1(e);
    memo.set(e.key, r);
    return r;
  };
  const d1 = (e: Expr): Expr => {
    switch (e.k) {
      case 'num':
        return E.ZERO;
      case 'sym':
        return e.name === x ? E.ONE : E.ZERO;
      case 'add':
        return E.add(...e.terms.map(d));
      case 'mul': {
        // Product rule: sum over factors of (d factor) × the others.
        const terms: Expr[] = [];
        e.factors.forEach((f, i) => {
          const df = d(f);
          if (E.isZero(df)) return;
          terms.push(E.mul(df, ...e.factors.filter((_, j) => j !== i)));
        });
        return E.add(...terms);
      }
      case 'pow': {
        const db = d(e.base);
        const de = d(e.exp);
        if (E.isZero(de)) {
          // d b^n = n b^(n-1) b'
          if (E.isZero(db)) return E.ZERO;
          return E.mul(e.exp, E.pow(e.base, E.sub(e.exp, E.ONE)), db);
        }
        // d b^g = b^g (g' log b + g b'/b)
        return E.mul(e, E.add(E.mul(de, E.fn('log', [e.base])), E.mul(e.exp, db, E.pow(e.base, E.MINUS_ONE))));
      }
      case 'fn':
        return dFn(e);
    }
  };
  const dFn = (e: Fn): Expr => {
    const ds = e.args.map(d);
    if (ds.every(E.isZero)) return E.ZERO;
    const rule = DERIVATIVES[e.name];
    if (!rule) throw new Error(`no derivative rule for ${e.name}`);
    return rule(e.args, ds);
  };
  return d(e);
}
