// Per-row and per-column factors of the plain regimes' exponentials (interior.ts). A kernel
// loop runs over rows i (var1 = cov1[i]) and columns j (var2 = cov2[j]); the emitter computes
// what depends on var1 alone once per row and what depends on var2 alone once per column
// (emit/parts.ts). An exponential of a sum mixes both with cov12, so nothing of it is hoisted
// until its exponent is split by what each term reads (SEPARATION_RULES). A pure pass from
// plain-regime trees to plain-regime trees; whether its result is used is decided by
// measurement, as for every regime candidate.
import { readsOf } from './domain.js';
import * as E from './expr.js';
import * as Q from './rational.js';
import type { Tree } from './types.js';
import * as T from './tree.js';

/**
 * The identities, each with its precondition and why it helps (soundness sampled in
 * test/separate.test.ts).
 */
export const SEPARATION_RULES = [
  {
    name: 'exp-of-sum',
    identity: 'exp(R + C + x) = exp(R) * exp(C) * exp(x)',
    precondition:
      'R reads only var1, C only var2; each factor certified (argbound) within the normal range, x as the whole was',
    why: 'exp(R) is computed once per row and exp(C) once per column, leaving per entry exp(x) with a narrower certificate (|x| instead of |R| + |C| + |x|), or none where the bounds of R and C bound x (planOf)',
    example: 'exp(2*cov12 - var1 - var2)',
  },
  {
    name: 'expdiff-of-shared',
    identity: 'exp(R + C + x) - exp(R + C + y) = exp(R) * exp(C) * (exp(x) - exp(y))',
    precondition: 'both exponents share the same per-row part R and per-column part C',
    why: 'the difference (expm1 where it cancels) runs on the per-entry parts only',
    example: 'exp(cov12 - var1/2 - var2/2) - exp(2*cov12 - var1/2 - var2/2)',
  },
  {
    name: 'sinh-cosh-by-expm1',
    identity: 'exp(x) - exp(-x) = sign(x) (u + u/(1 + u)), exp(x) + exp(-x) = (1 + u) + 1/(1 + u), u = expm1(|x|)',
    precondition: 'none (1 + u = e^|x| ≥ 1 never cancels); both spellings share one expm1',
    why: 'one expm1 and one division per entry instead of an exp and an expm1 (or two exps), no cancellation at small x',
    example: '(exp(cov12) + exp(-cov12))*exp(-(var1 + var2)/2)',
  },
] as const;

/** How far a per-row or per-column exponent may go: e^±256 times a per-entry factor stays normal. */
const FACTOR_BOUND = 256;

/**
 * A sum's terms by what they read; constants go with the per-row part where there is one, else
 * the per-column part (computed once there), else the per-entry part.
 */
function partition(sum: Tree): { row: Tree[]; column: Tree[]; entry: Tree[] } {
  const terms = sum.k === 'add' ? sum.terms : [sum];
  const out = { row: [] as Tree[], column: [] as Tree[], entry: [] as Tree[] };
  const constants: Tree[] = [];
  for (const t of terms) {
    const r = readsOf(t);
    if (r === 'none') constants.push(t);
    else out[r].push(t);
  }
  (out.row.length ? out.row : out.column.length ? out.column : out.entry).unshift(...constants);
  return out;
}

/**
 * A part computed without rounding: one input times a power of two. Its exponential is then
 * as accurate at any size, so its certificate only keeps the product normal (FACTOR_BOUND);
 * any other part keeps the exponent's own bound (its absolute error becomes exp's relative one).
 */
function exact(terms: readonly Tree[]): boolean {
  if (terms.length !== 1) return false;
  const t = terms[0]!;
  // The inputs as given (the interior reads cov12 unprojected); gap and rho are rounded there.
  const input = (x: Tree) => x.k === 'sym' && (x.name === 'var1' || x.name === 'var2' || x.name === 'cov12');
  if (input(t)) return true;
  if (t.k !== 'mul' || t.factors.length !== 2) return false;
  const [k, x] = t.factors as [Tree, Tree];
  if (k.k !== 'num' || !input(x)) return false;
  return isPowerOfTwo(k.v.n < 0n ? -k.v.n : k.v.n) && isPowerOfTwo(k.v.d);
}
const isPowerOfTwo = (n: bigint) => n > 0n && (n & (n - 1n)) === 0n;

const sumOf = (terms: readonly Tree[]): Tree => (terms.length === 1 ? terms[0]! : T.add(terms));
const keyOf = (terms: readonly Tree[]) => terms.map((t) => t.key).join('|');

/** The coefficient k of an exact part k·input. */
function coefficientOf(terms: readonly Tree[]): number {
  const t = terms[0]!;
  return t.k === 'mul' && t.factors[0]!.k === 'num' ? Math.abs(Q.toNumber(t.factors[0]!.v)) : 1;
}

/**
 * argbound(x, b): x summed in plain doubles, certified |terms| ≤ b (interior.ts). b = Infinity:
 * no certificate (an exact per-entry part whose size the per-row and per-column bounds already
 * limit, planOf). Otherwise an exact per-entry part (2·cov12) has no error to bound, only its
 * size, within FACTOR_BOUND so that its exponential stays normal (a subnormal e^x times large
 * per-row and per-column factors would be finite and wrong), folded into its value (NaN beyond).
 */
