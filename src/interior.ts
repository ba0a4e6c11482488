// The plain-double regimes (Herbie's regimes, for speed). The interior regime: far from the
// Cauchy–Schwarz bound (cov12² ≤ var1·var2/2, where realistic kernels spend almost every entry;
// up to the bound where nothing degrades there, emit/parts.ts interiorDomainOf) the exact
// gap, double-double sums and compensated products that the bound needs are usually not needed. The near regime: everywhere else, on the exact prologue (cov12 projected, the exact
// gap), the double-double arithmetic is needed only where a sum cancels. Candidates per regime:
// the normal form (interior only) and the emitted trees with their stable primitives evaluated
// in plain doubles, each sum that could cancel checked at run time. A candidate is emitted only
// if, measured on the very code emitted at the regime's sampled points:
// - it deviates little from the stable module (ACCEPT: mean and max ulps), and where the mean
//   deviation is large enough to matter (over ACCEPT.withoutTruth), or its sums are reordered
//   (sumorder.ts), its own error against
//   50-digit truth stays within the accuracy target, close to the stable code's, and per domain
//   group no worse than the larger of the stable code's and the source's as written;
// - it is cheaper, counting its run-time fallbacks (ACCEPT.maxCost): an output whose
//   certificates fail runs the stable code as well, so a candidate that often fails is slower.
// Of those accepted, the least expected cost wins; otherwise the module has no such regime.
import { isPolynomial, readsOf, shareOneSign, substituteGap } from './domain.js';
import * as E from './expr.js';
import * as P from './poly.js';
import * as Q from './rational.js';
import { buildModule, printModule, type EmitInput, type ModuleParts } from './emit/module.js';
import { inDomain, needsOf, type InteriorDomain } from './emit/parts.js';
import { doubleFunction } from './evaluate.js';
import { bitsOfError } from './measure.js';
import { memoTable } from './memo.js';
import { interiorSamples, nearSamples, type Point, type Samples, type WrittenGroup } from './regimesamples.js';
import { truthsOfRegularForms } from './truth.js';
import type { Expr, Rat, Tree } from './types.js';
import * as T from './tree.js';

type Fn64 = (c: number, v1: number, v2: number) => number;
type Kernel = { readonly nngp: Fn64; readonly dNngp: Fn64 };

/**
 * Acceptance, per output. Deviation from the stable module: mean log2(1 + ulps) at most
 * `meanBits`, no point more than `maxUlps` away; above `withoutTruth` mean bits, the error
 * against the truth at TRUTH_POINTS points: mean at most `targetBits` (the accuracy target, 1
 * bit, less a margin for the sample) or, where the stable code's own mean is above it (gabor's
 * product of exponentials and a root), at most the stable code's; at most `overStable` more than
 * the stable code's; and no
 * more than the stable code's or the source's as written in doubles, whichever is larger (the
 * emitted code is never less accurate than both the user's formula and the stable code), up to
 * `groupNoise` bits a point more, over all points and in each group of points (a group's up to 24
 * points measure its mean to about ±0.15 bits, a third of which is allowed; with no allowance, relu spelled with arcsin, whose
 * formula as written is accurate in the interior, lost its regime over 0.023 bits a point in one
 * group and ran the stable code: 1.7–2.1 times slower, 0.05 bits less accurate). Per group, the
 * canonical map in doubles counts as a source as written too: it is the same for every spelling.
 * And in each group of Samples.againstWritten (regimesamples.ts: in the interior, at scale, on
 * typical entries of a layer, and near the bound and on the diagonal split by the sign of
 * cov12): where its mean deviation from the stable code at the group's screening points is more
 * than `againstWritten` bits above the source's as written, or the canonical map's, in doubles,
 * its error against the truth at the group's deciding points (fresh ones, so that the noise that
 * picked the group does not decide it) no more than the largest of theirs and the stable code's,
 * within `againstWritten` bits a point: on half the points where the excess (pairedExcess) is
 * two standard errors clear of the allowance, else on all (WRITTEN_POINTS.decide, its mean to
 * about ±0.03). The deviation finds the group, the truth decides (the stable code is not always
 * the more accurate: leaky_relu's derivative at alpha = 0.2). Without it, a polynomial's near regime (its
 * powers multiplied out, Math.pow as written) erred 0.49 bits mean on the diagonal against 0.37
 * as written, its mean deviation over all points, 0.075 bits, under `withoutTruth`, and 12
 * diagonal truth points too few to see 0.1 bits.
 * Expected cost, with the measured rate of run-time fallbacks f (interior: on typical kernels'
 * entries, normalised and not, and where the domain reaches the bound typical near-bound entries
 * of either sign, the worst; near: on the sampled points outside the interior and on typical
 * entries of either sign, the worst): an entry that falls back pays for the candidate
 * and then for the fused stable code (the kernel loop falls through to it); k + f × base at most
 * `maxCost` of the stable code's cost. And at most `maxFallback` of the entries falling back:
 * beyond it the branch is a coin flip, whose mispredictions the operation count does not see. (Timed on the
 * emitted kernels, the model ranked right where it was tried: gelu's and ab_relu's candidates,
 * modelled faster, were 1.6 and 1.5 times faster; a polynomial's, whose entries fall back 82% of
 * the time, modelled slower, was slower; ABRelu(0.3, 1.2)'s normal form, 32%, modelled 28%
 * faster, ran 13% slower than no regime, 31.6 against 28.0 ns per entry: so 20%, where gelu's
 * near regime, 15%, measures faster.) Candidates whose domain reaches the bound
 * (interiorDomainOf: one reading no gap, or reading it only certified against var1*var2) and
 * those that stop at |rho| ≤ 0.71 are chosen among separately; compile.ts weighs the two, the
 * latter with the near regime that runs the entries it leaves (its expected cost, returned).
 */
export const ACCEPT = {
  meanBits: 0.75,
  maxUlps: 8,
  withoutTruth: 0.25,
  targetBits: 0.85,
  overStable: 0.5,
  groupNoise: 0.05,
  againstWritten: 0.05,
  maxCost: 0.8,
  maxFallback: 0.2,
} as const;
/** The 50-digit truth of a map and its derivative at a point (the choice's samples), by their keys and the point. */
const truthMemo = memoTable<readonly [number, number]>();
/** The largest stable code (in cost() operations) whose regimes are measured: 2.5 times gelu's. */
const MAX_MEASURED_COST = 2000;

