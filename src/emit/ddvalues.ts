// The double-double values of evaluation trees (the base of values.ts's ValueCode): compensated
// sums, products of polynomials and their roots, angles at small angles, each a pair hi + lo
// written by ddasm.ts; what emit evaluates so, domain.evaluableInDoubleDouble says.
import { dependsOnInputs, evaluableInDoubleDouble, isNonnegSymbol } from '../domain.js';
import { HP, evaluateHP, foldConstant } from '../evaluate.js';
import * as E from '../expr.js';
import * as Q from '../rational.js';
import type { Tree, Rat } from '../types.js';
import { type Code, type Statement, ONE, ZERO, js, lit, literal, ref, statement } from './code.js';
import { DoubleDouble, type Monomial, type Pair, splitRat } from './ddasm.js';
import * as T from '../tree.js';
import { ATAN_TAIL_NEAR, estrin } from '../runtime.js';

/** The emitted names of the inputs and of the per-point derived values (prologue). */
export const SYM_NAMES: Record<string, string> = { cov12: 'c', var1: 'v1', var2: 'v2', gap: 'g', rho: 'r' };
const SYMBOL_OF = new Map(Object.entries(SYM_NAMES).map(([sym, name]) => [name, sym]));

/**
 * The small-angle tail of (y, x), shared by angle(y, x) and y - x·angle(y, x): q = y/x, s = q²
 * (Y/x² where y = √Y), `small` where x > 0 and 0 < s ≤ ATAN_TAIL_NEAR.below, and there
 * P = (q - atan q)/q³ by the polynomial ymxangleSmall evaluates (runtime.ts), so that
 * angle = q - q·s·P and y - x·angle = y·s·P, the helper's formula, from one division and one
 * polynomial where they cost a division, an atan and the polynomial (the anti-correlated entries of the
 * arc-cosine maps, rho ≤ -0.89). Every small angle of the stable code takes it (erf's and
 * sigmoid_like's too), within an ulp of atan.
 */
interface AngleTail {
  readonly q: Code;
  readonly s: Code;
  readonly small: Code;
  readonly p: Code;
}

/** Where ymxangle(y, x) takes its small-angle series: the angle below atan(1/2) (|y| < 2x). */
export const SMALL_ANGLE = (y: Code, x: Code): Code => js`Math.abs(${y}) < 2 * ${x}`;
export const angleNode = (name: 'angle' | 'atan2', y: Tree, x: Tree) => T.fn(name, [y, x]);
export const power = (base: Tree, r: Rat) => T.pow(base, E.num(r));

interface SmallAngle {
  small: Code;
  xt: Pair;
  theta: Code;
  xv: Code;
}

/** Statements and double-double values; `val` (values.ts) gives the plain value of a tree. */
export abstract class DoubleDoubleValues {
  readonly statements: Statement[] = [];
  /** Runtime helpers the code calls (runtime.ts): 'dd', 'atan2', 'angle', 'ymxangle', 'erf'. */
  readonly helpers = new Set<string>();
  /** Values of the double-double nodes: NaN in any of them flags an overflow (ddasm.ts). */
  readonly checks: Code[] = [];
  /**
   * The names whose own statement calls a transcendental or a square root or divides: what is
   * worth computing once per column of a kernel rather than per entry (parts.ts).
   */
  readonly costly = new Set<string>();
  protected readonly dd: DoubleDouble;
  private readonly pairs = new Map<string, Pair>();
  private readonly smallAngles = new Map<string, SmallAngle>();
  /** y - x·angle(y, x) by the small-angle tail or ymxangleSmall where |y| < 2x, else 0: once per (y, x), shared by every use. */
  private readonly ymxSeries = new Map<string, { readonly wide: Code; readonly value: Code }>();
  private readonly tails = new Map<string, AngleTail>();
  private n = 0;

  constructor(
    private readonly prefix: string,
    guarded: boolean,
  ) {
    this.dd = new DoubleDouble({ fresh: () => this.fresh(), push: (s) => this.statements.push(s) }, guarded);
  }

