import { describe, expect, it } from 'vitest';
import { toMath } from '../src/print.js';
import { REWRITES, rewriteCanonical, stabilize } from '../src/stabilize.js';
import { LOWERINGS } from '../src/evaluation.js';
import { isSignDefinite, substituteGap } from '../src/domain.js';
import { compile } from '../src/compile.js';
import { evaluateHP, hpFromDouble } from '../src/evaluate.js';
import { bitsOfError, rng, samplePoints } from '../src/measure.js';
import { compileActivation } from '../src/index.js';
import { canonical as canon, references, closed } from './helpers.js';
import { truthAt, truthsOfRegularForms } from '../src/truth.js';
import * as E from '../src/expr.js';
import * as T from '../src/tree.js';

const uses = (src: string, fn: string) => stabilize(canon(src)).key.includes(fn);

/** nngp and its derivative within 4 bits of the oracle (the source's own meaning) at each point where it decides. */
function expectNearTruth(src: string, points: readonly (readonly [number, number, number])[]): void {
  const k = compile(src);
  const written = closed(k).written;
  for (const [c, v1, v2] of points)
    for (const f of ['nngp', 'dNngp'] as const) {
      const t = truthAt(written[f], c, v1, v2);
      if (t.kind === 'value')
        expect(
          bitsOfError(k[f](c, v1, v2), t.value),
          `${f} of ${src.slice(-40)} at ${[c, v1, v2]}`,
        ).toBeLessThanOrEqual(4);
    }
}

