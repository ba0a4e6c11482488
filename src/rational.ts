// Exact rationals over bigint, for coefficients and exponents of the core IR.
import type { Rat } from './types.js';

const absB = (x: bigint) => (x < 0n ? -x : x);
export function gcdB(a: bigint, b: bigint): bigint {
  a = absB(a);
  b = absB(b);
  if (!a || !b) return a || b;
  // The powers of two apart (x & -x, the lowest set bit): the rationals here are mostly dyadic,
  // doubles' values, whose denominators are powers of two, and Euclid's remainders of a 1074-bit
  // power of two (5e-324) took seconds per compile (a fuzzed source: 4.8 s, 3.2 of them here).
  const za = a & -a,
    zb = b & -b;
  a /= za;
  b /= zb;
  while (b) [a, b] = [b, a % b];
  return a * (za < zb ? za : zb);
}

export function rat(n: bigint | number, d: bigint | number = 1n): Rat {
  let nn = BigInt(n);
  let dd = BigInt(d);
  if (dd === 0n) throw new RangeError('zero denominator');
  if (dd < 0n) {
    nn = -nn;
    dd = -dd;
  }
  const g = gcdB(nn, dd) || 1n;
  return { n: nn / g, d: dd / g };
}

export const ZERO = rat(0);
export const ONE = rat(1);
export const HALF = rat(1, 2);

export const add = (a: Rat, b: Rat) => rat(a.n * b.d + b.n * a.d, a.d * b.d);
export const sub = (a: Rat, b: Rat) => rat(a.n * b.d - b.n * a.d, a.d * b.d);
export const mul = (a: Rat, b: Rat) => rat(a.n * b.n, a.d * b.d);
export const div = (a: Rat, b: Rat) => rat(a.n * b.d, a.d * b.n);
export const neg = (a: Rat) => rat(-a.n, a.d);
export const eq = (a: Rat, b: Rat) => a.n === b.n && a.d === b.d;
export const cmp = (a: Rat, b: Rat) => {
  const x = a.n * b.d - b.n * a.d;
  return x < 0n ? -1 : x > 0n ? 1 : 0;
};
export const isInt = (a: Rat) => a.d === 1n;
export const isZero = (a: Rat) => a.n === 0n;
export const isOne = (a: Rat) => a.n === 1n && a.d === 1n;
export const min = (a: Rat, b: Rat) => (cmp(a, b) <= 0 ? a : b);
export const floor = (a: Rat) => {
  const q = a.n / a.d;
  return rat(a.n < 0n && q * a.d !== a.n ? q - 1n : q);
};

/** a^k for an integer k. */
export function powInt(a: Rat, k: bigint): Rat {
  if (k < 0n) return powInt(rat(a.d, a.n), -k);
  let r = ONE;
  let b = a;
  let e = k;
  while (e > 0n) {
    if (e & 1n) r = mul(r, b);
    b = mul(b, b);
    e >>= 1n;
  }
  return r;
}

/** The exact q-th root of a non-negative integer, or undefined. */
function rootB(x: bigint, q: bigint): bigint | undefined {
  if (x < 0n) return undefined;
  if (x < 2n) return x;
  // Integer Newton from above: r0 = 2^ceil(bits/q) ≥ the root; iterate while decreasing.
  let r = 1n << BigInt(Math.ceil(bitLength(x) / Number(q)));
  for (let i = 0; i < 4000; i++) {
    const next = ((q - 1n) * r + x / r ** (q - 1n)) / q;
    if (next >= r) break;
    r = next;
  }
  return r ** q === x ? r : undefined;
}

/** a^(p/q) when it is rational (a ≥ 0), else undefined. */
export function powRat(a: Rat, e: Rat): Rat | undefined {
  if (isInt(e)) {
    if (a.n === 0n && e.n < 0n) return undefined;
    return powInt(a, e.n);
  }
  if (a.n < 0n) return undefined;
  const n = rootB(a.n, e.d);
  const d = rootB(a.d, e.d);
  if (n === undefined || d === undefined) return undefined;
  if (n === 0n && e.n < 0n) return undefined;
  return powInt(rat(n, d), e.n);
}

