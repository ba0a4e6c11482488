import { describe, expect, it } from 'vitest';
import { IDENTITIES } from '../src/simplify.js';
import { compile } from '../src/compile.js';
import { bitsOfError } from '../src/measure.js';
import { compileActivation } from '../src/index.js';
import { derivativeText as d, simplifiedText as s, closed } from './helpers.js';

describe('simplify', () => {
  it('folds constants exactly', () => {
    expect(s('0.1 + 0.2 - 0.3')).toBe('0');
    expect(s('2*3/4')).toBe('3/2');
    expect(s('sqrt(8)/sqrt(2)')).toBe('2');
  });

  it("folds a guard on the diagonal, where its argument is its bound: a kernel's own diagonal value", () => {
    expect(s('clip(1, -1, 1)')).toBe('1');
    expect(s('min(1, var1/sqrt(var1^2)) + cov12')).toBe('1 + cov12');
    // relu's map at (var1, var1, var1), as a normalized kernel's denominator reads it
    const relu = (c: string, a: string, b: string) =>
      `sqrt(${a}*${b})*(sin(acos(clip(${c}/sqrt(${a}*${b}), -1, 1))) + (pi - acos(clip(${c}/sqrt(${a}*${b}), -1, 1)))*cos(acos(clip(${c}/sqrt(${a}*${b}), -1, 1))))/(2*pi)`;
    expect(s(relu('var1', 'var1', 'var1'))).toBe('var1/2');
    // The normalized kernel relu(c)/sqrt(relu(v1) relu(v2)) was NaN on the diagonal and lost
    // 56 bits near the bound with its diagonal unfolded.
    const k = compile(
      `${relu('cov12', 'var1', 'var2')}/sqrt(${relu('var1', 'var1', 'var1')}*${relu('var2', 'var2', 'var2')})`,
    );
    for (const v of [0.3, 1, 7]) {
      expect(bitsOfError(k.nngp(v, v, v), 1), `${v}`).toBeLessThanOrEqual(1);
      expect(bitsOfError(k.dNngp(v, v, v), 1 / v), `${v}`).toBeLessThanOrEqual(1);
    }
  });

  it('collects like terms and bases, and cancels', () => {
    expect(s('cov12 + 2*cov12 - 3*cov12')).toBe('0');
    expect(s('cov12*cov12^2/cov12^3')).toBe('1');
    expect(s('sqrt(var1)*sqrt(var1)')).toBe('var1');
    expect(s('(var1 + 1)/(1 + var1)')).toBe('1');
  });

  it('expands products of sums into a canonical polynomial', () => {
    expect(s('(1 + 2*var1)*(1 + 2*var2) - 4*cov12^2')).toBe(s('1 + 2*var1 + 2*var2 + 4*(var1*var2 - cov12^2)'));
  });

  it("pulls a root's coefficient scale out as an exact power of two, so its terms overflow no sooner than the map's", () => {
    // A decimal constant's cleared denominator put 1.25e31 under sigmoid_like's roots; its gap's
    // coefficient 1.5625e62 overflowed at variances near 2e123, where nngp returned 0.25 (truth 0.298).
    const root = s('sqrt(36061717023836687000000000000000 + 12500000000000000000000000000000*var1)');
    const coefficients = [...root.matchAll(/\d[\d.]*(e[+-]?\d+)?/g)].map((m) => Math.abs(Math.log2(Number(m[0]))));
    expect(Math.max(...coefficients), root).toBeLessThan(54);
    const closedForm = (c: number, v: number) =>
      0.25 + Math.asin((2 * c) / (2.4020563531719796 ** 2 + 2 * v)) / (2 * Math.PI);
    const k = compileActivation('sigmoid_like');
    for (const v of [1, 1e120, 1e140, 1e150])
      for (const rho of [0.3, -0.95]) {
        const out = k.nngp(rho * v, v, v);
        expect(Math.abs(out - closedForm(rho * v, v)), `variance ${v}, rho ${rho}: ${out}`).toBeLessThan(1e-15);
      }
    // A power of two's scaling rounds nothing: the same doubles as the root as written.
    // (Coprime coefficients, exact in doubles, so that no other content is pulled out.)
    const written = compile('cov12*sqrt(9007199254740991 + 4503599627370497*var1)');
    expect(written.simplified).toMatch(/^67108864\*sqrt\(1\.9999/); // 2^26·sqrt(.. / 2^52)
    for (const v1 of [0.37, 1, 2.5, 1e6])
      expect(written.nngp(0.3, v1, 1)).toBe(0.3 * Math.sqrt(9007199254740991 + 4503599627370497 * v1));
  });

  it('applies inverse-trig and sqrt identities', () => {
    expect(s('sin(acos(cov12))')).toBe('sqrt(1 - cov12^2)');
    expect(s('cos(asin(cov12))')).toBe('sqrt(1 - cov12^2)');
    expect(s('exp(log(var1))')).toBe('var1');
    expect(s('sin(-cov12)')).toBe('-sin(cov12)');
    expect(IDENTITIES.every((r) => r.sound.length > 0)).toBe(true);
  });

  it('cancels the singular terms of the ReLU arccos form exactly (a general mechanism)', () => {
    const relu = '(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12) / (2*pi)';
    const dr = d(relu);
    expect(dr).toBe('1/2 - acos(cov12/(sqrt(var1)*sqrt(var2)))/(2*pi)');
    expect(dr).not.toMatch(/sqrt\(-cov12\^2 \+ var1\*var2\)/);
    // The same mechanism on a form it was not written for: LeakyRelu(alpha) = ABRelu(alpha, 1).
    const leaky = compile('F*sqrt(var1*var2 - cov12^2) + ((a^2 + 1)/2 - F*acos(cov12/sqrt(var1*var2)))*cov12', {
      params: { a: 0.2, F: (0.2 - 1) ** 2 / (2 * Math.PI) },
    });
    expect(leaky.derivative).not.toMatch(/sqrt\(-cov12\^2/);
    for (const v of [1e-3, 1, 7, 1e5]) expect(Number.isFinite(leaky.dNngp(v, v, v))).toBe(true);
  });

  it('prints derivatives that compile back to the same map', () => {
    const k = compile('2*asin(2*cov12/sqrt((1+2*var1)*(1+2*var2)))/pi');
    const again = compile(k.derivative);
    for (const [c, a, b] of [
      [0.3, 1, 2],
      [-1, 4, 0.5],
      [2, 2, 2],
    ] as const) {
      expect(again.nngp(c, a, b)).toBeCloseTo(k.dNngp(c, a, b), 14);
    }
  });

  it('brings equivalent spellings found by an independent held-out check to one canonical form', () => {
    // Each pair: a catalog-style form and a spelling users write, which once compiled to NaN or
    // to worse code (log form at zero inputs, a product of square roots, expm1 times exp).
    const pairs: [string, string][] = [
      ['sqrt(var1*var2)*exp(cov12/sqrt(var1*var2) - 1)', 'exp(cov12/sqrt(var1*var2) - 1 + log(sqrt(var1*var2)))'],
      [
        '1/sqrt((1 + 2*var1)*(1 + 2*var2) - 4*cov12^2)',
        '1/sqrt(1 + 2*var1)/sqrt(1 + 2*var2)/sqrt(1 - 4*cov12^2/((1 + 2*var1)*(1 + 2*var2)))',
      ],
      [
        '(exp(cov12 - (var1 + var2)/2) - exp(-cov12 - (var1 + var2)/2))/2',
        'exp(-cov12 - (var1 + var2)/2)*expm1(2*cov12)/2',
      ],
      ['(exp(cov12 - (var1 + var2)/2) - exp(-cov12 - (var1 + var2)/2))/2', 'exp(-(var1 + var2)/2)*sinh(cov12)'],
      [
        '(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12)/(2*pi)',
        '(sqrt(max(var1*var2 - cov12^2, 0)) + (pi - atan2(sqrt(max(var1*var2 - cov12^2, 0)), cov12))*cov12)/(2*pi)',
      ],
      // The half angle's tangent (the rho normal form brings its nested radicals together), also
      // under a guard that the domain prover reads over the common denominator.
      [
        '(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12)/(2*pi)',
        '(sqrt(var1*var2 - cov12^2) + (pi - 2*atan(sqrt(max((1 - cov12/sqrt(var1*var2))/(1 + cov12/sqrt(var1*var2)), 0))))*cov12)/(2*pi)',
      ],
      ['cov12', 'abs(cov12)*sign(cov12)'],
      // The arctangent's quadrant idiom, either comparison, read as the angle atan2(y, x).
      [
        '(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12)/(2*pi)',
        '(sqrt(var1*var2 - cov12^2) + (pi - where(cov12 >= 0, atan(sqrt(var1*var2 - cov12^2)/cov12), atan(sqrt(var1*var2 - cov12^2)/cov12) + pi))*cov12)/(2*pi)',
      ],
      [
        '(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12)/(2*pi)',
        '(sqrt(var1*var2 - cov12^2) + (pi - where(cov12 < 0, pi + atan(sqrt(var1*var2 - cov12^2)/cov12), atan(sqrt(var1*var2 - cov12^2)/cov12)))*cov12)/(2*pi)',
      ],
      [
        'exp(-(var1 + var2)/2)*(cos(3/5)*exp(cov12) + exp(-cov12))/2',
        'exp(-(var1 + var2)/2)*(exp(cov12)*(cos(3/10)^2 - sin(3/10)^2) + exp(-cov12))/2',
      ],
      [
        'exp(-(var1 + var2)/2)*(cos(3/5)*exp(cov12) + exp(-cov12))/2',
        'exp(-(var1 + var2)/2)*(exp(cov12)*(1 - 2*sin(3/10)^2) + exp(-cov12))/2',
      ],
      [
        'exp(-(var1 + var2)/2)*(cos(3/5)*exp(cov12) + exp(-cov12))/2',
        'exp(-(var1 + var2)/2)*(exp(cov12)*(2*cos(3/10)^2 - 1) + exp(-cov12))/2',
      ],
      // The half angle's tangent as a quotient of roots and as an arctan2 of roots.
      [
        '(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12)/(2*pi)',
        '(sqrt(var1*var2 - cov12^2) + (pi - 2*atan(sqrt(1 - cov12/sqrt(var1*var2))/sqrt(1 + cov12/sqrt(var1*var2))))*cov12)/(2*pi)',
      ],
      [
        '(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12)/(2*pi)',
        '(sqrt(var1*var2 - cov12^2) + (pi - 2*atan2(sqrt(1 - cov12/sqrt(var1*var2)), sqrt(1 + cov12/sqrt(var1*var2))))*cov12)/(2*pi)',
      ],
      // A constant pasted as its printed double: 2/pi (and 1/sqrt(2) inside erf).
      [
        'cov12/4 + (sqrt(var1*var2 - cov12^2) + cov12*asin(cov12/sqrt(var1*var2)))/(2*pi)',
        '0.25*cov12 + 0.25*0.6366197723675814*(sqrt(var1*var2 - cov12^2) + cov12*asin(cov12/sqrt(var1*var2)))',
      ],
      ['erf(cov12/sqrt(2))', 'erf(0.7071067811865476*cov12)'],
      [
        '2/pi*asin(2*cov12/sqrt((1 + 2*var1)*(1 + 2*var2)))',
        '0.6366197723675814*arctan2(2*cov12, sqrt((1 + 2*var1)*(1 + 2*var2) - 4*cov12**2))',
      ],
    ];
    for (const [a, b] of pairs) {
      expect(s(b), b).toBe(s(a));
      expect(d(b), b).toBe(d(a));
    }
  });

  it('keeps an exponential difference stable when its coefficients differ by a rounding (a param -pi/2 as a double)', () => {
    // Cos = Sin with c0 = -pi/2: cos(2*c0 + pi) is -1 + 7.5e-33, not -1, for the double c0.
    const src = 's1 = exp(cov12 - (var1 + var2)/2)\ns2 = exp(-cov12 - (var1 + var2)/2) * cos(2*c0 + pi)\n(s1 - s2)/2';
    const k = compile(src, { params: { c0: -1.5707963267948966 } });
    expect(closed(k).stableNngp.key).toContain('expdiff(');
    for (const c of [1e-6, 1e-9, 3e-4]) {
      const exact = Math.exp(-1) * Math.sinh(c); // var1 = var2 = 1
      expect(Math.abs(k.nngp(c, 1, 1) / exact - 1)).toBeLessThan(1e-14);
    }
  });

  it('reads only full-precision literals as named constants', () => {
    expect(s('0.6366197723675813*cov12')).toBe('2*cov12/pi'); // 2/np.pi, an ulp from the rounded 2/pi
    expect(s('0.637*cov12')).toBe('637*cov12/1000');
    expect(s('0.123456789012345*cov12')).toBe('0.123456789012345*cov12');
    // Beyond the table (p, q ≤ 8), by the continued fraction of the literal over pi^a 2^(b/2):
    // leaky_relu's (1 - 0.01)^2/(2 pi) as printed, and as a product of two pasted doubles.
    expect(s('0.15598775972436663*cov12')).toBe('9801*cov12/(20000*pi)');
    expect(s('0.31830988618379064*0.49005*cov12')).toBe('9801*cov12/(20000*pi)');
    expect(s('-0.8862269254527579*cov12')).toBe('-sqrt(pi)*cov12/2'); // -sqrt(pi)/2
    // A double unrelated to pi stays itself (a chance match is about 1 in 10^5).
    expect(s('2.4020563531719796*cov12')).toBe('2.4020563531719796*cov12');
    expect(s('0.1234567890123456*cov12')).toBe('0.1234567890123456*cov12');
  });

  it("a kept clip's derivative meets the map's factors: finite at zero inputs, in kernel() too", () => {
    // The clip at ±(1 - 1e-7) changes the function, so it stays; its derivative where(inside,
    // 1/sqrt(var1 var2), 0) times the map's sqrt(var1 var2) was NaN at every zero input.
    const k = compile(`def nngp_fn(cov12, var1, var2):
    prod = var1 * var2
    rho = jnp.clip(cov12 / jnp.sqrt(jnp.maximum(prod, 1e-12)), -(1 - 1e-7), 1 - 1e-7)
    return jnp.sqrt(prod) * (jnp.sqrt(1 - rho**2) + (jnp.pi - jnp.arccos(rho)) * rho) / (2 * jnp.pi)`);
    for (const [c, v1, v2] of [
      [0, 0, 0],
      [0, 0, 1.5],
      [0, 2, 0],
    ] as const)
      expect(k.dNngp(c, v1, v2), `(${c}, ${v1}, ${v2})`).toBe(0.25); // 1/2 - acos(0)/(2 pi)
    expect(k.dNngp(0.5, 1, 1)).toBeCloseTo(0.5 - Math.acos(0.5) / (2 * Math.PI), 15);
    const out = k.kernel({
      nngp: Float64Array.from([1, 0, 0, 0]),
      cov1: Float64Array.from([1, 0]),
      ntk: Float64Array.from([1, 1, 1, 1]),
    });
    expect([...out.ntk!].every(Number.isFinite)).toBe(true);
  });

  it("reads the arctangent's quadrant idiom only where it is atan2, x = 0 included", () => {
    // atan's argument must divide by x, and x = 0 must take the atan branch (atan2(y, 0) = pi/2).
    const notDividing = compile('where(cov12 >= 0, atan(cov12/var1), atan(cov12/var1) + pi)');
    expect(notDividing.simplified).toMatch(/^where/);
    expect(notDividing.nngp(0, 1, 1)).toBe(0);
    const strict = compile(
      'where(cov12 > 0, atan(sqrt(var1*var2 - cov12^2)/cov12), atan(sqrt(var1*var2 - cov12^2)/cov12) + pi)',
    );
    expect(strict.simplified).toMatch(/^where/);
    const read = compile(
      'where(0 > cov12, atan(sqrt(var1*var2 - cov12^2)/cov12) + pi, atan(sqrt(var1*var2 - cov12^2)/cov12))',
    );
    expect(read.simplified).toBe('acos(cov12/(sqrt(var1)*sqrt(var2)))');
    expect(read.nngp(0, 1, 1)).toBe(Math.PI / 2);
  });
});
