// Rules as data, and the one fixed-point driver that applies them (simplify's identities and
// guards, stabilize's rewrites). A rule is a record: the identity it implements, why it is
// sound (its precondition in words; the apply function checks it), why it helps, and example
// sources on which it fires; test/rules.test.ts samples every rule on its examples in 50
// digits (Herbie's test-rules idea) so that a rule that is not an identity fails.
import * as E from './expr.js';
import type { Expr } from './types.js';

export interface Rule {
  /** The identity, in math. */
  readonly name: string;
  /** Why it holds, with its precondition. */
  readonly sound: string;
  /** Why the rewrite is worth making. */
  readonly helps: string;
  /** Sources (plain math) with a subexpression the rule rewrites. */
  readonly examples: readonly string[];
  /** Near misses it must leave alone (its precondition false), where a table has them. */
  readonly declines?: readonly string[];
  /** The rewritten node, or undefined where the rule does not apply (precondition false). */
  readonly apply: (e: Expr) => Expr | undefined;
}

/**
 * Fixed points that were not reached within their round limit, counted here so that tests can
 * assert there are none on the catalog and its paraphrases (the result is still sound: every
 * round only applies rules, it just may not be the simplest form).
 */
export const rewriteStats = { unconverged: 0 };

/** Rewrites one node with the first rule that changes it, repeatedly (bounded). */
function applyRules(e: Expr, rules: readonly Rule[], limit: number): Expr {
  for (let i = 0; i < limit; i++) {
    let changed = false;
    for (const rule of rules) {
      const r = rule.apply(e);
      if (r && r.key !== e.key) {
        e = r;
        changed = true;
        break;
      }
    }
    if (!changed) return e;
  }
  rewriteStats.unconverged++;
  return e;
}

/**
 * Rebuilds e bottom-up through the canonical constructors, rewriting every node with the rules,
 * until a whole round changes nothing (at most `rounds` rounds).
 */
export function fixpoint(e: Expr, rules: readonly Rule[], rounds = 8): Expr {
  let cur = e;
  for (let i = 0; i < rounds; i++) {
    const next = E.rebuild(cur, (x) => applyRules(x, rules, 16));
    if (next.key === cur.key) return next;
    cur = next;
  }
  rewriteStats.unconverged++;
  return cur;
}
