// d nngp / d param (compile's gradients): symbolic, simplified and stabilized, checked against
// central differences of the compiled map in the param and against exact forms.
import { describe, expect, it } from 'vitest';
import { catalog, compile, CompileError, fromActivation } from '../src/index.js';
import { samplePoints } from '../src/measure.js';

const H = 1e-6;
/** Central difference of the compiled map in one param: accurate to ~1e-9 relative here. */
function centralDifference(source: string, params: Record<string, number>, name: string) {
  const up = compile(source, { params: { ...params, [name]: params[name]! + H } });
  const down = compile(source, { params: { ...params, [name]: params[name]! - H } });
  return {
    nngp: (c: number, v1: number, v2: number) => (up.nngp(c, v1, v2) - down.nngp(c, v1, v2)) / (2 * H),
    dNngp: (c: number, v1: number, v2: number) => (up.dNngp(c, v1, v2) - down.dNngp(c, v1, v2)) / (2 * H),
  };
}

describe('gradients in params', () => {
  const cases: [string, Record<string, number>][] = [
    ['leaky_relu', { alpha: 0.1 }],
    ['erf', { a: 1, b: 0.7, c0: 0.1 }],
    ['ab_relu', { a: -0.5, b: 1 }],
    ['rbf', { gamma: 0.5 }],
    ['sin', { a: 1.5, b: 0.7, c0: 0.3 }],
  ];
  for (const [id, params] of cases) {
    it(`${id}: d nngp / d p and d^2 nngp / d cov12 d p agree with central differences`, () => {
      const entry = catalog().find((e) => e.id === id)!;
      const names = Object.keys(params);
      const k = compile(entry.source, { params, gradients: names });
      expect(Object.keys(k.gradients!)).toEqual(names);
      const pts = [...samplePoints('interior', 8, 21), ...samplePoints('diagonal', 3, 22)].map(
        ([c, v1, v2]) => [c / 4, v1 / 4, v2 / 4] as const, // variances near 1, where differences are well conditioned
      );
      for (const name of names) {
        const fd = centralDifference(entry.source, params, name);
        for (const [c, v1, v2] of pts)
          for (const f of ['nngp', 'dNngp'] as const) {
            const got = k.gradients![name]![f](c, v1, v2);
            const want = fd[f](c, v1, v2);
            expect(Math.abs(got - want), `${id} d ${f} / d ${name} at ${[c, v1, v2]}`).toBeLessThanOrEqual(
              1e-7 * Math.max(1, Math.abs(want)),
            );
          }
      }
    });
  }

  it('exact where the gradient is simple, in the banner and the default export, and for an activation alone', () => {
    const k = compile('a*cov12^2 + b*var1', { params: { a: 2, b: 3 }, gradients: ['a'] });
    expect(k.gradients!.a!.nngp(0.3, 1, 1)).toBe(0.09);
    expect(k.gradients!.a!.dNngp(0.3, 1, 1)).toBe(0.6);
    expect(k.code).toContain('//   d nngp / d a = cov12^2');
    expect(k.code).toMatch(/export default \{ nngp, dNngp, kernel, gradients \}/);
    const f = fromActivation('relu(x) + a*x', { params: { a: 0.25 }, gradients: ['a'] });
    // d/da E[(relu + a x)(relu + a x)] = 2 a cov12 + 2 E[relu(x1) x2] = 2 a cov12 + cov12.
    expect(f.gradients!.a!.nngp(0.3, 1, 1.5)).toBeCloseTo(2 * 0.25 * 0.3 + 0.3, 15);
    expect(compile('cov12', {}).gradients).toBeUndefined();
  });

  it('a gradient in a name that is not a param, or that the source does not read, is an E_PARAM error', () => {
    const e1 = (() => {
      try {
        compile('a*cov12', { params: { a: 1 }, gradients: ['b'] });
      } catch (e) {
        return e;
      }
    })();
    expect(e1).toBeInstanceOf(CompileError);
    expect((e1 as CompileError).message).toMatch(/gradient in 'b': not a param of this source \(its params: a\)/);
    expect(() => compile('cov12', { params: { a: 1 }, gradients: ['a'] })).toThrow(/the source does not read it/);
    expect(() => compile('cov12', { gradients: 'a' as never })).toThrow(/options\.gradients must be an array/);
  });
});
