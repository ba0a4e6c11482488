// The values of evaluation trees as straight-line statements, sharing common subexpressions:
// each node becomes a named constant (or a literal, for constants folded in 50 digits), and the
// stable primitives of types.ts become their double-double or series evaluations (ddasm.ts).
import { dependsOnInputs, ratioWithinOneOnHalf, signOf, vanishesAtBound } from '../domain.js';
import { foldConstant } from '../evaluate.js';
import { anglesWithin, provenOnHalf } from '../finite.js';
import * as E from '../expr.js';
import * as Q from '../rational.js';
import type { Rat, Tree, TreeFn } from '../types.js';
import { type Code, ONE, ZERO, join, js, lit, literal, ref } from './code.js';
import { EXP_CONSTANTS } from '../runtime.js';
import type { Pair } from './ddasm.js';
import { DoubleDoubleValues, SMALL_ANGLE, SYM_NAMES, angleNode, power } from './ddvalues.js';
import * as T from '../tree.js';

export { SYM_NAMES } from './ddvalues.js';

const MATH: Record<string, string> = {
  log: 'Math.log',
  log1p: 'Math.log1p',
  expm1: 'Math.expm1',
  sin: 'Math.sin',
  cos: 'Math.cos',
  tan: 'Math.tan',
  asin: 'Math.asin',
  acos: 'Math.acos',
  atan: 'Math.atan',
  atan2: 'atan2',
  sinh: 'Math.sinh',
  cosh: 'Math.cosh',
  tanh: 'Math.tanh',
  abs: 'Math.abs',
  sign: 'Math.sign',
  min: 'Math.min',
  max: 'Math.max',
  erf: 'erf',
  erfc: 'erfc',
  angle: 'angle',
};
/**
 * Nodes evaluated in double-double (and the small-angle series, whose theta^k0 is), whose values
 * the unguarded fused loop checks: a NaN from an overflow there sends the entry to the guarded
 * scalar functions.
 */
const DD_NODES = new Set(['dd', 'csum', 'ddq', 'expdd', 'smallangle']);
/** Calls that cost about an arithmetic operation (the rest call a transcendental, a root or a helper). */
const CHEAP_CALLS = new Set([
  'abs',
  'sign',
  'min',
  'max',
  'clip',
  'where',
  'lt',
  'le',
  'gt',
  'ge',
  'eq',
  'ne',
  'plainsum',
  'argbound',
]);
const CMP: Record<string, string> = { lt: '<', le: '<=', gt: '>', ge: '>=', eq: '===', ne: '!==' };

/** A literal or a name needs no parentheses after a minus sign or a division. */
const plain = (c: Code) => /^[\w.]+$/.test(c.text);
const wrap = (c: Code) => (/^[\w.]+(\([^()]*\))?$/.test(c.text) ? c : js`(${c})`);

/**
 * How a block has sqrt(var1·var2), the root of the product of the variances (a product's
 * var1^(1/2)·var2^(1/2), or both to the power -1/2): Math.sqrt of var1·var2 rounded once, about
 * an ulp, where sqrt(var1)·sqrt(var2) rounds three times (0.55 → 0.24 bits on exp_normalized's
 * diagonal, as neural-tangents' own sqrt(var1 * var2)); the two roots' product where the product
 * is not a normal double (it overflows past 1e308 or loses bits below 1e-290) or the variances are
 * negative (NaN, as the source's roots are).
 */
export interface ProductRoot {
  /** var1·var2 rounded once, where the block has it by name (ipp, pp); else the block computes it. */
  readonly product?: Code;
  /** The emitted test that a product of the variances is a normal double; true where the block's own test implies it. */
  readonly normal: ((product: Code) => Code) | true;
}

/** How a block's values are spelled (ValueCode). */
export interface ValueOptions {
  /**
   * Code for a plain-double regime (interior.ts), which may spell a value differently from the
   * stable code as long as it measures as accurate (an angle by pi/2 - atan(x/y), below).
   */
  readonly plainRegime?: boolean;
  /** The code runs only where cov12² ≤ var1·var2/2 (the interior regime's half domain). */
  readonly halfDomain?: boolean;
  /**
   * In a kernel's loop: an angle whose |x| ≤ y is proven for variances in [0, 2^k] (finite.ts
   * anglesWithin) tests the call's flag `anglesUpTo<k>` first (the loop's `angleBoxes`).
   */
  readonly inLoop?: boolean;
  /**
   * The code runs beyond the half domain, where |rho| > 0.71 (the near regime): there an angle
   * whose y vanishes at the bound (domain.ts vanishesAtBound), beyond its split's test, reads
   * the small-angle tail it shares with y - x·angle (the stable code's spelling) where the tail
   * holds (x > 0, (y/x)² ≤ 1/4: rho below about -0.89 for relu's angle), atan2 elsewhere.
   */
  readonly nearBound?: boolean;
  /** sqrt(var1·var2) as the block has it (ProductRoot); without it, the two roots' product. */
  readonly productRoot?: ProductRoot;
  /**
   * The stable code of a module whose regime runs to the bound, which then runs only on the
   * diagonal, outside the bound, at products that are not normal doubles and at entries whose
   * certificates or finiteness tests fail: (q/pi)·angle(y, x) as q/2 - (q/pi)·atan(x/y) where
   * |x| ≤ y, as the plain regimes spell it (splitAngle), the stable spelling elsewhere; both are
   * computed there, so not where the stable code runs on typical entries.
   */
  readonly splitsAngles?: boolean;
}

