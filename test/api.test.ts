import { describe, expect, it } from 'vitest';
import { compile as compileFromPackage } from 'nngpc';
import { accuracy, catalog, compile, compileActivation, CompileError, verify } from '../src/index.js';
import type { KernelInput, VerifyOptions } from '../src/index.js';
import { references, closed } from './helpers.js';

const NT_DOCSTRING = `def nngp_fn(cov12, var1, var2):
  prod = (1 + 2 * var1) * (1 + 2 * var2)
  return jnp.arcsin(2 * cov12 / np.sqrt(prod)) * 2 / np.pi
`;

describe('API', () => {
  it('is importable by package name after npm ci (exports["."])', () => {
    expect(typeof compileFromPackage).toBe('function');
    expect(compileFromPackage('cov12').dNngp(1, 2, 3)).toBe(1);
  });

  it('compiles the neural-tangents docstring example verbatim', () => {
    const k = compile(NT_DOCSTRING);
    expect(k.nngp(0.5, 1, 1)).toBeCloseTo((2 / Math.PI) * Math.asin(1 / 3), 15);
    expect(k.dNngp(0.5, 1, 1)).toBeCloseTo(4 / (Math.PI * Math.sqrt(9 - 1)), 15);
    expect(k.derivative).toBe('4/(sqrt(1 - 4*cov12^2 + 2*var1 + 2*var2 + 4*var1*var2)*pi)');
    expect(compile(k.derivative).nngp(0.3, 1, 2)).toBeCloseTo(k.dNngp(0.3, 1, 2), 15);
  });

  it('maps def parameters positionally whatever their names, and binds params', () => {
    const k = compile('def f(x, a, b):\n  return s * x * a', { params: { s: 3 } });
    expect(k.nngp(2, 5, 7)).toBe(30);
    expect(k.dNngp(2, 5, 7)).toBe(15);
  });

  it('kernel() follows neural-tangents semantics and never modifies its inputs', () => {
    const k = compile(NT_DOCSTRING);
    const cov1 = new Float64Array([1, 2]);
    const cov2 = new Float64Array([0.5, 1, 3]);
    const nngp = new Float64Array([0.1, 0.2, 0.3, -0.4, 0.5, 0.6]);
    const ntk = new Float64Array([1, 2, 3, 4, 5, 6]);
    const copy = [cov1.slice(), cov2.slice(), nngp.slice(), ntk.slice()];
    const out = k.kernel({ nngp, ntk, cov1, cov2 });
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const idx = i * 3 + j;
        expect(out.nngp[idx]).toBe(k.nngp(nngp[idx]!, cov1[i]!, cov2[j]!));
        expect(out.ntk![idx]).toBe(ntk[idx]! * k.dNngp(nngp[idx]!, cov1[i]!, cov2[j]!));
      }
      expect(out.cov1[i]).toBe(k.nngp(cov1[i]!, cov1[i]!, cov1[i]!));
    }
    for (let j = 0; j < 3; j++) expect(out.cov2![j]).toBe(k.nngp(cov2[j]!, cov2[j]!, cov2[j]!));
    expect([cov1, cov2, nngp, ntk]).toEqual(copy);
    expect(out.nngp).not.toBe(nngp);
  });

  it("kernel() gives the scalar functions' doubles, bit for bit, on every reference row and catalog entry", () => {
    const cases = [
      ...references().flatMap((r) =>
        [r.py, r.math]
          .filter((s): s is string => !!s)
          .map((s) => ({
            k: compile(s, { params: r.params }),
            rows: r.rows.map((x) => [Number(x[1]), Number(x[2]), Number(x[3])] as const),
          })),
      ),
    ];
    const rows = references()
      .find((r) => r.name === 'gelu')!
      .rows.map((x) => [Number(x[1]), Number(x[2]), Number(x[3])] as const);
    for (const e of catalog()) cases.push({ k: compileActivation(e.id), rows });
    let checked = 0;
    for (const { k, rows } of cases) {
      for (const [c, v1, v2] of rows) {
        const out = k.kernel({
          nngp: new Float64Array([c]),
          ntk: new Float64Array([1]),
          cov1: new Float64Array([v1]),
          cov2: new Float64Array([v2]),
        });
        expect(Object.is(out.nngp[0], k.nngp(c, v1, v2)), `${k.name} nngp(${c}, ${v1}, ${v2})`).toBe(true);
        expect(Object.is(out.ntk![0], k.dNngp(c, v1, v2)), `${k.name} dNngp(${c}, ${v1}, ${v2})`).toBe(true);
        const only = k.kernel({
          nngp: new Float64Array([c]),
          cov1: new Float64Array([v1]),
          cov2: new Float64Array([v2]),
        });
        expect(Object.is(only.nngp[0], out.nngp[0])).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('kernel() defaults cov2 to cov1, and rejects mismatched lengths clearly', () => {
    const k = compile('cov12*2');
    const out = k.kernel({ nngp: new Float64Array([1, 2, 3, 4]), cov1: new Float64Array([1, 4]) });
    expect(Array.from(out.nngp)).toEqual(
      [1, 2, 3, 4].map((x) => Math.min(2 * x, 2 * Math.sqrt([1, 1, 4, 4][x - 1]! * [1, 4, 1, 4][x - 1]!))),
    );
    expect(out.ntk).toBeUndefined();
    expect(() => k.kernel({ nngp: new Float64Array(3), cov1: new Float64Array(2) })).toThrow(
      /nngp has 3 entries, expected cov1.length \* cov2.length = 2 \* 2 = 4/,
    );
    expect(() => k.kernel({ nngp: new Float64Array(4), ntk: new Float64Array(1), cov1: new Float64Array(2) })).toThrow(
      /ntk has 1 entries/,
    );
  });

  it('kernel(input, { out }) writes into the caller arrays (or in place), the same doubles, and checks them', () => {
    const k = compileActivation('gelu');
    const n1 = 5,
      n2 = 3;
    const cov1 = Float64Array.from({ length: n1 }, (_, i) => 0.5 + i);
    const cov2 = Float64Array.from({ length: n2 }, (_, j) => 2 - 0.4 * j);
    for (const [withNtk, withCov2] of [
      [false, false],
      [true, false],
      [true, true],
      [false, true],
    ]) {
      const m = withCov2 ? n2 : n1;
      const other = withCov2 ? cov2 : cov1;
      const nngp = Float64Array.from({ length: n1 * m }, (_, x) => {
        const [i, j] = [Math.floor(x / m), x % m];
        return [-1, 0.3, 0.999, -0.2, 1][x % 5]! * Math.sqrt(cov1[i]! * other[j]!);
      });
      const input = {
        nngp,
        cov1,
        ...(withNtk ? { ntk: nngp.map((x) => 1 + x) } : {}),
        ...(withCov2 ? { cov2 } : {}),
      };
      const want = k.kernel(input);
      const out = {
        nngp: new Float64Array(n1 * m),
        cov1: new Float64Array(n1),
        ...(withNtk ? { ntk: new Float64Array(n1 * m) } : {}),
        ...(withCov2 ? { cov2: new Float64Array(n2) } : {}),
      };
      expect(k.kernel(input, { out })).toBe(out);
      expect(out).toEqual(want);
      // In place: every output into the input array of its name.
      const copy = {
        nngp: nngp.slice(),
        cov1: cov1.slice(),
        ...(input.ntk ? { ntk: input.ntk.slice() } : {}),
        ...(withCov2 ? { cov2: cov2.slice() } : {}),
      };
      k.kernel(copy, { out: copy });
      expect(copy).toEqual(want);
    }
    const input = {
      nngp: new Float64Array(9).fill(0.5),
      ntk: new Float64Array(9).fill(1),
      cov1: new Float64Array(3).fill(1),
    };
    const good = { nngp: new Float64Array(9), ntk: new Float64Array(9), cov1: new Float64Array(3) };
    expect(() => k.kernel(input, { out: { ...good, nngp: new Float64Array(8) } })).toThrow(
      /options\.out\.nngp has 8 entries, expected 9/,
    );
    expect(() => k.kernel(input, { out: { nngp: good.nngp, cov1: good.cov1 } })).toThrow(
      /options\.out\.ntk must be a Float64Array \(it is missing\)/,
    );
    expect(() => k.kernel(input, { out: { ...good, nngp: input.ntk } })).toThrow(
      /options\.out\.nngp overlaps input\.ntk/,
    );
    expect(() => k.kernel(input, { out: null as never })).toThrow(/options\.out must be/);
    // Two outputs in one array, or an output over another input's memory: refused, not garbled.
    const shared = new Float64Array(9);
    expect(() => k.kernel(input, { out: { ...good, nngp: shared, ntk: shared } })).toThrow(
      /options\.out\.nngp and options\.out\.ntk share memory/,
    );
    const buffer = new Float64Array(20);
    const overlapping = { ...input, nngp: buffer.subarray(0, 9) };
    expect(() => k.kernel(overlapping, { out: { ...good, nngp: buffer.subarray(1, 10) } })).toThrow(
      /options\.out\.nngp overlaps input\.nngp/,
    );
  });
  it('gives 1/2 at the ReLU diagonal where autodiff gives NaN', () => {
    const relu = compile('(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12) / (2*pi)');
    for (const v of [1e-300, 1e-8, 1, 3.7, 1e8]) expect(relu.dNngp(v, v, v)).toBe(0.5);
    // What autodiff of the same formula computes there: -c/sqrt(0) + c/(sqrt(p)*sqrt(0)) = NaN.
    const c = 1,
      p = 1;
    expect(
      (-c / Math.sqrt(p - c * c) +
        c / (Math.sqrt(p) * Math.sqrt(1 - (c * c) / p)) +
        Math.PI -
        Math.acos(c / Math.sqrt(p))) /
        (2 * Math.PI),
    ).toBeNaN();
  });

  it('checks a user-supplied d_nngp against the symbolic derivative, and emits the more accurate', () => {
    const relu = '(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12) / (2*pi)';
    const agree = compile(relu, { dNngp: '1/2 - acos(cov12/sqrt(var1*var2))/(2*pi)' });
    expect(closed(agree).derivativeSource).toBe('symbolic'); // nngpc's stable form is at least as accurate
    expect(agree.dNngp(1, 1, 1)).toBe(0.5);
    expect(() => compile(relu, { dNngp: '1/2 - acos(cov12/sqrt(var1*var2))/(3*pi)' })).toThrow(
      /d_nngp disagrees with d nngp \/ d cov12 at/,
    );
    // softplus-like map: the symbolic derivative exp(c)/(1 + exp(c)) overflows to NaN for large
    // cov12; the user's 1/(1 + exp(-c)) does not, so it is emitted.
    const sp = compile('log(1 + exp(cov12))', { dNngp: '1/(1 + exp(-cov12))' });
    expect(closed(sp).derivativeSource).toBe('user');
    expect(sp.dNngp(1e6, 1e6, 1e6)).toBe(1);
    // The same, as a directive line of the source.
    expect(closed(compile('# d_nngp: 1/(1 + exp(-cov12))\nlog(1 + exp(cov12))')).derivativeSource).toBe('user');
  });
});

describe('API boundary: arguments are checked and named', () => {
  it('wrong argument types and values name the function and the argument', () => {
    expect(() => compile(123 as unknown as string)).toThrow(
      'compile: source must be a string (the nngp_fn text), got number',
    );
    expect(() => compile('cov12', { target: 'py' as 'ts' })).toThrow(
      "compile: options.target must be 'ts' or 'js', got 'py'",
    );
    expect(() => compile('cov12', null as unknown as object)).toThrow('compile: options must be an object, got null');
    expect(() => verify('cov12', {} as VerifyOptions)).toThrow(/verify: options\.fn must be the activation f\(x\)/);
    expect(() => verify('cov12', { fn: 'x', points: 0 })).toThrow(
      'verify: options.points must be a whole number from 1 to 100000, got 0',
    );
    expect(() => accuracy('cov12', { points: 1.5 })).toThrow(/accuracy: options\.points must be a whole number/);
    const k = compile('cov12');
    expect(() => k.kernel({ cov1: new Float64Array(1) } as unknown as KernelInput)).toThrow(
      'kernel: input.nngp must be a Float64Array (it is missing)',
    );
    expect(() => k.kernel({ nngp: new Float64Array(1) } as unknown as KernelInput)).toThrow(
      'kernel: input.cov1 must be a Float64Array (it is missing)',
    );
  });

  it('params naming an input or a constant are errors; params the source never reads are warnings', () => {
    expect(() => compile('cov12 * a', { params: { a: 1, cov12: 2 } })).toThrow(/param 'cov12' names an input/);
    expect(() => compile('def f(c, v1, v2):\n  return c', { params: { v1: 2 } })).toThrow(/param 'v1' names an input/);
    expect(() => compile('pi * cov12', { params: { pi: 3 } })).toThrow(/param 'pi' names a constant/);
    expect(compile('a * cov12', { params: { a: 2, zzz: 1 } }).warnings).toEqual([
      { code: 'W_UNUSED_PARAM', message: "<input>: param 'zzz' is not used by the source" },
    ]);
    expect(compileActivation('erf', { zzz: 1 }).warnings.map((w) => w.code)).toEqual(['W_UNUSED_PARAM']);
    for (const e of catalog()) expect(compileActivation(e.id).warnings, e.id).toEqual([]);
    // A param that replaces the source's own module constant wins, and says so.
    const overridden = compile('A = 2.0\ndef nngp_fn(cov12, var1, var2):\n    return A * cov12', { params: { A: 3 } });
    expect(overridden.simplified).toBe('3*cov12');
    expect(overridden.warnings).toEqual([
      { code: 'W_PARAM_OVERRIDES_CONSTANT', message: "<input>: param 'A' = 3 replaces the source's own constant A" },
    ]);
  });

  it('a constant outside the real domain is a located compile error, like 1/0', () => {
    for (const [src, reason] of [
      ['sqrt(-1) * cov12', "'sqrt(-1)' is not a real number"],
      ['cov12 + log(0)', "'log(0)' is infinite"],
      ['acos(2) + cov12', "'acos(2)' is not a real number"],
      ['cov12 * (-8)^(1/3)', "'(-8)^(1/3)' is not a real number"],
      ['cov12 / 0', 'division by zero'],
    ] as const) {
      let e: CompileError | undefined;
      try {
        compile(src);
      } catch (x) {
        e = x as CompileError;
      }
      expect(e, src).toBeInstanceOf(CompileError);
      expect(e!.code, src).toBe('E_DOMAIN');
      expect(e!.reason, src).toBe(reason);
    }
  });

  it('a UTF-8 byte order mark before the source is not part of it', () => {
    expect(compile('\uFEFFcov12^2').simplified).toBe('cov12^2');
  });
});