describe('stabilize', () => {
  it('returns an evaluation tree, which the type system keeps from the canonical constructors', () => {
    const tree = stabilize(
      canon('(var1*var2 - cov12^2)/sqrt(var1*var2 - cov12^2) + cov12*acos(cov12/sqrt(var1*var2))'),
    );
    // @ts-expect-error a Tree is not an Expr: E.mul would re-canonicalise (re-expand) its grouping
    const reexpanded = () => E.mul(tree, E.ONE);
    expect(reexpanded).toBeTypeOf('function');
    // The explicit way back has the same meaning.
    const back = T.canonicalOf(tree);
    for (const [c, v1, v2] of samplePoints('interior', 6, 5)) {
      const at = { cov12: hpFromDouble(c), var1: hpFromDouble(v1), var2: hpFromDouble(v2) };
      expect(bitsOfError(evaluateHP(back, at).toNumber(), evaluateHP(tree, at).toNumber())).toBe(0);
    }
  });

  it('documents every rewrite and lowering with a reason it is sound and when it helps', () => {
    expect(REWRITES.length).toBeGreaterThan(5);
    for (const r of [...REWRITES, ...LOWERINGS]) {
      expect(r.sound.length).toBeGreaterThan(10);
      expect(r.helps.length).toBeGreaterThan(10);
    }
  });

  it('every lowering happens on its examples, and the evaluation tree has the value of the canonical form', () => {
    const points = [...samplePoints('interior', 8, 3), ...samplePoints('scale', 4, 4)];
    for (const l of LOWERINGS) {
      for (const src of l.examples) {
        const e = canon(src);
        const tree = stabilize(e);
        expect(tree.key, `${l.name} on ${src}`).toContain(l.node);
        for (const [c, v1, v2] of points) {
          const at = { cov12: hpFromDouble(c), var1: hpFromDouble(v1), var2: hpFromDouble(v2) };
          const x = evaluateHP(e, at);
          const y = evaluateHP(tree, at);
          if (!x.isFinite()) continue;
          expect(x.sub(y).abs().lte(x.abs().add(1).mul('1e-30')), `${src} at (${c}, ${v1}, ${v2})`).toBe(true);
        }
      }
    }
  });

  it('turns pi - acos(u) into acos(-u), and pi/2 - acos(u) into asin(u)', () => {
    expect(toMath(rewriteCanonical(canon('pi - acos(cov12/sqrt(var1*var2))')))).toBe(
      'angle(sqrt(-cov12^2 + var1*var2), -cov12)',
    );
    expect(toMath(rewriteCanonical(canon('pi/2 - acos(cov12/sqrt(var1*var2))')))).toBe(
      'atan2(cov12, sqrt(-cov12^2 + var1*var2))',
    );
  });

  it('uses the Cauchy–Schwarz gap where it removes a difference of products', () => {
    const p = canon('(1 + 2*var1)*(1 + 2*var2) - 4*cov12^2');
    expect(isSignDefinite(p)).toBe(false);
    expect(toMath(substituteGap(p))).toBe('1 + 2*var1 + 2*var2 + 4*gap');
    expect(isSignDefinite(substituteGap(p))).toBe(true);
  });

  it('evaluates mixed-sign polynomials in double-double, exp of polynomials too', () => {
    expect(uses('sqrt(3*var1 - 2*cov12 + var2)', 'dd(')).toBe(true);
    expect(uses('exp(cov12 - var1/2 - var2/2)', 'expdd(')).toBe(true);
  });

  it('rewrites differences of exponentials, exp(x) - 1 and log(1 + x)', () => {
    expect(uses('exp(cov12 - var1) - exp(-cov12 - var1)', 'expdiff(')).toBe(true);
    expect(uses('exp(cov12) - 1', 'expm1(')).toBe(true);
    expect(uses('log(1 + cov12^2)', 'log1p(')).toBe(true);
  });

  it('gains accuracy where the naive form cancels', () => {
    const k = compile('exp(cov12) - 1');
    expect(k.nngp(1e-12, 1, 1)).toBe(Math.expm1(1e-12));
    const relu = compile('(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12) / (2*pi)');
    // Near rho = -1 the map is ~ theta^3/(6 pi): the naive form returns cancellation noise.
    const v = 1,
      c = -(1 - 1e-12);
    const theta = Math.acos(-c); // small
    const expected = (Math.sin(theta) - theta * Math.cos(theta)) / (2 * Math.PI);
    expect(Math.abs(relu.nngp(c, v, v) / expected - 1)).toBeLessThan(1e-3);
    expect(relu.nngp(c, v, v)).toBeGreaterThan(0);
  });

  it('keeps second differences accurate at small cov12: cosh - 1, 1 - cos, 1 - cos^2, root differences, in several spellings', () => {
    // 50-digit truth through the evaluator: each spelling's own exact value.
    const cases: [string, string[]][] = [
      [
        'cosh(cov12) - 1',
        ['cosh(cov12) - 1', 'np.cosh(cov12) - 1.0', '(exp(cov12) + exp(-cov12))/2 - 1', '2*sinh(cov12/2)**2'],
      ],
      ['1 - cos(cov12)', ['1 - cos(cov12)', '1 - jnp.cos(cov12)', '-(cos(cov12) - 1)']],
      ['sqrt(1 + cov12^2) - 1', ['sqrt(1 + cov12^2) - 1', 'jnp.sqrt(1 + cov12**2) - 1', '(1 + cov12^2)**0.5 - 1']],
      ['exp(-(var1 + var2)/2)*(cosh(cov12) - 1)', ['exp(-(var1 + var2)/2)*(cosh(cov12) - 1)']],
      // The root's other term not a constant, or the root of a quotient.
      [
        'sqrt(var1*var2 + cov12^2) - sqrt(var1*var2)',
        [
          'sqrt(var1*var2 + cov12^2) - sqrt(var1*var2)',
          'def nngp_fn(cov12, var1, var2):\n    s = jnp.sqrt(var1 * var2)\n    return jnp.sqrt(s**2 + cov12**2) - s',
        ],
      ],
      ['sqrt(1 + cov12^2/(var1*var2)) - 1', ['sqrt(1 + cov12^2/(var1*var2)) - 1']],
      ['1 - cos(cov12)^2', ['1 - cos(cov12)^2', '1 - jnp.cos(cov12)**2']],
      ['var1*sin(cov12)^2', ['var1 - var1*cos(cov12)**2']],
    ];
    for (const [reference, spellings] of cases) {
      const exact = canon(reference);
      for (const s of spellings) {
        const k = compile(s);
        for (const [c, v1, v2] of [
          [1e-8, 1, 1],
          [1e-4, 2, 0.5],
          [0.01, 1, 1],
          [-0.3, 3, 0.7],
          [0.9, 1, 1],
          [1.9, 300, 300],
          [45, 600, 600],
        ] as const) {
          const truth = evaluateHP(exact, { cov12: hpFromDouble(c), var1: hpFromDouble(v1), var2: hpFromDouble(v2) });
          expect(bitsOfError(k.nngp(c, v1, v2), truth.toNumber()), `${s} at cov12 = ${c}`).toBeLessThanOrEqual(2);
        }
      }
    }
    // Far apart, the largest exponential times a square in [0, 1]: no overflow times underflow.
    const wide = compile('exp(cov12 - var1) + exp(-cov12 - var1) - 2*exp(-var1)');
    expect(wide.nngp(800, 1000, 1000)).toBeCloseTo(Math.exp(-200), 300);
    expect(Number.isFinite(wide.nngp(800, 1000, 1000))).toBe(true);
    // A root difference whose terms are both 0 at zero inputs is 0 there (not 0/0).
    const roots = compile('sqrt(var1*var2 + cov12^2) - sqrt(var1*var2)');
    expect(roots.nngp(0, 0, 0)).toBe(0);
    expect(roots.nngp(0, 0, 1)).toBe(0);
  });

  it('keeps a sum of exponentials that cancels at small variances accurate: its value at cov12 = 0 as a product of expm1s', () => {
    // sin(x)^2's kernel, derived (# fn:) and in three spellings: expanded (what the normal form
    // makes of any of them), and the factored forms a user would write.
    const spellings = [
      '# fn: sin(x)**2',
      '1/4 - exp(-2*var1)/4 - exp(-2*var2)/4 + exp(-2*var1 - 2*var2 - 4*cov12)/8 + exp(-2*var1 - 2*var2 + 4*cov12)/8',
      'expm1(-2*var1)*expm1(-2*var2)/4 + exp(-2*var1 - 2*var2)*sinh(2*cov12)**2/2',
      '(1 - exp(-2*var1))*(1 - exp(-2*var2))/4 + exp(-2*var1 - 2*var2)*(cosh(4*cov12) - 1)/4',
    ];
    const exact = canon(spellings[1]!);
    for (const s of spellings) {
      const k = compile(s);
      for (const [c, v1, v2] of [
        [1e-5, 2e-5, 3e-5],
        [-4e-9, 1e-8, 3e-8],
        [0.01, 0.02, 0.03],
        [0.7, 0.7, 0.7],
        [-0.7, 0.7, 0.7],
        [0.3, 1, 1.5],
      ] as const) {
        const truth = evaluateHP(exact, { cov12: hpFromDouble(c), var1: hpFromDouble(v1), var2: hpFromDouble(v2) });
        expect(bitsOfError(k.nngp(c, v1, v2), truth.toNumber()), `${s} at ${[c, v1, v2]}`).toBeLessThanOrEqual(2);
      }
    }
    // Not where the value at cov12 = 0 vanishes nowhere (a cosine's kernel stays as it was).
    expect(toMath(rewriteCanonical(canon('exp(-(var1 + var2)/2)*cosh(cov12)')))).not.toContain('expm1');
  });

  it('takes the small-angle series of an arc-cosine kernel times another factor, and of J_1 squared', () => {
    // Found by a held-out try-out: J_2 times cos, an RBF factor or a variance factor, and J_1
    // squared, were expanded into sums whose groups the series did not take (a factor besides
    // the polar ones; theta^2; atan2(cov12, sqrt(gap)) beside pi - theta): up to all bits lost
    // near rho = -1, where the source as written loses fewer.
    const j2 =
      '    g = var1 * var2 - cov12 ** 2\n    th = jnp.arctan2(jnp.sqrt(g), cov12)\n    k2 = (3 * cov12 * jnp.sqrt(g) + (jnp.pi - th) * (var1 * var2 + 2 * cov12 ** 2)) / (2 * jnp.pi)\n';
    const sources = [
      `def nngp_fn(cov12, var1, var2):\n${j2}    return k2 * jnp.exp(-(var1 + var2) / 2) * jnp.cosh(cov12)`,
      `def nngp_fn(cov12, var1, var2):\n${j2}    return k2 * jnp.exp(-0.5 * (var1 + var2 - 2 * cov12))`,
      `def nngp_fn(cov12, var1, var2):\n${j2}    return k2 * (var1 + var2)`,
      'def relu_k(c, v1, v2):\n    r = jnp.sqrt(jnp.maximum(v1 * v2 - c * c, 0.0))\n    return (r + (jnp.pi - jnp.arctan2(r, c)) * c) / (2 * jnp.pi)\n\ndef nngp_fn(cov12, var1, var2):\n    k = relu_k(cov12, var1, var2)\n    return k * k',
    ];
    for (const src of sources)
      expectNearTruth(src, [
        [-0.999, 1, 1],
        [-0.99999999, 1, 1],
        [-(1 - 1e-12) * Math.sqrt(0.7 * 2.9), 0.7, 2.9],
        [-0.883175203456698, 1.3, 0.6],
        [0.3, 1, 1.2],
      ]);
    // Where the angle's powers cancel symbolically once every angle is written as one: the sign
    // kernel squared (in psi = atan2(cov12, sqrt(gap)) a single term, where 1 - 4 theta/pi + 4
    // theta^2/pi^2 cancelled at rho = 0), and J_0 J_1, whose derivative's 1/sqrt(gap) terms were
    // left as written near the bound (NaN where the product var1*var2 rounds to cov12^2).
    const more = [
      'def nngp_fn(cov12, var1, var2):\n    k = 2 / np.pi * np.arcsin(np.clip(cov12 / np.sqrt(var1 * var2), -1, 1))\n    return k ** 2',
      'def nngp_fn(cov12, var1, var2):\n    gap = var1 * var2 - cov12 ** 2\n    a = jnp.arctan2(jnp.sqrt(gap), cov12)\n    k0 = 1 / 2 - a / (2 * jnp.pi)\n    k1 = (jnp.sqrt(gap) + (jnp.pi - a) * cov12) / (2 * jnp.pi)\n    return k0 * k1',
    ];
    for (const src of more)
      expectNearTruth(src, [
        [-0.06922617703989047, 2.506029034969456, 1.7341148993142925],
        [0.024008374358821572, 0.546222109437962, 2.8485040367308514],
        [0.6, 0.36, 1.0],
        [0.994987437105625, 0.45, 2.2],
        [-0.999, 1, 1],
      ]);
    expect(compile(more[0]!).nngp(0, 0, 0)).toBe(0);
    // A reading with fewer terms that would cancel where the sum does not (near rho = 1) is not taken.
    expectNearTruth(
      '(1/10000 - 1)*acos(cov12/sqrt(var1*var2)) + acos(cov12/sqrt(var1*var2))^2/pi + asin(cov12/sqrt(var1*var2))/10000',
      [
        [0.999999999, 1, 1],
        [0.3, 1, 2],
      ],
    );
    // A sum whose one cancelling group is carried by another term keeps its form (abs: cov12 +
    // 2 (sqrt(gap) - cov12 theta)/pi near rho = 1).
    expect(
      toMath(rewriteCanonical(canon('2/pi*sqrt(var1*var2 - cov12^2) + (1 - 2*acos(cov12/sqrt(var1*var2))/pi)*cov12'))),
    ).not.toContain('smallangle');
  });

  it('meets the reference on the diagonal, at the bound and near it for spellings a held-out try-out found (roots of conjugates, multiple angles, a pasted pi, a phase)', () => {
    // Each spelling against 50-digit truth of its reference's stable forms. Before the rules
    // these were NaN on the diagonal (sqrt(1 - rho)*sqrt(1 + rho), sin(2 theta)), missed 0 at
    // rho = -1 by 1.8e-17 (3.141592653589793 read as a rational), or lost 6 bits (exp(a) - cos(0.6) exp(b)).
    const relu = '(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12)/(2*pi)';
    const absolute = '2/pi*(sqrt(var1*var2 - cov12^2) + cov12*asin(cov12/sqrt(var1*var2)))';
    // J_2 (rectified_monomial, n = 2) in sin(theta) = sqrt(1 - rho^2) and theta = acos(rho).
    const j2Source = (rho: string) =>
      `var1*var2/(2*pi)*(3*sqrt(1 - (${rho})^2)*(${rho}) + (pi - acos(${rho}))*(1 + 2*(${rho})^2))`;
    const cases: [string, string[]][] = [
      [
        relu,
        [
          'def nngp_fn(cov12, var1, var2):\n    norms = np.sqrt(var1) * np.sqrt(var2)\n    rho = np.clip(cov12 / norms, -1.0, 1.0)\n    sin_t = np.sqrt(1 - rho) * np.sqrt(1 + rho)\n    t = np.arccos(rho)\n    return norms * (sin_t + (3.141592653589793 - t) * rho) / (2 * 3.141592653589793)',
        ],
      ],
      [
        absolute,
        [
          'def nngp_fn(x12, x11, x22):\n    sd = np.sqrt(x11 * x22)\n    rho = x12 / sd\n    return sd * (2 / np.pi) * ((1 - rho) ** 0.5 * (1 + rho) ** 0.5 + rho * np.arcsin(rho))',
        ],
      ],
      [
        j2Source('cov12/sqrt(var1*var2)'),
        [
          'def nngp_fn(cov12, var1, var2):\n    prod = var1 * var2\n    theta = np.arccos(cov12 / np.sqrt(prod))\n    return prod / (2 * np.pi) * (1.5 * np.sin(2 * theta) + (np.pi - theta) * (2 + np.cos(2 * theta)))',
          'def nngp_fn(cov12, var1, var2):\n    p = var1*var2\n    r = np.clip(cov12/np.sqrt(p), -1., 1.)\n    s = np.sqrt(1. - r)*np.sqrt(1. + r)\n    return p/(2*np.pi)*(3*s*r + (np.pi/2 + np.arcsin(r))*(1 + 2*r*r))',
        ],
      ],
      [
        '2*exp(-(var1 + var2)/8)*(exp(cov12/4) - cos(3/5)*exp(-cov12/4))',
        [
          'def nngp_fn(cov12, var1, var2):\n    damp = np.exp(-0.125 * (var1 + var2))\n    return 2 * damp * (np.exp(0.25 * cov12) - np.cos(0.6) * np.exp(-0.25 * cov12))',
          // A local named e: in Python e is no builtin (np.e is), so the local shadows it.
          'def nngp_fn(cov12, var1, var2):\n    e = np.exp(cov12/4)\n    return 2*np.exp(-(var1 + var2)/8)*(e - np.cos(0.6)/e)',
        ],
      ],
      // Half angles (the third check), in pairs and squares, and as roots of (1 ± rho)/2.
      [
        relu,
        [
          'def nngp_fn(cov12, var1, var2):\n    prod = var1 * var2\n    theta = np.arccos(cov12 / np.sqrt(prod))\n    sin_t = 2 * np.sin(theta / 2) * np.cos(theta / 2)\n    return (np.sqrt(prod) * sin_t + (np.pi - theta) * cov12) / (2 * np.pi)',
          'def nngp_fn(cov12, var1, var2):\n    prod = var1 * var2\n    theta = np.arccos(cov12 / np.sqrt(prod))\n    cos_t = 2 * np.cos(theta / 2)**2 - 1\n    return np.sqrt(prod) * (np.sin(theta) + (np.pi - theta) * cos_t) / (2 * np.pi)',
          'def nngp_fn(cov12, var1, var2):\n    prod = var1 * var2\n    rho = np.clip(cov12/np.sqrt(prod), -1, 1)\n    half = np.arcsin(np.sqrt((1 + rho)/2))\n    return (np.sqrt(prod - cov12**2) + 2*half*cov12)/(2*np.pi)',
        ],
      ],
      // A multiple angle times a root of the variances: cov12^2/sqrt(var1 var2) terms, 0 at zero inputs.
      ['sqrt(var1*var2)*(2*(cov12/sqrt(var1*var2))^2 - 1)', ['sqrt(var1*var2)*cos(2*acos(cov12/sqrt(var1*var2)))']],
    ];
    for (const [reference, spellings] of cases) {
      const exact = closed(compile(reference));
      for (const source of spellings) {
        const k = compile(source);
        for (const [c, v1, v2] of [
          [1, 1, 1],
          [1, 2, 0.5],
          [-1, 2, 0.5],
          // The diagonal where sqrt(var1)*sqrt(var2) rounds below cov12 (NaN for a root of 1 - rho).
          [0.3, 0.3, 0.3],
          [2.9, 2.9, 2.9],
          [-0.7, 0.7, 0.7],
          [1 - 1e-12, 1, 1],
          [-(1 - 1e-9), 2, 0.5],
          [-0.39794060856010643, 0.5869983871620602, 1.2611535997841303],
          [0.3, 1.1, 0.9],
          [1e-8, 1, 1],
        ] as const) {
          const [tn, td] = truthsOfRegularForms([exact.stableNngp, exact.stableDNngp], c, v1, v2, false);
          for (const [f, t] of [
            ['nngp', tn],
            ['dNngp', td],
          ] as const) {
            if (t?.kind !== 'value') continue;
            expect(
              bitsOfError(k[f](c, v1, v2), t.value),
              `${source}\n${f} at (${c}, ${v1}, ${v2})`,
            ).toBeLessThanOrEqual(3);
          }
        }
        for (const [c, v1, v2] of [
          [0, 0, 0],
          [0, 0, 1],
        ])
          expect(
            Number.isFinite(k.dNngp(c!, v1!, v2!)) && Number.isFinite(k.nngp(c!, v1!, v2!)),
            `${source} at 0`,
          ).toBe(true);
      }
    }
    // A lone half angle stays as written (its root of 1 - rho cancels unseen): 0 on the diagonal.
    const lone = compile('sqrt(var1*var2)*sin(acos(cov12/sqrt(var1*var2))/2)');
    for (const v of [0.3, 0.7, 2.9, 5]) expect(lone.nngp(v, v, v), `at ${v}`).toBe(0);
    // The phase's log r in double-double: a Sin layer with c0 = 0.3 at large variances.
    const phase = compileActivation('sin', { c0: 0.3 });
    const sin = closed(phase);
    const next = rng(31);
    for (const V of [30, 100, 300, 600])
      for (let i = 0; i < 12; i++) {
        const [v1, v2] = [V * (0.5 + next()), V * (0.5 + next())];
        const c = (2 * next() - 1) * Math.sqrt(v1 * v2);
        const [tn, td] = truthsOfRegularForms([sin.stableNngp, sin.stableDNngp], c, v1, v2, false);
        if (tn?.kind === 'value')
          expect(bitsOfError(phase.nngp(c, v1, v2), tn.value), `nngp at ${V}`).toBeLessThanOrEqual(3);
        if (td?.kind === 'value')
          expect(bitsOfError(phase.dNngp(c, v1, v2), td.value), `dNngp at ${V}`).toBeLessThanOrEqual(3);
      }
  });

  it('keeps gelu accurate at cov12 = -var however large the variance (x * angle in double-double)', () => {
    // There the angle term and the rational part cancel down to ~1/sqrt(var) of their size:
    // with a rounded angle, nngp had 5.6 bits of error at var = 100 and 20.8 at 1e6.
    const gelu = references().find((r) => r.name === 'gelu')!;
    const k = compile(gelu.py!, { params: gelu.params });
    expect(closed(k).stableNngp.key).toContain('xangle(');
    for (const v of [3, 30, 100, 1e3, 1e4, 1e6, 1e9]) {
      const at = { cov12: hpFromDouble(-v), var1: hpFromDouble(v), var2: hpFromDouble(v) };
      expect(
        bitsOfError(k.nngp(-v, v, v), evaluateHP(closed(k).nngp, at).toNumber()),
        `nngp at var = ${v}`,
      ).toBeLessThanOrEqual(2);
      expect(
        bitsOfError(k.dNngp(-v, v, v), evaluateHP(closed(k).dNngp, at).toNumber()),
        `dNngp at var = ${v}`,
      ).toBeLessThanOrEqual(6);
    }
  });

  it('is finite at zero inputs and just outside the Cauchy–Schwarz bound', () => {
    const k = compile('sqrt(var1*var2) * exp(cov12/sqrt(var1*var2) - 1)');
    expect(k.nngp(0, 0, 1)).toBe(0);
    expect(k.dNngp(0, 0, 0)).toBe(Math.exp(-1));
    const relu = compile('(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12) / (2*pi)');
    expect(relu.dNngp(1 + 2 ** -51, 1, 1)).toBe(0.5);
    expect(relu.nngp(1 + 2 ** -51, 1, 1)).toBe(0.5);
    expect(relu.dNngp(0, 0, 0)).toBe(0.25); // theta = pi/2 at 0/0, as neural-tangents
    // cov12^2/sqrt(var1) (relu(x) + x^2's kernel) is rho·cov12·sqrt(var2): 0 at zero inputs, not 0/0.
    const mixed = compile('cov12^2/sqrt(var1) + cov12');
    for (const [c, v1, v2] of [
      [0, 0, 1],
      [0, 1, 0],
      [0, 0, 0],
    ] as const) {
      expect(mixed.nngp(c, v1, v2), `at (${c}, ${v1}, ${v2})`).toBe(0);
      expect(Number.isFinite(mixed.dNngp(c, v1, v2)), `d at (${c}, ${v1}, ${v2})`).toBe(true);
    }
    expect(mixed.nngp(0.3, 0.5, 1)).toBeCloseTo(0.09 / Math.sqrt(0.5) + 0.3, 15);
  });

  it('double-double evaluation survives overflow: 1/(1 + exp(-c)) is 0, not NaN, for c << 0', () => {
    const k = compile('1/(1 + exp(-cov12))');
    expect(k.nngp(-3e4, 1e9, 1e9)).toBe(0);
    expect(k.nngp(3e4, 1e9, 1e9)).toBe(1);
  });
});
