// The double-double writer: error-free transformations and double-double arithmetic written as
// straight-line statements over named values (Dekker's two-product, Knuth's two-sum; JavaScript
// has no fma). It knows nothing of the IR: operands are Codes, results pairs hi + lo.
//
// Guarded code takes every error term as 0 where its high part is not finite, so overflow gives
// what plain arithmetic would. Unguarded code is the same arithmetic without those selects:
// identical wherever no high part overflows, and NaN at the value otherwise (an infinite high
// part comes with an error term that is NaN or the opposite infinity, and every later operation
// and the final hi + lo keep it so), which the fused kernel loop detects to redo that entry with
// the guarded functions.
import * as Q from '../rational.js';
import type { Rat } from '../types.js';
import { type Code, type Statement, js, lit, literal, ref, statement, ZERO } from './code.js';

export type Pair = readonly [Code, Code];

/** Where the writer puts its statements, and how it names them. */
export interface Sink {
  fresh(): string;
  push(s: Statement): void;
}

/** A monomial for Horner: coefficient and variables, repeated by degree. */
export type Monomial = readonly [Rat, readonly Code[]];

const isZeroCode = (c: Code) => c.text === '0';

/** A rational as a double-double hi + lo (lo = 0 when hi overflows). */
export function splitRat(v: Rat): [number, number] {
  const hi = Q.toNumber(v);
  return [hi, Number.isFinite(hi) ? Q.toNumber(Q.sub(v, Q.fromNumber(hi))) : 0];
}

function isPowerOfTwo(x: number): boolean {
  const a = Math.abs(x);
  return a !== 0 && Number.isFinite(a) && Math.pow(2, Math.round(Math.log2(a))) === a;
}

export class DoubleDouble {
  constructor(
    private readonly sink: Sink,
    readonly guarded: boolean,
  ) {}

  /** An error term: guarded, 0 unless its high part is finite. */
  guard(hi: Code, lo: Code): Code {
    return this.guarded ? js`Math.abs(${hi}) < Infinity ? ${lo} : 0` : lo;
  }

  /**
   * A product's error term: guarded, 0 unless the product is finite and Dekker's split of each
   * factor is: its factor times 2^27 + 1 (`scaled`) finite (a factor above about 1.34e300
   * overflows there: NaN at a finite product, such as var1*var2 near 1e300, J_2's scale at
   * variances of 1e150). Exactly where the unguarded code of a kernel's loop turns NaN and falls
   * back to these functions: a fixed limit below the overflow (1.3e300 once) left factors between
   * it and the overflow split exactly in the loop but not here, 1 ulp apart (RectifiedMonomial(2)
   * at var1*var2/pi = 1.308e300, found by review). Literal factors split safely.
   */
  private guardProduct(hi: Code, lo: Code, ...factors: [factor: Code, scaled: Code][]): Code {
    if (!this.guarded) return lo;
    const large = factors.filter(([f]) => f.uses.length > 0);
    const tests = [js`Math.abs(${hi}) < Infinity`, ...large.map(([, scaled]) => js`Math.abs(${scaled}) < Infinity`)];
    return js`${{ text: tests.map((t) => t.text).join(' && '), uses: tests.flatMap((t) => t.uses) }} ? ${lo} : 0`;
  }

  private define(name: string, value: Code, ...more: [string, Code][]): void {
    this.sink.push(statement({ name, value }, ...more.map(([n, v]) => ({ name: n, value: v }))));
  }

  /** a*b = p + lo exactly. */
  twoProduct(a: Code, b: Code): Pair {
    const p = this.sink.fresh();
    const [P, Pa, Pah, Pal, Pb, Pbh, Pbl] = [p, `${p}a`, `${p}ah`, `${p}al`, `${p}b`, `${p}bh`, `${p}bl`].map(ref) as [
      Code,
      Code,
      Code,
      Code,
      Code,
      Code,
      Code,
    ];
    this.define(p, js`${a} * ${b}`);
    this.define(`${p}a`, js`${a} * 134217729`, [`${p}ah`, js`${Pa} - (${Pa} - ${a})`], [`${p}al`, js`${a} - ${Pah}`]);
    this.define(`${p}b`, js`${b} * 134217729`, [`${p}bh`, js`${Pb} - (${Pb} - ${b})`], [`${p}bl`, js`${b} - ${Pbh}`]);
    this.define(
      `${p}l`,
      this.guardProduct(
        P,
        js`((${Pah} * ${Pbh} - ${P}) + ${Pah} * ${Pbl} + ${Pal} * ${Pbh}) + ${Pal} * ${Pbl}`,
        [a, Pa],
        [b, Pb],
      ),
    );
    return [P, ref(`${p}l`)];
  }

