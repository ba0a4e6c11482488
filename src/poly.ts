// Sparse multivariate polynomials with exact rational coefficients in the kernel's inputs.
// They serve two jobs of the canonical form: exact division (cancelling a common factor of
// a numerator and a radical or polynomial denominator) and the domain's sign facts
// (var1, var2 >= 0 and the Cauchy–Schwarz gap var1*var2 - cov12^2 >= 0).
//
// This module reads the IR's data (types.ts) but builds no IR: expr.ts converts back.
import * as Q from './rational.js';
import type { Rat, SymName, Tree } from './types.js';

/** The polynomial variables, in the lexicographic order division uses. */
export const POLY_VARS = ['cov12', 'var1', 'var2', 'gap', 'rho'] as const satisfies readonly SymName[];
export type PolyVar = (typeof POLY_VARS)[number];
const INDEX = new Map<string, number>(POLY_VARS.map((v, i) => [v, i]));
const NV = POLY_VARS.length;

export interface Term {
  readonly coef: Rat;
  /** Exponent of each of POLY_VARS. */
  readonly exps: readonly number[];
}

/** A polynomial: monomial key (its exponents joined) → term; no zero coefficients. */
export type Poly = ReadonlyMap<string, Term>;

/** Polynomials with more terms than this are not built (their callers give up instead). */
export const MAX_POLY_TERMS = 2000;

const keyOf = (exps: readonly number[]) => exps.join(',');
const ZERO_EXPS: readonly number[] = Array(NV).fill(0);

export function constant(c: Rat): Poly {
  return Q.isZero(c) ? new Map() : new Map([[keyOf(ZERO_EXPS), { coef: c, exps: ZERO_EXPS }]]);
}

export function variable(name: PolyVar, power = 1): Poly {
  const exps = [...ZERO_EXPS];
  exps[INDEX.get(name)!] = power;
  return new Map([[keyOf(exps), { coef: Q.ONE, exps }]]);
}

function put(acc: Map<string, Term>, coef: Rat, exps: readonly number[]): void {
  const k = keyOf(exps);
  const prev = acc.get(k);
  const c = prev ? Q.add(prev.coef, coef) : coef;
  if (Q.isZero(c)) acc.delete(k);
  else acc.set(k, { coef: c, exps });
}

export function add(a: Poly, b: Poly, scaleB: Rat = Q.ONE): Poly {
  const out = new Map(a);
  for (const t of b.values()) put(out, Q.mul(scaleB, t.coef), t.exps);
  return out;
}

export const sub = (a: Poly, b: Poly): Poly => add(a, b, Q.rat(-1));

/** a × b, or undefined when the product would exceed MAX_POLY_TERMS. */
export function mul(a: Poly, b: Poly): Poly | undefined {
  if (a.size * b.size > MAX_POLY_TERMS * 4) return undefined;
  const out = new Map<string, Term>();
  for (const s of a.values()) {
    for (const t of b.values())
      put(
        out,
        Q.mul(s.coef, t.coef),
        s.exps.map((e, i) => e + t.exps[i]!),
      );
  }
  return out.size > MAX_POLY_TERMS ? undefined : out;
}

export function pow(a: Poly, k: number): Poly | undefined {
  let acc: Poly | undefined = constant(Q.ONE);
  for (let i = 0; i < k && acc; i++) acc = mul(acc, a);
  return acc;
}