  /** The value of e: a name or a literal. */
  abstract val(e: Tree): Code;

  /**
   * The small-angle series y - x * angle(y, x) (ymxangleSmall) where |y| < 2x (which implies
   * x > 0), else 0, and that condition: computed once per (y, x), so that nngp's ymxangle and the
   * derivative's small angle (2|y| < x, a narrower condition) share one call in the fused loop.
   */
  protected ymxangleSeries(y: Tree, x: Tree): { readonly wide: Code; readonly value: Code } {
    const key = `${y.key};${x.key}`;
    const hit = this.ymxSeries.get(key);
    if (hit) return hit;
    this.helpers.add('ymxangle');
    const yv = this.val(y),
      xv = this.val(x);
    const wide = this.tmp(SMALL_ANGLE(yv, xv));
    const { s, small, p } = this.angleTail(y, x);
    const value = this.tmp(js`${small} ? ${yv} * ${s} * ${p} : ${wide} ? ymxangleSmall(${yv}, ${xv}) : 0`);
    const parts = { wide, value };
    this.ymxSeries.set(key, parts);
    return parts;
  }

  /** The small-angle tail of (y, x) (AngleTail): atan(y/x) where x > 0 and (y/x)² ≤ 1/4, computed once per (y, x). */
  protected angleTail(y: Tree, x: Tree): AngleTail {
    return this.ratioTail(y, x, true);
  }

  /**
   * The far tail of (y, x), x ≥ 0 (a square root, vanishing at the bound): where (x/y)² ≤ 1/4,
   * atan(x/y) as q - q·s·P(s) with q = x/y, of either sign, so that atan2(y, x) = ±pi/2 - atan(x/y)
   * (abs's and ab_relu's atan2(cov12, sqrt(gap)) at rho → ±1, the anti-correlated entries). There
   * Math.atan's argument y/x ranges past 2, across two of its reduction intervals (at 39/16): a
   * branch that mispredicts per entry (abs's stable code, anti-correlated: 17.9 → 14.5 ns per entry).
   */
  protected farTail(y: Tree, x: Tree): AngleTail {
    return this.ratioTail(x, y, false);
  }

  /**
   * atan(n/d) by the tail where (n/d)² ≤ 1/4 (and d > 0 where `positive`): q = n/d, s, the
   * condition and P(s), once per (n, d, positive).
   */
  private ratioTail(n: Tree, d: Tree, positive: boolean): AngleTail {
    const key = `${positive ? '' : 'far;'}${n.key};${d.key}`;
    const hit = this.tails.get(key);
    if (hit) return hit;
    const nv = this.val(n),
      dv = this.val(d);
    const q = this.tmp(js`${nv} / ${dv}`);
    // Where n is a square root √N (√gap in relu's and leaky_relu's angle, √(1 + 2 var1 + ...) in
    // sigmoid_like's), s = N/d² from N itself: two roundings where q² has three (the root, the
    // quotient, the square), and off the root's and the quotient's latency. Against 50-digit truth,
    // 1500 points each: relu's nngp near the bound 0.70 -> 0.57 mean bits (max 2.6 -> 2.0),
    // anti-correlated 0.96 -> 0.76, its derivative 0.547 -> 0.555; leaky_relu's anti-correlated
    // 0.49 -> 0.45 and 0.408 -> 0.419; leaky_relu anti-correlated 24.8 -> 23.1 ns.
    const root = n.k === 'pow' && n.exp.k === 'num' && Q.eq(n.exp.v, Q.rat(1, 2)) ? n.base : undefined;
    const s = root ? this.tmp(js`${this.val(root)} / (${dv} * ${dv})`) : this.tmp(js`${q} * ${q}`);
    const within = js`${s} <= ${String(ATAN_TAIL_NEAR.below)} && ${s} > 0`;
    const small = this.tmp(positive ? js`${dv} > 0 && ${within}` : within);
    const tail = { q, s, small, p: this.polynomialOf(s, small) };
    this.tails.set(key, tail);
    return tail;
  }