const bounded = (terms: readonly Tree[], b: number) =>
  b === Infinity
    ? sumOf(terms)
    : exact(terms)
      ? T.fn('argbound', [sumOf(terms), E.num(Q.rat(FACTOR_BOUND)), E.num(Q.ZERO)])
      : T.fn('argbound', [sumOf(terms), E.num(Q.rat(b))]);

/**
 * The bounds of a separated exponent's parts. Where the per-row and per-column parts are exact
 * (a·var1, b·var2) and the per-entry one is k·cov12, the regime's own condition, cov12² ≤
 * m·var1·var2 (m = `domain`, parts.ts DOMAIN_BOUND), bounds the latter: |k·cov12| ≤
 * |k|·√(m·var1·var2) = |k|·√(m·|R|·|C|/|ab|), so per-row and per-column bounds of
 * min(FACTOR_BOUND, FACTOR_BOUND·√(|ab|/m)/|k|) keep it within FACTOR_BOUND, and the entry needs
 * no test of its own (separate() runs on interior candidates only).
 */
function planOf(
  p: { row: Tree[]; column: Tree[]; entry: Tree[] },
  entries: readonly Tree[][],
  bound: number,
  domain: number,
): { row: number; column: number; entry: number } {
  const own = (terms: readonly Tree[]) => (exact(terms) ? FACTOR_BOUND : bound);
  const exactAll = exact(p.row) && exact(p.column) && entries.every((e) => e.length === 0 || exact(e));
  if (!exactAll || !entries.some((e) => e.length)) return { row: own(p.row), column: own(p.column), entry: bound };
  const k = Math.max(...entries.filter((e) => e.length).map(coefficientOf));
  const ab = coefficientOf(p.row) * coefficientOf(p.column);
  const b = Math.min(FACTOR_BOUND, 2 ** Math.floor(Math.log2((FACTOR_BOUND * Math.sqrt(ab / domain)) / k)));
  return { row: b, column: b, entry: Infinity };
}

/**
 * Below this a per-row or per-column exponent's factor is within 2^-3 of 1, and a product of such
 * factors compounds roundings that the exponential of their exact sum does not make (at small
 * variances the source as written is then correctly rounded): such entries take the stable code.
 */
const FACTOR_FLOOR = Q.rat(1, 8);

/** exp of a per-row or per-column part, certified within its bound (planOf) and not near 1. */
const factor = (terms: readonly Tree[], bound: number) =>
  T.fn('exp', [T.fn('argbound', [sumOf(terms), E.num(Q.rat(bound)), E.num(FACTOR_FLOOR)])]);

/** An argbound exponent's terms and bound (an exact per-entry one left plain by planOf: none), or undefined. */
function exponentOf(x: Tree): { terms: Tree; bound: number } | undefined {
  if (exact([x]) && readsOf(x) === 'entry') return { terms: x, bound: Infinity };
  if (x.k !== 'fn' || x.name !== 'argbound') return undefined;
  const b = x.args[1]!;
  return b.k === 'num' ? { terms: x.args[0]!, bound: Q.toNumber(b.v) } : undefined;
}

/** The negation of a plain term (for the sinh/cosh pairing): its key, as -1 * term spells it. */
function negationKey(terms: readonly Tree[]): string {
  return keyOf(terms.map(negated));
}
function negated(t: Tree): Tree {
  if (t.k === 'num') return E.num(Q.neg(t.v));
  if (t.k === 'mul' && t.factors[0]?.k === 'num') {
    const k = Q.neg(t.factors[0].v);
    const rest = t.factors.slice(1);
    if (Q.isOne(k)) return rest.length === 1 ? rest[0]! : T.mul(rest);
    return T.mul([E.num(k), ...rest]);
  }
  return T.mul([E.num(Q.rat(-1)), t]);
}

/**
 * expm1 of the magnitude of a per-entry exponent, shared by every use (same key): of |x|, so
 * that 1 + u = e^|x| ≥ 1 never cancels (1 + expm1(x) at x ≪ 0 would lose e^-x ulps).
 */
const expm1Of = (terms: readonly Tree[], bound: number) => T.fn('expm1', [T.fn('abs', [bounded(terms, bound)])]);

/**
 * The plain tree with its exponentials split into per-row, per-column and per-entry factors,
 * where an exponent has a per-row or per-column part; the pairs exp(x) ± exp(-x) through one
 * expm1(x). `domain`: the largest cov12² / (var1·var2) where the tree runs (parts.ts DOMAIN_BOUND).
 */
