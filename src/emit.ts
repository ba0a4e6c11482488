// Pass 6: evaluation trees → a self-contained TypeScript (or JavaScript) module exporting
// nngp, dNngp and the fused kernel. The module text is built only from the IR: identifiers
// are generated here, numbers printed by `literal`, comments sanitized by `commentText`.
// Output is deterministic: the same trees give byte-identical text.
import { HP, evaluateHP, foldConstant } from './evaluate.js';
import { HELPER_ANGLE, HELPER_ATAN2, HELPER_ERF, HELPER_YMXANGLE, HELPERS_DD } from './runtime.js';
import * as Q from './rational.js';
import type { Expr, Rat } from './types.js';

export const VERSION = '0.1.0';

export interface EmitInput {
  /** Evaluation trees (output of stabilize). */
  readonly nngp: Expr;
  readonly dNngp: Expr;
  /** Where the source came from, for the banner. */
  readonly sourceName: string;
  /** The simplified map and derivative in math syntax, for the banner. */
  readonly simplified: string;
  readonly derivative: string;
  readonly target: 'ts' | 'js';
}

/** A number as a JS literal that reads back to the same double. */
export function literal(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '(-Infinity)';
  if (Object.is(x, -0)) return '(-0)';
  const s = String(x);
  return x < 0 ? `(${s})` : s;
}

/** Text safe inside a `//` comment: one line, printable. */
export function commentText(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ').replace(/\s+/g, ' ').trim();
}

const SYM_NAMES: Record<string, string> = { cov12: 'c', var1: 'v1', var2: 'v2', gap: 'g', rho: 'r' };

function hasSym(e: Expr): boolean {
  switch (e.k) {
    case 'num': return false;
    case 'sym': return e.name !== 'pi';
    case 'add': return e.terms.some(hasSym);
    case 'mul': return e.factors.some(hasSym);
    case 'pow': return hasSym(e.base) || hasSym(e.exp);
    case 'fn': return e.name === 'nearbound' || e.args.some(hasSym); // nearbound reads the inputs itself
  }
}

function usesSym(e: Expr, name: string): boolean {
  switch (e.k) {
    case 'num': return false;
    case 'sym': return e.name === name;
    case 'add': return e.terms.some((t) => usesSym(t, name));
    case 'mul': return e.factors.some((t) => usesSym(t, name));
    case 'pow': return usesSym(e.base, name) || usesSym(e.exp, name);
    case 'fn': return e.args.some((t) => usesSym(t, name));
  }
}

const MATH: Record<string, string> = {
  exp: 'Math.exp', log: 'Math.log', log1p: 'Math.log1p', expm1: 'Math.expm1', sin: 'Math.sin', cos: 'Math.cos', tan: 'Math.tan',
  asin: 'Math.asin', acos: 'Math.acos', atan: 'Math.atan', atan2: 'atan2', sinh: 'Math.sinh', cosh: 'Math.cosh', tanh: 'Math.tanh',
  abs: 'Math.abs', sign: 'Math.sign', min: 'Math.min', max: 'Math.max', erf: 'erf', erfc: 'erfc', angle: 'angle',
};
/** Nodes evaluated in double-double, whose values the unguarded fused loop checks. */
const DD_NODES = new Set(['dd', 'csum', 'ddq', 'expdd']);
const CMP: Record<string, string> = { lt: '<', le: '<=', gt: '>', ge: '>=', eq: '===', ne: '!==' };

/** Straight-line code for a set of trees, sharing common subexpressions. */
class Body {
  readonly lines: string[] = [];
  private readonly memo = new Map<string, string>();
  private n = 0;
  readonly helpers = new Set<string>();
  /** Values of the double-double nodes: NaN in any of them flags an overflow (see `guard`). */
  readonly checks: string[] = [];
  private readonly smallAngles = new Map<string, { small: string; xt: [string, string]; theta: string; xv: string }>();
  /**
   * guarded: every error term is taken as 0 where its high part is not finite, so overflow
   * gives what plain arithmetic would. Unguarded code is the same arithmetic without those
   * selects: identical wherever no high part overflows, and NaN at the node otherwise (an
   * infinite high part comes with an error term that is NaN or the opposite infinity, and
   * every later operation and the node's final hi + lo keep it so), which the fused loop
   * detects in `checks` to redo that entry with the guarded functions.
   */
  constructor(private readonly prefix = 't', private readonly guarded = true) {}

  private guard(hi: string, lo: string): string {
    return guardText(this.guarded, hi, lo);
  }

  private tmp(code: string): string {
    const name = `${this.prefix}${this.n++}`;
    this.lines.push(`const ${name} = ${code};`);
    return name;
  }

  val(e: Expr): string {
    const hit = this.memo.get(e.key);
    if (hit) return hit;
    const v = this.val1(e);
    this.memo.set(e.key, v);
    return v;
  }

  private val1(e: Expr): string {
    if (!hasSym(e)) return literal(e.k === 'num' ? Q.toNumber(e.v) : foldConstant(e));
    switch (e.k) {
      case 'num': return literal(Q.toNumber(e.v));
      case 'sym': return SYM_NAMES[e.name]!;
      case 'add': {
        let code = '';
        e.terms.forEach((t, i) => {
          const negated = negatedTerm(t);
          if (i > 0 && negated) code += ` - ${this.factorCode(negated)}`;
          else code += (i > 0 ? ' + ' : '') + this.val(t);
        });
        return this.tmp(code);
      }
      case 'mul': return this.tmp(this.productCode(e.factors));
      case 'pow': return this.tmp(this.powCode(e));
      case 'fn': {
        const v = this.tmp(this.fnCode(e));
        if (DD_NODES.has(e.name)) this.checks.push(v);
        return v;
      }
    }
  }

