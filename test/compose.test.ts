// Kernel compositions (src/compose.ts, src/emit/chain.ts): a map written as one kernel applied
// to another's value and diagonal compiles as two kernels, exact on the diagonal and accurate
// near the bound; what is not a composition is declined and compiles as one expression.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { accuracy } from '../src/accuracy.js';
import { bitsOfError } from '../src/measure.js';
import { expectKernelMatchesScalars } from './helpers.js';
import { compositionOf } from '../src/compose.js';
import { lowerProgram } from '../src/lower.js';
import { parse } from '../src/parse.js';

const DIR = new URL('../fixtures/compositions/', import.meta.url);
const ALLOWANCES = JSON.parse(readFileSync(new URL('allowances.json', DIR), 'utf8')) as Record<
  string,
  { mean: number; max: number }
>;
const FIXTURES = readdirSync(DIR)
  .filter((f) => f.endsWith('.py'))
  .map((f) => ({ name: f.replace(/\.py$/, ''), source: readFileSync(new URL(f, DIR), 'utf8') }));

const composed = (source: string) => {
  const { expr, calls } = lowerProgram(parse(source), source);
  return compositionOf(expr, calls);
};

const HEAD = `import jax.numpy as jnp
def relu_k(c, v1, v2):
    rho = jnp.clip(c / jnp.sqrt(v1 * v2), -1.0, 1.0)
    theta = jnp.arccos(rho)
    return jnp.sqrt(v1 * v2) * (jnp.sin(theta) + (jnp.pi - theta) * jnp.cos(theta)) / (2 * jnp.pi)
def square_k(c, v1, v2):
    return 2 * c**2 + v1 * v2
`;
const map = (body: string) => `${HEAD}def nngp_fn(cov12, var1, var2):\n    return ${body}\n`;

