// fromActivation and `# fn:`-only sources (expectation.ts): kernels derived from the activation,
// checked against independent quadrature (verify.ts's polar Gauss–Legendre, split at the kinks)
// at interior points, near |rho| = 1 and on the diagonal.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile, CompileError, derive, fromActivation } from '../src/index.js';
import { activationExprs } from '../src/activation.js';
import { orthantMoment } from '../src/expectation.js';
import { doubleFunction } from '../src/evaluate.js';
import * as E from '../src/expr.js';
import { rng } from '../src/measure.js';
import { gaussianExpectation } from '../src/verify.js';
import { closed } from './helpers.js';

interface Table {
  closed: { fn: string; jump?: boolean; params?: Record<string, number> }[];
  refused: { fn: string; reason: string }[];
}
const TABLE = JSON.parse(readFileSync(new URL('../fixtures/expectations.json', import.meta.url), 'utf8')) as Table;
const DEGREE = 64;
const TOLERANCE = 1e-11;

/** Interior, near-bound and diagonal points (a third each), variances in 0.3..3. */
function points(n: number, seed: number): [number, number, number][] {
  const next = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const v1 = 0.3 + 2.7 * next();
    let v2 = 0.3 + 2.7 * next();
    const sign = next() < 0.5 ? -1 : 1;
    const rho = i % 3 === 0 ? -0.95 + 1.9 * next() : i % 3 === 1 ? sign * (1 - 10 ** -(2 + 7 * next())) : sign;
    if (i % 3 === 2) v2 = v1;
    return [rho * Math.sqrt(v1 * v2), v1, v2];
  });
}

/**
 * Relative error against the quadrature, relative to the larger of |truth| and 1e-6 of the
 * Cauchy–Schwarz scale sqrt(K(v1, v1) K(v2, v2)) (where the kernel crosses zero).
 */
function worstError(
  k: (c: number, v1: number, v2: number) => number,
  f: (x: number) => number,
  pts: [number, number, number][],
): number {
  let worst = 0;
  for (const [c, v1, v2] of pts) {
    const q = gaussianExpectation(f, f, c, v1, v2, DEGREE);
    const scale = Math.sqrt(
      Math.abs(gaussianExpectation(f, f, v1, v1, v1, DEGREE) * gaussianExpectation(f, f, v2, v2, v2, DEGREE)),
    );
    const got = k(c, v1, v2);
    const err = Math.abs(got - q) / Math.max(Math.abs(q), 1e-6 * scale, 1e-300);
    worst = Math.max(worst, Number.isFinite(got) ? err : Infinity);
  }
  return worst;
}

describe('the table of expectations', () => {
  it('orthant moments M(a, b; rho) = E[z1^a z2^b 1{z1 > 0} 1{z2 > 0}] match quadrature for a, b ≤ 4', () => {
    for (let a = 0; a <= 4; a++)
      for (let b = 0; b <= 4; b++) {
        const m = doubleFunction(orthantMoment(a, b, E.COV12));
        for (const rho of [-0.999999, -0.7, -0.1, 0, 0.3, 0.9, 0.99999999, 1, -1]) {
          const q = gaussianExpectation(
            (x) => (x > 0 ? x ** a : 0),
            (x) => (x > 0 ? x ** b : 0),
            rho,
            1,
            1,
            DEGREE,
          );
          const got = m(rho, 0, 0);
          expect(Math.abs(got - q), `M(${a}, ${b}; ${rho}) = ${got}, quadrature ${q}`).toBeLessThanOrEqual(
            1e-12 * Math.max(1, Math.abs(q)),
          );
        }
      }
  });

  for (const entry of TABLE.closed) {
    it(`${entry.fn}: nngp${entry.jump ? '' : ' and its derivative'} within ${TOLERANCE} of quadrature, finite everywhere`, () => {
      const k = fromActivation(entry.fn, { params: entry.params });
      const [f, df] = activationExprs(entry.fn, entry.params).map((e) => {
        const g = doubleFunction(e);
        return (x: number) => g(x, 0, 0);
      }) as [(x: number) => number, (x: number) => number];
      const pts = points(18, 7);
      expect(worstError(k.nngp, f, pts), `${entry.fn} nngp`).toBeLessThanOrEqual(TOLERANCE);
      if (!entry.jump) expect(worstError(k.dNngp, df, pts), `${entry.fn} dNngp`).toBeLessThanOrEqual(TOLERANCE);
      for (const [c, v1, v2] of [
        [0, 0, 0],
        [0, 0, 1],
        [1, 1, 1],
        [-2, 2, 2],
      ] as const)
        expect(Number.isFinite(k.nngp(c, v1, v2)), `${entry.fn} nngp at ${[c, v1, v2]}`).toBe(true);
    });
  }

  for (const entry of TABLE.refused) {
    it(`refuses ${entry.fn} with a located E_NO_CLOSED_FORM saying why`, () => {
      let error: unknown;
      try {
        fromActivation(entry.fn);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CompileError);
      expect((error as CompileError).code).toBe('E_NO_CLOSED_FORM');
      expect((error as CompileError).message).toContain(entry.reason);
      expect((error as CompileError).frame).toContain('^');
    });
  }

  it('an activation names only x (and params); its errors point into its own text or file', () => {
    const located = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as CompileError;
      }
      throw new Error('no error');
    };
    const unbound = located(() => fromActivation('relu(x) + a*x'));
    expect(unbound.code).toBe('E_UNBOUND');
    expect([unbound.line, unbound.column]).toEqual([1, 11]);
    expect(unbound.frame).toContain('relu(x) + a*x');
    expect(located(() => fromActivation('relu(x) + var1')).message).toMatch(/unbound name 'var1'/);
    expect(located(() => fromActivation('relu(x) + cov12')).message).toMatch(/unbound name 'cov12'/);
    const inFile = located(() => compile('# layer: mine\n# fn: relu(x) + a*x\n', { filename: 'mine.nngp' }));
    expect([inFile.filename, inFile.line, inFile.column]).toEqual(['mine.nngp', 2, 17]);
    const refused = located(() => compile('# fn: tanh(x + 1)\n', { filename: 't.nngp' }));
    expect([refused.code, refused.line, refused.column]).toEqual(['E_NO_CLOSED_FORM', 1, 7]);
    expect(fromActivation('relu(x)', { params: { b: 1 } }).warnings.map((w) => w.code)).toEqual(['W_UNUSED_PARAM']);
  });

  it('a source that is only a `# fn:` line (and directives) compiles to the derived kernel', () => {
    const source = '# layer: a user activation\n# fn: relu(x) + a*x\n# params: a=0.25\n';
    const k = compile(source, { filename: 'mine.nngp' });
    const direct = fromActivation('relu(x) + 0.25*x');
    expect(k.simplified).toBe(direct.simplified);
    expect(k.nngp(0.3, 1, 2)).toBe(direct.nngp(0.3, 1, 2));
    expect(derive(source).nngp.key).toBe(closed(direct).nngp.key);
    expect(k.code).toContain('from mine.nngp');
    // With a map beside it, the fn line stays what it was: the activation verify checks against.
    expect(compile('# fn: relu(x)\ncov12').simplified).toBe('cov12');
  });
});
