// The values of evaluation trees as straight-line statements, sharing common subexpressions:
// each node becomes a named constant (or a literal, for constants folded in 50 digits), and the
// stable primitives of types.ts become their double-double or series evaluations (ddasm.ts).
import { dependsOnInputs, evaluableInDoubleDouble, isNonnegSymbol } from '../domain.js';
import { HP, evaluateHP, foldConstant } from '../evaluate.js';
import * as E from '../expr.js';
import * as Q from '../rational.js';
import type { Expr, Fn, Rat } from '../types.js';
import { type Code, type Statement, ONE, ZERO, join, js, lit, literal, ref, statement } from './code.js';
import { DoubleDouble, type Monomial, type Pair, splitRat } from './ddasm.js';

/** The emitted names of the inputs and of the per-point derived values (prologue). */
export const SYM_NAMES: Record<string, string> = { cov12: 'c', var1: 'v1', var2: 'v2', gap: 'g', rho: 'r' };
const SYMBOL_OF = new Map(Object.entries(SYM_NAMES).map(([sym, name]) => [name, sym]));

const MATH: Record<string, string> = {
  exp: 'Math.exp', log: 'Math.log', log1p: 'Math.log1p', expm1: 'Math.expm1', sin: 'Math.sin', cos: 'Math.cos', tan: 'Math.tan',
  asin: 'Math.asin', acos: 'Math.acos', atan: 'Math.atan', atan2: 'atan2', sinh: 'Math.sinh', cosh: 'Math.cosh', tanh: 'Math.tanh',
  abs: 'Math.abs', sign: 'Math.sign', min: 'Math.min', max: 'Math.max', erf: 'erf', erfc: 'erfc', angle: 'angle',
};
/** Nodes evaluated in double-double, whose values the unguarded fused loop checks. */
const DD_NODES = new Set(['dd', 'csum', 'ddq', 'expdd']);
const CMP: Record<string, string> = { lt: '<', le: '<=', gt: '>', ge: '>=', eq: '===', ne: '!==' };

const angleNode = (name: 'angle' | 'atan2', y: Expr, x: Expr) => E.rawFn(name, [y, x]);
const power = (base: Expr, r: Rat) => E.rawPow(base, E.num(r));
/** A literal or a name needs no parentheses after a minus sign or a division. */
const plain = (c: Code) => /^[\w.]+$/.test(c.text);
const wrap = (c: Code) => (/^[\w.]+(\([^()]*\))?$/.test(c.text) ? c : js`(${c})`);

interface SmallAngle { small: Code; xt: Pair; theta: Code; xv: Code }

/** Straight-line code computing the values of evaluation trees. */
export class ValueCode {
  readonly statements: Statement[] = [];
  /** Runtime helpers the code calls (runtime.ts): 'dd', 'atan2', 'angle', 'ymxangle', 'erf'. */
  readonly helpers = new Set<string>();
  /** Values of the double-double nodes: NaN in any of them flags an overflow (ddasm.ts). */
  readonly checks: Code[] = [];
  private readonly memo = new Map<string, Code>();
  private readonly pairs = new Map<string, Pair>();
  private readonly smallAngles = new Map<string, SmallAngle>();
  private n = 0;
  private readonly dd: DoubleDouble;

  constructor(private readonly prefix = 't', guarded = true) {
    this.dd = new DoubleDouble({ fresh: () => this.fresh(), push: (s) => this.statements.push(s) }, guarded);
  }

  private fresh(): string {
    return `${this.prefix}${this.n++}`;
  }

  private tmp(value: Code): Code {
    const name = this.fresh();
    this.statements.push(statement({ name, value }));
    return ref(name);
  }

  /** The value of e: a name or a literal. */
  val(e: Expr): Code {
    const hit = this.memo.get(e.key);
    if (hit) return hit;
    const v = this.compute(e);
    this.memo.set(e.key, v);
    return v;
  }