  /** A term's code where it stands after a minus sign. */
  private factorCode(e: Expr): string {
    const v = this.val(e);
    return /^[\w.]+$/.test(v) ? v : `(${v})`;
  }

  private productCode(factors: readonly Expr[]): string {
    factors = [...factors];
    const num: string[] = [];
    const den: string[] = [];
    // Constant factors (rationals, powers of pi, ...) folded into one literal, rounded once.
    const consts = factors.filter((f) => !hasSym(f));
    if (consts.length) {
      const k = consts.length === 1 && consts[0]!.k === 'num' ? Q.toNumber(consts[0]!.v) : foldConstant({ k: 'mul', factors: consts, key: `*[${consts.map((c) => c.key).join(',')}]` });
      if (k !== 1) num.push(literal(k));
      factors = factors.filter(hasSym);
    }
    for (const f of factors) {
      if (f.k === 'pow' && f.exp.k === 'num' && f.exp.v.n < 0n) {
        const r = Q.neg(f.exp.v);
        den.push(Q.isOne(r) ? this.val(f.base) : this.val({ k: 'pow', base: f.base, exp: { k: 'num', v: r, key: '#' + Q.toString(r) }, key: `^[${f.base.key};#${Q.toString(r)}]` } as Expr));
      } else if (f.k === 'num') {
        num.push(literal(Q.toNumber(f.v)));
      } else num.push(this.val(f));
    }
    const n = num.length ? num.join(' * ') : '1';
    if (!den.length) return n;
    return `${n} / ${den.length === 1 ? wrapProduct(den[0]!) : `(${den.join(' * ')})`}`;
  }

  private powCode(e: Expr & { k: 'pow' }): string {
    const b = this.val(e.base);
    if (e.exp.k !== 'num') return `Math.pow(${b}, ${this.val(e.exp)})`;
    const r = e.exp.v;
    if (r.d === 1n && r.n >= 1n && r.n <= 4n) return Array(Number(r.n)).fill(b).join(' * ');
    if (r.n === 1n && r.d === 2n) return `Math.sqrt(${b})`;
    if (r.d === 2n && r.n > 0n && r.n <= 7n) {
      const s = this.val({ k: 'pow', base: e.base, exp: { k: 'num', v: Q.HALF, key: '#1/2' }, key: `^[${e.base.key};#1/2]` } as Expr);
      const whole = Number((r.n - 1n) / 2n);
      return [...Array(whole).fill(b), s].join(' * ');
    }
    if (r.n < 0n) {
      // Through val() so that sqrt(x) is shared with other uses of it.
      const positive = { k: 'pow', base: e.base, exp: { k: 'num', v: Q.neg(r), key: '#' + Q.toString(Q.neg(r)) }, key: `^[${e.base.key};#${Q.toString(Q.neg(r))}]` } as Expr;
      return `1 / ${wrapProduct(this.val(positive))}`;
    }
    return `Math.pow(${b}, ${literal(Q.toNumber(r))})`;
  }