/** How plainTree certifies: see there. */
export interface PlainOptions {
  /** Stable primitives kept as they are. */
  readonly keep?: ReadonlySet<string>;
  /** Inside a double-double group: its sums certified (plainsum). */
  readonly checked?: boolean;
  /**
   * Bits a certified sum may lose: |sum| ≥ 2^-lostBits Σ|terms|. An exponent's own bound follows
   * from it (EXPONENT_RULE: 2^(lostBits - 1) by magnitude, |x| ≤ 2^lostBits by cancellation).
   */
  readonly lostBits?: number;
  /** Certified to the bound: a sum reading the gap against var1*var2 (gapMagnitudeOf). */
  readonly toBound?: boolean;
  /**
   * The gap is exact (the near regime's prologue): an exponent's polynomial reads it for
   * var1*var2 - cov12^2, which then no longer counts in its terms' magnitudes.
   */
  readonly exactGap?: boolean;
  /**
   * How an exponent N·F is certified (EXPONENT_RULE): by its terms' magnitude (the default), or
   * by cancellation, N's sums tested as any sum's and |N·F| ≤ 2^lostBits (as an expdd exponent
   * always was; an exp of a double-double group, before that rule, had no bound on |N·F| and
   * certified errors up to 9.7 bits, found by review). Neither is more accurate everywhere (the
   * first passes where N cancels, the second where the terms are large but do not cancel): the
   * choice measures candidates of both.
   */
  readonly exponents?: 'by magnitude' | 'by cancellation';
}

/**
 * An evaluation tree with its stable primitives replaced by their plain-double meaning:
 * double-double groups by their expressions, each sum in them a `plainsum` (checked at run
 * time for cancellation: at most `lostBits` bits lost, |sum| ≥ 2^-lostBits Σ|terms|), each
 * exponent an `argbound` (its absolute error bounded, EXPONENT_RULE), nearbound by its
 * away-from-the-bound branch; those named in `keep` stay.
 * (angle, ymxangle and smallangle stay, and expdiff with its exponents as argbound: each costs
 * nothing where its special case does not arise.)
 */
export function plainTree(e: Tree, options: PlainOptions = {}): Tree {
  return plainOf(e, options, new Map());
}

/**
 * plainTree, each shared subtree built once per `checked` and `toBound` (the options a recursion
 * changes): trees are shared, and walked as trees a fuzzed source's took 7 of its 12 s to compile.
 */
function plainOf(e: Tree, options: PlainOptions, memo: Map<string, Tree>): Tree {
  const at = `${options.checked ? 1 : 0}${options.toBound ? 1 : 0}${e.key}`;
  const hit = memo.get(at);
  if (hit) return hit;
  const built = plainBuilt(e, options, memo);
  memo.set(at, built);
  return built;
}

function plainBuilt(e: Tree, options: PlainOptions, memo: Map<string, Tree>): Tree {
  const { keep = new Set<string>(), checked = false, lostBits = 1, toBound = false } = options;
  const plainTree = (x: Tree, o: PlainOptions) => plainOf(x, o, memo);
  const plain = (x: Tree, inGroup = checked) => plainTree(x, { ...options, checked: inGroup });
  // An exponent: its absolute error is what exp makes relative (EXPONENT_RULE). Otherwise, its
  // gap is not certified to the bound (its terms' magnitudes would count the gap, not
  // var1*var2): a tree reading it there keeps the half domain (gapCertified).
  const exponent = (x: Tree) => {
    const group = ddGroupOf(x);
    const inner = group ? (x as Tree & { k: 'fn' }).args[0]! : x;
    const scaled = options.exponents === 'by cancellation' ? undefined : scaledSum(inner, options, memo);
    if (scaled) return scaled;
    // |x| ≤ 2^lostBits; a double-double product's sums tested for cancellation (a dd
    // polynomial's terms are the exponent's own: their magnitude is the bound's).
    const within = { ...options, checked: group === 'ddq', toBound: false };
    const value = plainTree(inner, within);
    const bound = E.num(Q.rat(2 ** lostBits));
    const scale = reciprocalScaleOf(value);
    return T.fn('argbound', [value, scale ? finiteOnly(bound, scale) : bound]);
  };
  switch (e.k) {
    case 'num':
    case 'sym':
      return e;
    case 'add': {
      const sum = T.add(e.terms.map((t) => plain(t)));
      const bound = E.num(Q.rat(1, 2 ** lostBits));
      // To the bound, the plain gap's absolute error is a few ulps of var1*var2, not of the gap:
      // a sum reading it is certified against that magnitude (gapMagnitudeOf), one-signed or not.
      const magnitude = toBound ? gapMagnitudeOf(sum) : undefined;
      if (magnitude) return T.fn('plainsum', [sum, bound, magnitude]);
      // Terms of one known sign cannot cancel: the certificate would always hold, so none is emitted.
      const terms = e.terms.map(T.canonicalOf);
      if (!checked || shareOneSign(terms)) return sum;
      // A polynomial that is one-signed once var1*var2 = gap + cov12^2 (1 - cov12^2 + var1*var2 + ...
      // = 1 + gap + ...) is summed so: without a certificate, and without cancelling at the bound.
      const withGap = termsWithGap(e.terms);
      if (withGap && shareOneSign(withGap.terms)) {
        // To the bound the gap it now reads is certified like any other (its plain value's error).
        const substituted = T.add(withGap.terms);
        const gapMagnitude = toBound ? gapMagnitudeOf(substituted) : undefined;
        return gapMagnitude ? T.fn('plainsum', [substituted, bound, gapMagnitude]) : withGap;
      }
      // A polynomial sum proven to cancel by at most lostBits bits wherever it runs needs no test:
      // bound 0 (the emitter then prints the sum alone, in the order a certified one has).
      if (certainOnDomain(terms, lostBits)) return T.fn('plainsum', [sum, E.num(Q.ZERO)]);
      return T.fn('plainsum', [sum, bound]);
    }
    case 'mul':
      return T.mul(e.factors.map((f) => plain(f)));
    case 'pow':
      return T.pow(plain(e.base), plain(e.exp));
    case 'fn':
      if (keep.has(e.name))
        return T.fn(
          e.name,
          e.args.map((a) => plain(a)),
        );
      switch (e.name) {
        case 'dd':
        case 'ddq':
        case 'csum':
          return plain(e.args[0]!, true);
        case 'expdd':
          return T.fn('exp', [exponent(e.args[0]!)]);
        case 'exp':
          // An exponent that is a double-double group is certified as one (EXPONENT_RULE); any
          // other, a sum of such quotients, by its own sums' cancellation alone.
          return T.fn('exp', [ddGroupOf(e.args[0]!) ? exponent(e.args[0]!) : plain(e.args[0]!)]);
        case 'expdiff': {
          const [a, b, d] = e.args as [Tree, Tree, Tree];
          return T.fn('expdiff', [exponent(a), exponent(b), plain(d)]);
        }
        case 'nearbound':
          return plain(e.args[1]!);
        default:
          return T.fn(
            e.name,
            e.args.map((a) => plain(a)),
          );
      }
  }
}

