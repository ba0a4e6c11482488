// The runtime helpers' numerics (src/runtime.ts): the small-angle helper against 50-digit truth,
// and its polynomial's coefficients derived again from their definition.
import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { ATAN_TAIL_NEAR, EXP_CONSTANTS, HELPER_EXP, HELPER_EXPM1, HELPER_YMXANGLE, estrin } from '../src/runtime.js';
import { hpFromDouble } from '../src/evaluate.js';
import { rng } from '../src/measure.js';

const D = Decimal.clone({ precision: 50 });
const ymxangleSmall = new Function(`${HELPER_YMXANGLE(false)}\nreturn ymxangleSmall;`)() as (
  y: number,
  x: number,
) => number;

/** A double's exact value (not its shortest decimal string). */
const exact = (x: number) => hpFromDouble(x, D);
/** Error in ulps of a double against a Decimal truth. */
const ulps = (x: number, truth: Decimal) => {
  const t = truth.toNumber();
  return exact(x)
    .sub(truth)
    .abs()
    .div(Math.abs(t) * 2 ** -52 || 2 ** -1074)
    .toNumber();
};

/**
 * Chebyshev interpolation of (t - atan t) / t^3 in s = t^2 on [0, below] at `terms` nodes, in
 * 40-digit arithmetic, as monomial coefficients in s rounded to doubles (how ATAN_TAIL_NEAR was made).
 */
function chebyshevTail(below: number, terms: number): number[] {
  const P = Decimal.clone({ precision: 40 });
  // (t - atan t) / t^3 = sum (-1)^k s^k / (2k + 3): at s <= 1/4, 70 terms are past 40 digits.
  const f = (s: Decimal) => {
    let acc = new P(0),
      p = new P(1);
    for (let k = 0; k < 70; k++, p = p.mul(s)) acc = acc.add(p.div(2 * k + 3).mul(k % 2 ? -1 : 1));
    return acc;
  };
  const pi = P.acos(-1);
  const half = new P(below).div(2);
  const z = Array.from({ length: terms }, (_, k) => P.cos(pi.mul(k + 0.5).div(terms)));
  const fz = z.map((x) => f(half.mul(x.add(1))));
  // T_j(z_k) by T_(j+1) = 2 z T_j - T_(j-1); c_j = (2/n) sum_k f(z_k) T_j(z_k), c_0 halved.
  const T = z.map((x) => {
    const out = [new P(1), x];
    while (out.length < terms)
      out.push(
        x
          .mul(2)
          .mul(out[out.length - 1]!)
          .sub(out[out.length - 2]!),
      );
    return out;
  });
  const c = Array.from({ length: terms }, (_, j) =>
    fz
      .reduce((acc, v, k) => acc.add(v.mul(T[k]![j]!)), new P(0))
      .mul(2)
      .div(terms)
      .div(j === 0 ? 2 : 1),
  );
  // sum c_j T_j(z), z = s/half - 1, as monomials in s.
  const add = (a: Decimal[], b: Decimal[], k: Decimal.Value = 1) =>
    Array.from({ length: Math.max(a.length, b.length) }, (_, i) => (a[i] ?? new P(0)).add((b[i] ?? new P(0)).mul(k)));
  const zPoly = [new P(-1), new P(1).div(half)];
  const timesZ = (a: Decimal[]) => add([new P(0), ...a.map((x) => x.mul(zPoly[1]!))], a, -1);
  let prev = [new P(1)],
    cur = zPoly;
  let sum = add([c[0]!], cur, c[1]!);
  for (let j = 2; j < terms; j++) {
    const next = add(
      timesZ(cur).map((x) => x.mul(2)),
      prev,
      -1,
    );
    sum = add(sum, next, c[j]!);
    [prev, cur] = [cur, next];
  }
  return sum.map((x) => x.toNumber());
}

