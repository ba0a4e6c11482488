// The factored form of polynomial maps (src/factored.ts): which maps it applies to, its soundness
// by sampling, the regime it wins where the expanded form cancels, and its per-column factors.
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { factoredPolynomial } from '../src/factored.js';
import { evaluateHP, hpFromDouble } from '../src/evaluate.js';
import * as E from '../src/expr.js';
import * as Q from '../src/rational.js';
import type { Tree } from '../src/types.js';
import { closed, expectKernelMatchesScalars } from './helpers.js';
import { hoistColumns, js, ref, statement } from '../src/emit/code.js';

/** The canonical map of a source (its nngp), as the compiler derives it. */
const mapOf = (source: string) => closed(compile(source, { interior: false })).nngp;

/** A tree's value in high precision, with plainsum and dd read as the sums they stand for. */
function exactValue(t: Tree, c: number, v1: number, v2: number): number {
  const strip = (x: Tree): Tree =>
    x.k === 'fn' && (x.name === 'plainsum' || x.name === 'dd')
      ? strip(x.args[0]!)
      : x.k === 'add'
        ? { ...x, terms: x.terms.map(strip) }
        : x.k === 'mul'
          ? { ...x, factors: x.factors.map(strip) }
          : x.k === 'pow'
            ? { ...x, base: strip(x.base) }
            : x;
  return evaluateHP(strip(t), { cov12: hpFromDouble(c), var1: hpFromDouble(v1), var2: hpFromDouble(v2) }).toNumber();
}

const HE2 = 'var1*var2 - var1 - var2 + 1 + 2*cov12^2'; // E[He2(x1) He2(x2)], He2(x) = x^2 - 1, expanded
const HE2_FACTORED = '(var1 - 1)*(var2 - 1) + 2*cov12^2';

describe('factoredPolynomial', () => {
  it('writes a cancelling coefficient as exact var1 and var2 factors, one-signed ones as they are', () => {
    const t = factoredPolynomial(
      mapOf('0.25 - 0.3*var1 - 0.3*var2 + 0.36*var1*var2 + cov12*(1 + var1 + var2 + var1*var2)'),
      2,
    )!;
    expect(t.k === 'fn' && t.name).toBe('plainsum');
    expect(t.k === 'fn' && t.args[1]!.key).toBe(E.num(Q.rat(1, 4)).key); // two bits, as asked
    expect(t.key).not.toContain('^[cov12;#1]'); // cov12 itself, not cov12^1
    const dd = (x: Tree): number =>
      (x.k === 'fn' && x.name === 'dd' ? 1 : 0) + E.children(x).reduce((a, y) => a + dd(y), 0);
    expect(dd(t)).toBe(2); // 0.5 - 0.6 var1 and 0.5 - 0.6 var2; 1 + var1 + var2 + var1 var2 stays a sum
  });

  it('equals the map it factors (sampled, in high precision)', () => {
    const sources = [
      HE2,
      '0.25 - 0.3*var1 - 0.3*var2 + 0.36*var1*var2 + cov12*(1 + var1)*(1 + var2) + cov12^3/6',
      '(2*var1 - 3)*(var2^2 - 5*var2 + 1) + cov12^2*(var1 - 7)*(var2 - 7) - cov12^4',
    ];
    let rnd = 7;
    const r = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (const s of sources) {
      const map = mapOf(s);
      const t = factoredPolynomial(map, 2)!;
      expect(t, s).toBeDefined();
      for (let i = 0; i < 200; i++) {
        const v1 = 8 * r(),
          v2 = 8 * r();
        const c = (2 * r() - 1) * Math.sqrt(v1 * v2);
        const want = exactValue(map, c, v1, v2);
        expect(Math.abs(exactValue(t, c, v1, v2) - want)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(want)));
      }
    }
  });

  it('refuses what it cannot factor: a coefficient of rank two, a root, the gap', () => {
    expect(factoredPolynomial(mapOf('var1*var2 - 1 + cov12'), 2)).toBeUndefined();
    expect(factoredPolynomial(mapOf('sqrt(var1)*var2 - var2 + cov12'), 2)).toBeUndefined();
    // A polynomial reading the gap or rho symbol, rank one otherwise.
    const rankOneRest = mapOf('(var1 - 1)*(var2 - 1)');
    for (const s of ['gap', 'rho'] as const)
      expect(factoredPolynomial(E.add(rankOneRest, E.mul(E.sym(s), E.COV12)), 2), s).toBeUndefined();
    expect(factoredPolynomial(E.add(rankOneRest, E.mul(E.VAR1, E.COV12)), 2)).toBeDefined();
  });
});