/**
 * How an exponent is certified in plain doubles (as rules are: the identity, its precondition,
 * why it helps; sampled for soundness in test/interior.test.ts).
 */
export const EXPONENT_RULE = {
  name: 'exponent-by-magnitude',
  identity: 'exp(x·(1 + δ)) with |x·δ| ≤ ε is exp(x)·(1 + ε′): an exponent needs absolute, not relative, accuracy',
  precondition:
    'the exponent is N·F, N a sum of monomials (each rounded relative to itself) and F the other factors (their own sums certified); Σ|terms of N|·|F| ≤ 2^(lostBits - 1), tested at run time',
  why: "N may cancel entirely (gabor's -cov12 - var1/2 - var2/2 - 2 gap at the bound): its rounding is a few ulps of Σ|terms|·|F|, which the exponential makes relative, so no cancellation test is needed, only a bound on the magnitude; with the exact gap (the near regime) var1*var2 - cov12² is read as the gap, whose terms no longer count",
  example: '(-cov12 - var1/2 - var2/2 - 2*var1*var2 + 2*cov12^2) / (1 + 2*var1 + 2*var2 + 4*gap)',
} as const;

/**
 * When a plain sum's certificate is dropped (as rules are: the identity, its precondition, why it
 * helps; sampled for soundness in test/interior.test.ts).
 */
export const CERTIFICATE_RULE = {
  name: 'certificate-proven-on-domain',
  identity: '|Σ t| ≥ 2^-b·Σ|t| holds at every input, so the run-time test |sum| ≥ 2^-b·Σ|terms| always passes',
  precondition:
    'each term a polynomial in cov12, var1, var2 and the gap whose monomials share one sign for each sign of cov12; for each sign, 2^b·(±Σ t) − Σ|t| ≥ 0 proven on var1, var2 ≥ 0, cov12² ≤ var1·var2 (poly.ts sumCertainOnDomain: negative terms bounded below through cov12² ≤ var1·var2 and |cov12| ≤ the variances’ means, every coefficient then ≥ 0). The domain holds where plain sums run: the interior block tests cov12² against var1·var2, the near block reads cov12 projected; not to the bound on the plain gap (its error is not the gap’s)',
  why: 'a certificate costs a few operations and a branch per entry (the Polynomial layer’s derivative 0.72·cov12² + 0.36·cov12 + (1 + 0.6·var1)(1 + 0.6·var2), which cannot cancel by more than three bits: 6–12% of its entries’ time)',
  example: '0.72·cov12^2 + 0.36·cov12 + (1 + 0.6·var1)·(1 + 0.6·var2), three bits',
} as const;

/** Whether a plain sum's terms are proven to cancel by at most `lostBits` bits on the domain (CERTIFICATE_RULE). */
export function certainOnDomain(terms: readonly Expr[], lostBits: number): boolean {
  const polys = terms.map((t) => P.fromExpr(t));
  return polys.every((p) => p !== undefined) && P.sumCertainOnDomain(polys as P.Poly[], lostBits);
}

/** A double-double group's name (dd, ddq), or undefined. */
function ddGroupOf(x: Tree): 'dd' | 'ddq' | undefined {
  return x.k === 'fn' && (x.name === 'dd' || x.name === 'ddq') ? x.name : undefined;
}

/** A polynomial's terms with var1*var2 read as gap + cov12^2 (domain.ts substituteGap), if it still has several. */
function termsWithGap(terms: readonly Tree[]): (Expr & { k: 'add' }) | undefined {
  const canonical = E.add(...terms.map(T.canonicalOf));
  const withGap = isPolynomial(canonical) ? substituteGap(canonical) : undefined;
  return withGap?.k === 'add' ? withGap : undefined;
}

/**
 * An exponent N·F (EXPONENT_RULE) in plain doubles: argbound(N, 2^(lostBits - 1) / |F|) · F,
 * N reading the gap where it is exact; undefined where the exponent is not such a product.
 */
function scaledSum(x: Tree, options: PlainOptions, memo: Map<string, Tree>): Tree | undefined {
  if (x.k !== 'mul') return undefined;
  const sums = x.factors.filter((f) => f.k === 'add');
  if (sums.length !== 1) return undefined;
  const n = sums[0] as Tree & { k: 'add' };
  // Each term of N a monomial: its rounding is relative to itself, so Σ|terms| bounds N's.
  if (!n.terms.every((t) => !E.some(t, (y: Tree) => y.k === 'add' || y.k === 'fn'))) return undefined;
  // A plain gap's error is a few ulps of var1*var2, not of the gap: to the bound, N must not read it.
  if (options.toBound && !options.exactGap && E.mentions(n, 'gap')) return undefined;
  const factors = x.factors.filter((f) => f !== n);
  // Constant factors of F are inverted here, the rest at run time.
  const constant = factors.filter((f) => f.k === 'num').reduce((k, f) => Q.mul(k, (f as Tree & { k: 'num' }).v), Q.ONE);
  if (Q.isZero(constant)) return undefined;
  const rest = factors.filter((f) => f.k !== 'num').map((f) => plainOf(f, { ...options, checked: true }, memo));
  const terms = (options.exactGap && termsWithGap(n.terms)) || T.add(n.terms);
  // Σ|terms|·|F| ≤ 2^(lostBits - 1): the absolute error a few ulps of 1 at one bit lost.
  const { lostBits = 1 } = options;
  const k = Q.div(Q.rat(2 ** (lostBits - 1)), Q.cmp(constant, Q.ZERO) < 0 ? Q.neg(constant) : constant);
  const scaled = (scale: Tree) => {
    const bound = Q.isOne(k) ? scale : T.mul([E.num(k), scale]);
    return finiteOnly(bound, bound);
  };
  const bound = rest.length === 0 ? E.num(k) : scaled(absProduct(rest.map(inverse)));
  const constants = Q.isOne(constant) ? [] : [E.num(constant)];
  return T.mul([T.fn('argbound', [terms, bound]), ...constants, ...rest]);
}