/** The exact rational value of a finite double. */
export function fromNumber(x: number): Rat {
  if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  if (Number.isInteger(x)) return rat(BigInt(x));
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const expBits = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const mant = expBits === 0 ? frac : frac | (1n << 52n);
  const e = (expBits === 0 ? 1 : expBits) - 1075;
  return e >= 0 ? rat(sign * mant * (1n << BigInt(e))) : rat(sign * mant, 1n << BigInt(-e));
}

/** The exact rational value of a decimal literal such as "1_000.25e-3". */
export function fromDecimal(text: string): Rat {
  const t = text.replace(/_/g, '').toLowerCase();
  const m = /^([0-9]*)(?:\.([0-9]*))?(?:e([+-]?[0-9]+))?$/.exec(t);
  if (!m) throw new RangeError(`not a decimal literal: ${text}`);
  const intPart = m[1] || '0';
  const fracPart = m[2] ?? '';
  let exp = BigInt(m[3] ?? '0') - BigInt(fracPart.length);
  if (exp > 400n || exp < -400n) {
    // Out of double range: keep the nearest double instead of a huge rational.
    return fromNumber(Number(t));
  }
  const digits = BigInt(intPart + fracPart);
  return exp >= 0n ? rat(digits * 10n ** exp) : rat(digits, 10n ** -exp);
}

/**
 * The decimal a parameter's value is written as: the shortest decimal that reads back as x
 * (JavaScript's String(x)), exactly, so that a param 0.8 is 4/5 as the literal 0.8 is.
 */
export function fromShortestDecimal(x: number): Rat {
  if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  const text = String(Math.abs(x));
  const r = fromDecimal(text);
  return x < 0 ? neg(r) : r;
}

/** The double nearest to a (round half to even), by exact integer arithmetic. */
export function toNumber(a: Rat): number {
  if (a.n === 0n) return 0;
  const negative = a.n < 0n;
  const n = absB(a.n);
  const d = a.d;
  // Scale so that the quotient has 54+ significant bits, then round once.
  const shift = BigInt(bitLength(d) - bitLength(n) + 55);
  const num = shift >= 0n ? n << shift : n;
  const den = shift >= 0n ? d : d << -shift;
  const q = num / den;
  const sticky = num % den !== 0n;
  const x = ldexpBig(q, sticky, -Number(shift));
  return negative ? -x : x;
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** q * 2^e rounded to the nearest double; `sticky` says bits were dropped below q. */
function ldexpBig(q: bigint, sticky: boolean, e: number): number {
  const bl = bitLength(q);
  // Binary exponent of the leading bit: value in [2^(bl-1+e), 2^(bl+e)).
  const top = bl - 1 + e;
  // Number of mantissa bits available: 53 for normals, fewer for subnormals.
  const keep = top >= -1022 ? 53 : Math.max(0, 53 - (-1022 - top));
  const drop = bl - keep;
  if (drop <= 0) return Number(q) * Math.pow(2, e);
  let m = q >> BigInt(drop);
  const rem = q & ((1n << BigInt(drop)) - 1n);
  const halfway = 1n << BigInt(drop - 1);
  if (rem > halfway || (rem === halfway && (sticky || (m & 1n) === 1n))) m += 1n;
  else if (rem === halfway && !sticky && (m & 1n) === 0n) {
    /* ties to even: keep */
  }
  const scale = e + drop;
  // Multiply in two steps to avoid intermediate overflow/underflow.
  const half = Math.trunc(scale / 2);
  return Number(m) * Math.pow(2, half) * Math.pow(2, scale - half);
}

export function toString(a: Rat): string {
  return a.d === 1n ? a.n.toString() : `${a.n}/${a.d}`;
}

/**
 * Splits a positive integer n as k^q * m with m free of q-th powers of primes below 1000:
 * n^(1/q) = k * m^(1/q).
 */
export function extractPower(n: bigint, q: bigint): [bigint, bigint] {
  let k = 1n;
  let m = n;
  for (let p = 2n; p < 1000n && p ** q <= m; p++) {
    const pq = p ** q;
    while (m % pq === 0n) {
      m /= pq;
      k *= p;
    }
  }
  return [k, m];
}
