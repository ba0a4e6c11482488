// The order of the terms of a plain-double sum (the plain regimes' trees, interior.ts). A pure
// pass from plain-regime trees to plain-regime trees; whether its result is used is decided by
// measurement, as for every regime candidate.
import { doubleFunction } from './evaluate.js';
import type { Tree } from './types.js';
import * as T from './tree.js';

/** The rule, with its precondition and why it helps (soundness sampled in test/sumorder.test.ts). */
export const SUM_ORDER_RULE = {
  name: 'ascending-terms',
  identity: 'a + b + c = c + b + a (a sum is evaluated left to right: its terms reordered)',
  precondition:
    'every term evaluates to a finite double at the regime’s typical entries; its size is the median of its magnitudes there; ties keep their order',
  why: 'recursive summation errs by up to u times the sum of its partial sums’ magnitudes: added from the smallest term to the largest, the partial sums stay small for longest (Higham, Accuracy and Stability of Numerical Algorithms, §4.2). A Polynomial layer’s derivative, 1 + 0.6 var1 + 0.6 var2 + 0.36 var1 var2 + 0.36 cov12 + 0.72 cov12², in its canonical order erred 0.43 bits on average on typical entries, smallest first 0.08',
  example: '1 + 3*var1/5 + 3*var2/5 + 9*cov12/25 + 18*cov12^2/25',
} as const;

/** Groups evaluated in double-double (compensated): their order does not matter to accuracy, and is kept. */
const COMPENSATED = new Set(['dd', 'ddq', 'csum']);

/**
 * The tree with each plain sum's terms in ascending order of their median magnitude at `points`
 * (cov12, var1, var2), innermost sums first; a sum with a term that is not a finite double at
 * every point (a stable primitive that `doubleFunction` does not evaluate, or a value out of
 * range) keeps its order.
 */
export function ascendingSums(t: Tree, points: readonly (readonly [number, number, number])[]): Tree {
  const memo = new Map<string, Tree>();
  const size = new Map<string, number | undefined>();
  const sizeOf = (term: Tree): number | undefined => {
    if (size.has(term.key)) return size.get(term.key);
    const f = doubleFunction(term);
    const magnitudes = points.map(([c, v1, v2]) => Math.abs(f(c, v1, v2)));
    const s = magnitudes.every(Number.isFinite) ? median(magnitudes) : undefined;
    size.set(term.key, s);
    return s;
  };
  const visit = (e: Tree): Tree => {
    const hit = memo.get(e.key);
    if (hit) return hit;
    let out: Tree;
    switch (e.k) {
      case 'num':
      case 'sym':
        out = e;
        break;
      case 'add': {
        const terms = e.terms.map(visit);
        const sizes = terms.map(sizeOf);
        // Two terms: a + b and b + a round alike (IEEE addition commutes), so only longer sums.
        const ordered =
          terms.length > 2 && sizes.every((s) => s !== undefined)
            ? terms.map((term, i) => ({ term, i, s: sizes[i]! })).sort((a, b) => a.s - b.s || a.i - b.i)
            : undefined;
        const changed = ordered?.some((o, i) => o.i !== i);
        out = changed ? T.add(ordered!.map((o) => o.term)) : same(e, terms) ? e : T.add(terms);
        break;
      }
      case 'mul': {
        const factors = e.factors.map(visit);
        out = same(e, factors) ? e : T.mul(factors);
        break;
      }
      case 'pow': {
        const [base, exp] = [visit(e.base), visit(e.exp)];
        out = base === e.base && exp === e.exp ? e : T.pow(base, exp);
        break;
      }
      case 'fn': {
        if (COMPENSATED.has(e.name)) {
          out = e;
          break;
        }
        const args = e.args.map(visit);
        out = same(e, args) ? e : T.fn(e.name, args);
        break;
      }
    }
    memo.set(e.key, out);
    return out;
  };
  return visit(t);
}

function same(e: Tree, children: readonly Tree[]): boolean {
  const old = e.k === 'add' ? e.terms : e.k === 'mul' ? e.factors : e.k === 'fn' ? e.args : [];
  return children.every((c, i) => c === old[i]);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
