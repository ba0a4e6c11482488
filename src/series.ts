// Truncated power series with exact rational coefficients, for the small-angle series of
// stabilize: F(phi) = sum of c * cos(phi)^p * sin(phi)^q * phi^e, expanded at phi = 0.
import * as Q from './rational.js';
import type { Rat } from './types.js';

/** Coefficients a[0..n-1] of a[0] + a[1] t + ... (truncated at n terms). */
export type Series = readonly Rat[];

export function zeros(n: number): Rat[] {
  return Array.from({ length: n }, () => Q.ZERO);
}

export function mul(a: Series, b: Series): Series {
  const n = a.length;
  const out = zeros(n);
  for (let i = 0; i < n; i++) {
    if (Q.isZero(a[i]!)) continue;
    for (let j = 0; i + j < n; j++) if (!Q.isZero(b[j]!)) out[i + j] = Q.add(out[i + j]!, Q.mul(a[i]!, b[j]!));
  }
  return out;
}

export function pow(a: Series, k: number): Series {
  let acc: Series = [Q.ONE, ...zeros(a.length - 1)];
  for (let i = 0; i < k; i++) acc = mul(acc, a);
  return acc;
}

function factorial(k: number): bigint {
  let f = 1n;
  for (let i = 2n; i <= BigInt(k); i++) f *= i;
  return f;
}

/** sin t = t - t^3/3! + ..., cos t = 1 - t^2/2! + ... */
export function sin(n: number): Series {
  return Array.from({ length: n }, (_, k) => (k % 2 === 1 ? Q.rat(k % 4 === 1 ? 1n : -1n, factorial(k)) : Q.ZERO));
}
export function cos(n: number): Series {
  return Array.from({ length: n }, (_, k) => (k % 2 === 0 ? Q.rat(k % 4 === 0 ? 1n : -1n, factorial(k)) : Q.ZERO));
}

/** t^e as a series. */
export function monomial(e: number, n: number): Series {
  const out = zeros(n);
  if (e < n) out[e] = Q.ONE;
  return out;
}

export function add(a: Series, b: Series, scale: Rat = Q.ONE): Series {
  return a.map((x, i) => Q.add(x, Q.mul(scale, b[i]!)));
}

/** 1/a for a[0] ≠ 0: b[0] = 1/a[0], b[n] = -(a[1] b[n-1] + ... + a[n] b[0])/a[0]. */
export function inverse(a: Series): Series {
  const n = a.length;
  const b = zeros(n);
  b[0] = Q.div(Q.ONE, a[0]!);
  for (let k = 1; k < n; k++) {
    let acc = Q.ZERO;
    for (let j = 1; j <= k; j++) if (!Q.isZero(a[j]!)) acc = Q.add(acc, Q.mul(a[j]!, b[k - j]!));
    b[k] = Q.neg(Q.mul(acc, b[0]!));
  }
  return b;
}

/** sin(t)/t = 1 - t^2/3! + t^4/5! - ... */
export function sinc(n: number): Series {
  return sin(n + 1).slice(1);
}