export function separate(e: Tree, domain: number): Tree {
  const inner = (x: Tree) => separate(x, domain);
  switch (e.k) {
    case 'num':
    case 'sym':
      return e;
    case 'add': {
      const terms = e.terms.map(inner);
      return pairExponentials(terms) ?? T.add(terms);
    }
    case 'mul':
      // A separated exponential's factors join the product (so that a sum can pair them).
      return T.mul(
        e.factors.flatMap((f) => {
          const g = inner(f);
          return f.k === 'fn' && (f.name === 'exp' || f.name === 'expdiff') && g.k === 'mul' ? g.factors : [g];
        }),
      );
    case 'pow':
      return T.pow(inner(e.base), inner(e.exp));
    case 'fn': {
      if (e.name === 'exp') {
        const x = exponentOf(e.args[0]!);
        if (x) {
          const p = partition(x.terms);
          const b = planOf(p, [p.entry], x.bound, domain);
          if (p.row.length || p.column.length)
            return T.mul([
              ...(p.row.length ? [factor(p.row, b.row)] : []),
              ...(p.column.length ? [factor(p.column, b.column)] : []),
              ...(p.entry.length ? [T.fn('exp', [bounded(p.entry, b.entry)])] : []),
            ]);
        }
      }
      if (e.name === 'expdiff') {
        const [a, b, d] = e.args as [Tree, Tree, Tree];
        const xa = exponentOf(a),
          xb = exponentOf(b);
        if (xa && xb) {
          const pa = partition(xa.terms),
            pb = partition(xb.terms);
          const shared = keyOf(pa.row) === keyOf(pb.row) && keyOf(pa.column) === keyOf(pb.column);
          if (shared && (pa.row.length || pa.column.length) && pa.entry.length && pb.entry.length) {
            const b = planOf(pa, [pa.entry, pb.entry], Math.max(xa.bound, xb.bound), domain);
            const rest =
              sinhByExpm1(pa.entry, pb.entry, b.entry) ??
              T.fn('expdiff', [bounded(pa.entry, b.entry), bounded(pb.entry, b.entry), d]);
            return T.mul([
              ...(pa.row.length ? [factor(pa.row, b.row)] : []),
              ...(pa.column.length ? [factor(pa.column, b.column)] : []),
              rest,
            ]);
          }
        }
      }
      return T.fn(e.name, e.args.map(inner));
    }
  }
}

/**
 * exp(x) - exp(y) with y = -x: sign(x)·(u + u/(1 + u)), u = expm1(|x|), negated if u is taken of
 * y (of the two, the exponent whose key sorts first, as the cosh pairing takes it: one expm1 for
 * both).
 */
function sinhByExpm1(x: readonly Tree[], y: readonly Tree[], bound: number): Tree | undefined {
  if (keyOf(y) !== negationKey(x)) return undefined;
  const first = keyOf(x) <= keyOf(y);
  const u = expm1Of(first ? x : y, bound);
  // 2 sinh(|x|), and the sign of x (sinh is odd): the sign of the exponent taken.
  const sinh2 = T.add([u, T.mul([u, T.pow(T.add([E.num(Q.rat(1)), u]), E.num(Q.rat(-1)))])]);
  const sign = T.fn('sign', [bounded(first ? x : y, bound)]);
  return first ? T.mul([sign, sinh2]) : T.mul([E.num(Q.rat(-1)), sign, sinh2]);
}

/**
 * In a sum, k·F·exp(x) + k·F·exp(-x) (F the same per-row and per-column factors) as
 * k·F·((1 + u) + 1/(1 + u)), u = expm1(|x|): the pair of a cosh, sharing the expm1 of a sinh.
 */
function pairExponentials(terms: readonly Tree[]): Tree | undefined {
  // Each term as (coefficient and factors, the per-entry exponential's terms and bound).
  const split = terms.map((t) => {
    const factors = t.k === 'mul' ? t.factors : [t];
    // The per-entry exponential: its exponent reads neither variance alone.
    const entryOnly = (f: Tree) => {
      const x = f.k === 'fn' && f.name === 'exp' ? exponentOf(f.args[0]!) : undefined;
      if (!x) return false;
      const p = partition(x.terms);
      return !p.row.length && !p.column.length && p.entry.length > 0;
    };
    const i = factors.findIndex(entryOnly);
    if (i < 0) return undefined;
    const f = factors[i] as Tree & { k: 'fn' };
    const x = exponentOf(f.args[0]!)!;
    const p = partition(x.terms);
    const rest = factors.filter((_, j) => j !== i);
    return { rest, restKey: keyOf(rest), entry: p.entry, bound: x.bound };
  });
  for (let i = 0; i < terms.length; i++) {
    const a = split[i];
    if (!a) continue;
    for (let j = i + 1; j < terms.length; j++) {
      const b = split[j];
      if (!b || b.restKey !== a.restKey || keyOf(b.entry) !== negationKey(a.entry)) continue;
      // cosh is even: u of the exponent whose key sorts first, as sinhByExpm1 takes it.
      const first = keyOf(a.entry) <= keyOf(b.entry) ? a : b;
      const u = expm1Of(first.entry, first.bound);
      const w = T.add([E.num(Q.rat(1)), u]);
      const cosh2 = T.add([w, T.pow(w, E.num(Q.rat(-1)))]);
      const paired = a.rest.length ? T.mul([...a.rest, cosh2]) : cosh2;
      const others = terms.filter((_, k) => k !== i && k !== j);
      return others.length ? T.add([...others, paired]) : paired;
    }
  }
  return undefined;
}