/** Straight-line code computing the values of evaluation trees. */ export class ValueCode extends DoubleDoubleValues {
  private readonly memo = new Map<string, Code>();
  /** A sum printed with its angle split, by its key: the magnitude that certifies it (sumWithSplitAngle). */
  private readonly splitMagnitudes = new Map<string, Code>();
  /** Conditions under which plain-double values are accurate (from `plainsum` and `argbound`). */
  readonly certificates: Code[] = [];
  /** The key of the plainsum or argbound node each certificate checks (the same index). */
  readonly certificateKeys: string[] = [];
  /** Whether some certificate is folded into its value (NaN where it fails: argbound with a floor). */
  folded = false;
  /** The texts of the certificates read against the gap's magnitude (finite.ts certainWithin proves them per call). */
  readonly gapCertificates = new Set<string>();
  /** The texts of the certificates that hold on the whole half domain (finite.ts provenOnHalf). */
  readonly halfCertificates = new Set<string>();
  /** Whether the stable code split an angle (ValueOptions.splitsAngles): both spellings computed. */
  splitsStableAngle = false;

  /** ValueOptions. */
  private readonly plainRegime: boolean;
  private readonly halfDomain: boolean;
  private readonly inLoop: boolean;
  private readonly nearBound: boolean;
  private readonly productRoot: ProductRoot | undefined;
  private readonly splitsAngles: boolean;

  constructor(prefix = 't', guarded = true, options: ValueOptions = {}) {
    super(prefix, guarded);
    this.plainRegime = options.plainRegime ?? false;
    this.halfDomain = options.halfDomain ?? false;
    this.inLoop = options.inLoop ?? false;
    this.nearBound = options.nearBound ?? false;
    this.productRoot = options.productRoot;
    this.splitsAngles = options.splitsAngles ?? false;
  }

  /** sqrt(var1·var2), once per block (ProductRoot). */
  private rootOfProduct(r: ProductRoot): Code {
    const key = '#sqrt(var1*var2)';
    const hit = this.memo.get(key);
    if (hit) return hit;
    const [v1, v2] = [ref(SYM_NAMES.var1!), ref(SYM_NAMES.var2!)];
    const product = r.product ?? this.tmp(js`${v1} * ${v2}`);
    // var1 > 0 and a normal (positive) product: var2 > 0 too.
    const valid = r.normal === true ? js`${v1} > 0` : js`${v1} > 0 && ${r.normal(product)}`;
    const v = this.tmp(js`${valid} ? Math.sqrt(${product}) : Math.sqrt(${v1}) * Math.sqrt(${v2})`);
    this.memo.set(key, v);
    return v;
  }

  /** Whether an angle with this y reads the small-angle tail beyond its test (nearBound above). */
  private readsTail(y: Tree): boolean {
    return this.nearBound && vanishesAtBound(y);
  }

  /**
   * angle(y, x) where the split's test failed: in the near regime the small-angle tail where it
   * holds (q - q·s·p, q = y/x, shared with ymxangle's series), else `call`.
   */
  private angleBeyondTest(y: Tree, x: Tree, call: Code): Code {
    if (!this.readsTail(y)) return call;
    const { q, s, small, p } = this.angleTail(y, x);
    return js`(${small} ? ${q} - ${q} * ${s} * ${p} : ${call})`;
  }

  /**
   * atan2(y, x) for x ≥ 0 vanishing at the bound (a square root of what does: abs's and ab_relu's
   * atan2(cov12, sqrt(gap))), in the stable code and the near regime: ±pi/2 - atan(x/y) by the far
   * tail where (x/y)² ≤ 1/4 (ddvalues.ts farTail; the angle within atan(1/2) of ±pi/2, no
   * cancellation: pi/2 in two parts), else `call`. Elsewhere, and in the interior, `call`.
   */
  private farBeyondTest(y: Tree, x: Tree, call: Code): Code {
    const far = (!this.plainRegime || this.nearBound) && signOf(T.canonicalOf(x)) === '+' && vanishesAtBound(x);
    if (!far) return call;
    const { q, s, small, p } = this.farTail(y, x);
    // pi/2 - atan|q| with u = -|q| as fdlibm's atan forms it (hi - ((u·s·P - lo) - u)): one
    // rounding of the result (hi - a + lo rounds twice: 0.28 ulps mean against the 50-digit
    // angle where this form and Math.atan2 measure 0.22).
    const u = this.tmp(js`-Math.abs(${q})`);
    const m = this.tmp(js`${HALF_PI_HI} - ((${u} * (${s} * ${p}) - ${HALF_PI_LO}) - ${u})`);
    return js`(${small} ? (${this.val(y)} > 0 ? ${m} : -${m}) : ${call})`;
  }

  /** The k of the `anglesUpTo<k>` flags this code reads (emit/module.ts defines them per call). */
  readonly angleBoxes = new Set<number>();

  /** An angle's test, after the call's proof of it where a loop has one. */
  private angleTest(y: Tree, x: Tree, test: Code): Code {
    const k = this.inLoop ? anglesWithin([[y, x]]) : undefined;
    if (k === undefined) return test;
    this.angleBoxes.add(k);
    return js`anglesUpTo${String(k)} || ${test}`;
  }

  /** Whether |x| ≤ y holds wherever this code runs (domain.ts ratioWithinOneOnHalf), so an angle's split needs no test. */
  private withinOne(y: Tree, x: Tree): boolean {
    return this.halfDomain && ratioWithinOneOnHalf(y, x);
  }

  /** The value of e: a name or a literal. */
  val(e: Tree): Code {
    const hit = this.memo.get(e.key);
    if (hit) return hit;
    const v = this.compute(e);
    this.memo.set(e.key, v);
    return v;
  }

  private compute(e: Tree): Code {
    if (!dependsOnInputs(e)) return lit(literal(e.k === 'num' ? Q.toNumber(e.v) : foldConstant(e)));
    switch (e.k) {
      case 'num':
        return lit(literal(Q.toNumber(e.v)));
      case 'sym':
        return ref(SYM_NAMES[e.name]!);
      case 'add': {
        const split = this.plainRegime ? this.sumWithSplitAngle(e.terms) : undefined;
        if (split) {
          const v = this.tmp(split.sum);
          if (split.magnitude) this.splitMagnitudes.set(e.key, split.magnitude);
          return v;
        }
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
      case 'mul':
        return this.tmp(
          this.product(e.factors),
          e.factors.some((f) => f.k === 'pow' && f.exp.k === 'num' && f.exp.v.n < 0n),
        );
      case 'pow':
        return this.tmp(this.power(e), !(e.exp.k === 'num' && e.exp.v.d === 1n && e.exp.v.n >= 1n && e.exp.v.n <= 4n));
      case 'fn': {
        const value = this.call(e);
        // A call whose value is another name (a certified sum, plainsum or argbound, is its sum):
        // that name, not a copy of it, so that what reads it is shared with what reads the sum
        // (gabor's exponents, each certified once for nngp and read again by its derivative).
        if (isName(value) && !DD_NODES.has(e.name)) return value;
        const v = this.tmp(value, !CHEAP_CALLS.has(e.name));
        if (DD_NODES.has(e.name)) this.checks.push(v);
        return v;
      }
    }
  }

  private product(factors: readonly Tree[]): Code {
    const num: Code[] = [];
    const den: Code[] = [];
    // Constant factors (rationals, powers of pi, ...) folded into one literal, rounded once.
    const consts = factors.filter((f) => !dependsOnInputs(f));
    const split = this.plainRegime
      ? this.splitAngle(factors)
      : this.splitsAngles
        ? this.splitStableAngle(factors)
        : undefined;
    if (split) return split;
    if (consts.length) {
      const k = consts.length === 1 && consts[0]!.k === 'num' ? Q.toNumber(consts[0]!.v) : foldConstant(T.mul(consts));
      if (k !== 1) num.push(lit(literal(k)));
      factors = factors.filter(dependsOnInputs);
    }
    // var1^q·var2^q, q = ±1/2: one root of the product (ProductRoot).
    const pair = this.productRoot ? rootPair(factors) : undefined;
    if (pair) {
      (pair.q < 0 ? den : num).push(this.rootOfProduct(this.productRoot!));
      factors = factors.filter((f) => !pair.factors.includes(f));
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

  /**
   * In a plain regime, (q/pi) * angle(y, x) and (q/pi) * x * angle(y, x) (xangle) with y >= 0 and
   * |x| <= y, as q/2 - (q/pi) atan(x/y) and (q/2) x - (q/pi) x atan(x/y): the angle's pi/2 times
   * q/pi is q/2, a power of two (or no split), so exact, and the rest is at most half of it,
   * so the term rounds about once where the constant times the rounded angle rounds three
   * times; this is neural-tangents' own spelling of gelu, c/4 + c atan2(c, D)/(2 pi). (q/pi)(y -
   * x angle) (ymxangle, the arc-cosine maps) is not split, but reads its angle from the same
   * atan(x/y). Beyond those conditions, the value as the stable code spells it.
   */
  private splitAngle(factors: readonly Tree[]): Code | undefined {
    const term = angleTerm(factors);
    const parts = term && this.angleParts(term);
    if (!parts) return undefined;
    const split = parts.exact === ZERO ? parts.rest : js`${parts.exact} + ${parts.rest}`;
    return parts.inside ? js`${parts.inside} ? ${split} : ${parts.whole}` : split;
  }

  /**
   * In the stable code (ValueOptions.splitsAngles): (q/pi)·angle(y, x) as q/2 - (q/pi)·atan(x/y)
   * where |x/y| ≤ 1, the product as the stable code spells it (its small-angle series at the
   * bound) elsewhere. sigmoid_like's nngp, angle/(2 pi) ≈ 1/4 on the diagonal: 0.52 → 0.19 bits
   * mean there, 0.56 → 0.17 outside the bound (neural-tangents' asin form: 0.30, 0.70).
   */
  private splitStableAngle(factors: readonly Tree[]): Code | undefined {
    const term = angleTerm(factors);
    if (!term || term.angle.name !== 'angle') return undefined;
    this.splitsStableAngle = true;
    const [y, x] = term.angle.args as [Tree, Tree];
    const ratio = ratioOf(y, x);
    const r = this.val(ratio);
    const t = this.val(T.fn('atan', [ratio]));
    const whole = js`${literal(term.k)} * ${this.val(term.angle)}`;
    const h = literal(Q.toNumber(Q.div(term.q, Q.rat(2))));
    // x/y is NaN at (0, 0) and infinite at y = 0: the test fails there, and the angle is the stable one.
    return js`Math.abs(${r}) <= 1 ? ${h} + ${literal(-term.k)} * ${t} : ${whole}`;
  }

  /**
   * A sum with such a term: the other terms and the term's rest first, its exact part last (the
   * largest part of the sum, rounded once at the end, as neural-tangents' gelu adds its c/4).
   */
  private sumWithSplitAngle(terms: readonly Tree[]): { sum: Code; magnitude?: Code } | undefined {
    // A constant term absorbs an angle's q/2 that is not a power of two: c0 + (q/pi)·angle as
    // fl(c0 + q/2) - (q/pi)·atan(x/y), the constant rounded once (leaky_relu's derivative,
    // 1/100 + (9801/20000)/pi·angle: the angle rounds once where pi/2 - atan rounded it twice).
    const k0 = terms.findIndex((t) => t.k === 'num');
    const split = terms.map((t) => (t.k === 'mul' ? angleTerm(t.factors, k0 >= 0) : undefined));
    const i = split.findIndex(
      (s) =>
        s &&
        s.angle.name !== 'ymxangle' &&
        (isPowerOfTwo(Q.div(s.q, Q.rat(2))) || (s.angle.name === 'angle' && k0 >= 0)),
    );
    if (i < 0) return undefined;
    const term = split[i]!;
    // With q/2 a power of two, the constant absorbs it too where their sum is a double (exact,
    // one rounding fewer: leaky_relu's derivative at alpha = 0.5, 1/2 + 1/16 as 0.5625).
    const c0 = k0 >= 0 ? (terms[k0] as Tree & { k: 'num' }).v : undefined;
    const exactFold = !!c0 && term.angle.name === 'angle' && isDouble(Q.add(c0, Q.div(term.q, Q.rat(2))));
    const folds = !isPowerOfTwo(Q.div(term.q, Q.rat(2))) || exactFold;
    const parts = this.angleParts(term);
    const others = terms.filter((_, j) => j !== i);
    const o = this.val(others.length === 1 ? others[0]! : T.add(others));
    const rest = folds ? others.filter((_, j) => j !== (k0 < i ? k0 : k0 - 1)) : others;
    const exact = folds ? lit(literal(Q.toNumber(Q.add(c0!, Q.div(term.q, Q.rat(2)))))) : parts.exact;
    const r = rest.length ? this.val(rest.length === 1 ? rest[0]! : T.add(rest)) : undefined;
    const spelled = r ? js`(${r} + ${parts.rest}) + ${exact}` : js`${parts.rest} + ${exact}`;
    const sum = parts.inside ? js`${parts.inside} ? ${spelled} : ${o} + ${parts.whole}` : spelled;
    // Where the exact part is exact (a power of two, or one times an input), it adds no error
    // but its final rounding: a certificate of this sum bounds the cancellation of the others
    // and the rest (their errors, and their partial sum's rounding), |others| + |rest|, not
    // |others| + |the angle term| (gelu's nngp near its zero: the rest is small there, the
    // angle term as large as the others). Where the split does not hold, the whole term's. A
    // folded constant rounds like any term: it counts.
    const [, x] = term.angle.args as [Tree, Tree];
    const exactPart = term.angle.name === 'angle' || isExactTerm(x);
    if (!exactPart) return { sum };
    const abs = (v: Code) => js`Math.abs(${v})`;
    const magnitudeOf = (ts: readonly Tree[]) => ts.map((t) => abs(this.val(t)));
    const othersMagnitude = join(magnitudeOf(others), ' + ');
    const splitMagnitude = join(
      [...magnitudeOf(rest), abs(parts.rest), ...(folds && !exactFold ? [abs(exact)] : [])],
      ' + ',
    );
    return {
      sum,
      magnitude: parts.inside
        ? js`${parts.inside} ? ${splitMagnitude} : ${othersMagnitude} + ${abs(parts.whole)}`
        : splitMagnitude,
    };
  }

  /**
   * The parts of (q/pi) [x] angle(y, x): the test where the split holds (|x/y| <= 1), q/2 [x],
   * -(q/pi) [x] atan(x/y), and the term as the stable code spells it (the helper angle, pi/2 at
   * (0, 0); the series where the angle is small), computed only where the test fails. One test,
   * |x/y| <= 1, for every kind: it holds at every interior entry, so the other branch is never
   * taken there and V8 leaves its calls out of the loop (a ymxangle test that also sent
   * 1/2 < x/y <= 1 to the series, as the stable code does, made relu's loop 16.5 → 23 ns). The
   * price: y - x angle at 1/2 < x/y <= 1 (rho between -0.71 and -0.45) loses up to 10 ulps (relu)
   * and 15 (leaky_relu) against the series (a dense scan; 8 and 12 before), group means unchanged.
   */
  private angleParts({ k: kq, q, angle: a }: AngleTerm): {
    inside: Code | undefined;
    exact: Code;
    rest: Code;
    whole: Code;
  } {
    const [y, x] = a.args as [Tree, Tree];
    const ratio = ratioOf(y, x);
    const r = this.val(ratio);
    const t = this.val(T.fn('atan', [ratio]));
    const yv = this.val(y);
    const xv = this.val(x);
    const k = literal(kq);
    const minusK = literal(-kq);
    const h = literal(Q.toNumber(Q.div(q, Q.rat(2))));
    this.helpers.add('atan2');
    // No test where the domain proves |x| ≤ y (withinOne): relu's loop measured 15.4 → 14.3 ns without it.
    const inside = this.withinOne(y, x) ? undefined : this.angleTest(y, x, js`Math.abs(${r}) <= 1`);
    if (a.name === 'angle') {
      this.helpers.add('angle');
      const whole = js`${k} * ${this.angleBeyondTest(y, x, js`angle(${yv}, ${xv})`)}`;
      return { inside, exact: lit(h), rest: js`${minusK} * ${t}`, whole };
    }
    if (a.name === 'xangle')
      return {
        inside,
        exact: js`${h} * ${xv}`,
        rest: js`${minusK} * ${xv} * ${t}`,
        // x * angle: 0 at x = 0 either way
        whole: js`${k} * ${xv} * ${this.angleBeyondTest(y, x, js`atan2(${yv}, ${xv})`)}`,
      };
    // (q/pi)(y - x angle): not split (its difference cancels where cov12 < 0, and a rounded
    // (q/pi)(y + x atan(x/y)) before it measured less accurate than y - x angle after it).
    this.helpers.add('ymxangle');
    // In the near regime, the series shared with the angle's tail (ddvalues.ts ymxangleSeries).
    const series = this.readsTail(y) ? this.ymxangleSeries(y, x) : undefined;
    return {
      inside,
      exact: ZERO,
      rest: js`${k} * (${yv} - ${xv} * (${HALF_PI_HI} - ${t} + ${HALF_PI_LO}))`,
      whole: series
        ? js`${k} * (${series.wide} ? ${series.value} : ${yv} - ${xv} * atan2(${yv}, ${xv}))` // not wide: the tail never holds
        : js`${k} * (${SMALL_ANGLE(yv, xv)} ? ymxangleSmall(${yv}, ${xv}) : ${yv} - ${xv} * atan2(${yv}, ${xv}))`,
    };
  }

  private power(e: Tree & { k: 'pow' }): Code {
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

  private call(e: TreeFn): Code {
    const arg = (i: number) => this.val(e.args[i]!);
    switch (e.name) {
      case 'where': {
        const c = e.args[0]!;
        const cond =
          c.k === 'fn' && CMP[c.name]
            ? js`${this.val(c.args[0]!)} ${CMP[c.name]!} ${this.val(c.args[1]!)}`
            : js`${this.val(c)} !== 0`;
        return js`${cond} ? ${arg(1)} : ${arg(2)}`;
      }
      case 'lt':
      case 'le':
      case 'gt':
      case 'ge':
      case 'eq':
      case 'ne':
        return js`${arg(0)} ${CMP[e.name]!} ${arg(1)} ? 1 : 0`;
      case 'clip':
        return js`Math.min(Math.max(${arg(0)}, ${arg(1)}), ${arg(2)})`;
      case 'smallangle':
        return this.smallAngleSeries(e);
      case 'plainsum':
      case 'argbound': {
        // The sum as written, and its certificate: plainsum, no more than log2(1/bound) bits lost
        // to cancellation; argbound (an exponent), its terms' magnitudes at most the bound.
        const given = e.name === 'plainsum' ? e.args[2] : undefined;
        // One term that is exact (an input, a power of two times one, a double constant) adds no
        // error of its own: added last, after the others (whose partial sums the magnitude of
        // the others bounds), it is left out of the magnitude (ab_relu's derivative, 1/16 +
        // F·atan(cov12/√gap), certified against |F·atan| alone: half its entries near its zero
        // fall back).
        const lastExact = e.name === 'plainsum' && !given ? exactTermLast(e.args[0]!) : undefined;
        const sum = this.val(lastExact ? lastExact.sum : e.args[0]!);
        // Bound 0: proven on the whole domain (interior.ts CERTIFICATE_RULE), the sum alone.
        if (e.name === 'plainsum' && isZeroNum(e.args[1]!)) return sum;
        const bound = this.val(e.args[1]!);
        const terms = lastExact ? lastExact.inexact : e.args[0]!.k === 'add' ? e.args[0]!.terms : [e.args[0]!];
        // A plainsum's own magnitude (interior.ts gapMagnitudeOf), that of a sum printed with its
        // angle split, or its terms' absolute values.
        const splitMagnitude = e.name === 'plainsum' && !given ? this.splitMagnitudes.get(e.args[0]!.key) : undefined;
        const magnitude = given
          ? this.val(given)
          : splitMagnitude
            ? this.tmp(splitMagnitude)
            : this.tmp(
                join(
                  terms.map((t) => js`Math.abs(${this.val(t)})`),
                  ' + ',
                ),
              );
        // With a floor (a per-row or per-column exponent, separate.ts: its terms' magnitudes at
        // least that), the certificate is the value itself: NaN where it fails, which makes
        // the exponential and the product NaN, so the entry takes the stable code; tested once
        // per row or column where the loop hoists it, not per entry.
        const floor = e.name === 'argbound' ? e.args[2] : undefined;
        if (floor) {
          this.folded = true;
          const atLeast = floor.k === 'num' && Q.isZero(floor.v) ? lit('') : js` && ${magnitude} >= ${this.val(floor)}`;
          return js`${magnitude} <= ${bound}${atLeast} ? ${sum} : NaN`;
        }
        const certificate =
          e.name === 'plainsum' ? js`Math.abs(${sum}) >= ${bound} * ${magnitude}` : js`${magnitude} <= ${bound}`;
        this.certificates.push(certificate);
        this.certificateKeys.push(e.key);
        if (given) this.gapCertificates.add(certificate.text);
        // Proven on the half domain: in a half-domain block, skipped within `safe`; in one that reaches
        // the bound, skipped by its half-domain copy (emit/module.ts halfCopy).
        if (this.plainRegime && !this.nearBound && provenOnHalf(e)) this.halfCertificates.add(certificate.text);
        return sum;
      }
      case 'nearbound':
        return js`${ref('gRaw')} <= 0.015625 * (${ref('pp')} + ${ref('pl')}) ? ${arg(0)} : ${arg(1)}`; // gap ≤ var1*var2/64
      case 'dd': {
        const [h, l] = this.polynomial(e.args[0]!);
        return js`${h} + ${l}`;
      }
      case 'csum': {
        const sum = e.args[0]!;
        let acc: Pair | undefined;
        for (const t of sum.k === 'add' ? sum.terms : [sum]) {
          const v = this.ddTerm(t);
          acc = acc ? this.ddAdd(acc, v) : v;
        }
        return js`${acc![0]} + ${acc![1]}`;
      }
      case 'ddq': {
        const [h, l] = this.ddValue(e.args[0]!);
        return js`${h} + ${l}`;
      }
      case 'expdd': {
        const [h, l] = this.polynomial(e.args[0]!);
        // |l| ≤ ulp(h)/2 is tiny wherever exp(h) is finite and nonzero; beyond (h ≥ 2^53, where l
        // can be -ulp(h)), 1 + l would flip the sign of the infinity: at least 1/2, the same there.
        return js`${this.expOf(h)} * Math.max(1 + ${l}, 0.5)`;
      }
      case 'expdiff': {
        const [a, b, d] = e.args as [Tree, Tree, Tree];
        // exp of each exponent: exp(hi) * (1 + lo) for a dd polynomial, expOf otherwise.
        // Through val(), so that an exp shared with another term (the derivative's) is computed once.
        const exp = (x: Tree) => this.val(x.k === 'fn' && x.name === 'dd' ? T.fn('expdd', x.args) : T.fn('exp', [x]));
        const ea = exp(a);
        const eb = exp(b);
        const dv = this.val(d);
        // Beyond |d| = ln 4 the plain difference does not cancel (e^-|d| ≤ 1/4: the exponentials'
        // errors grow by at most (1 + 1/4)/(1 - 1/4) = 5/3) and costs nothing more: where cos and
        // sin maps' anti-correlated entries are (|d| = 2|cov12| ≈ 2), 72 -> 42 ns per entry
        // (paired, n = 1024). Within, e^a·(e^-d - 1) for either sign of d (no branch on it, which
        // realistic entries flip: the larger exponential as the factor, as the stable code took it
        // with Math.expm1, ran cos 15-20% slower), e^-d - 1 by the module's tables (runtime.ts
        // HELPER_EXPM1). Both exponentials infinite (the difference NaN): the infinity of the
        // larger, as the product form gave (found by review). At d = ±0 the value is -0 where the
        // product form's zero took the sign of d.
        this.helpers.add('exp');
        this.helpers.add('expm1');
        const far = js`${dv} >= ${LN4} || ${dv} <= -${LN4}`;
        const plainDifference = js`${ea} === ${eb} ? ${ea} * ${dv} : ${ea} - ${eb}`;
        return js`${far} ? (${plainDifference}) : -${ea} * expm1Table(-${dv})`;
      }
      case 'xangle': {
        const [y, x] = e.args as [Tree, Tree];
        return js`${this.val(x)} * ${this.val(angleNode('angle', y, x))}`; // x * angle = x * atan2: both 0 at x = 0
      }
      case 'ymxangle': {
        // The series only for small angles (rare); otherwise y - x * angle, the angle shared
        // with any other use of angle(y, x) (the derivative of arc-cosine maps is one).
        const [y, x] = e.args as [Tree, Tree];
        const a = this.val(angleNode('angle', y, x));
        const { wide, value } = this.ymxangleSeries(y, x);
        return js`${wide} ? ${value} : ${this.val(y)} - ${this.val(x)} * ${a}`;
      }
      case 'angle':
      case 'atan2': {
        // In a plain regime, where y >= 0: atan2(y, x) = pi/2 - atan(x/y) for x <= y (the angle
        // in [pi/4, pi], no cancellation; pi/2 in two parts), atan(y/x) beyond. One branch that
        // the data predicts (x <= y wherever |rho| <= 0.71), where atan2 branches on the sign of
        // x, which is the sign of cov12 in arc-cosine maps: a coin flip per entry.
        const [y, x] = e.args as [Tree, Tree];
        if (this.plainRegime && signOf(T.canonicalOf(y)) === '+') {
          this.helpers.add('atan2');
          const yv = this.val(y),
            xv = this.val(x);
          // atan(x/y) through val(): one call shared with the other uses of the angle (splitAngle).
          const t = this.val(T.fn('atan', [ratioOf(y, x)]));
          if (this.withinOne(y, x)) return js`${HALF_PI_HI} - ${t} + ${HALF_PI_LO}`;
          const beyond = this.angleBeyondTest(y, x, js`atan2(${yv}, ${xv})`); // x > y >= 0: no (0, 0)
          return js`${this.angleTest(y, x, js`${xv} <= ${yv}`)} ? ${HALF_PI_HI} - ${t} + ${HALF_PI_LO} : ${beyond}`;
        }
        // Where x >= 0 (a square root: ab_relu's atan2(cov12, sqrt(gap))), atan2(y, x) is atan(y/x)
        // wherever x > 0: no branch on the signs, no call. (Not for angle, pi/2 at (0, 0).)
        if (this.plainRegime && e.name === 'atan2' && signOf(T.canonicalOf(x)) === '+') {
          this.helpers.add('atan2');
          const yv = this.val(y),
            xv = this.val(x);
          return this.farBeyondTest(y, x, js`${xv} > 0 ? Math.atan(${yv} / ${xv}) : atan2(${yv}, ${xv})`);
        }
        this.helpers.add(e.name).add('atan2');
        // In the stable code: where the angle is small (x > 0, (y/x)² ≤ 1/4), q - q·s·P from the
        // small-angle tail that y - x·angle shares (ddvalues.ts AngleTail); atan2 elsewhere.
        if (!this.plainRegime) {
          const { q, s, small, p } = this.angleTail(y, x);
          const call = js`${e.name}(${this.val(y)}, ${this.val(x)})`;
          return js`${small} ? ${q} - ${q} * ${s} * ${p} : ${this.farBeyondTest(y, x, call)}`;
        }
        return js`${e.name}(${this.val(y)}, ${this.val(x)})`;
      }
      case 'exp':
        return this.expOf(arg(0));
      default: {
        const f = MATH[e.name];
        if (!f) throw new Error(`emit: no code for ${e.name}`);
        if (f === 'erf' || f === 'erfc' || f === 'angle' || f === 'atan2') this.helpers.add(f);
        if (f === 'angle') this.helpers.add('atan2');
        return js`${f}(${join(
          e.args.map((a) => this.val(a)),
          ', ',
        )})`;
      }
    }
  }

  /**
   * e^x inline, by the module's tables (runtime.ts HELPER_EXP): no branch on x but |x| < 708
   * (Math.exp beyond, NaN and the infinities with it), where fdlibm's Math.exp branches at
   * |x| = 0.5 ln2 and 1.5 ln2, a mispredicted branch per entry where a kernel's arguments
   * straddle them (exp's anti-correlated entries: 12.2 -> 9.2 ns per entry). Statements, not
   * a helper function: V8's inlining budget, spent on a helper called at seventeen places, left
   * gabor's loop calling its other helpers (anti-correlated 63 -> 75 ns).
   */
  private expOf(x: Code): Code {
    const hit = this.exps.get(x.text);
    if (hit) return hit;
    const v = this.expStatements(x);
    if (isName(x)) this.exps.set(x.text, v);
    return v;
  }

  /** e^x by name of x: one per value, where two trees have the same value (a sum and its certified copy). */
  private readonly exps = new Map<string, Code>();

  private expStatements(x: Code): Code {
    this.helpers.add('exp');
    const { inverseStep, stepHi, stepLo, taylor } = EXP_CONSTANTS();
    const [c3, c4, c5, c6, c7] = taylor.map(literal) as [string, string, string, string, string];
    const n = this.tmp(js`Math.floor(${x} * ${literal(inverseStep)} + 0.5)`);
    const r = this.tmp(js`${x} - ${n} * ${literal(stepHi)} - ${n} * ${literal(stepLo)}`);
    const r2 = this.tmp(js`${r} * ${r}`);
    // e^r - 1 = r + r²(1/2 + r/6 + r²(1/24 + r/120 + r²(1/720 + r/5040))), by Estrin's scheme
    const p = this.tmp(
      js`${r} + ${r2} * ((0.5 + ${r} * ${c3}) + ${r2} * ((${c4} + ${r} * ${c5}) + ${r2} * (${c6} + ${r} * ${c7})))`,
    );
    const j = this.tmp(js`${n} & 31`);
    const hi = this.element(js`EXP_HI[${j}]`);
    const lo = this.element(js`EXP_LO[${j}]`);
    const scale = this.element(js`EXP_SCALE[((${n} >> 5) + 1022) & 2047]`); // in bounds for any n; used where |x| < 708
    return this.tmp(js`Math.abs(${x}) < 708 ? (${hi} + (${lo} + ${hi} * ${p})) * ${scale} : Math.exp(${x})`, true);
  }

  /**
   * smallangle(y, x, scale, direct, phiMax, k0, a0, a1, ...): at phi = angle(y, x) < phiMax,
   * scale * phi^k0 * (a0 + a1 phi + ...) with phi in double-double (phi^k0 amplifies a rounded
   * phi's error k0 times): up to tan(phi) = 1 as (y - ymxangle(y, x))/x, from there to 3 pi/4 as
   * pi/2 - atan2(x, y) the same way (ymxangle's series converges to tan 2; its few ulps are a
   * fifth of the angle). Elsewhere the sum itself.
   */
  private smallAngleSeries(e: TreeFn): Code {
    const [y, x, scale, direct, phiMax, k0, ...coeffs] = e.args as [Tree, Tree, Tree, Tree, Tree, Tree, ...Tree[]];
    const phi = this.val(angleNode('angle', y, x));
    const cs = coeffs.map((c) => Q.toNumber((c as Tree & { k: 'num' }).v));
    const even = cs.every((c, j) => j % 2 === 0 || c === 0);
    const step = even ? this.tmp(js`${phi} * ${phi}`) : phi;
    const used = even ? cs.filter((_, j) => j % 2 === 0) : cs;
    let horner = lit(literal(used[used.length - 1]!));
    for (let j = used.length - 2; j >= 0; j--) horner = js`${literal(used[j]!)} + ${step} * (${horner})`;
    const k = Number((k0 as Tree & { k: 'num' }).v.n);
    const near0 = this.ddAngle('angle', y, x, 1);
    const complement = this.ddAngle('angle', x, y, 1);
    const yv = this.val(y),
      xv = this.val(x);
    const halfPi: Pair = [lit('1.5707963267948966'), lit('6.123233995736766e-17')];
    const upper = this.ddAdd(halfPi, [js`-${complement[0]}`, js`-${complement[1]}`]);
    const phiDD = this.dd.select(
      js`Math.abs(${yv}) < ${xv}`,
      near0,
      this.dd.select(js`Math.abs(${xv}) <= ${yv}`, upper, [phi, ZERO]),
    );
    let acc = phiDD;
    for (let i = 1; i < k; i++) acc = this.ddMul(acc, phiDD);
    acc = this.ddMul(acc, [this.tmp(horner), ZERO]);
    acc = this.ddMul(acc, [this.val(scale), ZERO]);
    return js`${phi} < ${literal(Q.toNumber((phiMax as Tree & { k: 'num' }).v))} ? ${acc[0]} + ${acc[1]} : ${this.val(direct)}`;
  }
}

/** Code that is one name of the emitted code (a temporary or an input), not an expression. */
const isName = (c: Code) => c.uses.length === 1 && c.text === c.uses[0];

/** A product's var1^q and var2^q with q = ±1/2 (ProductRoot), and the sign of q. */
function rootPair(factors: readonly Tree[]): { factors: readonly Tree[]; q: number } | undefined {
  // The exponent's sign where f is name^(±1/2), else 0.
  const halfPower = (f: Tree, name: 'var1' | 'var2') =>
    f.k === 'pow' &&
    f.base.k === 'sym' &&
    f.base.name === name &&
    f.exp.k === 'num' &&
    f.exp.v.d === 2n &&
    (f.exp.v.n === 1n || f.exp.v.n === -1n)
      ? Number(f.exp.v.n)
      : 0;
  const a = factors.find((f) => halfPower(f, 'var1') !== 0);
  const b = factors.find((f) => halfPower(f, 'var2') !== 0);
  if (!a || !b || halfPower(a, 'var1') !== halfPower(b, 'var2')) return undefined;
  return { factors: [a, b], q: halfPower(a, 'var1') };
}

/** A double's exact value: a dyadic rational within double range that rounds to itself. */
function isDouble(v: Rat): boolean {
  const x = Q.toNumber(v);
  return Number.isFinite(x) && Q.eq(Q.fromNumber(x), v);
}
/**
 * A term whose double value is exact: a constant that is a double, an input, or ± 2^k times an
 * input with |k| <= 64. Such a product too may overflow (a non-finite value, which the loop's
 * finiteness test sends to the stable code) or round to a subnormal, off by at most 2^-1075
 * absolutely, below the ulp of any sum it is certified in; a larger |k| reaches normal inputs
 * (2^-1000·cov12 at cov12 = 1.6e-16 lost 7e-7 relatively in a sum certified without it).
 */
function isExactTerm(t: Tree): boolean {
  if (t.k === 'num') return isDouble(t.v);
  const isInput = (u: Tree) => u.k === 'sym' && (u.name === 'cov12' || u.name === 'var1' || u.name === 'var2');
  if (isInput(t)) return true;
  if (t.k !== 'mul' || t.factors.length !== 2) return false;
  const [c, x] = t.factors as [Tree, Tree];
  return c.k === 'num' && isPowerOfTwo(c.v) && Math.abs(log2Abs(c.v)) <= 64 && isInput(x);
}
/**
 * A sum of two or more terms of which exactly one is exact, and no angle term (whose split the
 * printer orders itself): the sum with that term moved last, and the others.
 */
function exactTermLast(s: Tree): { sum: Tree; inexact: readonly Tree[] } | undefined {
  if (s.k !== 'add' || s.terms.length < 2) return undefined;
  const exact = s.terms.filter(isExactTerm);
  if (exact.length !== 1) return undefined;
  const splits = (t: Tree) => {
    const a = t.k === 'mul' ? angleTerm(t.factors) : undefined;
    return !!a && a.angle.name !== 'ymxangle';
  };
  if (s.terms.some(splits)) return undefined;
  const inexact = s.terms.filter((t) => t !== exact[0]);
  return { sum: T.add([...inexact, exact[0]!]), inexact };
}

/** -t for a term with a negative coefficient, else undefined. */
function negatedTerm(t: Tree): Tree | undefined {
  if (t.k === 'num' && t.v.n < 0n) return E.num(Q.neg(t.v));
  if (t.k === 'mul' && t.factors[0]!.k === 'num' && t.factors[0].v.n < 0n) {
    const c = Q.neg(t.factors[0].v);
    const factors = Q.isOne(c) ? t.factors.slice(1) : [E.num(c), ...t.factors.slice(1)];
    return factors.length === 1 ? factors[0] : T.mul(factors);
  }
  return undefined;
}

/** q where the constant factors multiply to q / pi with q rational; undefined otherwise. */
function rationalOverPi(consts: readonly Tree[]): Rat | undefined {
  let q = Q.ONE;
  let piPower = 0;
  const flat = (c: Tree): Tree[] => (c.k === 'mul' ? c.factors.flatMap(flat) : [c]);
  for (const c of consts.flatMap(flat)) {
    if (c.k === 'num') q = Q.mul(q, c.v);
    else if (c.k === 'sym' && c.name === 'pi') piPower += 1;
    else if (c.k === 'pow' && c.base.k === 'sym' && c.base.name === 'pi' && c.exp.k === 'num' && Q.isInt(c.exp.v))
      piPower += Number(c.exp.v.n);
    else return undefined;
  }
  return piPower === -1 ? q : undefined;
}

/** |r| = 2^k for an integer k. */
function isPowerOfTwo(r: Rat): boolean {
  const pow2 = (n: bigint) => n > 0n && (n & (n - 1n)) === 0n;
  return pow2(r.n < 0n ? -r.n : r.n) && pow2(r.d);
}

/** log2 |r| for a power of two r. */
function log2Abs(r: Rat): number {
  const bits = (n: bigint) => (n < 0n ? -n : n).toString(2).length - 1;
  return bits(r.n) - bits(r.d);
}

/**
 * (q/pi) angle(y, x), (q/pi) xangle(y, x) with q/2 a power of two (so that (q/2) x is exact;
 * otherwise a split only adds roundings; `anyHalf`: any q, for a sum whose constant term absorbs
 * q/2, sumWithSplitAngle), or (q/pi) ymxangle(y, x), with y >= 0: q and the angle term.
 */
function angleTerm(factors: readonly Tree[], anyHalf = false): AngleTerm | undefined {
  const rest = factors.filter(dependsOnInputs);
  const consts = factors.filter((f) => !dependsOnInputs(f));
  const q = rationalOverPi(consts);
  if (!q || rest.length !== 1) return undefined;
  const a = rest[0]!;
  if (a.k !== 'fn' || !['angle', 'xangle', 'ymxangle'].includes(a.name)) return undefined;
  if (a.name !== 'ymxangle' && !anyHalf && !isPowerOfTwo(Q.div(q, Q.rat(2)))) return undefined;
  if (signOf(T.canonicalOf(a.args[0]!)) !== '+') return undefined;
  // q/pi folded as the stable code folds its constants: one rounding.
  return { q, k: foldConstant(T.mul(consts)), angle: a };
}

/** A constant q/pi (k, rounded once) times an angle term. */
interface AngleTerm {
  readonly q: Rat;
  readonly k: number;
  readonly angle: TreeFn;
}

/** x/y as the tree whose atan the plain angles share (one key, so one call). */
const ratioOf = (y: Tree, x: Tree): Tree => T.mul([x, T.pow(y, E.num(-1))]);

const isZeroNum = (t: Tree) => t.k === 'num' && Q.isZero(t.v);

/** ln 4, to double precision: where an exponential difference stops cancelling (expdiff). */
const LN4 = lit('1.3862943611198906');
/** pi/2 in two parts: the double nearest, and the rest. */
const HALF_PI_HI = lit('1.5707963267948966');
const HALF_PI_LO = lit('6.123233995736766e-17');
