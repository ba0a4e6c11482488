// The printer of a kernel composition (compose.ts): the inner and outer kernels' modules, each
// printed whole inside its own function scope, and one evaluator over them. The variances the
// outer kernel reads are the inner kernel's own diagonal values, so that on the diagonal the
// inner value and both variances are one double, exactly on the outer's bound; near it the
// evaluator gives the outer its gap (printChain); after a Dense layer (an affine inner) there is
// no inner module, and the outer's gap is a closed form (printDenseChain).
import { gaussLegendre } from '../quadrature.js';
import { printModule } from './module.js';
import { lit } from './code.js';
import { evaluatorModule, type ModuleParts } from './parts.js';

/**
 * The two kernels of a composition, outer(inner(c, v1, v2), inner(v1, v1, v1), inner(v2, v2, v2)),
 * each with its functions on a given gap (parts.ts withOnGap, or a composition's own), and
 * where the inner value meets the outer's bound (compose.ts Composition.tight).
 */
export interface Chain {
  /** The inner kernel's module, or a Dense layer's affine map (compose.ts Composition.dense). */
  readonly inner: ModuleParts | { readonly dense: { readonly scale: number; readonly shift: number } };
  readonly outer: ModuleParts;
  readonly tight: { readonly plus: -1 | 0 | 1; readonly minus: -1 | 0 | 1 };
  /** The same at equal variances only (compose.ts Composition.tightEqual). */
  readonly tightEqual: { readonly plus: -1 | 0 | 1; readonly minus: -1 | 0 | 1 };
}

/**
 * Within this angle of the inner's bound (theta = atan2(sqrt(gap), ±cov12)), the outer's
 * distance to its own bound is integrated from the inner's derivative, not read off the
 * rounded inner value.
 */
const CHAIN_NEAR = 0.1;
/** Agreement of one Gauss–Legendre panel with two that the integral must show, else the plain gap is used. */
const CHAIN_AGREE = 1e-14;
const NODES = 8;

/** A side's sign where tight at every variance, else where tight at equal variances only. */
function signOf(all: -1 | 0 | 1, equal: -1 | 0 | 1): { sign: -1 | 0 | 1; equalOnly: boolean } {
  return all !== 0 ? { sign: all, equalOnly: false } : { sign: equal, equalOnly: equal !== 0 };
}

/**
 * The parts of such a module: the scalar functions and both loops call chainK; a composition
 * takes a given gap too (chainAt), so that it can be the inner kernel of another.
 */
export function buildChainModule(
  chain: Chain,
  text: { readonly sourceName: string; readonly simplified: string; readonly derivative: string },
): ModuleParts {
  const m = evaluatorModule({
    ...text,
    value: 'chainK',
    valueD: 'chainDAt',
    lastD: 'chainD',
    helpers: [],
    printed: { chain },
  });
  const inputs = new Set(['c0', 'v1', 'v2', 'gIn']);
  const call = (f: string) => ({ prologue: [], statements: [], result: lit(`${f}(c0, v1, v2, gIn)`), inputs });
  return { ...m, onGap: { nngp: call('chainAt'), dNngp: call('chainDOnGap') } };
}

/**
 * The two kernels as objects of their functions, and chainAt(c, v1, v2, gap) (nngp; its
 * derivative left in chainD), gap the inner input's var1 var2 - c^2 (or -1: its exact gap, and
 * each kernel's own functions, their plain-double regimes included). The outer kernel reads its
 * own gap w1 w2 - k^2 from chainAt: on a side of the inner's bound where the composition is
 * tight (Chain.tight, or Chain.tightEqual where var1 = var2), within CHAIN_NEAR of it and with the inner value near the outer's bound
 * of that sign, k^2 is within rounding of w1 w2 and their difference is noise, so the distance
 * D = sqrt(w1 w2) - |k| is the inner's derivative integrated along the arc cov12 = ±sqrt(var1
 * var2) cos(psi) from the bound, where D is 0, each node on its exact gap (sqrt(var1 var2)
 * sin(psi))^2, by 8-point Gauss–Legendre on one panel and on two; the gap is D (2 sqrt(w1 w2) -
 * D). Where the panels disagree (an integrand with a near singularity), and elsewhere, the outer
 * runs on its own exact gap of (k, w1, w2). (Where it is not tight, the distance at the bound
 * would be a difference of two rounded values, at a square-root singularity of the inner map:
 * worse than the plain gap, measured.)
 */