/**
 * An exponent's bound where `scale` (its reciprocal scale 1/|F|, or the bound itself where that is
 * a multiple of it) is at most 2^400, far from overflowing, else -1 (no magnitude is within it):
 * an overflowed denominator D makes 1/D = 0, and N/D = 0 for any N would pass either certificate
 * (exp((cov12 - var1)/(1 + var1*var2 - cov12^2)) at var1 = 1e300 gave 1 for 0.9999999999, found
 * by review). 2^400, not the largest double: the finiteness proof (finite.ts) bounds every
 * value, constants too, within 2^500.
 */
function finiteOnly(bound: Tree, scale: Tree): Tree {
  return T.fn('where', [T.fn('le', [scale, E.num(Q.rat(2n ** 400n))]), bound, E.num(Q.rat(-1))]);
}

/** 1/f: a negative power's base to the opposite power, any other factor to the power -1. */
function inverse(f: Tree): Tree {
  if (f.k !== 'pow' || f.exp.k !== 'num' || Q.cmp(f.exp.v, Q.ZERO) >= 0) return T.pow(f, E.num(Q.rat(-1)));
  const r = Q.neg(f.exp.v);
  return Q.isOne(r) ? f.base : T.pow(f.base, E.num(r));
}

const absProduct = (fs: readonly Tree[]) => T.fn('abs', [fs.length === 1 ? fs[0]! : T.mul(fs)]);

/** |D1^k1 · D2^k2 ...| for a plain product's reciprocal factors D^-k, or undefined where it has none. */
function reciprocalScaleOf(x: Tree): Tree | undefined {
  const reciprocals = (x.k === 'mul' ? x.factors : [x]).filter(
    (f) => f.k === 'pow' && f.exp.k === 'num' && Q.cmp(f.exp.v, Q.ZERO) < 0,
  );
  return reciprocals.length ? absProduct(reciprocals.map(inverse)) : undefined;
}

/**
 * The magnitude against which a plain sum reading the gap is certified to the bound: each term's
 * absolute value, with var1*var2 for the gap in a monomial term (its plain value var1*var2 -
 * cov12^2 is within a few ulps of var1*var2 of the exact gap however close to the bound, so
 * |sum| ≥ 2^-b × magnitude leaves about b bits lost to it and to the sum's own cancellation);
 * undefined when no term reads the gap, or one reads it other than as a monomial factor.
 */
function gapMagnitudeOf(sum: Tree & { k: 'add' }): Tree | undefined {
  if (!sum.terms.some((t) => E.mentions(t, 'gap'))) return undefined;
  const monomial = (t: Tree): Tree | undefined => {
    switch (t.k) {
      case 'num':
        return E.num(Q.cmp(t.v, Q.ZERO) < 0 ? Q.neg(t.v) : t.v);
      case 'sym':
        return t.name === 'gap' ? T.fn('abs', [T.mul([E.sym('var1'), E.sym('var2')])]) : T.fn('abs', [t]);
      case 'mul': {
        const fs = t.factors.map(monomial);
        return fs.every((f) => f !== undefined) ? T.mul(fs as Tree[]) : undefined;
      }
      case 'pow': {
        const b = monomial(t.base);
        const r = t.exp.k === 'num' ? t.exp.v : undefined;
        return b && r && Q.isInt(r) && r.n > 0n ? T.pow(b, t.exp) : undefined;
      }
      default:
        return E.mentions(t, 'gap') ? undefined : T.fn('abs', [t]);
    }
  };
  const terms = sum.terms.map((t) => (E.mentions(t, 'gap') ? monomial(t) : T.fn('abs', [t])));
  return terms.every((t) => t !== undefined) ? T.add(terms as Tree[]) : undefined;
}

/** What the stable code's prologue costs (exact products, the gap by two-sum): in operations. */
const EXACT_PROLOGUE = 30;
/**
 * Math.pow, in operations: ten transcendentals' (38 ns a call in a loop here, Math.atan's and
 * Math.exp's 3.6–3.8: V8 computes it in full for any exponent).
 */
const MATH_POW = 100;
/** Double-double arithmetic, per operation, against plain doubles (two-product, two-sum, renormalisation). */
const DOUBLE_DOUBLE = 8;

/**
 * An integer or half-integer power's operations as the emitter spells it. In plain doubles
 * (values.ts power): up to the fourth power multiplied out, a root of one up to 7/2 multiplied
 * by a square root, an inverse one division more, anything else a Math.pow call (MATH_POW: a
 * Taylor polynomial of degree 7 with three calls took 132 ns per entry, its double-double form
 * without them 15). In a double-double group (ddvalues.ts) every such power multiplied out, a
 * root by a square root, an inverse a division (its weight counts the double-double work).
 */
function powerOps(r: Rat, inDoubleDouble: boolean): number {
  if (r.n < 0n) return 3 + powerOps(Q.neg(r), inDoubleDouble);
  const whole = Number(r.n / r.d);
  if (r.d === 1n) return whole <= 4 || inDoubleDouble ? Math.max(0, whole - 1) : MATH_POW;
  if (r.d === 2n) return inDoubleDouble || r.n <= 7n ? whole + 3 : MATH_POW;
  return MATH_POW;
}

/**
 * Operation count per kernel entry of trees as the emitter evaluates them: a transcendental
 * counts as ten, a square root or division as three, an operation inside a double-double group
 * eight times; the exact prologue where the stable code reads cov12, the gap or rho; shared
 * nodes once; work on one variance alone not at all (it is done once per row or column).
 */