  private compute(e: Expr): Code {
    if (!dependsOnInputs(e)) return lit(literal(e.k === 'num' ? Q.toNumber(e.v) : foldConstant(e)));
    switch (e.k) {
      case 'num': return lit(literal(Q.toNumber(e.v)));
      case 'sym': return ref(SYM_NAMES[e.name]!);
      case 'add': {
        const parts: Code[] = [];
        e.terms.forEach((t, i) => {
          const negated = negatedTerm(t);
          if (i > 0 && negated) {
            const v = this.val(negated);
            parts.push(js` - ${plain(v) ? v : js`(${v})`}`);
          } else parts.push(i > 0 ? js` + ${this.val(t)}` : this.val(t));
        });
        return this.tmp(join(parts, ''));
      }
      case 'mul': return this.tmp(this.product(e.factors));
      case 'pow': return this.tmp(this.power(e));
      case 'fn': {
        const v = this.tmp(this.call(e));
        if (DD_NODES.has(e.name)) this.checks.push(v);
        return v;
      }
    }
  }

  private product(factors: readonly Expr[]): Code {
    const num: Code[] = [];
    const den: Code[] = [];
    // Constant factors (rationals, powers of pi, ...) folded into one literal, rounded once.
    const consts = factors.filter((f) => !dependsOnInputs(f));
    if (consts.length) {
      const k = consts.length === 1 && consts[0]!.k === 'num' ? Q.toNumber(consts[0]!.v) : foldConstant(E.rawMul(consts));
      if (k !== 1) num.push(lit(literal(k)));
      factors = factors.filter(dependsOnInputs);
    }
    for (const f of factors) {
      if (f.k === 'pow' && f.exp.k === 'num' && f.exp.v.n < 0n) {
        const r = Q.neg(f.exp.v);
        den.push(Q.isOne(r) ? this.val(f.base) : this.val(power(f.base, r)));
      } else if (f.k === 'num') num.push(lit(literal(Q.toNumber(f.v))));
      else num.push(this.val(f));
    }
    const n = num.length ? join(num, ' * ') : ONE;
    if (!den.length) return n;
    return js`${n} / ${den.length === 1 ? wrap(den[0]!) : js`(${join(den, ' * ')})`}`;
  }

  private power(e: Expr & { k: 'pow' }): Code {
    const b = this.val(e.base);
    if (e.exp.k !== 'num') return js`Math.pow(${b}, ${this.val(e.exp)})`;
    const r = e.exp.v;
    if (r.d === 1n && r.n >= 1n && r.n <= 4n) return join(Array(Number(r.n)).fill(b), ' * ');
    if (r.n === 1n && r.d === 2n) return js`Math.sqrt(${b})`;
    if (r.d === 2n && r.n > 0n && r.n <= 7n) {
      const s = this.val(power(e.base, Q.HALF));
      return join([...Array(Number((r.n - 1n) / 2n)).fill(b), s], ' * ');
    }
    // Through val() so that sqrt(x) is shared with other uses of it.
    if (r.n < 0n) return js`1 / ${wrap(this.val(power(e.base, Q.neg(r))))}`;
    return js`Math.pow(${b}, ${literal(Q.toNumber(r))})`;
  }