  /** a+b = s + lo exactly. */
  twoSum(a: Code, b: Code): Pair {
    const s = this.sink.fresh();
    const [S, Sv] = [ref(s), ref(`${s}v`)];
    this.define(s, js`${a} + ${b}`);
    this.define(`${s}v`, js`${S} - ${a}`);
    this.define(`${s}l`, this.guard(S, js`(${a} - (${S} - ${Sv})) + (${b} - ${Sv})`));
    return [S, ref(`${s}l`)];
  }

  /** hi + e renormalised. */
  renormalise(hi: Code, e: Code): Pair {
    const r = this.sink.fresh();
    const R = ref(r);
    this.define(r, js`${hi} + ${e}`);
    this.define(`${r}l`, this.guard(R, js`${e} - (${R} - ${hi})`));
    return [R, ref(`${r}l`)];
  }

  /**
   * a + b. A sum of two values of one sign (sameSign) cannot cancel: its error term stays a few
   * ulps of the sum, as after a product. Otherwise the sum may be far smaller than the terms,
   * and the error must be folded in.
   */
  add(a: Pair, b: Pair, sameSign = false): Pair {
    const [s, sl] = this.twoSum(a[0], b[0]);
    const e = this.sink.fresh();
    const parts = [sl, a[1], b[1]].filter((x) => !isZeroCode(x));
    this.define(e, { text: parts.map((p) => p.text).join(' + '), uses: parts.flatMap((p) => p.uses) });
    if (!sameSign) return this.renormalise(s, ref(e));
    if (!this.guarded) return [s, ref(e)];
    const el = this.sink.fresh();
    this.define(el, this.guard(s, ref(e)));
    return [s, ref(el)];
  }

  /**
   * a × b, not renormalised: the error term is a few ulps of the product, so its high part still
   * carries the value for the next product, quotient or root; sums renormalise (they can cancel).
   */
  mul(a: Pair, b: Pair): Pair {
    const [p, pl] = this.twoProduct(a[0], b[0]);
    const cross = [
      isZeroCode(b[1]) ? undefined : js`${a[0]} * ${b[1]}`,
      isZeroCode(a[1]) ? undefined : js`${a[1]} * ${b[0]}`,
    ].filter((c): c is Code => !!c);
    if (!cross.length) return [p, pl];
    const e = this.sink.fresh();
    const sum = [pl, ...cross];
    this.define(e, this.guard(p, { text: sum.map((c) => c.text).join(' + '), uses: sum.flatMap((c) => c.uses) }));
    return [p, ref(e)];
  }

  /** a / b, one correction; its error term is about an ulp of the quotient. */
  div(a: Pair, b: Pair): Pair {
    const q = this.sink.fresh();
    const Q_ = ref(q);
    this.define(q, js`${a[0]} / ${b[0]}`);
    const [p, pl] = this.twoProduct(Q_, b[0]);
    const r = this.sink.fresh();
    this.define(r, this.guard(Q_, js`((${a[0]} - ${p}) - ${pl} + ${a[1]} - ${Q_} * ${b[1]}) / ${b[0]}`));
    return [Q_, ref(r)];
  }

  /** sqrt(a), one Newton correction; 0 at 0, NaN below. */
  sqrt(a: Pair): Pair {
    const s = this.sink.fresh();
    const S = ref(s);
    this.define(s, js`Math.sqrt(${a[0]})`);
    const [p, pl] = this.twoProduct(S, S);
    const e = this.sink.fresh();
    this.define(e, this.guard(S, js`${a[0]} > 0 ? ((${a[0]} - ${p}) - ${pl} + ${a[1]}) / (2 * ${S}) : 0`));
    return [S, ref(e)];
  }