export function cost(es: readonly Tree[], exact: boolean): number {
  const seen = new Set<string>();
  let total = 0;
  const visit = (e: Tree, weight: number): void => {
    if (seen.has(e.key) || e.k === 'num' || e.k === 'sym') return;
    seen.add(e.key);
    // Work on var1 alone or var2 alone is done once per row or column of a kernel (emit/parts.ts).
    if (readsOf(e) !== 'entry') return;
    switch (e.k) {
      case 'add':
        total += weight * (e.terms.length - 1);
        return e.terms.forEach((t) => visit(t, weight));
      case 'mul':
        total += weight * (e.factors.length - 1);
        return e.factors.forEach((t) => visit(t, weight));
      case 'pow': {
        const r = e.exp.k === 'num' ? e.exp.v : undefined;
        const ops = r ? powerOps(r, weight > 1) : MATH_POW;
        total += weight * ops;
        visit(e.base, weight);
        return visit(e.exp, weight);
      }
      case 'fn': {
        const cheap = ['abs', 'sign', 'min', 'max', 'clip', 'where', 'lt', 'le', 'gt', 'ge', 'eq', 'ne', 'nearbound'];
        const dd = ['dd', 'ddq', 'csum', 'expdd'].includes(e.name);
        // A double-double group's own operations are its arguments' (weighted); expdd also calls exp.
        // A certificate (plainsum, argbound) sums its terms' magnitudes and compares: a term's worth each.
        // (A plainsum with bound 0, proven, tests nothing: CERTIFICATE_RULE.)
        const proven = e.name === 'plainsum' && e.args[1]?.k === 'num' && Q.isZero(e.args[1].v);
        const certificate = (e.name === 'plainsum' && !proven) || e.name === 'argbound';
        const terms = e.args[0]?.k === 'add' ? e.args[0].terms.length : 1;
        total += e.name === 'expdd' ? 10 : dd ? 0 : certificate ? terms + 1 : cheap.includes(e.name) ? 1 : 10;
        // A certified sum is plain, also inside a double-double group (factored.ts's tail).
        return e.args.forEach((a) => visit(a, dd ? DOUBLE_DOUBLE : certificate ? 1 : weight));
      }
    }
  };
  es.forEach((e) => visit(e, 1));
  const reads = es.some((e) => ['cov12', 'gap', 'rho'].some((s) => E.mentions(e, s as 'cov12')));
  return total + (exact && reads ? EXACT_PROLOGUE : 0);
}

/** The plain candidates, by the bits their sums may lose (and compensated: csum kept). */
export type PlainCandidate =
  | 'plain stable'
  | 'plain stable, two-bit certificates'
  | 'plain stable, three-bit certificates'
  | 'plain but compensated sums';

/** A candidate's trees as built; each may come with its sums' terms smallest first too (sumorder.ts). */
export type CandidateForm =
  | 'normal form'
  | PlainCandidate
  | `${PlainCandidate}, exponents by cancellation`
  | `${PlainCandidate}${'' | ', exponents by cancellation'}, exponentials not split`
  | 'plain stable to the bound'
  | 'plain stable to the bound, one-bit certificates'
  | 'factored polynomial'
  | 'factored polynomial, three-bit certificates'
  | `factored polynomial, exact to degree ${number | 'none'} and ${number | 'none'}${'' | ', three-bit certificates'}`;

/** A candidate's form, with its sums' order. */
export type OrderedForm = `${CandidateForm}${'' | ', smallest terms first'}`;

export interface RegimeCandidate {
  readonly name: `${OrderedForm}${'' | ', short of the bound'}`;
  readonly nngp: Tree;
  readonly dNngp: Tree;
  /** An interior candidate's domain (parts.ts interiorDomainOf); a near one runs where the interior does not. */
  readonly domain?: InteriorDomain;
  /**
   * Its plain sums' terms reordered (sumorder.ts): always measured against the truth. The
   * reordering moves each rounding, so a small mean deviation from the stable code can hide a
   * group of points less accurate than the source as written (a polynomial's diagonal: 0.62 bits
   * against 0.57 as written, at a mean deviation of 0.07).
   */
  readonly reordered?: boolean;
}

/** An output of a kernel: nngp ([0] in per-output pairs) or its derivative ([1]). */
export type Output = 'nngp' | 'dNngp';

export interface RegimeChoice {
  /** The candidate emitted for the interior regime, or none. */
  readonly emitted: RegimeCandidate['name'] | 'none';
  /** Per candidate tried, how it measured (worse of nngp and its derivative), and why it was rejected. */
  readonly tried: readonly RegimeTrial[];
  /** The emitted candidate's trees (and, for the interior regime, its domain). */
  readonly trees?: Pick<RegimeCandidate, 'nngp' | 'dNngp' | 'domain'>;
}

export interface RegimeTrial {
  readonly name: RegimeCandidate['name'];
  /** Operation count (cost.ts), against the stable code's `base`. */
  readonly cost: number;
  /** Deviation from the stable module: mean log2(1 + ulps), max ulps. */
  readonly meanBits: number;
  readonly maxUlps: number;
  /** Fraction of typical entries whose certificates fail (the stable code runs too; the worst sample); NaN if not measured. */
  readonly fallback: number;
  /** The same, the mean over the samples: of equal expected cost, the lower wins. */
  readonly meanFallback?: number;
  /** Mean bits of error against the truth, candidate and stable code, where it was measured. */
  readonly truth?: { readonly candidate: number; readonly stable: number; readonly written: number };
  /** Where the truth decided against the source as written (ACCEPT.againstWritten): each group asked. */
  readonly againstWritten?: readonly WrittenDecision[];
  readonly rejected?: string;
  /** Where it was rejected as less accurate (than the target, the stable code or the source as written): in which outputs. */
  readonly lessAccurateIn?: readonly Output[];
}

/**
 * A group of points where a candidate deviated from the stable code more than the source as
 * written did, and the truth decided: mean bits of error there of the candidate and of the best
 * bar (the largest of the stable code's, the source's as written and the canonical map's), nngp
 * and d.
 */
export interface WrittenDecision {
  readonly group: string;
  /** Points where the truth decided (ACCEPT.againstWritten: half the group's, or all). */
  readonly points: number;
  readonly candidate: readonly number[];
  /** The least accurate of the bars (the stable code, the source as written, the canonical map): the most lenient. */
  readonly bar: readonly number[];
  /** The outputs whose excess over the bar is above the allowance. */
  readonly worseIn: readonly Output[];
}

