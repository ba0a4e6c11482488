// The printer of a kernel through the bivariate normal CDF (tilted.ts): every ordered pair of
// f's pieces (and of f''s) as one call of the runtime's tiltedPair with literal arguments, and
// the zero-variance limits (x = 0 on that side: f(0) E[f(x)], f'(0) the mean of its sides).
import { describeTilted, type Piece, type TiltedKernel } from '../tilted.js';
import { evaluatorModule, type ModuleParts } from './parts.js';

/** The parts of such a module: the scalar functions and both loops call tiltedK. */
export function buildTiltedModule(t: TiltedKernel, sourceName: string): ModuleParts {
  return evaluatorModule({
    sourceName,
    simplified: describeTilted(t, false),
    derivative: describeTilted(t, true),
    value: 'tiltedK',
    valueD: 'tiltedDAt',
    lastD: 'tiltedD',
    helpers: ['erf'],
    printed: { tilted: t },
  });
}

/** tiltedK(c, v1, v2) (nngp; its derivative left in tiltedD) and tiltedDAt. */
export function printTilted(t: TiltedKernel, ts: boolean): string {
  const n = ts ? ': number' : '';
  const args = (p: Piece) => `${p.k}, ${p.a}, ${p.s}`;
  const pairs = (ps: readonly Piece[], acc: string) =>
    ps.flatMap((p) =>
      ps.map((q) => `  ${acc} += ${p.coef * q.coef} * tiltedPair(${args(p)}, ${args(q)}, c, v1, v2, gap);`),
    );
  const singles = (ps: readonly Piece[], v: string) =>
    ps.map((p) => `${p.coef} * tiltedSingle(${args(p)}, ${v})`).join(' + ') || '0';
  return [
    `/** d nngp / d cov12 of the last tiltedK call. */`,
    `let tiltedD${n} = 0;`,
    '',
    `/** nngp at (c, v1, v2), its derivative left in tiltedD: a sum over pairs of pieces (tiltedPair). */`,
    `function tiltedK(c${n}, v1${n}, v2${n})${n} {`,
    '  if (!(v1 >= 0 && v2 >= 0 && c === c)) {',
    '    tiltedD = NaN;',
    '    return NaN;',
    '  }',
    '  if (v1 === 0 || v2 === 0) {',
    `    // x = 0 on a zero-variance side: f(0) E[f(x)], f'(0) E[f'(x)] (f'(0) the mean of its one-sided values)`,
    '    const v = v1 === 0 ? v2 : v1;',
    `    if (v === 0) {`,
    `      tiltedD = ${t.df0 * t.df0};`,
    `      return ${t.f0 * t.f0};`,
    '    }',
    `    tiltedD = ${t.df0} * (${singles(t.df, 'v')});`,
    `    return ${t.f0} * (${singles(t.f, 'v')});`,
    '  }',
    '  const gap = exactGap(c, v1, v2);',
    '  let k = 0, d = 0;',
    ...pairs(t.f, 'k'),
    ...pairs(t.df, 'd'),
    '  tiltedD = d;',
    '  return k;',
    '}',
    '',
    `/** d nngp / d cov12 at (c, v1, v2). */`,
    `function tiltedDAt(c${n}, v1${n}, v2${n})${n} {`,
    '  tiltedK(c, v1, v2);',
    '  return tiltedD;',
    '}',
  ].join('\n');
}