  /** cond ? a : b, componentwise. */
  select(cond: Code, a: Pair, b: Pair): Pair {
    const h = this.sink.fresh();
    this.define(h, js`${cond} ? ${a[0]} : ${b[0]}`, [`${h}l`, js`${cond} ? ${a[1]} : ${b[1]}`]);
    return [ref(h), ref(`${h}l`)];
  }

  /** c * x * y * ... (a power-of-two c scales exactly). */
  monomial([c, vars]: Monomial): Pair {
    let cur: Pair | undefined;
    for (const v of vars) cur = cur ? this.mul(cur, [v, ZERO]) : [v, ZERO];
    const [ch, cl] = splitRat(c);
    if (!cur) return [lit(literal(ch)), lit(literal(cl))];
    const scaled = (v: Code, k: number) => (isZeroCode(v) ? ZERO : k === 1 ? v : js`${v} * ${literal(k)}`);
    if (cl === 0 && isPowerOfTwo(ch)) return [scaled(cur[0], ch), scaled(cur[1], ch)];
    return this.mul(cur, [lit(literal(ch)), lit(literal(cl))]);
  }

  /**
   * A sum of monomials by greedy multivariate Horner: the variable found in most terms is
   * factored out of them (c^2 g + c^2 v1 + c^2 → c (c (g + v1 + 1))), which replaces a
   * double-double product per term by one for the group. `nonneg` tells which variables are
   * ≥ 0 (a sum whose terms all have one known sign needs no renormalisation). `innermost` is
   * factored out last: while it shares a sum with another variable, that one is factored out
   * (from a single term if need be), so that the polynomials in `innermost` alone come out whole
   * (a kernel's rows compute those in var1 once: parts.ts hoists what reads only var1).
   */
  horner(terms: readonly Monomial[], nonneg: (v: Code) => boolean, innermost?: string): Pair {
    const counts = new Map<string, { v: Code; n: number }>();
    for (const [, vars] of terms)
      for (const v of new Map(vars.map((x) => [x.text, x])).values())
        counts.set(v.text, { v, n: (counts.get(v.text)?.n ?? 0) + 1 });
    let best: Code | undefined;
    let most = 1;
    for (const { v, n } of counts.values()) if (n > most && v.text !== innermost) [best, most] = [v, n];
    const last = innermost === undefined ? undefined : counts.get(innermost);
    if (best === undefined && last) {
      const other = [...counts.values()].find((c) => c.v.text !== innermost);
      if (other) best = other.v;
      else if (last.n > 1) best = last.v;
    }
    const signs = new Set(terms.map((t) => sign(t, nonneg)));
    const sameSign = signs.size === 1 && !signs.has(0);
    if (best === undefined) {
      let acc: Pair | undefined;
      for (const t of terms) {
        const cur = this.monomial(t);
        acc = acc ? this.add(acc, cur, sameSign) : cur;
      }
      return acc!;
    }
    const v = best;
    const inner = terms
      .filter(([, vars]) => vars.some((x) => x.text === v.text))
      .map(([c, vars]) => [c, vars.filter((_, i) => i !== vars.findIndex((x) => x.text === v.text))] as const);
    const rest = terms.filter(([, vars]) => !vars.some((x) => x.text === v.text));
    const factored = this.mul(this.horner(inner, nonneg, innermost), [v, ZERO]);
    return rest.length ? this.add(factored, this.horner(rest, nonneg, innermost), sameSign) : factored;
  }
}

/** A monomial's sign where it is known for every input: its variables ≥ 0 or in even powers; 0 when unknown. */
function sign([c, vars]: Monomial, nonneg: (v: Code) => boolean): -1 | 0 | 1 {
  if (c.n === 0n) return 0;
  for (const v of new Map(vars.map((x) => [x.text, x])).values()) {
    if (nonneg(v)) continue;
    if (vars.filter((x) => x.text === v.text).length % 2) return 0;
  }
  return c.n > 0n ? 1 : -1;
}