  /** ATAN_TAIL_NEAR's polynomial in s where `small`, else 0 (Estrin's scheme). */
  private polynomialOf(s: Code, small: Code): Code {
    const s2 = this.tmp(js`${s} * ${s}`);
    const s4 = this.tmp(js`${s2} * ${s2}`);
    const s8 = this.tmp(js`${s4} * ${s4}`);
    const poly: Code = {
      text: estrin(ATAN_TAIL_NEAR.coefficients, s.text, [s2.text, s4.text, s8.text]),
      uses: [...s.uses, ...s2.uses, ...s4.uses, ...s8.uses],
    };
    return this.tmp(js`${small} ? ${poly} : 0`);
  }

  protected fresh(): string {
    return `${this.prefix}${this.n++}`;
  }

  protected tmp(value: Code, costly = false): Code {
    const name = this.fresh();
    this.statements.push(statement({ name, value }));
    if (costly) this.costly.add(name);
    return ref(name);
  }

  /** A temporary holding an element of a table the code indexes within its bounds (`!` in TypeScript). */
  protected element(value: Code): Code {
    const name = this.fresh();
    this.statements.push(statement({ name, value, element: true }));
    return ref(name);
  }

  protected ddAdd(a: Pair, b: Pair, sameSign = false): Pair {
    this.helpers.add('dd');
    return this.dd.add(a, b, sameSign);
  }

  protected ddMul(a: Pair, b: Pair): Pair {
    this.helpers.add('dd');
    return this.dd.mul(a, b);
  }

  protected ddDiv(a: Pair, b: Pair): Pair {
    this.helpers.add('dd');
    return this.dd.div(a, b);
  }

  /** A product of constants, polynomials and their (half-)integer powers, in double-double, once per tree. */
  protected ddValue(e: Tree): Pair {
    const hit = this.pairs.get(`value:${e.key}`);
    if (hit) return hit;
    const v = this.ddValueOnce(e);
    this.pairs.set(`value:${e.key}`, v);
    return v;
  }

  private ddValueOnce(e: Tree): Pair {
    this.helpers.add('dd');
    if (!dependsOnInputs(e)) {
      const [hi, lo] = e.k === 'num' ? splitRat(e.v) : [foldConstant(e), 0];
      if (e.k !== 'num' && Number.isFinite(hi)) return [lit(literal(hi)), lit(literal(foldLow(e, hi)))];
      return [lit(literal(hi)), lit(literal(lo))];
    }
    if (e.k === 'add' || e.k === 'sym') return this.polynomial(e);
    if (e.k === 'mul') {
      const consts = e.factors.filter((f) => !dependsOnInputs(f));
      let acc: Pair | undefined = consts.length
        ? this.ddValue(consts.length === 1 ? consts[0]! : T.mul(consts))
        : undefined;
      const dens: Pair[] = [];
      const done: Tree[] = [];
      for (const f of e.factors.filter(dependsOnInputs)) {
        if (f.k === 'pow' && f.exp.k === 'num' && f.exp.v.n < 0n) {
          dens.push(this.ddValue(power(f.base, Q.neg(f.exp.v))));
          continue;
        }
        done.push(f);
        // A product of the same leading factors is computed once (nngp's F·G·cov12 and d's F·G).
        const key = `product:${consts.map((c) => c.key).join(',')};${done.map((d) => d.key).join(',')}`;
        const known = this.pairs.get(key);
        if (known) {
          acc = known;
          continue;
        }
        const v = this.ddValue(f);
        acc = acc ? this.ddMul(acc, v) : v;
        this.pairs.set(key, acc);
      }
      let den: Pair | undefined;
      for (const d of dens) den = den ? this.ddMul(den, d) : d;
      acc ??= [ONE, ZERO];
      return den ? this.ddDiv(acc, den) : acc;
    }
    if (e.k === 'pow' && e.exp.k === 'num') {
      const r = e.exp.v;
      const b = this.ddValue(e.base);
      let acc: Pair | undefined;
      for (let i = 0n; i < r.n / r.d; i++) acc = acc ? this.ddMul(acc, b) : b;
      if (r.d === 2n) {
        this.helpers.add('dd');
        const s = this.dd.sqrt(b);
        acc = acc ? this.ddMul(acc, s) : s;
      }
      return acc ?? [ONE, ZERO];
    }
    throw new Error(`emit: not a double-double value: ${e.key}`);
  }

