// Evaluation-tree nodes (types.ts: Tree), built as given: no canonicalisation, so the grouping
// and factoring stabilize chose is what emit evaluates. Keys are spelled as the canonical ones'
// (node.ts), so a canonical subexpression and the same tree node share a key.
import * as E from './expr.js';
import { memoTable } from './memo.js';
import type { Expr, FnName, Tree, TreeAdd, TreeFn, TreeMul, TreePow } from './types.js';

export function add(terms: readonly Tree[]): TreeAdd {
  return { k: 'add', terms, key: `+[${terms.map((t) => t.key).join(',')}]` };
}
export function mul(factors: readonly Tree[]): TreeMul {
  return { k: 'mul', factors, key: `*[${factors.map((t) => t.key).join(',')}]` };
}
export function pow(base: Tree, exp: Tree): TreePow {
  return { k: 'pow', base, exp, key: `^[${base.key};${exp.key}]` };
}
export function fn(name: FnName, args: readonly Tree[]): TreeFn {
  return { k: 'fn', name, args, key: `${name}(${args.map((a) => a.key).join(',')})` };
}

/**
 * An evaluation tree read back as a canonical expression (its meaning, re-canonicalised: sums
 * expanded and collected, stable primitives kept as functions). The one explicit way from a
 * Tree to an Expr, for an algebraic test on a tree's part; never for what emit evaluates.
 */
export function canonicalOf(t: Tree): Expr {
  if (t.k === 'num' || t.k === 'sym') return t;
  // By key: a tree's shared parts, and the same parts across a choice's candidates, read back once.
  return canonicalMemo.get(t.key, () => canonicalBuilt(t));
}

const canonicalMemo = memoTable<Expr>();

function canonicalBuilt(t: Tree): Expr {
  switch (t.k) {
    case 'num':
    case 'sym':
      return t;
    case 'add':
      return E.add(...t.terms.map(canonicalOf));
    case 'mul':
      return E.mul(...t.factors.map(canonicalOf));
    case 'pow':
      return E.pow(canonicalOf(t.base), canonicalOf(t.exp));
    case 'fn':
      return E.fn(t.name, t.args.map(canonicalOf));
  }
}
