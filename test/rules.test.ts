// Every rule of every table is sound: on each of its examples it fires, and the expression
// before and after agree in 50 digits at sampled points of the kernel domain (Herbie's
// test-rules idea). A rule that is not an identity under its precondition fails here.
import { describe, expect, it } from 'vitest';
import { lower } from '../src/lower.js';
import { evaluateHP, hpFromDouble } from '../src/evaluate.js';
import * as E from '../src/expr.js';
import { samplePoints } from '../src/measure.js';
import { parse } from '../src/parse.js';
import type { Rule } from '../src/rewrite.js';
import { CANCEL, GUARDS, IDENTITIES } from '../src/simplify.js';
import { REWRITES } from '../src/stabilize.js';
import type { Expr } from '../src/types.js';

const TABLES: [string, readonly Rule[]][] = [
  ['GUARDS', GUARDS],
  ['IDENTITIES', IDENTITIES],
  ['CANCEL', CANCEL],
  ['REWRITES', REWRITES],
];
const POINTS = [...samplePoints('interior', 10, 5), ...samplePoints('scale', 4, 6)];

/** Applies the rule once at every node where it fires; returns the result and how often it fired. */
function applyEverywhere(e: Expr, rule: Rule): { after: Expr; fired: number } {
  let fired = 0;
  const after = E.rebuild(e, (x) => {
    const r = rule.apply(x);
    if (r && r.key !== x.key) {
      fired++;
      return r;
    }
    return x;
  });
  return { after, fired };
}

describe('rules are sound where they apply', () => {
  for (const [table, rules] of TABLES) {
    for (const rule of rules) {
      it(`${table}: ${rule.name}`, () => {
        expect(rule.sound.length, 'says why it is sound').toBeGreaterThan(5);
        expect(rule.helps.length, 'says why it helps').toBeGreaterThan(5);
        expect(rule.examples.length, 'has examples').toBeGreaterThan(0);
        for (const src of rule.examples) {
          const before = lower(parse(src), src);
          const { after, fired } = applyEverywhere(before, rule);
          expect(fired, `fires on ${src}`).toBeGreaterThan(0);
          let compared = 0;
          for (const [c, v1, v2] of POINTS) {
            const at = { cov12: hpFromDouble(c), var1: hpFromDouble(v1), var2: hpFromDouble(v2) };
            const x = evaluateHP(before, at);
            const y = evaluateHP(after, at);
            if (!x.isFinite()) continue;
            compared++;
            const tol = x.abs().add(y.abs()).add(1).mul('1e-30');
            expect(x.sub(y).abs().lte(tol), `${src} at (${c}, ${v1}, ${v2}): ${x} vs ${y} after ${rule.name}`).toBe(
              true,
            );
          }
          expect(compared, `${src} is defined at some sampled points`).toBeGreaterThan(POINTS.length / 2);
        }
      });
    }
  }
});