/**
 * A candidate's excess of error over the least accurate of its bars (the one whose mean bits are
 * largest), paired point by point: its mean and the standard error of that mean. `bits[0]` is the
 * candidate's bits of error at each point, `bits[1..]` the bars' at the same points.
 */
export function pairedExcess(bits: readonly (readonly number[])[]): { mean: number; se: number } {
  const [candidate, ...bars] = bits as [readonly number[], ...(readonly number[])[]];
  const n = candidate.length;
  if (n === 0 || bars.length === 0) return { mean: 0, se: Infinity };
  const mean = (xs: readonly number[]) => xs.reduce((acc, x) => acc + x, 0) / n;
  const bar = bars.reduce((a, b) => (mean(b) > mean(a) ? b : a));
  const d = candidate.map((x, i) => x - bar[i]!);
  const m = mean(d);
  const variance = n > 1 ? d.reduce((acc, x) => acc + (x - m) ** 2, 0) / (n - 1) : Infinity;
  return { mean: m, se: Math.sqrt(variance / n) };
}

/**
 * Bits of error against the truth at those of `points` where it is finite: per kernel (the
 * candidate first, then its bars), nngp ([0]) and d ([1]), point by point.
 */
export type BitsAt = (points: readonly Point[]) => readonly (readonly (readonly number[])[])[];

/**
 * The truth's verdict in a group of points against the source as written (ACCEPT.againstWritten):
 * less accurate where the candidate's mean excess over its least accurate bar (pairedExcess), of
 * nngp or d, is above the allowance. Decided on half the group's deciding points where one
 * excess is two standard errors above the allowance or both are two below it, else on all of
 * them (the mean alone then decides); undecided where the truth is finite at fewer than half of
 * them, or at none (the stable code then stands in: nothing shows the candidate as accurate).
 */
export function writtenVerdict(
  group: WrittenGroup,
  bitsAt: BitsAt,
): { verdict: 'as accurate' | 'less accurate' | 'undecided'; decision?: WrittenDecision } {
  const all = group.decide.length;
  // Half first where half is a sample at all (a group of one point: that point).
  for (const size of all > 1 ? [all >> 1, all] : [all]) {
    const bits = bitsAt(group.decide.slice(0, size));
    const n = bits[0]![0]!.length;
    if (n === 0 || n < size / 2) return { verdict: 'undecided' };
    const excess = [0, 1].map((f) => pairedExcess(bits.map((w) => w[f]!)));
    const clearlyWorse = excess.some((e) => e.mean - ACCEPT.againstWritten > 2 * e.se);
    const clearlyNot = excess.every((e) => ACCEPT.againstWritten - e.mean > 2 * e.se);
    if (size < all && !clearlyWorse && !clearlyNot) continue;
    const mean = (xs: readonly number[]) => xs.reduce((acc, x) => acc + x, 0) / n;
    const [candidate, ...bars] = bits.map((w) => w.map(mean));
    const decision = {
      group: group.name,
      points: n,
      candidate: candidate!,
      bar: [0, 1].map((f) => Math.max(...bars.map((b) => b[f]!))),
      worseIn: OUTPUTS.filter((_, f) => excess[f]!.mean > ACCEPT.againstWritten),
    };
    return { verdict: decision.worseIn.length ? 'less accurate' : 'as accurate', decision };
  }
  return { verdict: 'undecided' };
}

const OUTPUTS: readonly Output[] = ['nngp', 'dNngp'];

function ordinal(x: number): bigint {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x);
  const i = b.getBigInt64(0);
  return i < 0n ? -(i & 0x7fffffffffffffffn) : i;
}

/** How far b is from a in bits: log2(1 + ulps), 0 where they are the same, 64 where either is not finite. */
function bitsApart(a: number, b: number): number {
  if (Object.is(a, b)) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return 64;
  return Math.log2(1 + Math.abs(Number(ordinal(a) - ordinal(b))));
}

/**
 * Picks a regime's trees: of the candidates that measure as accurate (ACCEPT) at the regime's
 * sampled points, for nngp and its derivative together, the one with the least expected cost
 * (its operations and its measured fallbacks). The interior regime (cov12² ≤ var1·var2/2, or up
 * to the bound: each candidate's `domain`) runs on plain inputs; the near regime runs on the exact prologue wherever the interior regime did
 * not store a value, and is chosen after it (`input` carries the interior regime, `stable` is
 * that module). `exact` is the map and its derivative in the canonical IR (for the truth).
 */