export function printChain(chain: Chain, ts: boolean): string {
  if ('dense' in chain.inner) return printDenseChain(chain.inner.dense, chain.outer, ts);
  const inner = chain.inner;
  const n = ts ? ': number' : '';
  const b = ts ? '!' : '';
  const rule = gaussLegendre(NODES);
  // The sides of the inner's bound where the composition is tight, and the sign it meets there.
  const sides = (
    [
      { side: 1, angle: 'plus', ...signOf(chain.tight.plus, chain.tightEqual.plus) },
      { side: -1, angle: 'minus', ...signOf(chain.tight.minus, chain.tightEqual.minus) },
    ] as const
  ).filter((x) => x.sign !== 0);
  const arc = sides.length > 0;
  const arr = (xs: readonly number[]) => `[${xs.map((x) => String(x)).join(', ')}]`;
  const arcFunctions = [
    `/** ${NODES}-point Gauss–Legendre on [0, 1]. */`,
    `const CHAIN_X${ts ? ': readonly number[]' : ''} = ${arr(rule.x.map((x) => (x + 1) / 2))};`,
    `const CHAIN_W${ts ? ': readonly number[]' : ''} = ${arr(rule.w.map((w) => w / 2))};`,
    '',
    "/** Over psi in [a, t]: inner's derivative at (s cb cos(psi), v1, v2) on its gap (cb sin(psi))^2, times cb sin(psi). */",
    `function chainPanel(a${n}, t${n}, s${n}, cb${n}, v1${n}, v2${n})${n} {`,
    '  let q = 0;',
    `  for (let i = 0; i < ${NODES}; i++) {`,
    `    const psi = a + (t - a) * CHAIN_X[i]${b};`,
    '    const sn = Math.sin(psi), r = cb * sn;',
    `    q += CHAIN_W[i]${b} * innerKernel.dNngpOnGap(s * cb * Math.cos(psi), v1, v2, r * r) * sn;`,
    '  }',
    '  return q * (t - a) * cb;',
    '}',
    '',
    '/** chainPanel over [0, t], where one panel and two agree; NaN where they do not. */',
    `function chainDistance(t${n}, s${n}, cb${n}, v1${n}, v2${n})${n} {`,
    '  if (!(t > 0)) return 0; // on the bound (the diagonal of a composition inside another)',
    '  const one = chainPanel(0, t, s, cb, v1, v2);',
    '  const two = chainPanel(0, t / 2, s, cb, v1, v2) + chainPanel(t / 2, t, s, cb, v1, v2);',
    `  return Math.abs(two - one) <= ${CHAIN_AGREE} * Math.abs(two) ? two : NaN;`,
    '}',
    '',
  ];
  return [
    ...scoped('inner', inner, ts),
    '',
    ...scoped('outer', chain.outer, ts),
    '',
    ...(arc ? arcFunctions : []),
    `/** d nngp / d cov12 of the last chainAt call. */`,
    `let chainD${n} = 0;`,
    '/** The last var1 and its w1 (a kernel loop reads one var1 per row). */',
    `let chainV1${n} = NaN, chainW1${n} = NaN;`,
    '',
    '/**',
    ' * nngp at (c, v1, v2) on the inner gap g (g < 0: the exact gap of c, v1, v2, and each kernel',
    ' * runs its own functions, plain-double regimes included), its derivative left in chainD.',
    ' */',
    `function chainAt(c${n}, v1${n}, v2${n}, g${n})${n} {`,
    '  const own = g < 0;',
    '  const k0 = own ? innerKernel.nngp(c, v1, v2) : innerKernel.nngpOnGap(c, v1, v2, g);',
    '  const dk = own ? innerKernel.dNngp(c, v1, v2) : innerKernel.dNngpOnGap(c, v1, v2, g);',
    '  if (!(v1 === chainV1)) {',
    '    chainV1 = v1;',
    '    chainW1 = innerKernel.nngp(v1, v1, v1);',
    '  }',
    '  const w1 = chainW1, w2 = innerKernel.nngp(v2, v2, v2);',
    '  let k = k0, gp = NaN;',
    ...(arc
      ? [
          '  const sw = w1 === w2 ? w1 : Math.sqrt(w1 * w2), cb = v1 === v2 ? v1 : Math.sqrt(v1) * Math.sqrt(v2);',
          '  if (sw > 0 && sw < Infinity && cb > 0 && cb < Infinity) {',
          '    const root = Math.sqrt(own ? exactGap(c, v1, v2) : g > 0 ? g : 0);',
          ...sides.flatMap(({ side, sign, angle, equalOnly }) => [
            `    const ${angle} = Math.atan2(root, ${side > 0 ? 'c' : '-c'});`,
            // near this side of the inner's bound, the inner value near the outer's bound of this sign
            `    if (${equalOnly ? 'v1 === v2 && ' : ''}${angle} <= ${CHAIN_NEAR} && k0 ${sign > 0 ? '>= sw / 2' : '<= -sw / 2'}) {`,
            `      const d = ${sign * side > 0 ? '' : '-'}chainDistance(${angle}, ${side}, cb, v1, v2);`,
            `      k = ${sign > 0 ? 'sw - d' : 'd - sw'};`,
            '      gp = d * (2 * sw - d);',
            '    }',
          ]),
          '  }',
        ]
      : []),
    '  if (!(gp >= 0)) {',
    '    // the outer on its own exact gap of (k0, w1, w2)',
    '    chainD = outerKernel.dNngp(k0, w1, w2) * dk;',
    '    return outerKernel.nngp(k0, w1, w2);',
    '  }',
    '  chainD = outerKernel.dNngpOnGap(k, w1, w2, gp) * dk;',
    '  return outerKernel.nngpOnGap(k, w1, w2, gp);',
    '}',
    '',
    ...entryPoints(ts),
  ].join('\n');
}