  private fnCode(e: Expr & { k: 'fn' }): string {
    switch (e.name) {
      case 'where': {
        const c = e.args[0]!;
        const cond = c.k === 'fn' && CMP[c.name] ? `${this.val(c.args[0]!)} ${CMP[c.name]} ${this.val(c.args[1]!)}` : `${this.val(c)} !== 0`;
        return `${cond} ? ${this.val(e.args[1]!)} : ${this.val(e.args[2]!)}`;
      }
      case 'lt': case 'le': case 'gt': case 'ge': case 'eq': case 'ne':
        return `${this.val(e.args[0]!)} ${CMP[e.name]} ${this.val(e.args[1]!)} ? 1 : 0`;
      case 'clip': return `Math.min(Math.max(${this.val(e.args[0]!)}, ${this.val(e.args[1]!)}), ${this.val(e.args[2]!)})`;
      case 'smallangle': {
        // phi < phiMax: scale * phi^k0 * series(phi), Horner (in phi^2 when the series is even);
        // elsewhere the sum itself.
        const [y, x, scale, direct, phiMax, k0, ...coeffs] = e.args as [Expr, Expr, Expr, Expr, Expr, Expr, ...Expr[]];
        const phi = this.val(fnNode('angle', y, x));
        const cs = coeffs.map((c) => Q.toNumber((c as Expr & { k: 'num' }).v));
        const even = cs.every((c, j) => j % 2 === 0 || c === 0);
        const step = even ? this.tmp(`${phi} * ${phi}`) : phi;
        const used = even ? cs.filter((_, j) => j % 2 === 0) : cs;
        let horner = literal(used[used.length - 1]!);
        for (let j = used.length - 2; j >= 0; j--) horner = `${literal(used[j]!)} + ${step} * (${horner})`;
        // phi^k0 × series × scale in double-double, phi itself in double-double at small angles
        // (ddAngle): a rounded phi would err k0 times over in phi^k0.
        const k = Number((k0 as Expr & { k: 'num' }).v.n);
        // phi in double-double (phi^k0 amplifies a rounded phi's error k0 times): up to
        // tan(phi) = 1 as (y - ymxangle(y, x))/x, from there to 3 pi/4 as pi/2 - atan2(x, y) the
        // same way (ymxangle's series converges to tan 2; its few ulps are a fifth of the angle).
        const near0 = this.ddAngle('angle', y, x, 1);
        const complement = this.ddAngle('angle', x, y, 1);
        const yv = this.val(y), xv = this.val(x);
        const phiDD = this.select(`Math.abs(${yv}) < ${xv}`, near0, this.select(`Math.abs(${xv}) <= ${yv}`, this.ddOp('ddAdd', ['1.5707963267948966', '6.123233995736766e-17'], [`-${complement[0]}`, `-${complement[1]}`]), [phi, '0']));
        let acc = phiDD;
        for (let i = 1; i < k; i++) acc = this.ddOp('ddMulDD', acc, phiDD);
        acc = this.ddOp('ddMulDD', acc, [this.tmp(horner), '0']);
        acc = this.ddOp('ddMulDD', acc, [this.val(scale), '0']);
        return `${phi} < ${literal(Q.toNumber((phiMax as Expr & { k: 'num' }).v))} ? ${acc[0]} + ${acc[1]} : ${this.val(direct)}`;
      }
      case 'nearbound': return `gRaw <= 0.015625 * (pp + pl) ? ${this.val(e.args[0]!)} : ${this.val(e.args[1]!)}`; // gap ≤ var1*var2/64
      case 'dd': {
        const [h, l] = this.ddPoly(e.args[0]!);
        return `${h} + ${l}`;
      }
      case 'csum': {
        const sum = e.args[0]!;
        const terms = sum.k === 'add' ? sum.terms : [sum];
        let acc: [string, string] | undefined;
        for (const t of terms) {
          const v = this.ddTerm(t);
          acc = acc ? this.ddOp('ddAdd', acc, v) : v;
        }
        return `${acc![0]} + ${acc![1]}`;
      }
      case 'ddq': {
        const [h, l] = this.ddValue(e.args[0]!);
        return `${h} + ${l}`;
      }
      case 'expdd': {
        const [h, l] = this.ddPoly(e.args[0]!);
        return `Math.exp(${h}) * (1 + ${l})`;
      }
      case 'expdiff': {
        const [a, b, d] = e.args as [Expr, Expr, Expr];
        // exp of each exponent: exp(hi) * (1 + lo) for a dd polynomial, Math.exp otherwise.
        const exp = (x: Expr) => (x.k === 'fn' && x.name === 'dd' ? this.val({ k: 'fn', name: 'expdd', args: x.args, key: `expdd(${x.args[0]!.key})` } as Expr) : this.tmp(`Math.exp(${this.val(x)})`));
        const ea = exp(a);
        const eb = exp(b);
        const dv = this.val(d);
        return `${dv} >= 0 ? -${ea} * Math.expm1(-${dv}) : ${eb} * Math.expm1(${dv})`;
      }
      case 'xangle': {
        const [y, x] = e.args as [Expr, Expr];
        return `${this.val(x)} * ${this.val(fnNode('angle', y, x))}`; // x * angle = x * atan2: both 0 at x = 0
      }
      case 'ymxangle': {
        // The series only for small angles (rare); otherwise y - x * angle, the angle shared
        // with any other use of angle(y, x) (the derivative of arc-cosine maps is one).
        this.helpers.add('ymxangle');
        const [y, x] = e.args as [Expr, Expr];
        const a = this.val(fnNode('angle', y, x));
        const yv = this.val(y), xv = this.val(x);
        return `Math.abs(${yv}) < 2 * ${xv} ? ymxangleSmall(${yv}, ${xv}) : ${yv} - ${xv} * ${a}`; // (implies x > 0)
      }
      default: {
        const f = MATH[e.name];
        if (!f) throw new Error(`emit: no code for ${e.name}`);
        if (f === 'erf' || f === 'erfc' || f === 'angle' || f === 'atan2') this.helpers.add(f);
        if (f === 'angle') this.helpers.add('atan2');
        return `${f}(${e.args.map((a) => this.val(a)).join(', ')})`;
      }
    }
  }

  /** A product of constants, polynomials and their (half-)integer powers, in double-double. */
  private ddValue(e: Expr): [string, string] {
    this.helpers.add('dd');
    if (!hasSym(e)) {
      const [hi, lo] = e.k === 'num' ? splitRat(e.v) : [foldConstant(e), 0];
      if (e.k !== 'num' && Number.isFinite(hi)) return [literal(hi), literal(foldLow(e, hi))];
      return [literal(hi), literal(lo)];
    }
    if (e.k === 'add' || e.k === 'sym') return this.ddPoly(e);
    if (e.k === 'mul') {
      const consts = e.factors.filter((f) => !hasSym(f));
      const rest = e.factors.filter(hasSym);
      let acc: [string, string] | undefined = consts.length ? this.ddValue(consts.length === 1 ? consts[0]! : { k: 'mul', factors: consts, key: `*[${consts.map((c) => c.key).join(',')}]` }) : undefined;
      const dens: [string, string][] = [];
      for (const f of rest) {
        if (f.k === 'pow' && f.exp.k === 'num' && f.exp.v.n < 0n) {
          dens.push(this.ddValue({ k: 'pow', base: f.base, exp: { k: 'num', v: Q.neg(f.exp.v), key: '' }, key: `^[${f.base.key};#${Q.toString(Q.neg(f.exp.v))}]` } as Expr));
          continue;
        }
        const v = this.ddValue(f);
        acc = acc ? this.ddOp('ddMulDD', acc, v) : v;
      }
      let den: [string, string] | undefined;
      for (const d of dens) den = den ? this.ddOp('ddMulDD', den, d) : d;
      if (!acc) acc = ['1', '0'];
      return den ? this.ddOp('ddDiv', acc, den) : acc;
    }
    if (e.k === 'pow' && e.exp.k === 'num') {
      const r = e.exp.v;
      const b = this.ddValue(e.base);
      let acc: [string, string] | undefined;
      for (let i = 0n; i < r.n / r.d; i++) acc = acc ? this.ddOp('ddMulDD', acc, b) : b;
      if (r.d === 2n) {
        const s = this.ddSqrt(b);
        acc = acc ? this.ddOp('ddMulDD', acc, s) : s;
      }
      return acc ?? ['1', '0'];
    }
    throw new Error(`emit: not a double-double value: ${e.key}`);
  }

