// Kernels through the bivariate normal CDF (tilted.ts, runtime.ts's tiltedPair and bvnu,
// emit/tilted.ts): each piece pair's moment sampled against quadrature, the spellings of the
// exponential linear units, zero variances, and the errors. Whole kernels (ELU, SELU, CELU)
// against extended-precision truth are in test/mixture.test.ts with the logistic family.
import { describe, expect, it } from 'vitest';
import { fromActivation } from '../src/index.js';
import { rng } from '../src/measure.js';
import { HELPER_BVN, HELPER_ERF, HELPER_EXACT_GAP } from '../src/runtime.js';
import { gaussianExpectation } from '../src/verify.js';
import { expectRefused, expectSameKernel } from './helpers.js';

type Pair = (
  k1: number,
  a1: number,
  s1: number,
  k2: number,
  a2: number,
  s2: number,
  c: number,
  v1: number,
  v2: number,
  gap: number,
) => number;
const runtime = new Function(
  `${HELPER_ERF(false)}\n${HELPER_EXACT_GAP(false)}\n${HELPER_BVN(false)}\nreturn { tiltedPair, exactGap };`,
)() as { tiltedPair: Pair; exactGap: (c: number, v1: number, v2: number) => number };

const piece = (k: number, a: number, s: number) => (x: number) => (s * x > 0 ? (k ? x : 1) * Math.exp(a * x) : 0);

describe('tilted orthant moments E[x1^k1 x2^k2 e^(a1 x1 + a2 x2) 1{s1 x1 > 0} 1{s2 x2 > 0}]', () => {
  // Within 1e-11 relative, or 1e-13 of the Cauchy-Schwarz scale sqrt(E[g^2] E[h^2]) for the rare
  // pieces (a value far below the scale is a negligible part of any kernel it enters).
  it('match quadrature for every k, side and sign of a, at interior, near-bound and diagonal points', () => {
    const next = rng(11);
    let checked = 0;
    for (let i = 0; i < 240; i++) {
      const v1 = i % 4 === 3 ? 25 + 75 * next() : 0.05 + 10 * next();
      const v2 = i % 3 === 2 ? v1 : 0.05 + 10 * next();
      const rho =
        i % 3 === 0
          ? -0.95 + 1.9 * next()
          : i % 3 === 1
            ? (next() < 0.5 ? -1 : 1) * (1 - 10 ** -(2 + 6 * next()))
            : next() < 0.5
              ? -1
              : 1;
      const c = rho * Math.sqrt(v1 * v2);
      const [k1, k2] = [i % 2, (i >> 1) % 2];
      const [s1, s2] = [next() < 0.5 ? -1 : 1, next() < 0.5 ? -1 : 1];
      // exponents up to 2 at moderate variances, up to 1 (the units' range) at large ones
      const spread = v1 > 20 ? 2 : 4;
      // (pieces decay away from 0, s a <= 0: the family tiltedOf accepts; at large variances the
      // units' pieces, x only untilted: x e^(a x) deep in a tail loses more, see the README)
      const [a1, a2] = [-s1 * Math.round((spread / 2) * next()), (-s2 * Math.round(4 * next())) / 2].map((a, j) =>
        v1 > 20 && [k1, k2][j] === 1 ? 0 : a,
      ) as [number, number];
      const got = runtime.tiltedPair(k1, a1, s1, k2, a2, s2, c, v1, v2, runtime.exactGap(c, v1, v2));
      const q = gaussianExpectation(piece(k1, a1, s1), piece(k2, a2, s2), c, v1, v2, 64);
      const scale = Math.sqrt(
        gaussianExpectation(piece(k1, 2 * a1, s1), piece(k1, 0, s1), v1, v1, v1, 64) *
          gaussianExpectation(piece(k2, 2 * a2, s2), piece(k2, 0, s2), v2, v2, v2, 64),
      );
      expect(Number.isFinite(got)).toBe(true);
      expect(Math.abs(got - q), `${[k1, a1, s1, k2, a2, s2]} at ${[c, v1, v2]}: ${got} vs ${q}`).toBeLessThanOrEqual(
        1e-11 * Math.abs(q) + 1e-13 * scale,
      );
      checked++;
    }
    expect(checked).toBe(240);
  });
});

describe('the exponential linear units', () => {
  it('reads their spellings as one kernel', () => {
    const same = (a: string, b: string) => expectSameKernel(a, b, 1e-15);
    same('elu(x)', 'jax.nn.elu(x)');
    same('elu(x)', 'where(x > 0, x, exp(x) - 1)');
    same('elu(x)', 'jnp.where(x > 0, x, 1.0 * jnp.expm1(x))');
    same('elu(x)', 'where(x < 0, exp(x) - 1, x)');
    same('elu(x, 0.5)', 'elu(x, alpha=0.5)');
    same('celu(x, 1)', 'elu(x)');
    same('selu(x)', '1.0507009873554804934193349852946*elu(x, 1.6732632423543772848170429916717)');
  });

  it('zero variances take f(0) and the mean of f\u2032(0\u00b1); NaN stays NaN; the loops give the scalar functions', () => {
    const k = fromActivation('elu(x, 0.5)');
    expect(k.nngp(0, 0, 0)).toBe(0);
    expect(k.dNngp(0, 0, 0)).toBe(0.75 * 0.75); // f'(0-) = 0.5, f'(0+) = 1
    const ef = gaussianExpectation(
      (x) => (x > 0 ? 1 : 0.5 * Math.exp(x)),
      () => 1,
      0,
      2,
      1,
      64,
    );
    expect(Math.abs(k.dNngp(0, 0, 2) - 0.75 * ef)).toBeLessThan(1e-14);
    expect(k.nngp(NaN, 1, 1)).toBeNaN();
    expect(k.dNngp(0.1, NaN, 1)).toBeNaN();
    const cov1 = new Float64Array([0.5, 2, 0]);
    const nngp = new Float64Array([0.5, -0.2, 0.7, -1.9, 0, 0, 0, 0, 0]);
    const ntk = new Float64Array(9).fill(2);
    const out = k.kernel({ nngp, ntk, cov1 });
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        expect(out.nngp[i * 3 + j]).toBe(k.nngp(nngp[i * 3 + j]!, cov1[i]!, cov1[j]!));
        expect(out.ntk![i * 3 + j]).toBe(2 * k.dNngp(nngp[i * 3 + j]!, cov1[i]!, cov1[j]!));
      }
  });

  it('refuses what it does not cover, with the reason', () => {
    const refuse = expectRefused;
    refuse('where(x > 0, x + 2, exp(x))', /f jumps at 0 \(1 to 2\)/);
    refuse('where(x > 0, x^2, exp(x) - 1)', /pieces of degree ≤ 1/);
    refuse('where(x > 0, x, x^2*exp(x))', /not higher powers/);
    refuse('elu(x) + tanh(x)', /the logistic family together with sin, cos or exp terms/);
    refuse('elu(x) + erf(x)', /not beside erf, sin, cos or the logistic family/);
    refuse('exp(x + sin(x))', /exp\(a x \+ p\)/);
    refuse('where(x > 0, exp(x), 1)', /decay away from 0/);
  });
});