/** A module printed whole in its own function scope, as `${name}Kernel`. */
function scoped(name: string, m: ModuleParts, ts: boolean): string[] {
  return [
    `/** The ${name} kernel. */`,
    `const ${name}Kernel = (() => {`,
    printModule({ ...m, banner: [] }, { target: ts ? 'ts' : 'js', form: 'body' })
      .trimEnd()
      .split('\n')
      .map((l) => (l ? '  ' + l : l))
      .join('\n'),
    '})();',
  ];
}

/**
 * The outer kernel after a Dense layer, k = a cov12 + b, w = a var + b (b > 0, the bias
 * variance): its gap w1 w2 - k^2 = a^2 gap + a b (var1 + var2 - 2 cov12), where var1 + var2 -
 * 2 cov12 = (sqrt(var1) - sqrt(var2))^2 + 2 (sqrt(var1 var2) - cov12), the last as
 * 2 gap / (sqrt(var1 var2) + cov12) for cov12 > 0: no cancellation anywhere (as one expression,
 * the outer's clip or max guard could not be dropped, and its derivative was NaN on the diagonal).
 */
function printDenseChain(
  dense: { readonly scale: number; readonly shift: number },
  outer: ModuleParts,
  ts: boolean,
): string {
  const n = ts ? ': number' : '';
  const [a, b] = [String(dense.scale), String(dense.shift)];
  return [
    ...scoped('outer', outer, ts),
    '',
    `/** d nngp / d cov12 of the last chainAt call. */`,
    `let chainD${n} = 0;`,
    '',
    '/**',
    ' * nngp at (c, v1, v2) on the gap g (g < 0: the exact gap of c, v1, v2), its derivative left in',
    ` * chainD: the outer kernel at (${a} c + ${b}, ${a} v1 + ${b}, ${a} v2 + ${b}) on its gap.`,
    ' */',
    `function chainAt(c${n}, v1${n}, v2${n}, g${n})${n} {`,
    '  const gi = g < 0 ? exactGap(c, v1, v2) : g;',
    '  const s1 = Math.sqrt(v1), s2 = Math.sqrt(v2), sp = s1 * s2, ds = s1 - s2;',
    '  // cov12 projected onto its bound where the gap is 0 (past it by rounding)',
    '  const cp = gi > 0 || !(c * c > v1 * v2) ? c : c < 0 ? -sp : sp;',
    '  const t = cp > 0 ? (2 * gi) / (sp + cp) : 2 * (sp - cp);',
    `  const gp = ${a} * ${a} * gi + ${a} * ${b} * (ds * ds + t);`,
    `  const k = ${a} * cp + ${b}, w1 = ${a} * v1 + ${b}, w2 = ${a} * v2 + ${b};`,
    `  chainD = outerKernel.dNngpOnGap(k, w1, w2, gp) * ${a};`,
    '  return outerKernel.nngpOnGap(k, w1, w2, gp);',
    '}',
    '',
    ...entryPoints(ts),
  ].join('\n');
}

/** chainK, chainDAt and chainDOnGap over chainAt. */
function entryPoints(ts: boolean): string[] {
  const n = ts ? ': number' : '';
  return [
    `/** nngp at (c, v1, v2), its derivative left in chainD. */`,
    `function chainK(c${n}, v1${n}, v2${n})${n} {`,
    '  return chainAt(c, v1, v2, -1);',
    '}',
    '',
    `/** d nngp / d cov12 at (c, v1, v2). */`,
    `function chainDAt(c${n}, v1${n}, v2${n})${n} {`,
    '  chainK(c, v1, v2);',
    '  return chainD;',
    '}',
    '',
    `/** d nngp / d cov12 at (c, v1, v2) on the inner gap g. */`,
    `function chainDOnGap(c${n}, v1${n}, v2${n}, g${n})${n} {`,
    '  chainAt(c, v1, v2, g);',
    '  return chainD;',
    '}',
  ];
}