describe('kernel compositions', () => {
  it('has fixtures', () => expect(FIXTURES.length).toBeGreaterThanOrEqual(8));

  for (const { name, source } of FIXTURES)
    it(`${name}: compiles as two kernels, finite at zero inputs, accurate in every domain group`, () => {
      const k = compile(source, { filename: `${name}.py` });
      expect('composition' in k.ir).toBe(true);
      const report = accuracy(source);
      expect(report.zero.nonFinite).toBe(0);
      const allowed = ALLOWANCES[name] ?? ALLOWANCES['*']!;
      for (const [group, g] of Object.entries(report.groups)) {
        expect(g.nonFinite, `${name} ${group}`).toBe(0);
        for (const f of ['nngp', 'dNngp'] as const) {
          expect(g[f].mean, `${name} ${group} ${f}`).toBeLessThanOrEqual(allowed.mean);
          expect(g[f].max, `${name} ${group} ${f}`).toBeLessThanOrEqual(allowed.max);
        }
      }
    });

  it('is exact on the diagonal and at the bound: two relu layers have derivative 1/4 there', () => {
    const k = compile(FIXTURES.find((f) => f.name === 'relu_relu')!.source);
    // d = outer'(w, w, w) inner'(v, v, v) = 1/2 * 1/2 (the clip's derivative is 0 where it acts
    // by rounding: the source as one expression gave 0 here, and NaN at zero inputs).
    for (const v of [0.3, 1, 2, 7.5, 1e-300, 1e300]) {
      expect(k.dNngp(v, v, v), `${v}`).toBe(0.25);
      expect(k.nngp(v, v, v), `${v}`).toBe(v / 4);
    }
    // 0.6^2 is not 0.36 in doubles: just inside the bound (the truth in 40 digits, mpmath)
    expect(bitsOfError(k.dNngp(0.6, 0.36, 1), 0.24999999903180102479)).toBeLessThanOrEqual(2);
    expect(k.dNngp(0.6 * (1 + 2 ** -50), 0.36, 1)).toBe(0.25); // past the bound by rounding
    expect(k.nngp(0, 0, 0)).toBe(0);
    expect(Number.isFinite(k.dNngp(0, 0, 1))).toBe(true);
  });

  it('compiles four layers (as one expression, their meaning alone did not fit in memory), exact on the diagonal', () => {
    let body = '    k = cov12\n';
    for (let i = 0; i < 4; i++) body += `    k = relu_k(k, var1 / ${2 ** i}, var2 / ${2 ** i})\n`;
    const k = compile(`${HEAD}def nngp_fn(cov12, var1, var2):\n${body}    return k\n`);
    expect('composition' in k.ir).toBe(true);
    for (const v of [0.5, 3]) {
      expect(k.dNngp(v, v, v)).toBe(1 / 16);
      expect(k.nngp(v, v, v)).toBe(v / 16);
    }
  });

  it('the fused kernel gives the scalar functions bit for bit, with neural-tangents semantics', () => {
    const k = compile(FIXTURES.find((f) => f.name === 'relu_three_layers')!.source);
    const nngp = new Float64Array([1, 0.99999, -0.5, 0.99999, 1, 0.3, -0.5, 0.3, 2]);
    expectKernelMatchesScalars(k, nngp, new Float64Array(nngp.map((x) => 2 * x)), new Float64Array([1, 1, 2]));
  });

  it('finds the composition in its spellings: a local value, lambdas, a constant scale and shift', () => {
    expect(composed(map('relu_k(relu_k(cov12, var1, var2), var1 / 2, var2 / 2)'))).toBeDefined();
    expect(composed(map('3 * relu_k(relu_k(cov12, var1, var2), var1 / 2, var2 / 2) + 0.5'))).toBeDefined();
    expect(
      composed(map('relu_k(relu_k(cov12, var1, var2), relu_k(var1, var1, var1), relu_k(var2, var2, var2))')),
    ).toBeDefined();
    expect(composed(map('relu_k(v2=var2 / 2, c=relu_k(cov12, var1, var2), v1=var1 / 2)'))).toBeDefined();
  });

  it("takes a Dense layer's bias as an affine inner, the outer's gap in closed form", () => {
    const c = composed(map('relu_k(2 * cov12 + 1, 2 * var1 + 1, 2 * var2 + 1)'))!;
    expect(c.dense).toEqual({ scale: 2, shift: 1 });
    // As one expression the outer's max guard stayed and its derivative was NaN on the diagonal.
    const k = compile(map('relu_k(2 * cov12 + 0.01, 2 * var1 + 0.01, 2 * var2 + 0.01)'));
    for (const v of [0.3, 1, 1e-300, 0]) expect(k.dNngp(v, v, v), `${v}`).toBe(1);
  });

  it('declines what is not one, and those compile as one expression', () => {
    const declined = [
      // variances that are not the inner map's diagonal (var1 is not relu's map at (var1, var1, var1))
      'relu_k(relu_k(cov12, var1, var2), var1, var2)',
      // an outer polynomial in its cov: nothing to project
      'square_k(relu_k(cov12, var1, var2), var1 / 2, var2 / 2)',
      // an affine inner without a bias (a Dense layer's weight alone scales the bound): one kernel
      'relu_k(2 * cov12, 2 * var1, 2 * var2)',
      // a bias on the cov only: not a Dense layer's
      'relu_k(2 * cov12 + 1, 2 * var1, 2 * var2)',
      // the map reads cov12 beside the call
      'relu_k(relu_k(cov12, var1, var2), var1 / 2, var2 / 2) + cov12',
      // a variance reads both variances
      'relu_k(relu_k(cov12, var1, var2), (var1 + var2) / 4, var2 / 2)',
      // a floor on the variances: the inner's diagonal at the sampled variances, not everywhere
      // (taken by sampling alone, it gave 3.4e-4 for the true 1.7e-3 at (0.001, 0.002, 0.002))
      'relu_k(relu_k(cov12, var1, var2), jnp.maximum(var1 / 2, 0.01), jnp.maximum(var2 / 2, 0.01))',
      // smooth ones, and a term that vanishes at every dyadic variance: only a proof decides
      'relu_k(relu_k(cov12, var1, var2), 0.5 * (var1 / 2 + 1e-7 + jnp.sqrt((var1 / 2 - 1e-7) ** 2 + 1e-60)), var2 / 2)',
      'relu_k(relu_k(cov12, var1, var2), var1 / 2 + 1e-3 * jnp.sin(1048576 * jnp.pi * var1) ** 2, var2 / 2)',
      'relu_k(relu_k(cov12, var1, var2), var1 / 2 + 1e-30, var2 / 2 + 1e-30)',
    ];
    for (const body of declined) {
      expect(composed(map(body)), body).toBeUndefined();
      expect('composition' in compile(map(body)).ir, body).toBe(false);
    }
    // The check can fail: the same calls with the diagonal composed.
    expect(composed(map('relu_k(relu_k(cov12, var1, var2), var1 / 2, var2 / 2)'))).toBeDefined();
  });

  it('notes where the inner value meets the outer bound (tight), which decides the distance at the bound', () => {
    const tight = (body: string) => composed(map(body))!.tight;
    expect(tight('relu_k(relu_k(cov12, var1, var2), var1 / 2, var2 / 2)')).toEqual({ plus: 1, minus: 0 });
    const erf = `${HEAD}def erf_k(c, v1, v2):
    return 2 / jnp.pi * jnp.arcsin(2 * c / jnp.sqrt((1 + 2 * v1) * (1 + 2 * v2)))
def nngp_fn(cov12, var1, var2):
    return relu_k(erf_k(cov12, var1, var2), erf_k(var1, var1, var1), erf_k(var2, var2, var2))
`;
    // erf's map reaches relu's bound at equal variances only
    expect(composed(erf)!.tight).toEqual({ plus: 0, minus: 0 });
    // |x|'s map is even: at -sqrt(var1 var2) it meets relu's positive bound
    const abs = `${HEAD}def abs_k(c, v1, v2):
    return 2 / jnp.pi * (jnp.sqrt(v1 * v2 - c**2) + c * jnp.arcsin(c / jnp.sqrt(v1 * v2)))
def nngp_fn(cov12, var1, var2):
    return relu_k(abs_k(cov12, var1, var2), var1, var2)
`;
    expect(composed(abs)!.tight).toEqual({ plus: 1, minus: 1 });
  });
});