  private call(e: Fn): Code {
    const arg = (i: number) => this.val(e.args[i]!);
    switch (e.name) {
      case 'where': {
        const c = e.args[0]!;
        const cond = c.k === 'fn' && CMP[c.name] ? js`${this.val(c.args[0]!)} ${CMP[c.name]!} ${this.val(c.args[1]!)}` : js`${this.val(c)} !== 0`;
        return js`${cond} ? ${arg(1)} : ${arg(2)}`;
      }
      case 'lt': case 'le': case 'gt': case 'ge': case 'eq': case 'ne':
        return js`${arg(0)} ${CMP[e.name]!} ${arg(1)} ? 1 : 0`;
      case 'clip': return js`Math.min(Math.max(${arg(0)}, ${arg(1)}), ${arg(2)})`;
      case 'smallangle': return this.smallAngleSeries(e);
      case 'nearbound': return js`${ref('gRaw')} <= 0.015625 * (${ref('pp')} + ${ref('pl')}) ? ${arg(0)} : ${arg(1)}`; // gap ≤ var1*var2/64
      case 'dd': { const [h, l] = this.polynomial(e.args[0]!); return js`${h} + ${l}`; }
      case 'csum': {
        const sum = e.args[0]!;
        let acc: Pair | undefined;
        for (const t of sum.k === 'add' ? sum.terms : [sum]) {
          const v = this.ddTerm(t);
          acc = acc ? this.ddAdd(acc, v) : v;
        }
        return js`${acc![0]} + ${acc![1]}`;
      }
      case 'ddq': { const [h, l] = this.ddValue(e.args[0]!); return js`${h} + ${l}`; }
      case 'expdd': { const [h, l] = this.polynomial(e.args[0]!); return js`Math.exp(${h}) * (1 + ${l})`; }
      case 'expdiff': {
        const [a, b, d] = e.args as [Expr, Expr, Expr];
        // exp of each exponent: exp(hi) * (1 + lo) for a dd polynomial, Math.exp otherwise.
        const exp = (x: Expr) => (x.k === 'fn' && x.name === 'dd' ? this.val(E.rawFn('expdd', x.args)) : this.tmp(js`Math.exp(${this.val(x)})`));
        const ea = exp(a);
        const eb = exp(b);
        const dv = this.val(d);
        return js`${dv} >= 0 ? -${ea} * Math.expm1(-${dv}) : ${eb} * Math.expm1(${dv})`;
      }
      case 'xangle': {
        const [y, x] = e.args as [Expr, Expr];
        return js`${this.val(x)} * ${this.val(angleNode('angle', y, x))}`; // x * angle = x * atan2: both 0 at x = 0
      }
      case 'ymxangle': {
        // The series only for small angles (rare); otherwise y - x * angle, the angle shared
        // with any other use of angle(y, x) (the derivative of arc-cosine maps is one).
        this.helpers.add('ymxangle');
        const [y, x] = e.args as [Expr, Expr];
        const a = this.val(angleNode('angle', y, x));
        const yv = this.val(y), xv = this.val(x);
        return js`Math.abs(${yv}) < 2 * ${xv} ? ymxangleSmall(${yv}, ${xv}) : ${yv} - ${xv} * ${a}`; // (implies x > 0)
      }
      default: {
        const f = MATH[e.name];
        if (!f) throw new Error(`emit: no code for ${e.name}`);
        if (f === 'erf' || f === 'erfc' || f === 'angle' || f === 'atan2') this.helpers.add(f);
        if (f === 'angle') this.helpers.add('atan2');
        return js`${f}(${join(e.args.map((a) => this.val(a)), ', ')})`;
      }
    }
  }

  /**
   * smallangle(y, x, scale, direct, phiMax, k0, a0, a1, ...): at phi = angle(y, x) < phiMax,
   * scale * phi^k0 * (a0 + a1 phi + ...) with phi in double-double (phi^k0 amplifies a rounded
   * phi's error k0 times): up to tan(phi) = 1 as (y - ymxangle(y, x))/x, from there to 3 pi/4 as
   * pi/2 - atan2(x, y) the same way (ymxangle's series converges to tan 2; its few ulps are a
   * fifth of the angle). Elsewhere the sum itself.
   */
  private smallAngleSeries(e: Fn): Code {
    const [y, x, scale, direct, phiMax, k0, ...coeffs] = e.args as [Expr, Expr, Expr, Expr, Expr, Expr, ...Expr[]];
    const phi = this.val(angleNode('angle', y, x));
    const cs = coeffs.map((c) => Q.toNumber((c as Expr & { k: 'num' }).v));
    const even = cs.every((c, j) => j % 2 === 0 || c === 0);
    const step = even ? this.tmp(js`${phi} * ${phi}`) : phi;
    const used = even ? cs.filter((_, j) => j % 2 === 0) : cs;
    let horner = lit(literal(used[used.length - 1]!));
    for (let j = used.length - 2; j >= 0; j--) horner = js`${literal(used[j]!)} + ${step} * (${horner})`;
    const k = Number((k0 as Expr & { k: 'num' }).v.n);
    const near0 = this.ddAngle('angle', y, x, 1);
    const complement = this.ddAngle('angle', x, y, 1);
    const yv = this.val(y), xv = this.val(x);
    const halfPi: Pair = [lit('1.5707963267948966'), lit('6.123233995736766e-17')];
    const upper = this.ddAdd(halfPi, [js`-${complement[0]}`, js`-${complement[1]}`]);
    const phiDD = this.dd.select(js`Math.abs(${yv}) < ${xv}`, near0, this.dd.select(js`Math.abs(${xv}) <= ${yv}`, upper, [phi, ZERO]));
    let acc = phiDD;
    for (let i = 1; i < k; i++) acc = this.ddMul(acc, phiDD);
    acc = this.ddMul(acc, [this.tmp(horner), ZERO]);
    acc = this.ddMul(acc, [this.val(scale), ZERO]);
    return js`${phi} < ${literal(Q.toNumber((phiMax as Expr & { k: 'num' }).v))} ? ${acc[0]} + ${acc[1]} : ${this.val(direct)}`;
  }