describe('runtime helpers', () => {
  it("ATAN_TAIL_NEAR's coefficients are the Chebyshev interpolant of (t - atan t)/t^3, within an ulp", () => {
    const coefficients = chebyshevTail(ATAN_TAIL_NEAR.below, ATAN_TAIL_NEAR.coefficients.length);
    expect(coefficients).toEqual([...ATAN_TAIL_NEAR.coefficients]);
    // The polynomial with the doubles as coefficients (evaluated exactly) against the function on
    // [0, below]: the interpolation error is under 2^-60, what is left is the coefficients' rounding.
    let worst = 0;
    for (let i = 0; i <= 200; i++) {
      const s = new D(ATAN_TAIL_NEAR.below).mul(i).div(200);
      const p = ATAN_TAIL_NEAR.coefficients.reduceRight((acc, a) => acc.mul(s).add(exact(a)), new D(0));
      const t = s.sqrt();
      const truth = i === 0 ? new D(1).div(3) : t.sub(D.atan(t)).div(t.pow(3));
      worst = Math.max(worst, p.sub(truth).div(truth).abs().toNumber());
    }
    expect(worst).toBeLessThan(2 ** -52);
  });

  it("the exp tables: 2^(j/32) in two doubles to 2^-104, 2^k exact, ln2/32's first part exact times any |n| < 2^15", () => {
    const tables = new Function(`${HELPER_EXP()}\nreturn { EXP_HI, EXP_LO, EXP_SCALE };`)() as Record<
      'EXP_HI' | 'EXP_LO' | 'EXP_SCALE',
      Float64Array
    >;
    for (let j = 0; j < 32; j++) {
      const truth = new D(2).pow(new D(j).div(32));
      const hi = tables.EXP_HI[j]!;
      const lo = tables.EXP_LO[j]!;
      expect(hi).toBe(truth.toNumber());
      expect(exact(hi).add(exact(lo)).sub(truth).abs().div(truth).toNumber(), `j = ${j}`).toBeLessThan(2 ** -104);
    }
    for (let k = -1022; k <= 1023; k++) expect(tables.EXP_SCALE[k + 1022]).toBe(2 ** k);
    const { inverseStep, stepHi, stepLo, taylor } = EXP_CONSTANTS();
    const step = D.ln(2).div(32);
    expect(exact(stepHi).add(exact(stepLo)).sub(step).abs().toNumber()).toBeLessThanOrEqual(2 ** -98); // stepLo rounded once
    expect(Number.isInteger(stepHi * 2 ** 43) && stepHi * 2 ** 43 < 2 ** 38).toBe(true); // n·stepHi exact for |n| < 2^15
    expect(inverseStep).toBe(new D(32).div(D.ln(2)).toNumber());
    expect(taylor).toEqual([1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040]);
  });

  it('expm1Table is e^x - 1 within an ulp on |x| < ln 4, as accurate on average as Math.expm1, and NaN at NaN', () => {
    const expm1Table = new Function(`${HELPER_EXP()}\n${HELPER_EXPM1(false)}\nreturn expm1Table;`)() as (
      x: number,
    ) => number;
    const rnd = rng(6127);
    const [ours, fdlibm] = [[] as number[], [] as number[]];
    const step = Math.LN2 / 32;
    for (let i = 0; i < 4000; i++) {
      // Uniform on |x| < ln 4, near 0 (where no table entry helps), and at the ties of n.
      const x =
        i % 3 === 0
          ? Math.LN2 * 2 * (2 * rnd() - 1)
          : i % 3 === 1
            ? 1e-3 * (2 * rnd() - 1)
            : (Math.floor(128 * rnd() - 64) + 0.5) * step * (1 + 1e-12 * (rnd() - 0.5));
      if (x === 0) continue;
      const truth = exact(x).exp().sub(1);
      ours.push(ulps(expm1Table(x), truth));
      fdlibm.push(ulps(Math.expm1(x), truth));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.max(...ours)).toBeLessThanOrEqual(1);
    expect(mean(ours)).toBeLessThan(0.25);
    expect(mean(ours)).toBeLessThan(mean(fdlibm) + 0.05);
    expect(expm1Table(NaN)).toBeNaN();
    expect(Object.is(expm1Table(0), 0)).toBe(true);
  });

  it('ymxangleSmall is y - x·angle(y, x) within 4 ulps (mean under a bit) on both sides of its polynomial', () => {
    const next = rng(7);
    for (const [lo, hi] of [
      [0, 0.5],
      [0.5, 2],
    ] as const) {
      let bits = 0,
        worst = 0;
      const n = 400;
      for (let i = 0; i < n; i++) {
        const x = Math.exp(12 * next() - 6);
        const y = (lo + (hi - lo) * next()) * x * (next() < 0.5 ? -1 : 1);
        const truth = exact(y).sub(exact(x).mul(D.atan(exact(y).div(exact(x)))));
        const e = ulps(ymxangleSmall(y, x), truth);
        bits += Math.log2(1 + e);
        worst = Math.max(worst, e);
      }
      expect(worst, `t in [${lo}, ${hi}]`).toBeLessThanOrEqual(4);
      expect(bits / n, `t in [${lo}, ${hi}]`).toBeLessThan(1);
    }
  });

  it('the shared small-angle tail: y·s·P is ymxangleSmall bit for bit, and q - q·s·P is atan(q) within an ulp', () => {
    // What the stable code computes per (y, x) (emit/ddvalues.ts AngleTail), from the same pieces.
    const tail = new Function(
      'y',
      'x',
      `const q = y / x, s = q * q, s2 = s * s, s4 = s2 * s2, s8 = s4 * s4;
       const p = ${estrin(ATAN_TAIL_NEAR.coefficients, 's', ['s2', 's4', 's8'])};
       return [q - q * s * p, y * s * p, x > 0 && s <= ${ATAN_TAIL_NEAR.below} && s > 0];`,
    ) as (y: number, x: number) => [number, number, boolean];
    const next = rng(9);
    let worst = 0,
      small = 0;
    for (let i = 0; i < 400; i++) {
      const x = Math.exp(12 * next() - 6);
      const y = 0.6 * next() * x * (next() < 0.5 ? -1 : 1);
      const [angle, ymx, isSmall] = tail(y, x);
      if (!isSmall) continue;
      small++;
      expect(Object.is(ymx, ymxangleSmall(y, x)), `${y}, ${x}`).toBe(true);
      worst = Math.max(worst, ulps(angle, D.atan(exact(y).div(exact(x)))));
    }
    expect(small).toBeGreaterThan(250);
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('ymxangleSmall holds at the largest scales: y^3/w^2 is taken as y (y/w)^2 (y^3 overflowed above 5.6e102)', () => {
    // y - x·angle(y, x) is homogeneous of degree 1: at scale 2^k it is the unit value times 2^k (the
    // large-scale branch rounds differently: within a few ulps).
    for (const [y, x] of [
      [0.6, -0.8],
      [0.3, -0.95],
      [0.9, -0.4],
    ] as const) {
      const unit = ymxangleSmall(y, x);
      for (const k of [340, 400, 500]) {
        const scaled = ymxangleSmall(y * 2 ** k, x * 2 ** k) / 2 ** k;
        expect(Math.abs(scaled / unit - 1), `2^${k}: ${scaled} vs ${unit}`).toBeLessThan(1e-15);
      }
    }
  });
});

describe('emitted small angles at the largest scales', () => {
  it('y - x·angle holds for either sign of y near variances of 1e103 (y^3 overflowed there)', async () => {
    const { compile } = await import('../src/index.js');
    const k = compile('cov12 - var1*atan(cov12/var1)');
    for (const c of [6e102, -6e102]) {
      const exact = c - 1e103 * Math.atan(c / 1e103);
      expect(Math.abs(k.nngp(c, 1e103, 1e103) / exact - 1), `cov12 = ${c}`).toBeLessThan(1e-14);
    }
  });
});

describe("emitted double-double products near the double range's top", () => {
  it('a factor too large to split exactly gives the plain product, not NaN (J_2, J_3 on the diagonal)', async () => {
    const { compileActivation } = await import('../src/index.js');
    // E[max(x, 0)^(2n)] = (2n - 1)!!/2 var^n: 3/2 var^2 and 15/2 var^3.
    for (const [n, v, moment] of [
      [2, 1e150, 1.5],
      [3, 1e100, 7.5],
    ] as const) {
      const k = compileActivation('rectified_monomial', { n });
      const exact = moment * v ** n;
      expect(Math.abs(k.nngp(v, v, v) / exact - 1), `n = ${n}, var = ${v}`).toBeLessThan(1e-14);
    }
  });

  it("guards a product's error term exactly where its split overflows: the kernel's loop and the scalar functions agree (found by review)", async () => {
    const { compileActivation } = await import('../src/index.js');
    // var1*var2/pi = 1.308e300 is a factor between the old fixed limit (1.3e300) and the split's
    // overflow (1.34e300): the loop's unguarded split is exact there, the scalar code's was skipped.
    const k = compileActivation('rectified_monomial', { n: 2 });
    const v1 = 5.869583142853754e155,
      v2 = 7.001675340149296e144;
    let checked = 0;
    for (const scale of [1, 1.01, 1.02, 1.024, 1.03, 0.99]) {
      const a = v1 * scale;
      for (const rho of [-1, -0.9999999, -0.99, 0.5]) {
        const c = rho * Math.sqrt(a * v2);
        const out = k.kernel({
          nngp: Float64Array.of(a, c, c, v2),
          ntk: Float64Array.of(1, 1, 1, 1),
          cov1: Float64Array.of(a, v2),
        });
        expect(Object.is(out.nngp[1], k.nngp(c, a, v2)), `${c}, ${a}, ${v2}`).toBe(true);
        expect(Object.is(out.ntk![1], k.dNngp(c, a, v2)), `${c}, ${a}, ${v2}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBe(24);
  });
});

describe('emitted exponentials', () => {
  it('exp of a double-double exponent past the double range is +Infinity, not -Infinity', async () => {
    const { compileActivation } = await import('../src/index.js');
    const k = compileActivation('exp');
    for (const v of [1e18, 1e30, 1e100]) {
      expect(k.nngp(0.5 * v, v, v)).toBe(Infinity);
      expect(k.dNngp(0.5 * v, v, v)).toBe(Infinity);
    }
  });
});