export function chooseRegime<K extends Kernel>(
  stable: K,
  candidates: readonly RegimeCandidate[],
  input: EmitInput,
  exact: { readonly nngp: Expr; readonly dNngp: Expr; readonly written: { readonly nngp: Expr; readonly dNngp: Expr } },
  instantiate: (module: ModuleParts | string) => K,
  regime: 'interior' | 'near' = 'interior',
): { choice: RegimeChoice; parts?: ModuleParts; module?: K; expected: number } {
  const base = cost([input.nngp, input.dNngp], true);
  // Past this size emitting and instantiating each candidate costs seconds (a degree-30
  // polynomial: 7000 operations, a 0.9 MB module); such maps keep the stable code.
  if (base > MAX_MEASURED_COST) return { choice: { emitted: 'none', tried: [] }, expected: base };
  // The source as written, in doubles: a candidate must not be less accurate than it and the stable code both.
  const asWritten = { nngp: doubleFunction(exact.written.nngp), dNngp: doubleFunction(exact.written.dNngp) };
  // The canonical map in doubles: what every equivalent spelling shares (per group, below).
  const asCanonical = { nngp: doubleFunction(exact.nngp), dNngp: doubleFunction(exact.dNngp) };
  // The near regime runs wherever the module's interior test fails.
  const outside = (domain: InteriorDomain) => (p: readonly number[]) => !inDomain(domain, p[0]!, p[1]!, p[2]!);
  const moduleDomain = input.interior?.domain ?? 'half';
  const samples = new Map<InteriorDomain, Samples>();
  const samplesOf = (domain: InteriorDomain): Samples => {
    let s = samples.get(domain);
    if (!s) samples.set(domain, (s = regime === 'interior' ? interiorSamples(domain) : nearSamples(outside(domain))));
    return s;
  };
  const tried: RegimeTrial[] = [];
  // Mean deviation from the stable code in bits (bitsApart) at points where the stable code's
  // value is finite, nngp and d.
  const deviationAt = (fn: Kernel, points: readonly Point[]): number[] =>
    (['nngp', 'dNngp'] as const).map((f) => {
      let bits = 0;
      let n = 0;
      for (const [x, v1, v2] of points) {
        const a = stable[f](x, v1, v2);
        if (!Number.isFinite(a)) continue;
        n++;
        bits += bitsApart(a, fn[f](x, v1, v2));
      }
      return n ? bits / n : 0;
    });
  // Per group of againstWritten points, the larger of the source's as written and the canonical
  // map's deviations at its screening points: where a candidate deviates more, the truth decides.
  const screenBars = new Map<Samples, number[][]>();
  const screenBar = (s: Samples) => {
    let bar = screenBars.get(s);
    if (!bar)
      screenBars.set(
        s,
        (bar = s.againstWritten.map(({ screen }) => {
          const [w, k] = [deviationAt(asWritten, screen), deviationAt(asCanonical, screen)];
          return w.map((x, f) => Math.max(x, k[f]!));
        })),
      );
    return bar;
  };
  // Candidates that come out the same (no compensated sum to keep, no sum to certify) are measured once.
  const byTrees = new Map<string, RegimeCandidate>();
  for (const c of candidates)
    if (!byTrees.has(`${c.nngp.key}|${c.dNngp.key}`)) byTrees.set(`${c.nngp.key}|${c.dNngp.key}`, c);
  const distinct = [...byTrees.values()];
  const ranked = distinct
    .map((c) => ({ c, cost: cost([c.nngp, c.dNngp], regime === 'near') }))
    .filter(({ cost }) => cost < ACCEPT.maxCost * base)
    .sort((a, b) => a.cost - b.cost);
  // The truth at a point, once per map (truthMemo: candidates and the samples of two domains share points).
  const truthAt = ([c, v1, v2]: Point) =>
    truthMemo.get(`${exact.nngp.key}|${exact.dNngp.key}|${c},${v1},${v2}`, () => {
      const [n, d] = truthsOfRegularForms([exact.nngp, exact.dNngp], c, v1, v2, false);
      const value = (t: typeof n) => (t?.kind === 'value' ? t.value : NaN);
      return [value(n), value(d)] as const;
    });
  // At the points where the truth is finite (n of them): per kernel, its bits of error at each
  // (`bits`) and their sums, nngp ([0]) and d ([1]).
  const bitsAgainstTruth = (kernels: readonly Kernel[], points: readonly Point[]) => {
    const bits = kernels.map((): [number[], number[]] => [[], []]);
    for (const p of points) {
      const [tn, td] = truthAt(p);
      if (!Number.isFinite(tn) || !Number.isFinite(td)) continue;
      kernels.forEach((k, who) => {
        bits[who]![0].push(bitsOfError(k.nngp(...p), tn));
        bits[who]![1].push(bitsOfError(k.dNngp(...p), td));
      });
    }
    const sums = bits.map((w) => w.map((b) => b.reduce((acc, x) => acc + x, 0)));
    return { bits, sums, n: bits[0]![0].length };
  };
  // Whether the first kernel's sums exceed the largest of the others' by more than `slack`, in output f (nngp 0, d 1).
  const worseThanAllIn = (sums: readonly number[][], slack: number, f: number) =>
    sums[0]![f]! > Math.max(...sums.slice(1).map((w) => w[f]!)) + slack;
  // Per group of againstWritten points where the candidate deviates from the stable code more
  // than the source as written (or the canonical map) does at the group's screening points: the
  // truth at its deciding points (fresh ones: WRITTEN_POINTS) decides, the candidate's mean bits
  // of error there against the largest of the stable code's, the source's as written and the
  // canonical map's. A group is suspect by deviation, and the truth decides (the stable code is
  // not always the more accurate: leaky_relu's derivative at alpha = 0.2 erred 0.39 bits at
  // spread variances in the half domain where its plain candidate erred 0.20 and its formula
  // 0.27). Why it was turned away, or undefined.
  const againstWritten = (mod: Kernel, s: Samples, decided: WrittenDecision[]): string | undefined => {
    for (const [i, group] of s.againstWritten.entries()) {
      const deviation = deviationAt(mod, group.screen);
      if (!deviation.some((bits, f) => bits > screenBar(s)[i]![f]! + ACCEPT.againstWritten)) continue;
      const { verdict, decision } = writtenVerdict(
        group,
        (points) => bitsAgainstTruth([mod, stable, asWritten, asCanonical], points).bits,
      );
      if (decision) decided.push(decision);
      if (verdict === 'undecided') return `the truth is undecided at ${group.name}`;
      if (verdict === 'less accurate') return `less accurate than the source as written at ${group.name}`;
    }
    return undefined;
  };
  // Every candidate that could beat the best accepted so far (its cost alone below that one's
  // expected cost) is measured; the accepted one with the least expected cost is emitted.
  let best: { c: RegimeCandidate; expected: number; meanFallback: number; parts: ModuleParts; module: K } | undefined;
  // A candidate that is the stable code itself saves nothing where the stable code needs no exact
  // gap (it reads only the projected cov12, tested in plain doubles): the regime would only add its
  // own test (identity, hermite, monomial).
  const lazy = !needsOf(input.nngp, input.dNngp).exact;
  for (const { c, cost: k } of ranked) {
    if (best && k >= best.expected) break;
    if (c.nngp.key === input.nngp.key && c.dNngp.key === input.dNngp.key && (lazy || regime === 'near')) {
      tried.push({ name: c.name, cost: k, meanBits: 0, maxUlps: 0, fallback: NaN, rejected: 'the stable code itself' });
      continue;
    }
    // Where the candidate runs: the interior regime by what its trees read, the near regime where the module's interior does not.
    const domain = regime === 'interior' ? (c.domain ?? 'half') : moduleDomain;
    const sample = samplesOf(domain);
    const { points, typical, groupsOfTruth, truthPoints } = sample;
    const parts = buildModule({ ...input, [regime]: { nngp: c.nngp, dNngp: c.dNngp, domain } });
    const mod = instantiate(parts);
    const deviation = { nngp: { bits: 0, max: 0 }, dNngp: { bits: 0, max: 0 } };
    // The fallback rate, measured only where it can matter: run-time certificates, and a
    // candidate not already rejected for its deviation (a probe module is one more instantiation).
    const fallbackRates = (): { worst: number; mean: number } => {
      const certified = (f: 'nngp' | 'dNngp') => !!parts[f][regime]?.certificates.length || !!parts[f][regime]?.folded;
      if (!certified('nngp') && !certified('dNngp')) return { worst: 0, mean: 0 };
      const probe = instantiate(printModule(parts, { target: 'js', form: `${regime}-probe` }));
      const fellBack = ([x, v1, v2]: readonly [number, number, number]) =>
        (['nngp', 'dNngp'] as const).some(
          (f) => Number.isNaN(probe[f](x, v1, v2)) && Number.isFinite(stable[f](x, v1, v2)),
        );
      const rate = (pts: readonly [number, number, number][]) =>
        pts.length ? pts.filter(fellBack).length / pts.length : 0;
      // Each group of typical entries (interior.ts Samples): the worst, and the mean over groups.
      const rates = typical.map(rate);
      return { worst: Math.max(...rates), mean: rates.reduce((acc, r) => acc + r, 0) / rates.length };
    };
    for (const [x, v1, v2] of points) {
      for (const f of ['nngp', 'dNngp'] as const) {
        const a = stable[f](x, v1, v2);
        const b = mod[f](x, v1, v2);
        if (Object.is(a, b)) continue;
        const ulps = Number.isFinite(a) && Number.isFinite(b) ? Math.abs(Number(ordinal(a) - ordinal(b))) : Infinity;
        deviation[f].max = Math.max(deviation[f].max, ulps);
        deviation[f].bits += bitsApart(a, b);
      }
    }
    const meanBits = Math.max(deviation.nngp.bits, deviation.dNngp.bits) / points.length;
    const maxUlps = Math.max(deviation.nngp.max, deviation.dNngp.max);
    const deviates = maxUlps > ACCEPT.maxUlps || meanBits > ACCEPT.meanBits;
    const rates = deviates ? { worst: NaN, mean: NaN } : fallbackRates();
    const fallback = rates.worst;
    const trial = { name: c.name, cost: k, meanBits, maxUlps, fallback, meanFallback: rates.mean };
    let rejected: string | undefined;
    let truth: RegimeTrial['truth'];
    let lessAccurateIn: readonly Output[] | undefined;
    const decided: WrittenDecision[] = [];
    if (deviates) rejected = 'deviates from the stable code';
    // An entry that falls back pays for both: worth it while cost + fallback × base < maxCost × base.
    else if (fallback > ACCEPT.maxFallback || k + fallback * base > ACCEPT.maxCost * base)
      rejected = 'its certificates fail too often to be faster';
    else {
      rejected = againstWritten(mod, sample, decided);
      // The group that turned it away decided it (an undecided group pushes no decision).
      if (rejected?.startsWith('less accurate')) lessAccurateIn = decided.at(-1)?.worseIn;
    }
    if (!rejected && (meanBits > ACCEPT.withoutTruth || c.reordered)) {
      // Per group of truth points: sums of bits of the candidate, the stable code, the source as
      // written and the canonical map, nngp ([0]) and d ([1]).
      const perGroup = groupsOfTruth.map((g) => bitsAgainstTruth([mod, stable, asWritten, asCanonical], g));
      const counted = perGroup.reduce((acc, g) => acc + g.n, 0);
      const [cand, stab, writ] = [0, 1, 2].map((who) =>
        [0, 1].map((f) => perGroup.reduce((acc, g) => acc + g.sums[who]![f]!, 0)),
      ) as [number[], number[], number[]];
      const n = Math.max(1, counted);
      // Over all points strictly (an allowance there let leaky_relu at alpha = 0.7 through, less
      // accurate than both, found by review); per group within the sampling noise
      // (ACCEPT.groupNoise), and per group also
      // against the canonical map in doubles, which equivalent spellings share: without it, the
      // bar was each spelling's own formula, and equivalent sources got different regimes
      // (leaky_relu at alpha = 0.2 written with arctan2: 2.3 times slower than the catalog form).
      const worse = OUTPUTS.filter(
        (_, f) =>
          cand[f]! / n > Math.max(ACCEPT.targetBits, stab[f]! / n) ||
          cand[f]! / n > stab[f]! / n + ACCEPT.overStable ||
          worseThanAllIn([cand, stab, writ], 0, f) ||
          perGroup.some((g) => worseThanAllIn(g.sums, ACCEPT.groupNoise * g.n, f)),
      );
      truth = {
        written: Math.max(...writ) / n,
        candidate: Math.max(...cand) / n,
        stable: Math.max(...stab) / n,
      };
      if (counted < truthPoints.length / 2) rejected = 'the truth is undecided at too many points';
      else if (worse.length) {
        rejected = 'less accurate than the target or the stable code';
        lessAccurateIn = worse;
      }
    }
    tried.push({
      ...trial,
      ...(truth ? { truth } : {}),
      ...(decided.length ? { againstWritten: decided } : {}),
      ...(rejected ? { rejected } : {}),
      ...(lessAccurateIn ? { lessAccurateIn } : {}),
    });
    const expected = k + (fallback || 0) * base;
    // Of equal expected cost (the worst group's fallbacks), the one that falls back less over all
    // groups: a Polynomial layer's three-bit certificates fail on 2.6% of a realistic kernel's
    // entries against 5.3% at two bits, the same 7.1% on the worst group (unnormalised data,
    // whose variances span the map's zero at 5/3).
    const meanFallback = rates.mean || 0;
    const better =
      !best || expected < best.expected || (expected === best.expected && meanFallback < best.meanFallback);
    if (!rejected && better) best = { c, expected, meanFallback, parts, module: mod };
  }
  return best
    ? {
        choice: {
          emitted: best.c.name,
          tried,
          trees: { nngp: best.c.nngp, dNngp: best.c.dNngp, domain: best.c.domain },
        },
        parts: best.parts,
        module: best.module,
        expected: best.expected,
      }
    : { choice: { emitted: 'none', tried }, expected: base };
}