describe('the factored regime', () => {
  const ulps = (a: number, b: number) => {
    const u = new BigInt64Array(new Float64Array([a, b]).buffer);
    return Number(u[0]! > u[1]! ? u[0]! - u[1]! : u[1]! - u[0]!);
  };

  it('is chosen where the expanded form cancels, and its kernel matches its scalar functions bit for bit', () => {
    const k = compile(HE2, { target: 'js' });
    expect(closed(k).interior.emitted).toBe('factored polynomial');
    // Each var2 factor once per column: the loops read it from the column scratch.
    expect(k.code).toMatch(/cols\[j\] = /);
    const n = 48;
    const cov1 = Float64Array.from({ length: n }, (_, i) => 0.5 + i / 32);
    const nngp = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) nngp[i * n + j] = Math.sin(i * 7 + j * 3) * Math.sqrt(cov1[i]! * cov1[j]!);
    expectKernelMatchesScalars(
      k,
      nngp,
      nngp.map((x) => 1 + x),
      cov1,
    );
  });

  it('computes a var2 factor with an inexact coefficient once per column, not per entry', () => {
    const k = compile('var1*var2 - 0.1*var1 - 0.1*var2 + 0.01 + cov12^2', { target: 'js' });
    expect(closed(k).interior.emitted).toBe('factored polynomial');
    const kernel = k.code.slice(k.code.indexOf('export function kernel'));
    // Each interior block: from its domain test to its closing brace.
    const blocks = kernel
      .split('if (icc <= ')
      .slice(1)
      .map((b) => b.slice(0, b.search(/\n\s*}\n/)));
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(b).not.toMatch(/v2 \* 134217729/); // var2's split: in the column loop
    expect(kernel).toMatch(/cols\[j\] = /);
  });

  it('stays within a few ulps of the exact stable code, also where the factors vanish', () => {
    const k = compile(HE2);
    const exact = compile(HE2_FACTORED, { interior: false });
    let worst = 0;
    for (let i = 0; i < 2000; i++) {
      const v1 = 1 + (i % 40) * 2 ** -40 - 20 * 2 ** -40 + (i % 7) * 0.1,
        v2 = 0.9 + (i % 13) * 0.02;
      const c = ((i % 21) / 10 - 1) * Math.sqrt(v1 * v2) * 0.999;
      worst = Math.max(worst, ulps(k.nngp(c, v1, v2), exact.nngp(c, v1, v2)));
    }
    expect(worst).toBeLessThanOrEqual(8);
  });
});

describe('per-column work reading constants (emit/code.ts hoistColumns)', () => {
  it('is hoisted with the constants it reads, which the column loop repeats', () => {
    const split = statement({ name: 'kh', value: js`0.6 * 134217729` });
    const factor = statement({ name: 'x', value: js`${ref('v2')} * ${ref('kh')}` });
    const use = statement({ name: 'y', value: js`${ref('x')} + ${ref('c')}` });
    const withConstants = hoistColumns([factor, use], new Set(['x']), ['y'], [split]);
    expect(withConstants.exports).toEqual(['x']);
    expect(withConstants.columns.flatMap((s) => s.declarations.map((d) => d.name))).toEqual(['kh', 'x']);
    expect(withConstants.inner.flatMap((s) => s.declarations.map((d) => d.name))).toEqual(['y']);
    // Without them in view the factor reads an unknown name and stays per entry.
    expect(hoistColumns([factor, use], new Set(['x']), ['y']).exports).toEqual([]);
  });
});
