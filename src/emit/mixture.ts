// The printer of a scale-mixture kernel (mixture.ts): the nodes as constant tables and one
// function that sums the PAIRS table's closed forms over every pair of nodes, returning nngp and
// leaving its derivative in cov12 beside it (the kernel loops store both from one pass).
import { describeMixture, PAIRS, SINGLES, type Mixture } from '../mixture.js';
import { evaluatorModule, type ModuleParts } from './parts.js';

const TWO_PI = String(2 * Math.PI);

/** The parts of a scale-mixture module: the scalar functions and both loops call mixtureK. */
export function buildMixtureModule(m: Mixture, sourceName: string): ModuleParts {
  return evaluatorModule({
    sourceName,
    simplified: describeMixture(m, false),
    derivative: describeMixture(m, true),
    value: 'mixtureK',
    valueD: 'mixtureDAt',
    lastD: 'mixtureD',
    helpers: [],
    printed: { mixture: m },
  });
}

/** The tables and the function `mixtureK(c, v1, v2)` (nngp; the derivative left in `mixtureD`). */
export function printMixture(m: Mixture, ts: boolean): string {
  const n = ts ? ': number' : '';
  const b = ts ? '!' : '';
  const arr = (xs: readonly number[]) => `[${xs.map((x) => String(x)).join(', ')}]`;
  const tables = m.groups.flatMap((g, i) => [
    `/** ${g.kind} blocks: squared scales and weights (${g.w.length} nodes). */`,
    `const S${i}${ts ? ': readonly number[]' : ''} = ${arr(g.s2)};`,
    `const W${i}${ts ? ': readonly number[]' : ''} = ${arr(g.w)};`,
  ]);
  const body: string[] = [];
  // Constants and x: alpha^2 + beta^2 c, and their pairs with each block (SINGLES).
  body.push(`let k = ${m.alpha * m.alpha} + ${m.beta * m.beta} * c, d = ${m.beta * m.beta};`);
  m.groups.forEach((g, i) => {
    const single = SINGLES[g.kind];
    const parts: string[] = [];
    if (m.alpha !== 0 && single.mean !== '0')
      parts.push(
        `k += ${m.alpha / Math.sqrt(2 * Math.PI)} * W${i}[i]${b} * (${side(single.mean, 1)} + ${side(single.mean, 2)});`,
      );
    if (m.beta !== 0 && single.timesX !== '0') {
      parts.push(
        `k += ${m.beta / Math.sqrt(2 * Math.PI)} * W${i}[i]${b} * (${side(single.timesX, 1)} + ${side(single.timesX, 2)});`,
      );
      parts.push(
        `d += ${m.beta / Math.sqrt(2 * Math.PI)} * W${i}[i]${b} * (${side(single.dTimesX, 1)} + ${side(single.dTimesX, 2)});`,
      );
    }
    if (parts.length)
      body.push(
        `for (let i = 0; i < S${i}.length; i++) {`,
        `  const si = S${i}[i]${b};`,
        ...parts.map((p) => '  ' + p),
        '}',
      );
  });
  // Pairs of nodes, one loop nest per pair of groups with a rule (odd with even vanishes).
  let pk = 0;
  m.groups.forEach((g1, i) =>
    m.groups.forEach((g2, j) => {
      const rule = PAIRS.find((p) => p.kinds[0] === g1.kind && p.kinds[1] === g2.kind);
      if (!rule) return;
      const reads = new Set(rule.reads);
      body.push(
        `let pk${pk} = 0, pd${pk} = 0;`,
        `for (let i = 0; i < S${i}.length; i++) {`,
        `  const si = S${i}[i]${b};`,
        ...(reads.has('V1') ? ['  const V1 = v1 + si;'] : []),
        '  let kk = 0, dd = 0;',
        `  for (let j = 0; j < S${j}.length; j++) {`,
        `    const tj = S${j}[j]${b}, V2 = v2 + tj, G = gap + v1 * tj + si * V2, r = 1 / Math.sqrt(G);`,
        ...(reads.has('sG') ? ['    const sG = G * r;'] : []),
        ...(reads.has('th') ? ['    const th = Math.atan(c * r);'] : []),
        `    kk += W${j}[j]${b} * (${rule.nngp});`,
        `    dd += W${j}[j]${b} * (${rule.dNngp});`,
        '  }',
        `  pk${pk} += W${i}[i]${b} * kk;`,
        `  pd${pk} += W${i}[i]${b} * dd;`,
        '}',
        `k += pk${pk} / ${TWO_PI};`,
        `d += pd${pk} / ${TWO_PI};`,
      );
      pk++;
    }),
  );
  body.push('mixtureD = d;', 'return k;');
  return [
    ...tables,
    `/** d nngp / d cov12 of the last mixtureK call. */`,
    `let mixtureD${n} = 0;`,
    '',
    '/**',
    ' * The scale-mixture kernel at (c, v1, v2): returns nngp and leaves d nngp / d cov12 in mixtureD.',
    ' * gap = var1 var2 - cov12^2 by exact products (Dekker), 0 at and past the Cauchy-Schwarz bound;',
    ' * every pair then has a positive augmented gap G, finite everywhere on the domain.',
    ' */',
    `function mixtureK(c${n}, v1${n}, v2${n})${n} {`,
    `  const gap = exactGap(c, v1, v2);`,
    ...body.map((l) => '  ' + l),
    '}',
    '',
    `/** d nngp / d cov12 at (c, v1, v2). */`,
    `function mixtureDAt(c${n}, v1${n}, v2${n})${n} {`,
    '  mixtureK(c, v1, v2);',
    '  return mixtureD;',
    '}',
  ].join('\n');
}

/** A single's code for side 1 or 2: its c, v, s, V spelled for that side. */
function side(code: string, which: 1 | 2): string {
  return code.replace(/\bV\b/g, `(v${which} + si)`).replace(/\bv\b/g, `v${which}`);
}
