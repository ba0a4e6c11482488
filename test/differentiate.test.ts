import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DERIVATIVES } from '../src/differentiate.js';
import { HP, evaluateHP } from '../src/evaluate.js';
import { compile } from '../src/compile.js';
import { derivativeText as d, closed } from './helpers.js';

describe('differentiate', () => {
  it('has a rule for every function of the core language', () => {
    for (const f of [
      'exp',
      'log',
      'log1p',
      'expm1',
      'sin',
      'cos',
      'tan',
      'asin',
      'acos',
      'atan',
      'atan2',
      'sinh',
      'cosh',
      'tanh',
      'erf',
      'erfc',
      'abs',
      'sign',
      'min',
      'max',
      'clip',
      'where',
    ] as const) {
      expect(DERIVATIVES[f], f).toBeTypeOf('function');
    }
  });

  it('applies the chain, product and power rules', () => {
    expect(d('cov12^3')).toBe('3*cov12^2');
    expect(d('exp(2*cov12)')).toBe('2*exp(2*cov12)');
    expect(d('cov12*sin(cov12)')).toBe('cos(cov12)*cov12 + sin(cov12)');
    expect(d('var1*var2')).toBe('0');
  });

  it('differentiates non-smooth functions piecewise, as JAX does almost everywhere', () => {
    expect(d('abs(cov12)')).toBe('sign(cov12)');
    expect(d('max(cov12, 0)')).toBe('where(cov12 > 0, 1, 0)');
    expect(d('clip(cov12, -1, 1)')).toBe('where(cov12 < -1, 0, where(cov12 > 1, 0, 1))');
  });

  it('treats var1 and var2 as constants', () => {
    expect(d('exp(var1 + var2)')).toBe('0');
  });
});

// ---- property: dNngp agrees with a high-precision central difference of nngp

const leaf = fc.constantFrom('cov12', 'var1', 'var2', '0.5', '2', '3');
const unary = ['exp', 'sin', 'cos', 'atan', 'tanh', 'erf', 'sinh'];
const exprArb: fc.Arbitrary<string> = fc.letrec((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(tie('e'), fc.constantFrom('+', '-', '*'), tie('e')).map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc.tuple(fc.constantFrom(...unary), tie('e')).map(([f, a]) => `${f}(${a})`),
    tie('e').map((a) => `sqrt(1 + (${a})^2)`),
    tie('e').map((a) => `log(2 + sin(${a}))`),
    tie('e').map((a) => `(${a})/(1 + var1)`),
    tie('e').map((a) => `(${a})^2`),
  ),
})).e;

describe('property: symbolic derivative = central difference', () => {
  it('holds at random interior points for random expressions', () => {
    fc.assert(
      fc.property(
        exprArb,
        fc.double({ min: 0.3, max: 3, noNaN: true }),
        fc.double({ min: 0.3, max: 3, noNaN: true }),
        fc.double({ min: -0.9, max: 0.9, noNaN: true }),
        (src, v1, v2, rho) => {
          const k = compile(src);
          const c = rho * Math.sqrt(v1 * v2);
          const e = closed(k).nngp;
          const h = new HP('1e-15');
          const at = (x: InstanceType<typeof HP>) => evaluateHP(e, { cov12: x, var1: new HP(v1), var2: new HP(v2) });
          const C = new HP(c);
          const fd = at(C.add(h))
            .sub(at(C.sub(h)))
            .div(h.mul(2))
            .toNumber();
          const got = k.dNngp(c, v1, v2);
          if (!Number.isFinite(fd) || Math.abs(fd) > 1e12) return; // overflowing compositions: nothing to compare
          expect(Math.abs(got - fd), `${src} at (${c}, ${v1}, ${v2}): ${got} vs ${fd}`).toBeLessThanOrEqual(
            1e-7 * Math.max(1, Math.abs(fd)),
          );
          const val = at(C).toNumber();
          expect(Math.abs(k.nngp(c, v1, v2) - val)).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(val)));
        },
      ),
      { seed: 20261124, numRuns: 150 },
    );
  });
});