  /** A term of a compensated sum as double-double: ddq as is, constant × value exactly. */
  private ddTerm(t: Expr): [string, string] {
    this.helpers.add('dd');
    if (t.k === 'fn' && t.name === 'ddq') return this.ddValue(t.args[0]!);
    if (t.k === 'fn' && t.name === 'xangle') return this.ddXangle(t.args[0]!, t.args[1]!);
    if (t.k === 'fn' && (t.name === 'atan2' || t.name === 'angle')) return this.ddAngle(t.name, t.args[0]!, t.args[1]!);
    if (t.k === 'mul') {
      const consts = t.factors.filter((f) => !hasSym(f));
      const rest = t.factors.filter(hasSym);
      if (consts.length && rest.length) {
        const k = this.ddValue(consts.length === 1 ? consts[0]! : { k: 'mul', factors: consts, key: `*[${consts.map((c) => c.key).join(',')}]` });
        const r = rest[0]!;
        if (rest.length === 1 && r.k === 'fn' && r.name === 'xangle') return this.ddOp('ddMulDD', this.ddXangle(r.args[0]!, r.args[1]!), k);
        if (rest.length === 1 && r.k === 'fn' && (r.name === 'atan2' || r.name === 'angle')) return this.ddOp('ddMulDD', this.ddAngle(r.name, r.args[0]!, r.args[1]!), k);
        const v = this.val(rest.length === 1 ? r : { k: 'mul', factors: rest, key: `*[${rest.map((c) => c.key).join(',')}]` });
        return this.ddOp('ddMulDD', [v, '0'], k);
      }
    }
    return [this.val(t), '0'];
  }

  /**
   * At small angles (x > 0, |y| < x/2), x * atan2(y, x) = y - ymxangle(y, x) in double-double
   * (y too, where it is a root of a polynomial): what a rounded angle loses where a sum cancels
   * it (gelu at cov12 = -var), this keeps.
   */
  private smallAngle(y: Expr, x: Expr, name: 'angle' | 'atan2' = 'angle', ratio = 2): { small: string; xt: [string, string]; theta: string; xv: string } {
    const key = `small:${name}:${ratio}:${y.key};${x.key}`;
    const hit = this.smallAngles.get(key);
    if (hit) return hit; // nngp's x*angle and the derivative's angle share it in the fused loop
    this.helpers.add('ymxangle');
    const theta = this.val(fnNode(name, y, x));
    const yv = this.val(y);
    const xv = this.val(x);
    // Below tan(angle) = 1/2, ymxangle is under a sixth of x * angle, so its few ulps are
    // fewer than the half ulp of x * (rounded angle); above, the product is the better.
    const small = this.tmp(`${ratio === 1 ? '' : `${ratio} * `}Math.abs(${yv}) < ${xv}`);
    const ymx = this.tmp(`${small} ? -ymxangleSmall(${yv}, ${xv}) : 0`);
    const xt = this.ddOp('ddAdd', ddable(y) ? this.ddValue(y) : [yv, '0'], [ymx, '0']);
    const parts = { small, xt, theta, xv };
    this.smallAngles.set(key, parts);
    return parts;
  }

  private select(cond: string, a: [string, string], b: [string, string]): [string, string] {
    const h = this.fresh();
    this.lines.push(`const ${h} = ${cond} ? ${a[0]} : ${b[0]}, ${h}l = ${cond} ? ${a[1]} : ${b[1]};`);
    return [h, `${h}l`];
  }

  /** x * atan2(y, x) in double-double: see smallAngle; elsewhere x times the angle, exactly. */
  private ddXangle(y: Expr, x: Expr): [string, string] {
    const { small, xt, theta, xv } = this.smallAngle(y, x);
    return this.select(small, xt, this.twoProd(xv, theta));
  }

  /** atan2(y, x) or angle(y, x) in double-double: (x * angle) / x at small angles, the rounded angle elsewhere. */
  private ddAngle(name: 'angle' | 'atan2', y: Expr, x: Expr, ratio = 2): [string, string] {
    const { small, xt, theta, xv } = this.smallAngle(y, x, name, ratio);
    return this.select(small, this.ddOp('ddDiv', xt, [xv, '0']), [theta, '0']);
  }

  /** A fresh temporary name. */
  private fresh(): string {
    return `${this.prefix}${this.n++}`;
  }

  /** Error-free product a*b = p + lo, inlined (Dekker; JavaScript has no fma). */
  private twoProd(a: string, b: string): [string, string] {
    const p = this.fresh();
    this.lines.push(
      `const ${p} = ${a} * ${b};`,
      `const ${p}a = ${a} * 134217729, ${p}ah = ${p}a - (${p}a - ${a}), ${p}al = ${a} - ${p}ah;`,
      `const ${p}b = ${b} * 134217729, ${p}bh = ${p}b - (${p}b - ${b}), ${p}bl = ${b} - ${p}bh;`,
      `const ${p}l = ${this.guard(p, `((${p}ah * ${p}bh - ${p}) + ${p}ah * ${p}bl + ${p}al * ${p}bh) + ${p}al * ${p}bl`)};`,
    );
    return [p, `${p}l`];
  }

