// The factored form of polynomial maps (src/factored.ts): which maps it applies to, its soundness
// by sampling, the regime it wins where the expanded form cancels, and its per-column factors.
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { compensatedPolynomial, factoredPolynomial } from '../src/factored.js';
import { catalog, compileActivation } from '../src/catalog.js';
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
    x.k === 'fn' && ['plainsum', 'dd', 'ddq', 'csum', 'argbound'].includes(x.name)
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

const ulps = (a: number, b: number) => {
  const u = new BigInt64Array(new Float64Array([a, b]).buffer);
  return Number(u[0]! > u[1]! ? u[0]! - u[1]! : u[1]! - u[0]!);
};
const catalogSource = (id: string) => catalog().find((e) => e.id === id)!.source;

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

describe('compensatedPolynomial', () => {
  const POLYNOMIAL = closed(compileActivation('polynomial')).nngp; // k0 + k1 x + k2 x^2 + k3 x^3's map

  it('keeps the powers of cov12 up to the one asked exact, and certifies the rest against them', () => {
    const t = compensatedPolynomial(POLYNOMIAL, 1)!;
    expect(t.k === 'fn' && t.name).toBe('csum');
    const terms = t.k === 'fn' && t.args[0]!.k === 'add' ? t.args[0].terms : [];
    expect(terms.map((x) => (x.k === 'fn' ? x.name : x.k))).toEqual(['ddq', 'ddq', 'argbound']);
    const tail = terms[2]!;
    // The tail: the cov12^2 and cov12^3 terms; its bound, an eighth of the exact terms' magnitude.
    expect(tail.k === 'fn' && tail.args[0]!.key).toMatch(/cov12;#2.*cov12;#3|cov12;#3.*cov12;#2/);
    expect(tail.k === 'fn' && tail.args[1]!.key).toContain('abs(');
    // Without a tail, a compensated sum alone; nothing where the map has one power of cov12.
    expect(compensatedPolynomial(POLYNOMIAL, 3)!.key).not.toContain('argbound');
    expect(compensatedPolynomial(mapOf('(var1 - 1)*(var2 - 2)*cov12^2'), 1)).toBeUndefined();
    expect(compensatedPolynomial(mapOf('sqrt(var1) + cov12'), 1)).toBeUndefined();
  });

  it('equals the map (sampled, in high precision), factors or not', () => {
    const sources = [
      HE2,
      '0.25 - 0.3*var1 - 0.3*var2 + 0.36*var1*var2 + cov12*(1 + var1)*(1 + var2) + cov12^3/6',
      '(2*var1 - 3)*(var2^2 - 5*var2 + 1) + cov12^2*(var1 - 7)*(var2 - 7) - cov12^4',
      'var1*var2 - 1 + cov12 + cov12^2', // a coefficient of rank two: one double-double polynomial
    ];
    let rnd = 11;
    const r = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (const s of [...sources.map(mapOf), POLYNOMIAL])
      for (const upTo of [0, 1, 2]) {
        const t = compensatedPolynomial(s, upTo)!;
        expect(t, s.key).toBeDefined();
        for (let i = 0; i < 100; i++) {
          const v1 = 8 * r(),
            v2 = 8 * r();
          const c = (2 * r() - 1) * Math.sqrt(v1 * v2);
          const want = exactValue(s, c, v1, v2);
          expect(Math.abs(exactValue(t, c, v1, v2) - want)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(want)));
        }
      }
  });

  it("is the Polynomial layer's interior regime: plain, within half the domain, each output within a few roundings of the stable code, its kernel its scalar functions' doubles", () => {
    const k = compileActivation('polynomial');
    // Both outputs plain (the factored form, sums certified to lose at most three bits: they fall
    // back on 2.6% of a realistic kernel's entries, 5.3% at two bits), their terms smallest first
    // (sumorder.ts), within |rho| <= 0.71 (the near regime beyond). Up to the bound it is less
    // accurate than the source as written: as built its derivative at unnormalised typical
    // entries, smallest first its value at anti-correlated near-bound entries
    // (ACCEPT.againstWritten), each output alone. Before, the derivative was exact to degree 0
    // (a double-double product per entry): 28 operations per entry against 44.
    expect(closed(k).interior.emitted).toBe(
      'factored polynomial, three-bit certificates, smallest terms first, short of the bound',
    );
    const tried = new Map(closed(k).interior.tried.map((t) => [t.name, t]));
    expect(tried.get('factored polynomial')?.lessAccurateIn).toEqual(['dNngp']);
    expect(tried.get('factored polynomial, smallest terms first')?.lessAccurateIn).toEqual(['nngp']);
    const exact = compile(catalogSource('polynomial'), { interior: false });
    // Near the map's zero at cov12 ≈ -1/64 (where the expanded form loses up to 15 bits) and
    // elsewhere in the half domain: within a few roundings of the double-double stable code (2 and
    // 7 ulps at worst here, 0.31 and 0.60 bits mean; the value's certificate allows three bits of a
    // few roundings; with its derivative exact, 11 ulps and 0.66 bits).
    let rnd = 5;
    const r = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648) / 2147483648;
    const worst = { nngp: 0, dNngp: 0 };
    for (let i = 0; i < 4000; i++) {
      const v1 = 0.6 + 0.8 * r(),
        v2 = 0.6 + 0.8 * r();
      const c = i % 2 ? -0.0156 * (0.9 + 0.2 * r()) : (2 * r() - 1) * Math.sqrt((v1 * v2) / 2);
      for (const f of ['nngp', 'dNngp'] as const)
        worst[f] = Math.max(worst[f], ulps(k[f](c, v1, v2), exact[f](c, v1, v2)));
    }
    expect(worst.dNngp).toBeLessThanOrEqual(2);
    expect(worst.nngp).toBeLessThanOrEqual(8);
    // var2's factor once per column, read back per entry.
    expect(k.code).toMatch(/cols\[j\] = /);
    const n = 40;
    const cov1 = Float64Array.from({ length: n }, (_, i) => 0.5 + i / 20);
    const nngp = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) nngp[i * n + j] = 0.9 * Math.sin(i * 7 + j * 3) * Math.sqrt(cov1[i]! * cov1[j]!);
    expectKernelMatchesScalars(
      k,
      nngp,
      nngp.map((x) => 1 + x),
      cov1,
    );
  });
});

