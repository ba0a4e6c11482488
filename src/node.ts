// The nodes of the core IR: atoms, raw constructors (no canonicalisation: the evaluation trees
// of stabilize and emit are built with them), traversal, and the facts read off a node without
// building any (signs on the kernel domain, the leading sign of a sum). The canonical
// constructors live in expr.ts, which re-exports this module.
import { memoTable } from './memo.js';
import * as P from './poly.js';
import * as Q from './rational.js';
import type { Add, Expr, Fn, FnName, Mul, Num, Pow, Rat, Sym, SymName, Tree } from './types.js';

// ---------------------------------------------------------------- atoms

const numCache = new Map<string, Num>();
const KEY_DECIMAL = 2n ** 256n;
/**
 * A rational's key: its decimal text while numerator and denominator are below 2^256, else its
 * hexadecimal text (a distinct form, '#x'): a key is built for every number node, and the decimal
 * text of a large BigInt costs time quadratic in its length (a source with 5e-324, 2^-1074 exactly,
 * spent most of its 1.8 s compile in it).
 */
function numKey(r: Rat): string {
  const small = r.n < KEY_DECIMAL && -r.n < KEY_DECIMAL && r.d < KEY_DECIMAL;
  return small ? '#' + Q.toString(r) : `#x${r.n.toString(16)}/${r.d.toString(16)}`;
}
export function num(v: Rat | number | bigint): Num {
  const r = typeof v === 'object' ? v : typeof v === 'bigint' ? Q.rat(v) : Q.fromNumber(v);
  const key = numKey(r);
  let n = numCache.get(key);
  if (!n) {
    n = { k: 'num', v: r, key };
    if (numCache.size < 10_000) numCache.set(key, n);
  }
  return n;
}
export const ZERO = num(0);
export const ONE = num(1);
export const MINUS_ONE = num(-1);
export const HALF = num(Q.HALF);

export function sym(name: SymName): Sym {
  return { k: 'sym', name, key: name };
}
export const COV12 = sym('cov12');
export const VAR1 = sym('var1');
export const VAR2 = sym('var2');
export const PI = sym('pi');

export const isNum = (e: Expr): e is Num => e.k === 'num';
export const isZero = (e: Expr) => e.k === 'num' && e.v.n === 0n;
export const isOne = (e: Expr) => e.k === 'num' && Q.isOne(e.v);

/** Ordering of terms and factors: numbers first, then by key. Deterministic. */
export function order(a: Expr, b: Expr): number {
  if (a.k === 'num' && b.k !== 'num') return -1;
  if (b.k === 'num' && a.k !== 'num') return 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function rawAdd(terms: Expr[]): Add {
  return { k: 'add', terms, key: `+[${terms.map((t) => t.key).join(',')}]` };
}
export function rawMul(factors: Expr[]): Mul {
  return { k: 'mul', factors, key: `*[${factors.map((t) => t.key).join(',')}]` };
}
export function rawPow(base: Expr, exp: Expr): Pow {
  return { k: 'pow', base, exp, key: `^[${base.key};${exp.key}]` };
}
export function rawFn(name: FnName, args: readonly Expr[]): Fn {
  return { k: 'fn', name, args, key: `${name}(${args.map((a) => a.key).join(',')})` };
}

/** A term as coefficient × rest, the rest free of a numeric factor. */
export function splitCoeff(e: Expr): [Rat, Expr] {
  if (e.k === 'num') return [e.v, ONE];
  if (e.k === 'mul' && e.factors[0]!.k === 'num') {
    const rest = e.factors.slice(1);
    return [(e.factors[0] as Num).v, rest.length === 1 ? rest[0]! : rawMul(rest)];
  }
  return [Q.ONE, e];
}

/**
 * Whether u's leading term is negative, where "leading" does not depend on signs: the term
 * whose non-numeric part has the least key. So exactly one of u and -u leads negative, and a
 * sign normalisation by it is idempotent.
 */
export function leadsNegative(u: Expr): boolean {
  const terms = u.k === 'add' ? u.terms : [u];
  let best: [Rat, string] | undefined;
  for (const t of terms) {
    const [c, rest] = splitCoeff(t);
    if (!best || rest.key < best[1]) best = [c, rest.key];
  }
  return !!best && best[0].n < 0n;
}

// ---------------------------------------------------------------- facts

/** Functions that keep their argument's sign: odd and increasing through 0 (not sin or tan: sin(4) < 0). */
export const KEEPS_SIGN: ReadonlySet<string> = new Set(['sinh', 'tanh', 'erf', 'asin', 'atan', 'expm1', 'log1p']);

/** True when e ≥ 0 (or undefined) at every point of the kernel domain. */
export function isNonneg(e: Expr): boolean {
  switch (e.k) {
    case 'num':
      return e.v.n >= 0n;
    case 'sym':
      return P.isNonnegSymbol(e.name);
    case 'pow': {
      if (e.exp.k === 'num') {
        const r = e.exp.v;
        if (r.d % 2n === 0n || r.n % 2n === 0n) return true; // even root or even power
        return isNonneg(e.base);
      }
      return isNonneg(e.base);
    }
    case 'mul':
      return e.factors.every(isNonneg);
    case 'add':
      return e.terms.every(isNonneg) || polynomialNonneg(e);
    case 'fn':
      if (KEEPS_SIGN.has(e.name)) return isNonneg(e.args[0]!);
      switch (e.name) {
        case 'exp':
        case 'expdd':
        case 'cosh':
        case 'abs':
        case 'acos':
        case 'erfc':
        case 'angle':
          return true;
        case 'dd':
          return isNonneg(e.args[0]!);
        case 'min':
          return e.args.every(isNonneg);
        case 'max':
          return e.args.some(isNonneg);
        default:
          return false;
      }
    default:
      return false;
  }
}

const polySignMemo = memoTable<boolean>();
/**
 * A sum that is a (Laurent) polynomial in the inputs and ≥ 0 on the kernel domain: term by
 * term after the Cauchy–Schwarz substitution var1*var2 = gap + cov12^2 (poly.ts). So
 * var1*var2 - cov12^2 and (1 + 2 var1)(1 + 2 var2) - 4 cov12^2 are known ≥ 0, and their roots
 * distribute and cancel like those of a variance.
 */
function polynomialNonneg(e: Add): boolean {
  return polySignMemo.get(e.key, () => {
    const p = P.fromExpr(e, true);
    return !!p && P.nonnegOnDomain(p);
  });
}

/** The children of a node, in order (canonical or evaluation tree alike). */
export function children(e: Expr): readonly Expr[];
export function children(e: Tree): readonly Tree[];
export function children(e: Tree): readonly Tree[] {
  switch (e.k) {
    case 'num':
    case 'sym':
      return [];
    case 'add':
      return e.terms;
    case 'mul':
      return e.factors;
    case 'pow':
      return [e.base, e.exp];
    case 'fn':
      return e.args;
  }
}

/** Does any node of e (e itself included) satisfy pred? */
export function some(e: Expr, pred: (x: Expr) => boolean): boolean;
export function some(e: Tree, pred: (x: Tree) => boolean): boolean;
export function some(e: Tree, pred: (x: never) => boolean): boolean {
  const p = pred as (x: Tree) => boolean;
  return p(e) || children(e).some((c) => some(c, p));
}

/** Does e mention the symbol `name`? */
export function mentions(e: Tree, name: SymName): boolean {
  return some(e, (x: Tree) => x.k === 'sym' && x.name === name);
}

/** Number of nodes, for limits and reports. */
export function size(e: Tree): number {
  return 1 + children(e).reduce((n, c) => n + size(c), 0);
}
