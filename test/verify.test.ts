// The activation catalog, checked independently: nngp against quadrature of E[f(x1) f(x2)],
// the symbolic derivative against quadrature of E[f'(x1) f'(x2)] (Price's theorem) (verify.ts).
// The emitted code's bits of error are in accuracy.test.ts.
import { describe, expect, it } from 'vitest';
import { activations, catalog, compileActivation, verify } from '../src/index.js';

/**
 * Tolerance: relative 1e-8 for every entry, kinked ones included, because the quadrature, in
 * polar coordinates, splits the angle integral at the rays where x1 = 0 and x2 = 0 (all kinks
 * and jumps of the catalog are at 0), so each panel is smooth and Gauss–Legendre converges
 * geometrically there too, at |rho| = 1 as well.
 */
const TOL = 1e-8;

describe('catalog', () => {
  it('holds every closed-form layer of neural-tangents', () => {
    expect(catalog().map((e) => e.id)).toEqual([
      'ab_relu',
      'abs',
      'cos',
      'erf',
      'exp',
      'exp_normalized',
      'gabor',
      'gaussian',
      'gelu',
      'hermite',
      'identity',
      'leaky_relu',
      'monomial',
      'polynomial',
      'rbf',
      'rectified_monomial',
      'relu',
      'sigmoid_like',
      'sign',
      'sin',
    ]);
  });

  it('is exported as compiled kernels: activations.erf({ a, b, c0 }), activations.relu()', () => {
    const erf = activations.erf!({ a: 2, b: 0.5, c0: 0.1 });
    expect(erf.nngp(0.2, 1, 1)).toBeCloseTo(
      4 * (2 / Math.PI) * Math.asin((2 * 0.25 * 0.2) / (1 + 2 * 0.25)) + 0.01,
      14,
    );
    expect(activations.relu!().dNngp(1, 1, 1)).toBe(0.5);
    expect(activations.leakyRelu!({ alpha: 0.1 }).dNngp(-1, 1, 1)).toBeCloseTo(0.1, 15); // f'(x) f'(-x) = alpha
    expect(Object.keys(activations)).toContain('rectifiedMonomial');
    expect(() => compileActivation('swish')).toThrow(/no activation 'swish'/);
  });

  for (const e of catalog()) {
    if (!e.fn) continue;
    it(`${e.id}: nngp and its derivative agree with quadrature at 50 points`, () => {
      const r = verify(e.source, {
        fn: e.fn!,
        params: e.params,
        unitVariance: e.unitVariance,
        jump: e.jump,
        points: 50,
        degree: 24,
      });
      expect(r.nngp.worst, JSON.stringify(r.nngp)).toBeLessThan(TOL);
      if (!e.jump) expect(r.dNngp!.worst, JSON.stringify(r.dNngp)).toBeLessThan(TOL);
    });
  }

  it('integer families agree with quadrature for every n (Monomial 0..5, RectifiedMonomial 0..3, Hermite 0..5)', () => {
    for (const [id, ns] of [
      ['monomial', [0, 1, 2, 3, 4, 5]],
      ['rectified_monomial', [0, 1, 2, 3]],
      ['hermite', [0, 1, 2, 3, 4, 5]],
    ] as const) {
      const e = catalog().find((x) => x.id === id)!;
      for (const n of ns) {
        const r = verify(e.source, {
          fn: e.fn!,
          params: { n },
          unitVariance: e.unitVariance,
          jump: e.jump || (id === 'rectified_monomial' && n === 0),
          points: 12,
          degree: 24,
        });
        expect(r.nngp.worst, `${id} n=${n} nngp ${JSON.stringify(r.nngp)}`).toBeLessThan(TOL);
        if (r.dNngp) expect(r.dNngp.worst, `${id} n=${n} d ${JSON.stringify(r.dNngp)}`).toBeLessThan(TOL);
      }
    }
  });

  it('catches a wrong closed form (a wrong constant, a wrong sign)', () => {
    const relu = catalog().find((e) => e.id === 'relu')!;
    const wrongConstant = relu.source.replace('(2 * jnp.pi)', '(2.01 * jnp.pi)');
    const wrongSign = relu.source.replace('+ (jnp.pi - theta)', '- (jnp.pi - theta)');
    const gaussian = catalog().find((e) => e.id === 'gaussian')!;
    const wrongGaussian = gaussian.source.replace('- 4*b^2*cov12^2', '+ 4*b^2*cov12^2');
    for (const [src, entry] of [
      [wrongConstant, relu],
      [wrongSign, relu],
      [wrongGaussian, gaussian],
    ] as const) {
      expect(src).not.toBe(entry.source);
      const r = verify(src, { fn: entry.fn!, params: entry.params, points: 10, degree: 24 });
      expect(Math.max(r.nngp.worst, r.dNngp!.worst)).toBeGreaterThan(1e-3);
    }
  });
});
