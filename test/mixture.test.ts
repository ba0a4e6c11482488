// Scale-mixture kernels (mixture.ts, emit/mixture.ts): the logistic family's kernels as sums of
// closed forms. Checked: the mixture's distance from the logistic function; every PAIRS and
// SINGLES rule against quadrature of its blocks; whole kernels against nested quadrature in
// extended precision (fixtures/numeric-kernels.json, made by fixtures/numeric-kernels.py) at
// interior points, near |rho| = 1, on the diagonal and at zero variance; the spellings users
// paste; the kernel loops against the scalar functions; the errors.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile, compileActivation, derive, fromActivation } from '../src/index.js';
import { erfD } from '../src/evaluate.js';
import { rng } from '../src/measure.js';
import { logisticMixture, PAIRS, SINGLES, type BlockKind } from '../src/mixture.js';
import { gaussianExpectation } from '../src/verify.js';
import { expectRefused, expectSameKernel } from './helpers.js';

interface Truth {
  activations: {
    fn: string;
    points: { group: string; var1: number; var2: number; cov12: number; nngp: string; dNngp: string }[];
  }[];
}
const TRUTH = JSON.parse(readFileSync(new URL('../fixtures/numeric-kernels.json', import.meta.url), 'utf8')) as Truth;

const Phi0 = (u: number) => 0.5 * erfD(u / Math.SQRT2); // Phi(u) - 1/2
const phi = (u: number) => Math.exp(-0.5 * u * u) / Math.sqrt(2 * Math.PI);
/** The blocks at scale s (s the scale, not squared) and their derivatives in x. */
const BLOCK: Record<BlockKind, (s: number) => [(x: number) => number, (x: number) => number]> = {
  odd: (s) => [(x) => Phi0(x / s), (x) => phi(x / s) / s],
  even: (s) => [(x) => x * Phi0(x / s) + s * phi(x / s), (x) => Phi0(x / s)],
  xodd: (s) => [(x) => x * Phi0(x / s), (x) => Phi0(x / s) + (x / s) * phi(x / s)],
};

/** A rule's code evaluated at a point, over the names a pair loop defines. */
function pairValue(code: string, c: number, v1: number, v2: number, si: number, tj: number): number {
  const gap = v1 * v2 - c * c;
  const V1 = v1 + si;
  const V2 = v2 + tj;
  const G = gap + v1 * tj + si * V2;
  const r = 1 / Math.sqrt(G);
  const names = { c, v1, v2, gap, si, tj, V1, V2, G, r, sG: G * r, th: Math.atan(c * r) };
  // eslint-disable-next-line no-new-func
  return new Function(...Object.keys(names), `return ${code};`)(...Object.values(names)) as number;
}