/** Lexicographic comparison of exponent vectors (POLY_VARS order). */
function lexCmp(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < NV; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

function leading(p: Poly): Term | undefined {
  let best: Term | undefined;
  for (const t of p.values()) if (!best || lexCmp(t.exps, best.exps) > 0) best = t;
  return best;
}

/**
 * n / d when d divides n exactly, else undefined. Division by leading terms in lex order:
 * if d | n then lt(d) | lt(n) at every step, so a leading term that does not divide proves
 * that d does not divide n.
 */
export function divExact(n: Poly, d: Poly): Poly | undefined {
  const ld = leading(d);
  if (!ld) return undefined;
  let rest: Poly = n;
  const q = new Map<string, Term>();
  for (let steps = 0; rest.size > 0; steps++) {
    if (steps > MAX_POLY_TERMS) return undefined;
    const lt = leading(rest)!;
    const exps = lt.exps.map((e, i) => e - ld.exps[i]!);
    if (exps.some((e) => e < 0)) return undefined;
    const coef = Q.div(lt.coef, ld.coef);
    put(q, coef, exps);
    const m = mul(new Map([[keyOf(exps), { coef, exps }]]), d);
    if (!m) return undefined;
    rest = sub(rest, m);
  }
  return q;
}

/**
 * n = q d + r with no term of r divisible by the leading term of d (lex order): the remainder
 * of one step of division, deterministic for given n and d.
 */
export function divRem(n: Poly, d: Poly): [Poly, Poly] | undefined {
  const ld = leading(d);
  if (!ld) return undefined;
  let rest: Poly = n;
  const q = new Map<string, Term>();
  const r = new Map<string, Term>();
  for (let steps = 0; rest.size > 0; steps++) {
    if (steps > MAX_POLY_TERMS) return undefined;
    const lt = leading(rest)!;
    const exps = lt.exps.map((e, i) => e - ld.exps[i]!);
    if (exps.some((e) => e < 0)) {
      put(r, lt.coef, lt.exps);
      rest = sub(rest, new Map([[keyOf(lt.exps), lt]]));
      continue;
    }
    const coef = Q.div(lt.coef, ld.coef);
    put(q, coef, exps);
    const m = mul(new Map([[keyOf(exps), { coef, exps }]]), d);
    if (!m) return undefined;
    rest = sub(rest, m);
  }
  return [q, r];
}

/** The digits of n in base d: n = r0 + r1 d + r2 d^2 + ..., each digit reduced by d (divRem). */
export function radixDigits(n: Poly, d: Poly): Poly[] | undefined {
  const digits: Poly[] = [];
  let cur: Poly = n;
  while (cur.size > 0) {
    if (digits.length > 64) return undefined;
    const qr = divRem(cur, d);
    if (!qr) return undefined;
    digits.push(qr[1]);
    cur = qr[0];
  }
  return digits;
}

/**
 * The polynomial e in POLY_VARS with rational coefficients, or undefined if e is not one.
 * With `laurent`, a variable may also have a negative integer exponent (a Laurent
 * polynomial; see `clearDenominators`).
 */
export function fromExpr(e: Tree, laurent = false): Poly | undefined {
  switch (e.k) {
    case 'num':
      return constant(e.v);
    case 'sym':
      return INDEX.has(e.name) ? variable(e.name as PolyVar) : undefined;
    case 'pow': {
      if (e.exp.k !== 'num' || !Q.isInt(e.exp.v) || e.exp.v.n > 64n || e.exp.v.n < (laurent ? -64n : 0n))
        return undefined;
      if (e.exp.v.n < 0n)
        return e.base.k === 'sym' && INDEX.has(e.base.name)
          ? variable(e.base.name as PolyVar, Number(e.exp.v.n))
          : undefined;
      const b = fromExpr(e.base, laurent);
      return b && pow(b, Number(e.exp.v.n));
    }
    case 'mul': {
      let acc: Poly | undefined = constant(Q.ONE);
      for (const f of e.factors) {
        const p = fromExpr(f, laurent);
        if (!p || !acc) return undefined;
        acc = mul(acc, p);
      }
      return acc;
    }
    case 'add': {
      let acc: Poly = new Map();
      for (const t of e.terms) {
        const p = fromExpr(t, laurent);
        if (!p) return undefined;
        acc = add(acc, p);
      }
      return acc;
    }
    default:
      return undefined;
  }
}

/**
 * A Laurent polynomial times the monomial that clears its negative exponents, chosen ≥ 0 on
 * the domain (an even power of cov12 and rho), so that the sign is kept wherever p is defined.
 */
export function clearDenominators(p: Poly): Poly {
  const shift = POLY_VARS.map((v, i) => {
    const least = Math.min(0, ...[...p.values()].map((t) => t.exps[i]!));
    return v === 'cov12' || v === 'rho' ? -2 * Math.floor(least / 2) : -least;
  });
  if (shift.every((s) => s === 0)) return p;
  const out = new Map<string, Term>();
  for (const t of p.values())
    put(
      out,
      t.coef,
      t.exps.map((e, i) => e + shift[i]!),
    );
  return out;
}

/**
 * The var1 factor f of a polynomial p = f(var1) g(var2) in var1 and var2 alone (the part of p
 * of least degree in var2, which divides p exactly when p separates); undefined otherwise.
 */
export function separateVar1(p: Poly): Poly | undefined {
  const i1 = INDEX.get('var1')!;
  const i2 = INDEX.get('var2')!;
  for (const t of p.values()) if (t.exps.some((e, i) => e !== 0 && i !== i1 && i !== i2)) return undefined;
  const least = Math.min(...[...p.values()].map((t) => t.exps[i2]!));
  const f = new Map<string, Term>();
  for (const t of p.values()) {
    if (t.exps[i2] !== least) continue;
    const exps = [...t.exps];
    exps[i2] = 0;
    put(f, t.coef, exps);
  }
  if (f.size < 2) return undefined; // a monomial in var1: nothing to separate
  return divExact(p, f) ? f : undefined;
}

// ---------------------------------------------------------------- domain sign facts

const C = INDEX.get('cov12')!;
const V1 = INDEX.get('var1')!;
const V2 = INDEX.get('var2')!;
const G = INDEX.get('gap')!;
const R = INDEX.get('rho')!;

/**
 * var1^a var2^b → var1^(a-m) var2^(b-m) (gap + cov12^2)^m with m = min(a, b), in every term:
 * the Cauchy–Schwarz substitution var1*var2 = gap + cov12^2.
 */
export function substituteGap(p: Poly): Poly | undefined {
  const gapPlus = add(variable('gap'), variable('cov12', 2));
  let out: Poly = new Map();
  for (const t of p.values()) {
    const m = Math.min(t.exps[V1]!, t.exps[V2]!);
    if (m === 0) {
      out = add(out, new Map([[keyOf(t.exps), t]]));
      continue;
    }
    const exps = [...t.exps];
    exps[V1] -= m;
    exps[V2] -= m;
    const g = pow(gapPlus, m);
    const prod = g && mul(g, new Map([[keyOf(exps), { coef: t.coef, exps }]]));
    if (!prod) return undefined;
    out = add(out, prod);
  }
  return out;
}

/** Symbols known ≥ 0 at every input: the variances, the clamped gap, pi. */
export function isNonnegSymbol(name: string): boolean {
  return name === 'var1' || name === 'var2' || name === 'gap' || name === 'pi';
}

/** Every term ≥ 0 for var1, var2, gap ≥ 0 and any cov12, rho (their powers even). */
function termsNonneg(p: Poly): boolean {
  for (const t of p.values()) {
    if (t.coef.n < 0n) return false;
    if (t.exps[C]! % 2 !== 0 || t.exps[INDEX.get('rho')!]! % 2 !== 0) return false;
  }
  return true;
}

/** p ≥ 0 on the kernel domain (where defined), proved term by term before or after the gap substitution. */
export function nonnegOnDomain(p: Poly): boolean {
  p = clearDenominators(p);
  if (termsNonneg(p)) return true;
  const g = substituteGap(p);
  return !!g && termsNonneg(g);
}

/**
 * p ≥ 0 on the domain and p = 0 only on its boundary (a zero variance or gap = 0): after the
 * gap substitution every term is ≥ 0, so p vanishes only where every term does, and one term
 * free of cov12 vanishes only where a variance or the gap does.
 */
export function positiveInsideDomain(p: Poly): boolean {
  p = clearDenominators(p);
  for (const cand of [p, substituteGap(p)]) {
    if (!cand || cand.size === 0 || !termsNonneg(cand)) continue;
    if ([...cand.values()].some((t) => t.exps[C] === 0 && t.exps[INDEX.get('rho')!] === 0)) return true;
  }
  return false;
}

/**
 * Whether a sum of terms cancels by at most `bits` bits everywhere on the domain, |Σ t| ≥
 * 2^-bits·Σ|t| for var1, var2 ≥ 0 and cov12² ≤ var1·var2 (the gap read as var1·var2 − cov12²),
 * each term a polynomial whose monomials share one sign for each sign of cov12: a proof, or false
 * (the rule: interior.ts CERTIFICATE_RULE). For each sign σ of cov12 (cov12 = σu, u ≥ 0) every
 * |t| is ±t, so for a sign s of the sum F = 2^bits·s·Σ t − Σ|t| is a polynomial in u, var1, var2;
 * F ≥ 0 on u² ≤ var1·var2 (nonnegBelowProduct) for some s proves the certificate there.
 */
export function sumCertainOnDomain(ts: readonly Poly[], bits: number): boolean {
  if (ts.length < 2 || ts.some((t) => t.size === 0 || [...t.values()].some((m) => m.exps[R] !== 0))) return false;
  const k = Q.rat(2n ** BigInt(bits));
  const gapAsProduct = sub(mul(variable('var1'), variable('var2'))!, variable('cov12', 2));
  for (const sigma of [1, -1]) {
    // Each term at cov12 = σu: its monomials' signs, which must agree.
    const atSign = ts.map((t) => {
      let out: Poly = new Map();
      for (const m of t.values()) {
        const flip = sigma < 0 && m.exps[C]! % 2 !== 0;
        const exps = [...m.exps];
        const g = exps[G]!;
        exps[G] = 0;
        const mono: Poly = new Map([[keyOf(exps), { coef: flip ? Q.neg(m.coef) : m.coef, exps }]]);
        const gapPower = pow(gapAsProduct, g);
        const term = gapPower && mul(gapPower, mono);
        if (!term) return undefined;
        out = add(out, term);
      }
      const signs = new Set([...t.values()].map((m) => m.coef.n < 0n !== (sigma < 0 && m.exps[C]! % 2 !== 0)));
      return signs.size === 1 ? { poly: out, negative: [...signs][0]! } : undefined;
    });
    if (atSign.some((a) => !a)) return false;
    const holds = [Q.ONE, Q.rat(-1)].some((s) => {
      let F: Poly = new Map();
      for (const a of atSign) {
        const weight = Q.sub(Q.mul(k, s), a!.negative ? Q.rat(-1) : Q.ONE);
        F = add(F, a!.poly, weight);
      }
      return nonnegBelowProduct(F);
    });
    if (!holds) return false;
  }
  return true;
}

/**
 * F(u, var1, var2) ≥ 0 for u, var1, var2 ≥ 0 with u² ≤ var1·var2 (u in the cov12 slot): each
 * negative term's power of u lowered, u^a → u^(a-2)·var1·var2 (a ≥ 2), then u → (var1 + var2)/2
 * or u → (1 + var1·var2)/2 (u ≤ √(var1·var2) ≤ either mean): lower bounds of F, proven ≥ 0 where
 * every coefficient then is. Sound for any choice of bound; the choices tried are a few.
 */
function nonnegBelowProduct(F: Poly): boolean {
  const product = mul(variable('var1'), variable('var2'))!;
  const lowered = (p: Poly, m: Term, by: Poly): Poly => {
    const exps = [...m.exps];
    exps[C] -= m.exps[C]! >= 2 ? 2 : 1;
    const rest: Poly = new Map([[keyOf(exps), { coef: m.coef, exps }]]);
    return add(sub(p, new Map([[keyOf(m.exps), m]])), mul(rest, by)!);
  };
  let p = F;
  for (let steps = 0; steps < MAX_POLY_TERMS; steps++) {
    const m = [...p.values()].find((t) => t.coef.n < 0n && t.exps[C]! >= 2);
    if (!m) break;
    p = lowered(p, m, product);
  }
  const allNonneg = (q: Poly) => [...q.values()].every((t) => t.coef.n >= 0n);
  if (allNonneg(p)) return true;
  const linear = [...p.values()].filter((t) => t.coef.n < 0n && t.exps[C] === 1);
  if (linear.length === 0 || linear.length > 6) return false;
  const means = [add(variable('var1'), variable('var2')), add(constant(Q.ONE), product)].map((q) =>
    mul(q, constant(Q.HALF))!,
  );
  // Every assignment of the two means to the linear terms (at most 2^6).
  for (let choice = 0; choice < 2 ** linear.length; choice++) {
    let q = p;
    linear.forEach((m, i) => (q = lowered(q, m, means[(choice >> i) & 1]!)));
    if (allNonneg(q)) return true;
  }
  return false;
}

/** The polynomial's terms as (coefficient, variable → exponent) for building IR. */
export function terms(p: Poly): { coef: Rat; vars: [PolyVar, number][] }[] {
  return [...p.values()].map((t) => ({
    coef: t.coef,
    vars: POLY_VARS.map((v, i) => [v, t.exps[i]!] as [PolyVar, number]).filter(([, e]) => e > 0),
  }));
}

/** The exact square root of a non-negative rational, if it is rational. */
function ratSqrt(a: Rat): Rat | undefined {
  // Newton's iteration on bigints from above 2^ceil(bits/2) (no float: the numbers may be huge)
  const root = (n: bigint): bigint | undefined => {
    if (n < 0n) return undefined;
    if (n < 2n) return n;
    let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
    for (;;) {
      const y = (x + n / x) >> 1n;
      if (y >= x) break;
      x = y;
    }
    return x * x === n ? x : undefined;
  };
  const [n, d] = [root(a.n), root(a.d)];
  return n !== undefined && d !== undefined ? Q.rat(n, d) : undefined;
}

/**
 * q with q^2 = p exactly, for p in one variable (the square root of a perfect square, by the
 * schoolbook recurrence on coefficients from the top), its leading coefficient positive;
 * undefined if p is not such a square.
 */
export function squareRoot(p: Poly): Poly | undefined {
  const ts = [...p.values()];
  if (!ts.length) return undefined;
  const vars = POLY_VARS.map((_, i) => i).filter((i) => ts.some((t) => t.exps[i] !== 0));
  if (vars.length !== 1) return undefined;
  const v = vars[0]!;
  const coef = new Map<number, Rat>(ts.map((t) => [t.exps[v]!, t.coef]));
  const top = Math.max(...coef.keys());
  if (top % 2 !== 0 || top > 64) return undefined;
  const n = top / 2;
  const lead = ratSqrt(coef.get(top)!);
  if (!lead) return undefined;
  const q = new Map<number, Rat>([[n, lead]]);
  // coefficient of x^(n + d) in q^2 fixes q_d, from d = n - 1 down to 0
  for (let d = n - 1; d >= 0; d--) {
    let rest = coef.get(n + d) ?? Q.ZERO;
    for (let j = d + 1; j < n; j++) {
      const k = n + d - j;
      if (k > d && k <= n && k !== n && q.has(j) && q.has(k)) rest = Q.sub(rest, Q.mul(q.get(j)!, q.get(k)!));
    }
    const qd = Q.div(rest, Q.mul(Q.rat(2), lead));
    if (!Q.isZero(qd)) q.set(d, qd);
  }
  const exps = (k: number) => POLY_VARS.map((_, i) => (i === v ? k : 0));
  const root: Poly = new Map([...q].map(([k, c]) => [keyOf(exps(k)), { coef: c, exps: exps(k) }] as const));
  const square = mul(root, root);
  return square && square.size === p.size && [...p].every(([k, t]) => Q.eq(square.get(k)?.coef ?? Q.ZERO, t.coef))
    ? root
    : undefined;
}