  // ---------------------------------------------------------------- double-double values

  private ddAdd(a: Pair, b: Pair, sameSign = false): Pair {
    this.helpers.add('dd');
    return this.dd.add(a, b, sameSign);
  }

  private ddMul(a: Pair, b: Pair): Pair {
    this.helpers.add('dd');
    return this.dd.mul(a, b);
  }

  private ddDiv(a: Pair, b: Pair): Pair {
    this.helpers.add('dd');
    return this.dd.div(a, b);
  }

  /** A product of constants, polynomials and their (half-)integer powers, in double-double. */
  private ddValue(e: Expr): Pair {
    this.helpers.add('dd');
    if (!dependsOnInputs(e)) {
      const [hi, lo] = e.k === 'num' ? splitRat(e.v) : [foldConstant(e), 0];
      if (e.k !== 'num' && Number.isFinite(hi)) return [lit(literal(hi)), lit(literal(foldLow(e, hi)))];
      return [lit(literal(hi)), lit(literal(lo))];
    }
    if (e.k === 'add' || e.k === 'sym') return this.polynomial(e);
    if (e.k === 'mul') {
      const consts = e.factors.filter((f) => !dependsOnInputs(f));
      let acc: Pair | undefined = consts.length ? this.ddValue(consts.length === 1 ? consts[0]! : E.rawMul(consts)) : undefined;
      const dens: Pair[] = [];
      for (const f of e.factors.filter(dependsOnInputs)) {
        if (f.k === 'pow' && f.exp.k === 'num' && f.exp.v.n < 0n) {
          dens.push(this.ddValue(power(f.base, Q.neg(f.exp.v))));
          continue;
        }
        const v = this.ddValue(f);
        acc = acc ? this.ddMul(acc, v) : v;
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
  private ddTerm(t: Expr): Pair {
    this.helpers.add('dd');
    if (t.k === 'fn' && t.name === 'ddq') return this.ddValue(t.args[0]!);
    if (t.k === 'fn' && t.name === 'xangle') return this.ddXangle(t.args[0]!, t.args[1]!);
    if (t.k === 'fn' && (t.name === 'atan2' || t.name === 'angle')) return this.ddAngle(t.name, t.args[0]!, t.args[1]!);
    if (t.k === 'mul') {
      const consts = t.factors.filter((f) => !dependsOnInputs(f));
      const rest = t.factors.filter(dependsOnInputs);
      if (consts.length && rest.length) {
        const k = this.ddValue(consts.length === 1 ? consts[0]! : E.rawMul(consts));
        const r = rest[0]!;
        if (rest.length === 1 && r.k === 'fn' && r.name === 'xangle') return this.ddMul(this.ddXangle(r.args[0]!, r.args[1]!), k);
        if (rest.length === 1 && r.k === 'fn' && (r.name === 'atan2' || r.name === 'angle')) return this.ddMul(this.ddAngle(r.name, r.args[0]!, r.args[1]!), k);
        return this.ddMul([this.val(rest.length === 1 ? r : E.rawMul(rest)), ZERO], k);
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
  private smallAngle(y: Expr, x: Expr, name: 'angle' | 'atan2' = 'angle', ratio = 2): SmallAngle {
    const key = `small:${name}:${ratio}:${y.key};${x.key}`;
    const hit = this.smallAngles.get(key);
    if (hit) return hit; // nngp's x*angle and the derivative's angle share it in the fused loop
    this.helpers.add('ymxangle');
    const theta = this.val(angleNode(name, y, x));
    const yv = this.val(y);
    const xv = this.val(x);
    const small = this.tmp(js`${ratio === 1 ? '' : `${ratio} * `}Math.abs(${yv}) < ${xv}`);
    const ymx = this.tmp(js`${small} ? -ymxangleSmall(${yv}, ${xv}) : 0`);
    const xt = this.ddAdd(evaluableInDoubleDouble(y) ? this.ddValue(y) : [yv, ZERO], [ymx, ZERO]);
    const parts = { small, xt, theta, xv };
    this.smallAngles.set(key, parts);
    return parts;
  }

  /** x * atan2(y, x) in double-double: see smallAngle; elsewhere x times the angle, exactly. */
  private ddXangle(y: Expr, x: Expr): Pair {
    const { small, xt, theta, xv } = this.smallAngle(y, x);
    return this.dd.select(small, xt, this.dd.twoProduct(xv, theta));
  }

  /** atan2(y, x) or angle(y, x) in double-double: (x * angle) / x at small angles, the rounded angle elsewhere. */
  private ddAngle(name: 'angle' | 'atan2', y: Expr, x: Expr, ratio = 2): Pair {
    const { small, xt, theta, xv } = this.smallAngle(y, x, name, ratio);
    return this.dd.select(small, this.ddDiv(xt, [xv, ZERO]), [theta, ZERO]);
  }

  /** A polynomial in the inputs, in double-double (greedy Horner), once per polynomial. */
  private polynomial(p: Expr): Pair {
    const hit = this.pairs.get(p.key);
    if (hit) return hit;
    this.helpers.add('dd');
    const acc = this.dd.horner((p.k === 'add' ? p.terms : [p]).map(monomial), (v) => isNonnegSymbol(SYMBOL_OF.get(v.text) ?? ''));
    this.pairs.set(p.key, acc);
    return acc;
  }
}

/** The low part of a constant: its HP value minus the double hi. */
function foldLow(e: Expr, hi: number): number {
  const v = evaluateHP(e, { cov12: new HP(0), var1: new HP(0), var2: new HP(0) });
  return v.sub(new HP(hi)).toNumber();
}

/** A monomial as coefficient and its variables (repeated by degree), or undefined. */
function monomialOrUndefined(t: Expr): Monomial | undefined {
  let c = Q.ONE;
  const vars: Code[] = [];
  for (const f of t.k === 'mul' ? t.factors : [t]) {
    if (f.k === 'num') c = Q.mul(c, f.v);
    else if (f.k === 'sym') vars.push(ref(SYM_NAMES[f.name]!));
    else if (f.k === 'pow' && f.base.k === 'sym' && f.exp.k === 'num') for (let i = 0n; i < f.exp.v.n; i++) vars.push(ref(SYM_NAMES[f.base.name]!));
    else return undefined;
  }
  return [c, vars];
}

function monomial(t: Expr): Monomial {
  const m = monomialOrUndefined(t);
  if (!m) throw new Error(`emit: not a monomial: ${t.key}`);
  return m;
}

/** -t for a term with a negative coefficient, else undefined. */
function negatedTerm(t: Expr): Expr | undefined {
  if (t.k === 'num' && t.v.n < 0n) return E.num(Q.neg(t.v));
  if (t.k === 'mul' && t.factors[0]!.k === 'num' && t.factors[0].v.n < 0n) {
    const c = Q.neg(t.factors[0].v);
    const factors = Q.isOne(c) ? t.factors.slice(1) : [E.num(c), ...t.factors.slice(1)];
    return factors.length === 1 ? factors[0] : E.rawMul(factors);
  }
  return undefined;
}