  /** A term of a compensated sum as double-double: ddq as is, constant × value exactly. */
  protected ddTerm(t: Tree): Pair {
    this.helpers.add('dd');
    if (t.k === 'fn' && t.name === 'ddq') return this.ddValue(t.args[0]!);
    if (t.k === 'fn' && t.name === 'xangle') return this.ddXangle(t.args[0]!, t.args[1]!);
    if (t.k === 'fn' && (t.name === 'atan2' || t.name === 'angle')) return this.ddAngle(t.name, t.args[0]!, t.args[1]!);
    if (t.k === 'mul') {
      const consts = t.factors.filter((f) => !dependsOnInputs(f));
      const rest = t.factors.filter(dependsOnInputs);
      if (consts.length && rest.length) {
        const k = this.ddValue(consts.length === 1 ? consts[0]! : T.mul(consts));
        const r = rest[0]!;
        if (rest.length === 1 && r.k === 'fn' && r.name === 'xangle')
          return this.ddMul(this.ddXangle(r.args[0]!, r.args[1]!), k);
        if (rest.length === 1 && r.k === 'fn' && (r.name === 'atan2' || r.name === 'angle'))
          return this.ddMul(this.ddAngle(r.name, r.args[0]!, r.args[1]!), k);
        return this.ddMul([this.val(rest.length === 1 ? r : T.mul(rest)), ZERO], k);
      }
    }
    return [this.val(t), ZERO];
  }

  /**
   * At small angles (x > 0, |y| < x/ratio), x * atan2(y, x) = y - ymxangle(y, x) in
   * double-double (y too, where it is a root of a polynomial): what a rounded angle loses where a
   * sum cancels it (gelu at cov12 = -var), this keeps. Below tan(angle) = 1/2, ymxangle is under a
   * sixth of x * angle, so its few ulps are fewer than the half ulp of x * (rounded angle).
   */
  protected smallAngle(y: Tree, x: Tree, name: 'angle' | 'atan2' = 'angle', ratio = 2): SmallAngle {
    const key = `small:${name}:${ratio}:${y.key};${x.key}`;
    const hit = this.smallAngles.get(key);
    if (hit) return hit; // nngp's x*angle and the derivative's angle share it in the fused loop
    this.helpers.add('ymxangle');
    const theta = this.val(angleNode(name, y, x));
    const yv = this.val(y);
    const xv = this.val(x);
    const small = this.tmp(js`${ratio === 1 ? '' : `${ratio} * `}Math.abs(${yv}) < ${xv}`);
    // ymxangle(y, x) as its series value (ymxangleSeries) gives it (small implies |y| < 2x): the
    // same doubles whether or not nngp is emitted beside it, so that the fused loop's derivative is
    // its scalar function's bit for bit (a held-out try-out found them 1-229 ulps apart where the
    // helper's s = (y/x)² and the tail's s = Y/x² rounded differently); the helper called only
    // where small (review: the series value itself calls it wherever |y| < 2x).
    // Where nngp's ymxangle already computed the series value, it serves (the same doubles where small).
    const series = this.ymxSeries.get(`${y.key};${x.key}`);
    const tail = series ? undefined : this.angleTail(y, x);
    const ymx = this.tmp(
      tail
        ? js`${small} ? -(${tail.small} ? ${yv} * ${tail.s} * ${tail.p} : ymxangleSmall(${yv}, ${xv})) : 0`
        : js`${small} ? -${series!.value} : 0`,
    );
    const xt = this.ddAdd(evaluableInDoubleDouble(y) ? this.ddValue(y) : [yv, ZERO], [ymx, ZERO]);
    const parts = { small, xt, theta, xv };
    this.smallAngles.set(key, parts);
    return parts;
  }