  /** Error-free sum a+b = s + lo, inlined (Knuth). */
  private twoSum(a: string, b: string): [string, string] {
    const s = this.fresh();
    this.lines.push(`const ${s} = ${a} + ${b};`, `const ${s}v = ${s} - ${a};`, `const ${s}l = ${this.guard(s, `(${a} - (${s} - ${s}v)) + (${b} - ${s}v)`)};`);
    return [s, `${s}l`];
  }

  /** Renormalises hi + e into a double-double. */
  private renorm(hi: string, e: string): [string, string] {
    const r = this.fresh();
    this.lines.push(`const ${r} = ${hi} + ${e};`, `const ${r}l = ${this.guard(r, `${e} - (${r} - ${hi})`)};`);
    return [r, `${r}l`];
  }

  /** Double-double operations, inlined as local constants (no shared state, no allocation). */
  private ddOp(op: 'ddMulDD' | 'ddAdd' | 'ddDiv', a: [string, string], b: [string, string], sameSign = false): [string, string] {
    this.helpers.add('dd');
    if (op === 'ddAdd') {
      const [s, sl] = this.twoSum(a[0], b[0]);
      const e = this.fresh();
      this.lines.push(`const ${e} = ${[sl, a[1], b[1]].filter((x) => x !== '0').join(' + ')};`);
      // A sum of two values of one sign cannot cancel: |e| stays a few ulps of s, as after a
      // product. Otherwise s may be far smaller than the terms, and e must be folded in.
      if (!sameSign) return this.renorm(s, e);
      if (!this.guarded) return [s, e];
      const el = this.fresh();
      this.lines.push(`const ${el} = ${this.guard(s, e)};`);
      return [s, el];
    }
    if (op === 'ddMulDD') {
      const [p, pl] = this.twoProd(a[0], b[0]);
      const cross = [b[1] === '0' ? '' : `${a[0]} * ${b[1]}`, a[1] === '0' ? '' : `${a[1]} * ${b[0]}`].filter(Boolean);
      if (!cross.length) return [p, pl];
      // Not renormalised: |e| is a few ulps of p, so p still carries the value for the next
      // product, quotient or root, and sums renormalise (they must: they can cancel).
      const e = this.fresh();
      this.lines.push(`const ${e} = ${this.guard(p, [pl, ...cross].join(' + '))};`);
      return [p, e];
    }
    const q = this.fresh();
    this.lines.push(`const ${q} = ${a[0]} / ${b[0]};`);
    const [p, pl] = this.twoProd(q, b[0]);
    const r = this.fresh();
    this.lines.push(`const ${r} = ${this.guard(q, `((${a[0]} - ${p}) - ${pl} + ${a[1]} - ${q} * ${b[1]}) / ${b[0]}`)};`);
    return [q, r]; // |r| is about an ulp of q: normal enough (see ddMulDD)
  }

  /** sqrt of a double-double, one Newton correction; 0 at 0, NaN below. */
  private ddSqrt(a: [string, string]): [string, string] {
    const s = this.fresh();
    this.lines.push(`const ${s} = Math.sqrt(${a[0]});`);
    const [p, pl] = this.twoProd(s, s);
    const e = this.fresh();
    this.lines.push(`const ${e} = ${this.guard(s, `${a[0]} > 0 ? ((${a[0]} - ${p}) - ${pl} + ${a[1]}) / (2 * ${s}) : 0`)};`);
    return [s, e]; // |e| is about an ulp of s (see ddMulDD)
  }

  /** A polynomial in double-double: exact products (two-product), compensated sums. Returns [hi, lo]. */
  private ddPoly(p: Expr): [string, string] {
    const hit = this.memo.get('dd:' + p.key);
    if (hit) return hit.split(',') as [string, string];
    this.helpers.add('dd');
    const acc = this.ddHorner((p.k === 'add' ? p.terms : [p]).map(monomial));
    this.memo.set('dd:' + p.key, acc.join(','));
    return acc;
  }

  /**
   * Sum of monomials, greedy multivariate Horner: the variable found in most terms is factored
   * out of them (c^2 g + c^2 v1 + c^2 -> c (c (g + v1 + 1))), which replaces a double-double
   * product per term by one for the group. Every operation stays in double-double, so the
   * value is the same to ~2^-100 relative; the rounded result to the last bit but for ties.
   */
  private ddHorner(terms: readonly (readonly [Rat, readonly string[]])[]): [string, string] {
    const counts = new Map<string, number>();
    for (const [, vars] of terms) for (const v of new Set(vars)) counts.set(v, (counts.get(v) ?? 0) + 1);
    let best: string | undefined;
    let most = 1;
    for (const [v, k] of counts) if (k > most) [best, most] = [v, k];
    const signs = new Set(terms.map(monomialSign));
    const sameSign = signs.size === 1 && !signs.has(0);
    if (best === undefined) {
      let acc: [string, string] | undefined;
      for (const t of terms) {
        const cur = this.ddMonomial(t);
        acc = acc ? this.ddOp('ddAdd', acc, cur, sameSign) : cur;
      }
      return acc!;
    }
    const v = best;
    const inner = terms.filter(([, vars]) => vars.includes(v)).map(([c, vars]) => [c, vars.filter((x, i) => i !== vars.indexOf(v))] as const);
    const rest = terms.filter(([, vars]) => !vars.includes(v));
    const factored = this.ddOp('ddMulDD', this.ddHorner(inner), [v, '0']);
    return rest.length ? this.ddOp('ddAdd', factored, this.ddHorner(rest), sameSign) : factored;
  }

