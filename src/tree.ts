// Evaluation-tree nodes (types.ts: Tree), built as given: no canonicalisation, so the grouping
// and factoring stabilize chose is what emit evaluates. Keys are spelled as the canonical ones'
// (node.ts), so a canonical subexpression and the same tree node share a key.
import type { FnName, Tree, TreeAdd, TreeFn, TreeMul, TreePow } from './types.js';

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