  /** x * atan2(y, x) in double-double: see smallAngle; elsewhere x times the angle, exactly. */
  protected ddXangle(y: Tree, x: Tree): Pair {
    const { small, xt, theta, xv } = this.smallAngle(y, x);
    return this.dd.select(small, xt, this.dd.twoProduct(xv, theta));
  }

  /** atan2(y, x) or angle(y, x) in double-double: (x * angle) / x at small angles, the rounded angle elsewhere. */
  protected ddAngle(name: 'angle' | 'atan2', y: Tree, x: Tree, ratio = 2): Pair {
    const { small, xt, theta, xv } = this.smallAngle(y, x, name, ratio);
    return this.dd.select(small, this.ddDiv(xt, [xv, ZERO]), [theta, ZERO]);
  }

  /** A polynomial in the inputs, in double-double (greedy Horner), once per polynomial. */
  protected polynomial(p: Tree): Pair {
    const hit = this.pairs.get(p.key);
    if (hit) return hit;
    this.helpers.add('dd');
    // var1 innermost: its polynomials alone are then what a kernel's rows compute once (the
    // loop hoists statements reading only var1), not once per entry (a Polynomial layer's map:
    // 35 -> 24 ns per realistic entry). Other roundings: the catalog's outputs were the same bit
    // for bit on realistic, anti-correlated and scaled kernels, but near the Polynomial map's
    // zeros, where the double-double sum cancels to a few ulps, they move (accuracy the same).
    const acc = this.dd.horner(
      (p.k === 'add' ? p.terms : [p]).map(monomial),
      (v) => isNonnegSymbol(SYMBOL_OF.get(v.text) ?? ''),
      SYM_NAMES.var1,
    );
    this.pairs.set(p.key, acc);
    // A double-double polynomial of var2 alone (a sum: two products and two-sums per term) is
    // worth computing once per column and loading per entry (factored.ts compensatedPolynomial's
    // g_k(var2): a Polynomial layer's kernel 20.5 -> 17.4 ns per realistic entry); var1's are
    // per row already.
    if (p.k === 'add' && E.mentions(p, 'var2') && !E.mentions(p, 'var1') && !E.mentions(p, 'cov12'))
      for (const c of acc) if (c.uses.length === 1 && c.text === c.uses[0]) this.costly.add(c.text);
    return acc;
  }
}

/** The low part of a constant: its HP value minus the double hi. */
function foldLow(e: Tree, hi: number): number {
  const v = evaluateHP(e, { cov12: new HP(0), var1: new HP(0), var2: new HP(0) });
  return v.sub(new HP(hi)).toNumber();
}

/** A monomial as coefficient and its variables (repeated by degree), or undefined. */
function monomialOrUndefined(t: Tree): Monomial | undefined {
  let c = Q.ONE;
  const vars: Code[] = [];
  for (const f of t.k === 'mul' ? t.factors : [t]) {
    if (f.k === 'num') c = Q.mul(c, f.v);
    else if (f.k === 'sym') vars.push(ref(SYM_NAMES[f.name]!));
    else if (f.k === 'pow' && f.base.k === 'sym' && f.exp.k === 'num')
      for (let i = 0n; i < f.exp.v.n; i++) vars.push(ref(SYM_NAMES[f.base.name]!));
    else return undefined;
  }
  return [c, vars];
}

function monomial(t: Tree): Monomial {
  const m = monomialOrUndefined(t);
  if (!m) throw new Error(`emit: not a monomial: ${t.key}`);
  return m;
}