  /** c * x * y * ... in double-double (a power-of-two c scales exactly). */
  private ddMonomial([c, vars]: readonly [Rat, readonly string[]]): [string, string] {
    let cur: [string, string] | undefined;
    for (const v of vars) cur = cur ? this.ddOp('ddMulDD', cur, [v, '0']) : [v, '0'];
    const [ch, cl] = splitRat(c);
    if (!cur) return [literal(ch), literal(cl)];
    if (cl === 0 && isPowerOfTwo(ch)) return [scaled(cur[0], ch), scaled(cur[1], ch)];
    return this.ddOp('ddMulDD', cur, [literal(ch), literal(cl)]);
  }
}

/** An error term, guarded (0 unless its high part is finite) or not (see Body). */
function guardText(guarded: boolean, hi: string, lo: string): string {
  return guarded ? `Math.abs(${hi}) < Infinity ? ${lo} : 0` : lo;
}

/** angle(y, x) or atan2(y, x) as a node, keyed as the IR keys it (so its value is shared). */
function fnNode(name: 'angle' | 'atan2', y: Expr, x: Expr): Expr {
  return { k: 'fn', name, args: [y, x], key: `${name}(${y.key},${x.key})` };
}

/** Can ddValue evaluate e: constants, polynomials, and their products and positive (half-)integer powers? */
function ddable(e: Expr): boolean {
  if (!hasSym(e)) return true;
  switch (e.k) {
    case 'sym': return true;
    case 'add': return e.terms.every((t) => { try { monomial(t); return true; } catch { return false; } });
    case 'mul': return e.factors.every((f) => (f.k === 'pow' && f.exp.k === 'num' && f.exp.v.n < 0n ? ddable({ ...f, exp: { k: 'num', v: Q.neg(f.exp.v), key: '' } } as Expr) : ddable(f)));
    case 'pow': return e.exp.k === 'num' && e.exp.v.n > 0n && (e.exp.v.d === 1n || e.exp.v.d === 2n) && ddable(e.base);
    default: return false;
  }
}

/** A rational as a double-double hi + lo (lo = 0 when hi overflows). */
function splitRat(v: Rat): [number, number] {
  const hi = Q.toNumber(v);
  return [hi, Number.isFinite(hi) ? Q.toNumber(Q.sub(v, Q.fromNumber(hi))) : 0];
}

/** The low part of a constant: its HP value minus the double hi. */
function foldLow(e: Expr, hi: number): number {
  const v = evaluateHP(e, { cov12: new HP(0), var1: new HP(0), var2: new HP(0) });
  return v.sub(new HP(hi)).toNumber();
}

function isPowerOfTwo(x: number): boolean {
  const a = Math.abs(x);
  return a !== 0 && Number.isFinite(a) && Math.pow(2, Math.round(Math.log2(a))) === a;
}
function scaled(v: string, k: number): string {
  if (v === '0') return '0';
  return k === 1 ? v : `${v} * ${literal(k)}`;
}

/**
 * The sign of a monomial where it is known for every input: var1, var2 (variances) and the
 * clamped gap are >= 0, cov12 and rho have either sign (known only in an even power); 0 when
 * unknown.
 */
function monomialSign([c, vars]: readonly [Rat, readonly string[]]): -1 | 0 | 1 {
  if (c.n === 0n) return 0;
  for (const v of new Set(vars)) {
    if (v === 'v1' || v === 'v2' || v === 'g') continue;
    if (vars.filter((x) => x === v).length % 2) return 0;
  }
  return c.n > 0n ? 1 : -1;
}

/** A monomial as coefficient and its variables (repeated by degree). */
function monomial(t: Expr): [Rat, string[]] {
  let c = Q.ONE;
  const vars: string[] = [];
  const fs = t.k === 'mul' ? t.factors : [t];
  for (const f of fs) {
    if (f.k === 'num') c = Q.mul(c, f.v);
    else if (f.k === 'sym') vars.push(SYM_NAMES[f.name]!);
    else if (f.k === 'pow' && f.base.k === 'sym' && f.exp.k === 'num') for (let i = 0n; i < f.exp.v.n; i++) vars.push(SYM_NAMES[f.base.name]!);
    else throw new Error(`emit: not a monomial: ${t.key}`);
  }
  return [c, vars];
}

function negatedTerm(t: Expr): Expr | undefined {
  if (t.k === 'num' && t.v.n < 0n) return { k: 'num', v: Q.neg(t.v), key: '#' + Q.toString(Q.neg(t.v)) };
  if (t.k === 'mul' && t.factors[0]!.k === 'num' && t.factors[0].v.n < 0n) {
    const c = Q.neg(t.factors[0].v);
    const rest = t.factors.slice(1);
    const factors = Q.isOne(c) ? rest : [{ k: 'num', v: c, key: '#' + Q.toString(c) } as Expr, ...rest];
    if (factors.length === 1) return factors[0];
    return { k: 'mul', factors, key: `*[${factors.map((f) => f.key).join(',')}]` };
  }
  return undefined;
}

function wrapProduct(s: string): string {
  return /^[\w.]+(\([^()]*\))?$/.test(s) ? s : `(${s})`;
}

// ---------------------------------------------------------------- module