describe('compensatedPolynomial, found by a review and a held-out try-out', () => {
  it("keeps a tail coefficient that cancels exact, so that the tail's certificate bounds its error", () => {
    // (var1 - 1)^2 (var2 - 1)^2 expanded cancels near var1 = 1: in plain doubles the tail erred
    // 32 860 ulps (at cov12 = 7, var1 = 1.0001, var2 = 100) while its certificate held.
    const src = '(var1-1)*(var2-1) + cov12 + (var1-1)^2*(var2-1)^2*cov12^2';
    const k = compile(src);
    const exact = compile(src, { interior: false });
    let rnd = 3;
    const r = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648) / 2147483648;
    let worst = 0;
    for (let i = 0; i < 2000; i++) {
      const v1 = 0.99 + 0.02 * r(),
        v2 = 0.3 + 4.7 * r();
      const c = (2 * r() - 1) * Math.sqrt((v1 * v2) / 2);
      worst = Math.max(worst, ulps(k.nngp(c, v1, v2), exact.nngp(c, v1, v2)));
    }
    expect(worst).toBeLessThanOrEqual(2);
    expect(ulps(k.nngp(7, 1.0001, 100), exact.nngp(7, 1.0001, 100))).toBeLessThanOrEqual(1);
  });

  it('multiplies out high powers of cov12 (Math.pow costs a hundred operations in the cost model)', () => {
    const k = compile('cov12 + cov12^2/2 + cov12^3/6 + cov12^4/24 + cov12^5/120 + cov12^6/720 + cov12^7/5040', {
      target: 'js',
    });
    // Not the plain candidate with Math.pow, though its Taylor terms smallest first are accurate
    // (0.22 bits from the stable code, as built 0.51): three calls took 132 ns per entry, this 15.
    expect(closed(k).interior.emitted).toMatch(/^factored polynomial, exact to degree/);
    const kernel = k.code.slice(k.code.indexOf('export function kernel'));
    const interior = kernel.slice(kernel.indexOf('if (icc <= '), kernel.indexOf('const cc = c0 * c0'));
    expect(interior).not.toContain('Math.pow');
  });
});

describe('the factored regime', () => {
  it('is chosen where the expanded form cancels, and its kernel matches its scalar functions bit for bit', () => {
    const k = compile(HE2, { target: 'js' });
    // Three-bit certificates: they fall back on 1.8% of the worst group of typical entries, two-bit
    // ones on 7.1%, at the same operations.
    expect(closed(k).interior.emitted).toBe('factored polynomial, three-bit certificates');
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