describe('the logistic function as a Gaussian scale mixture', () => {
  it('is within 1e-14 of sigmoid everywhere, with weights summing to 1', () => {
    const m = logisticMixture();
    expect(m.s.length).toBeLessThanOrEqual(26);
    expect(Math.abs(m.w.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-15);
    expect(m.error.sup).toBeLessThan(1e-14);
    expect(m.error.dsup).toBeLessThan(1e-14);
    // The measured error is the mixture's: at a point, directly.
    const x = 1.3;
    const g = 0.5 + m.s.reduce((acc, s, k) => acc + m.w[k]! * Phi0(x / s), 0);
    expect(Math.abs(g - 1 / (1 + Math.exp(-x)))).toBeLessThanOrEqual(m.error.sup);
  });
});

describe('the table of pairs (sampled for soundness against quadrature)', () => {
  const next = rng(7);
  const samples = Array.from({ length: 6 }, (_, i) => {
    const v1 = 0.2 + 3 * next();
    const v2 = i === 0 ? v1 : 0.2 + 3 * next();
    const rho = i === 0 ? 1 : i === 1 ? -0.999999 : -0.95 + 1.9 * next();
    return { c: rho * Math.sqrt(v1 * v2), v1, v2, s: 0.3 + 2 * next(), t: 0.3 + 2 * next() };
  });
  for (const rule of PAIRS)
    it(`${rule.kinds.join(' x ')}: ${rule.identity.slice(0, 60)}...`, () => {
      for (const { c, v1, v2, s, t } of samples) {
        const [f1, df1] = BLOCK[rule.kinds[0]](s);
        const [f2, df2] = BLOCK[rule.kinds[1]](t);
        const k = pairValue(rule.nngp, c, v1, v2, s * s, t * t) / (2 * Math.PI);
        const d = pairValue(rule.dNngp, c, v1, v2, s * s, t * t) / (2 * Math.PI);
        const qk = gaussianExpectation(f1, f2, c, v1, v2, 64);
        const qd = gaussianExpectation(df1, df2, c, v1, v2, 64);
        expect(Math.abs(k - qk), `nngp at ${[c, v1, v2, s, t]}: ${k} vs ${qk}`).toBeLessThan(
          1e-12 * Math.max(1, Math.abs(qk)),
        );
        expect(Math.abs(d - qd), `d at ${[c, v1, v2, s, t]}: ${d} vs ${qd}`).toBeLessThan(
          1e-12 * Math.max(1, Math.abs(qd)),
        );
      }
    });
  it('pairs of an odd and an even block vanish (no rule), singles match their expectations', () => {
    for (const { c, v1, v2, s } of samples) {
      expect(Math.abs(gaussianExpectation(BLOCK.odd(s)[0], BLOCK.even(0.7)[0], c, v1, v2, 64))).toBeLessThan(1e-13);
      for (const kind of ['odd', 'even', 'xodd'] as const) {
        const rule = SINGLES[kind];
        const at = (code: string) =>
          // eslint-disable-next-line no-new-func
          (new Function('c', 'v', 'V', `return ${code};`)(c, v1, v1 + s * s) as number) / Math.sqrt(2 * Math.PI);
        const [f, df] = BLOCK[kind](s);
        expect(Math.abs(at(rule.mean) - gaussianExpectation(f, () => 1, 0, v1, 1, 64)), `${kind} mean`).toBeLessThan(
          1e-13,
        );
        expect(Math.abs(at(rule.timesX) - gaussianExpectation(f, (x) => x, c, v1, v2, 64)), `${kind} x`).toBeLessThan(
          1e-13,
        );
        expect(Math.abs(at(rule.dTimesX) - gaussianExpectation(df, () => 1, c, v1, v2, 64)), `${kind} d`).toBeLessThan(
          1e-13,
        );
      }
    }
  });
});

describe('kernels of the logistic family against nested quadrature in extended precision', () => {
  for (const { fn, points } of TRUTH.activations) {
    it(`${fn}: nngp and d within 1e-11 (relative, or of the Cauchy-Schwarz scale where the kernel crosses 0), all finite`, () => {
      const k = fromActivation(fn);
      const scaleOf = (f: (c: number, v1: number, v2: number) => number, v1: number, v2: number) =>
        Math.sqrt(Math.abs(f(v1, v1, v1) * f(v2, v2, v2)));
      for (const p of points) {
        for (const [f, truth] of [
          [k.nngp, Number(p.nngp)],
          [k.dNngp, Number(p.dNngp)],
        ] as const) {
          const got = f(p.cov12, p.var1, p.var2);
          const scale = Math.max(Math.abs(truth), 1e-6 * scaleOf(f, p.var1, p.var2), 1e-300);
          expect(Number.isFinite(got), `${fn} at ${p.group} ${[p.cov12, p.var1, p.var2]}`).toBe(true);
          expect(
            Math.abs(got - truth) / scale,
            `${fn} ${f === k.nngp ? 'nngp' : 'd'} at ${p.group} ${[p.cov12, p.var1, p.var2]}: ${got} vs ${truth}`,
          ).toBeLessThanOrEqual(1e-11);
        }
      }
    });
  }
});

describe('(a + b x) erf(c x): exact blocks of the same closed forms', () => {
  const erfPrime = (a: number) => (x: number) => ((2 * a) / Math.sqrt(Math.PI)) * Math.exp(-a * a * x * x);
  const cases: [string, (x: number) => number, (x: number) => number][] = [
    ['x*erf(x)', (x) => x * erfD(x), (x) => erfD(x) + x * erfPrime(1)(x)],
    [
      'x*erf(x) + erf(2*x) + 0.3*x',
      (x) => x * erfD(x) + erfD(2 * x) + 0.3 * x,
      (x) => erfD(x) + x * erfPrime(1)(x) + erfPrime(2)(x) + 0.3,
    ],
    ['(x + 1)*erf(-0.5*x)', (x) => (x + 1) * erfD(-0.5 * x), (x) => erfD(-0.5 * x) + (x + 1) * erfPrime(-0.5)(x)],
  ];
  for (const [fn, f, df] of cases)
    it(`${fn}: nngp and d within 1e-13 of quadrature at interior, near-bound and diagonal points`, () => {
      const k = fromActivation(fn);
      expect(k.simplified).toContain('exact Gaussian-smoothed blocks');
      for (const [r, v1, v2] of [
        [0.3, 1, 1],
        [-0.6, 0.5, 2],
        [0.5, 25, 25],
        [1, 1, 1],
        [-0.999999, 4, 4],
        [0.99999, 9, 1],
        [-1, 3, 3],
      ] as const) {
        const c = r * Math.sqrt(v1 * v2);
        const qk = gaussianExpectation(f, f, c, v1, v2, 64);
        const qd = gaussianExpectation(df, df, c, v1, v2, 64);
        expect(Math.abs(k.nngp(c, v1, v2) - qk), `${fn} at ${[c, v1, v2]}`).toBeLessThanOrEqual(1e-13 * Math.abs(qk));
        expect(Math.abs(k.dNngp(c, v1, v2) - qd), `${fn} at ${[c, v1, v2]}`).toBeLessThanOrEqual(1e-13 * Math.abs(qd));
      }
    });
  it("GELU spelled x*0.5*(1 + erf(x/sqrt(2))) gives the catalog's closed form", () => {
    const [g, h] = [compileActivation('gelu'), fromActivation('x*0.5*(1 + erf(x/sqrt(2)))')];
    for (const [c, v1, v2] of [
      [0.3, 1, 2],
      [-0.9, 1, 1],
      [2, 4, 4],
      [-3.999, 4, 4],
    ] as const) {
      expect(Math.abs(h.nngp(c, v1, v2) - g.nngp(c, v1, v2))).toBeLessThan(
        1e-14 * Math.max(1, Math.abs(g.nngp(c, v1, v2))),
      );
      expect(Math.abs(h.dNngp(c, v1, v2) - g.dNngp(c, v1, v2))).toBeLessThan(1e-14);
    }
  });
});

describe('spellings, loops and errors', () => {
  it('reads the spellings users paste as the same kernel', () => {
    const same = (a: string, b: string) => expectSameKernel(a, b, 1e-14);
    same('sigmoid(x)', '1/(1 + exp(-x))');
    same('sigmoid(x)', 'exp(x)/(1 + exp(x))');
    same('sigmoid(x)', 'jax.nn.sigmoid(x)');
    same('sigmoid(x)', '0.5*tanh(0.5*x) + 0.5');
    same('softplus(x)', 'jnp.log1p(jnp.exp(x))');
    same('softplus(x)', 'softplus(-x) + x');
    same('x*sigmoid(x)', 'jax.nn.silu(x)');
    same('x*sigmoid(x)', 'x/(1 + exp(-x))');
    same('tanh(x)', '2*sigmoid(2*x) - 1');
    same('tanh(-3*x)', '-tanh(3*x)');
  });

  it('kernel() gives the scalar functions bit for bit, with and without the NTK', () => {
    const k = fromActivation('x*sigmoid(x) + 0.1');
    const cov1 = new Float64Array([0.5, 2, 0]);
    const cov2 = new Float64Array([1, 0.3]);
    const nngp = new Float64Array([0.2, -0.7, 0.1, 0.77, 0, 0]);
    const ntk = new Float64Array([1, 2, 3, 4, 5, 6]);
    const out = k.kernel({ nngp, ntk, cov1, cov2 });
    const plain = k.kernel({ nngp, cov1, cov2 });
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 2; j++) {
        const idx = i * 2 + j;
        expect(out.nngp[idx]).toBe(k.nngp(nngp[idx]!, cov1[i]!, cov2[j]!));
        expect(plain.nngp[idx]).toBe(out.nngp[idx]);
        expect(out.ntk![idx]).toBe(ntk[idx]! * k.dNngp(nngp[idx]!, cov1[i]!, cov2[j]!));
      }
    expect(out.cov1[1]).toBe(k.nngp(2, 2, 2));
  });

  it('compiles a # fn:-only source to the same kernel; derive says there is no closed form to print', () => {
    const src = '# fn: tanh(a*x)\n# params: a=0.5\n';
    const k = compile(src, { filename: 't.nngp' });
    expect(k.nngp(0.3, 1, 2)).toBe(fromActivation('tanh(0.5*x)').nngp(0.3, 1, 2));
    expect(k.code).toMatch(/^\/\/ Generated by nngpc .* from t\.nngp\. Do not edit/);
    expect(() => derive(src, { filename: 't.nngp' })).toThrow(/no closed-form kernel to derive; compile it/);
  });

  it('refuses what it does not cover, located and with the reason', () => {
    const refuse = expectRefused;
    refuse('tanh(x) + relu(x)', /affine terms a \+ b x beside it, not with kinks/);
    refuse('tanh(x)*x^2', /logistic family/);
    refuse('sigmoid(x)^2', /not its powers or quotients/);
    refuse('tanh(x) + sin(x)', /together with sin, cos or exp terms/);
    refuse('tanh(a*x)', /gradients in params are available for closed-form kernels only/, {
      params: { a: 1 },
      gradients: ['a'],
    });
  });
});