/** Per-point prologue: project cov12 onto the Cauchy–Schwarz bound; derive gap and rho. */
function prologue(needs: { c: boolean; g: boolean; r: boolean }, ts: boolean, guarded = true): string[] {
  if (!needs.c && !needs.g && !needs.r) return [];
  const guard = (hi: string, lo: string) => guardText(guarded, hi, lo);
  const split = (x: string, v: string) => `const ${x}a = ${v} * 134217729, ${x}h = ${x}a - (${x}a - ${v}), ${x}l = ${v} - ${x}h;`;
  const lines = [
    // pp + pl = var1*var2 and cc + cl = cov12^2 exactly (Dekker's two-product).
    split('a', 'v1'), split('b', 'v2'), split('k', 'c0'),
    `const pp = v1 * v2, pl = ${guard('pp', '((ah * bh - pp) + ah * bl + al * bh) + al * bl')};`,
    `const cc = c0 * c0, cl = ${guard('cc', '((kh * kh - cc) + 2 * kh * kl) + kl * kl')};`,
    // gap = pp + pl - cc - cl, from Knuth's two-sum of the high parts.
    `const gs = pp - cc, gv = gs - pp, ge = ${guard('gs', '(pp - (gs - gv)) + (-cc - gv)')};`,
    'const gRaw = gs + (ge + (pl - cl));',
    // Outside the bound (rare): cov12 := ±sqrt(pp + pl).
    `const c${ts ? ': number' : ''} = gRaw < 0 ? (c0 < 0 ? -sqrtDD(pp, pl) : sqrtDD(pp, pl)) : c0;`,
  ];
  if (needs.g) lines.push('const g = gRaw > 0 ? gRaw : 0;');
  if (needs.r) lines.push('const sp = sqrtDD(pp, pl);', 'const r = sp > 0 ? Math.max(-1, Math.min(1, c / sp)) : 0;');
  return lines;
}

function needsOf(...es: Expr[]) {
  const any = (n: string) => es.some((e) => usesSym(e, n));
  return { c: any('cov12') || es.some((e) => e.key.includes('nearbound(')), g: any('gap'), r: any('rho') };
}

function fnBody(e: Expr, ts: boolean): { lines: string[]; result: string; helpers: Set<string> } {
  const b = new Body();
  const result = b.val(e);
  const needs = needsOf(e);
  if (needs.c || needs.g || needs.r) b.helpers.add('dd');
  return { lines: [...prologue(needs, ts), ...b.lines], result, helpers: b.helpers };
}

const GLOBALS = new Set(['Math', 'Infinity', 'NaN', 'number', 'const', 'sqrtDD', 'atan2', 'angle', 'ymxangleSmall', 'erf', 'erfc']);

/**
 * Splits straight-line code into what depends only on `seed` names (hoisted out of the inner
 * loop: per-row work such as the split of var1) and the rest, keeping order.
 */
export function hoist(lines: readonly string[], seed: readonly string[]): { outer: string[]; inner: string[] } {
  const invariant = new Set(seed);
  const outer: string[] = [];
  const inner: string[] = [];
  for (const line of lines) {
    const declared = [...line.matchAll(/(?:const|,)\s*([A-Za-z_]\w*)(?:\s*:\s*number)?\s*=(?!=)/g)].map((m) => m[1]!);
    const used = [...line.matchAll(/(?<![.\w])([A-Za-z_]\w*)/g)].map((m) => m[1]!).filter((n) => !GLOBALS.has(n) && !declared.includes(n));
    if (declared.length && used.every((n) => invariant.has(n))) {
      outer.push(line);
      for (const d of declared) invariant.add(d);
    } else inner.push(line);
  }
  return { outer, inner };
}

/** The module text. */
export function emitModule(input: EmitInput): string {
  const ts = input.target === 'ts';
  const n = ts ? ': number' : '';
  const f = fnBody(input.nngp, ts);
  const d = fnBody(input.dNngp, ts);
  // Fused body: one Body over both trees, so shared subexpressions are computed once.
  // Unguarded (see Body): one NaN test per entry instead of a select per error term; an entry
  // that fails it (an overflow somewhere, or NaN input) is redone by the guarded functions.
  const fused = new Body('t', false);
  const fusedN = fused.val(input.nngp);
  const fusedD = fused.val(input.dNngp);
  const fusedNeeds = needsOf(input.nngp, input.dNngp);
  const nOnly = new Body('t', false);
  const nOnlyV = nOnly.val(input.nngp);
  const nOnlyNeeds = needsOf(input.nngp);
  const helpers = new Set([...f.helpers, ...d.helpers, ...fused.helpers]);
  const fusedLoop = hoist([...prologue(fusedNeeds, ts, false), ...fused.lines], ['v1']);
  const nOnlyLoop = hoist([...prologue(nOnlyNeeds, ts, false), ...nOnly.lines], ['v1']);
  /** The expression that is NaN when an entry must be redone (undefined: never). */
  const check = (needs: { c: boolean; g: boolean; r: boolean }, b: Body) => {
    const xs = [...(needs.c || needs.g || needs.r ? ['gRaw'] : []), ...new Set(b.checks)];
    return xs.length ? xs.join(' + ') : undefined;
  };
  const store = (chk: string | undefined, fast: string[], slow: string[]) =>
    chk === undefined ? fast : [`const chk = ${chk};`, 'if (chk === chk) {', ...fast.map((l) => '  ' + l), '} else {', ...slow.map((l) => '  ' + l), '}'];
  const fusedStore = store(check(fusedNeeds, fused), [`outK[idx] = ${fusedN};`, `outT[idx] = T[idx]${ts ? '!' : ''} * ${fusedD};`], ['outK[idx] = nngp(c0, v1, v2);', `outT[idx] = T[idx]${ts ? '!' : ''} * dNngp(c0, v1, v2);`]);
  const nOnlyStore = store(check(nOnlyNeeds, nOnly), [`outK[idx] = ${nOnlyV};`], ['outK[idx] = nngp(c0, v1, v2);']);
  const ind = (lines: string[], k: number) => lines.map((l) => ' '.repeat(k) + l).join('\n');

  const out: string[] = [];
  out.push(`// Generated by nngpc ${VERSION} from ${commentText(input.sourceName)}. Do not edit: edit the source and regenerate.`);
  out.push(`//   nngp(cov12, var1, var2) = ${commentText(input.simplified)}`);
  out.push(`//   d nngp / d cov12        = ${commentText(input.derivative)}`);
  out.push('/* eslint-disable */');
  out.push('');
  if (ts) {
    out.push('export interface KernelInput { readonly nngp: Float64Array; readonly ntk?: Float64Array; readonly cov1: Float64Array; readonly cov2?: Float64Array }');
    out.push('export interface KernelOutput { nngp: Float64Array; ntk?: Float64Array; cov1: Float64Array; cov2?: Float64Array }');
    out.push('');
  }
  if (helpers.has('dd') || fusedNeeds.c) out.push(HELPERS_DD(ts), '');
  if (helpers.has('atan2')) out.push(HELPER_ATAN2(ts), '');
  if (helpers.has('angle')) out.push(HELPER_ANGLE(ts), '');
  if (helpers.has('ymxangle')) out.push(HELPER_YMXANGLE(ts), '');
  if (helpers.has('erf') || helpers.has('erfc')) out.push(HELPER_ERF(ts), '');

  out.push(`/** nngp_fn(cov12, var1, var2) = E[f(x1) f(x2)]. */`);
  out.push(`export function nngp(cov12${n}, var1${n}, var2${n})${n} {`);
  out.push('  const c0 = cov12, v1 = var1, v2 = var2;');
  out.push(ind([...f.lines, `return ${f.result};`], 2));
  out.push('}');
  out.push('');
  out.push(`/** d nngp_fn / d cov12 = E[f'(x1) f'(x2)]. */`);
  out.push(`export function dNngp(cov12${n}, var1${n}, var2${n})${n} {`);
  out.push('  const c0 = cov12, v1 = var1, v2 = var2;');
  out.push(ind([...d.lines, `return ${d.result};`], 2));
  out.push('}');
  out.push('');
  const inT = ts ? ': KernelInput' : '';
  const outT = ts ? ': KernelOutput' : '';
  out.push(`/**
 * The layer's kernel map (neural-tangents semantics): nngp'[i,j] = nngp_fn(nngp[i,j], cov1[i], cov2[j]),
 * ntk'[i,j] = ntk[i,j] * d_nngp_fn(...), cov1'[i] = nngp_fn(cov1[i], cov1[i], cov1[i]), cov2' likewise.
 * Inputs are not modified; new arrays are returned.
 */`);
  out.push(`export function kernel(input${inT})${outT} {`);
  out.push(`  if (input === null || typeof input !== 'object') throw new TypeError('kernel: expected { nngp, ntk?, cov1, cov2? }');
  const K = input.nngp, T = input.ntk, C1 = input.cov1, C2 = input.cov2 === undefined ? input.cov1 : input.cov2;
  for (const [name, a] of [['nngp', K], ['cov1', C1], ['cov2', C2], ['ntk', T]] as const) {
    if (a !== undefined && !(a instanceof Float64Array)) throw new TypeError('kernel: ' + name + ' must be a Float64Array');
  }
  const n1 = C1.length, n2 = C2.length;
  if (K.length !== n1 * n2) throw new RangeError('kernel: nngp has ' + K.length + ' entries, expected cov1.length * cov2.length = ' + n1 + ' * ' + n2 + ' = ' + n1 * n2);
  if (T !== undefined && T.length !== K.length) throw new RangeError('kernel: ntk has ' + T.length + ' entries, expected ' + K.length + ' (the size of nngp)');
  const outK = new Float64Array(K.length);
  if (T !== undefined) {
    const outT = new Float64Array(T.length);
    for (let i = 0; i < n1; i++) {
      const v1 = C1[i]${ts ? '!' : ''};
${ind(fusedLoop.outer, 6)}
      for (let j = 0; j < n2; j++) {
        const v2 = C2[j]${ts ? '!' : ''}, idx = i * n2 + j, c0 = K[idx]${ts ? '!' : ''};
${ind([...fusedLoop.inner, ...fusedStore], 8)}
      }
    }
    return finish(input, outK, outT);
  }
  for (let i = 0; i < n1; i++) {
    const v1 = C1[i]${ts ? '!' : ''};
${ind(nOnlyLoop.outer, 4)}
    for (let j = 0; j < n2; j++) {
      const v2 = C2[j]${ts ? '!' : ''}, idx = i * n2 + j, c0 = K[idx]${ts ? '!' : ''};
${ind([...nOnlyLoop.inner, ...nOnlyStore], 6)}
    }
  }
  return finish(input, outK, undefined);
}

function finish(input${inT}, outK${ts ? ': Float64Array' : ''}, outT${ts ? ': Float64Array | undefined' : ''})${outT} {
  const C1 = input.cov1;
  const outC1 = new Float64Array(C1.length);
  for (let i = 0; i < C1.length; i++) outC1[i] = nngp(C1[i]${ts ? '!' : ''}, C1[i]${ts ? '!' : ''}, C1[i]${ts ? '!' : ''});
  const result${outT} = { nngp: outK, cov1: outC1 };
  if (outT !== undefined) result.ntk = outT;
  if (input.cov2 !== undefined) {
    const C2 = input.cov2;
    const outC2 = new Float64Array(C2.length);
    for (let i = 0; i < C2.length; i++) outC2[i] = nngp(C2[i]${ts ? '!' : ''}, C2[i]${ts ? '!' : ''}, C2[i]${ts ? '!' : ''});
    result.cov2 = outC2;
  }
  return result;
}`);
  let text = out.join('\n') + '\n';
  if (!ts) text = text.replace(/ as const\)/g, ')');
  return text;
}
