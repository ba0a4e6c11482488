// The small-angle series of the arc-cosine family (a stabilize rewrite). A sum of terms
// coefficient × cov12^i × gap^(j/2) × (var1 var2)^k × theta^e (e ≤ 1) with theta =
// angle(sqrt(gap), ±cov12) is, in polar form (±cov12 = r cos phi, sqrt(gap) = r sin phi,
// r^2 = var1 var2, phi = theta), K × r^n × F(phi) with F(phi) = sum of c cos^p sin^q phi^e.
// Near rho = ∓1 (phi → 0) its terms cancel to a high order: J_2 is (4/15) phi^5 against terms of
// order phi, J_3 is of order phi^7. F's Taylor series, with exact rational coefficients
// computed here, has no cancellation: at phi < PHI_MAX the sum is evaluated as
// K r^n phi^k0 (a0 + a1 phi + ...), elsewhere as written.
import * as E from './expr.js';
import { evaluateHP, hpFromDouble } from './evaluate.js';
import { memoTable } from './memo.js';
import * as P from './poly.js';
import * as Q from './rational.js';
import * as S from './series.js';
import type { Expr, Fn, Rat } from './types.js';

/** The series is used below at most this angle; its coefficients are taken until the tail there is < 2^-60. */
export const PHI_MAX = 2.5;
const TERMS = 64;
/** The highest power of the angle in a term (J_1 squared: theta^2). */
const MAX_ANGLE_POWER = 4;

const GAP = P.sub(P.mul(P.variable('var1'), P.variable('var2'))!, P.variable('cov12', 2));
const isGap = (e: Expr) => {
  const p = e.k === 'add' ? P.fromExpr(e) : undefined;
  return !!p && P.sub(p, GAP).size === 0;
};

const trigMemo = memoTable<S.Series>(200);
/** cos^p sin^q as a series of n terms (memoized: the same powers recur in every J_n). */
function trigPower(p: number, q: number, n: number): S.Series {
  return trigMemo.get(`${p},${q},${n}`, () => S.mul(S.pow(S.cos(n), p), S.pow(S.sin(n), q)));
}

/** angle(sqrt(var1*var2 - cov12^2), s*cov12) with s = ±1: s, else undefined. */
function polarAngle(f: Expr): 1 | -1 | undefined {
  if (f.k !== 'fn' || f.name !== 'angle') return undefined;
  const [y, x] = f.args as [Expr, Expr];
  if (!(y.k === 'pow' && y.exp.k === 'num' && Q.eq(y.exp.v, Q.HALF) && isGap(y.base))) return undefined;
  if (x.key === E.COV12.key) return 1;
  if (x.key === E.neg(E.COV12).key) return -1;
  return undefined;
}

interface PolarTerm {
  coef: Rat;
  p: number;
  q: number;
  e: number;
  group: string;
  constant: Expr;
  param: Expr;
  r: Rat;
}

/** A term in polar form, or undefined. */
function polar(t: Expr, angleKey: string, s: 1 | -1): PolarTerm | undefined {
  let [coef, rest] = E.splitCoeff(t);
  const fs = rest.k === 'mul' ? rest.factors : E.isOne(rest) ? [] : [rest];
  let p = 0,
    q = 0,
    e = 0;
  let r = Q.ZERO;
  let a = Q.ZERO,
    b = Q.ZERO;
  const constant: Expr[] = [];
  const cofactor: Expr[] = [];
  for (const f of fs) {
    if (f.key === angleKey) {
      e++;
      continue;
    }
    const [base, exp] = f.k === 'pow' ? [f.base, f.exp] : [f, E.ONE];
    if (exp.k !== 'num') return undefined;
    const k = exp.v;
    if (base.key === angleKey) {
      if (!Q.isInt(k) || k.n < 0n) return undefined;
      e += Number(k.n);
      continue;
    }
    if (base.key === E.COV12.key) {
      if (!Q.isInt(k) || k.n < 0n) return undefined;
      p += Number(k.n); // cov12 = s r cos(phi)
      r = Q.add(r, k);
      if (s < 0 && k.n % 2n === 1n) coef = Q.neg(coef);
    } else if (isGap(base)) {
      const twice = Q.mul(k, Q.rat(2));
      if (!Q.isInt(twice)) return undefined; // a negative power too (1/sqrt(gap): a derivative)
      q += Number(twice.n); // sqrt(gap) = r sin(phi)
      r = Q.add(r, twice);
    } else if (base.key === E.VAR1.key) a = Q.add(a, k);
    else if (base.key === E.VAR2.key) b = Q.add(b, k);
    else if (base.k === 'num' || (base.k === 'sym' && base.name === 'pi')) constant.push(f);
    else if (E.some(f, (x: Expr) => x.key === angleKey)) return undefined;
    else cofactor.push(f); // a common factor of its group (cos(cov12), an exponential, var1 + var2)
  }
  if (e > MAX_ANGLE_POWER) return undefined;
  // var1^a var2^b = (var1 var2)^m var1^(a-m) var2^(b-m), (var1 var2)^m = r^(2m).
  const m = Q.min(a, b);
  r = Q.add(r, Q.mul(m, Q.rat(2)));
  const param = E.mul(E.pow(E.VAR1, E.num(Q.sub(a, m))), E.pow(E.VAR2, E.num(Q.sub(b, m))), ...cofactor);
  const K = E.mul(...constant);
  return { coef, p, q, e, constant: K, param, r, group: `${K.key}|${param.key}|${Q.toString(r)}` };
}

/**
 * The series rewrite of a sum, or undefined when it does not apply or would not help: its terms
 * grouped by what they share besides the polar factors (a constant, var1^a var2^b, a common
 * factor such as cos(cov12) or var1 + var2's var1 and var2), each group that cancels as its series.
 */
export function smallAngleSeries(s: Expr): Expr | undefined {
  if (s.k !== 'add') return undefined;
  const direct = seriesAt(s);
  if (direct && cancels(s, direct)) return direct.e;
  // Every angle of the point (±cov12, sqrt(gap)) written as one, small at either end: theta =
  // angle(sqrt(gap), ∓cov12), the others pi - theta, pi/2 - theta and theta - pi/2 with their
  // powers expanded. J_1 squared, (sqrt(gap) + (pi - theta) cov12)^2, cancels at theta = pi,
  // where its groups by powers of pi meet; earlier rewrites leave atan2(cov12, sqrt(gap)) beside
  // it. Only a reading in which every term is in a group that cancels: a group that cancels
  // beside one that does not (abs: cov12 + 2 (sqrt(gap) - cov12 theta)/pi) gains nothing.
  // Where no series applies, the reading with the fewest terms, if fewer than s has: its
  // angle's powers cancel symbolically (sign's kernel squared, (2/pi)^2 asin(rho)^2, reaches
  // here as 1 - 4 theta/pi + 4 theta^2/pi^2, which cancels at rho = 0; in psi = atan2(cov12,
  // sqrt(gap)) it is 4 psi^2/pi^2).
  let fewest: Expr | undefined;
  for (const center of ['0', 'pi', 'pi/2'] as const) {
    const rewritten = inOneAngle(s, center);
    if (!rewritten) continue;
    const r = seriesAt(rewritten);
    if (r && cancels(rewritten, r)) return r.e;
    // Fewer terms, and cancelling no more than s anywhere it is probed (-0.9999 theta + 0.0001 psi
    // + theta^2/pi read around pi/2 has a term fewer but would cancel near rho = 1).
    if (termCount(rewritten) < termCount(fewest ?? s) && noWorseConditioned(rewritten, s)) fewest = rewritten;
  }
  return fewest;
}

const termCount = (e: Expr) => (e.k === 'add' ? e.terms.length : 1);

/**
 * The sum of a sum's terms' magnitudes over its value, at rho = 1 - 1e-6, -1 + 1e-6, 0.3 and -0.3
 * (var1 = var2 = 1, 50 digits), no larger for `a` than for `b` (within a factor 2) at each.
 */
function noWorseConditioned(a: Expr, b: Expr): boolean {
  const condition = (e: Expr, rho: number) => {
    const at = probeAt(rho);
    const total = evaluateHP(e, at).abs();
    return total.isZero()
      ? Infinity
      : magnitudes(e.k === 'add' ? e.terms : [e], at)
          .div(total)
          .toNumber();
  };
  try {
    return [1 - 1e-6, -1 + 1e-6, 0.3, -0.3].every((rho) => condition(a, rho) <= 2 * condition(b, rho));
  } catch {
    return false;
  }
}

/** The inputs (rho, 1, 1) in 50 digits: where a rewrite's terms are weighed. */
const probeAt = (rho: number) => ({ cov12: hpFromDouble(rho), var1: hpFromDouble(1), var2: hpFromDouble(1) });
/** The sum of the terms' magnitudes at a probe. */
const magnitudes = (terms: readonly Expr[], at: ReturnType<typeof probeAt>) =>
  terms.reduce((acc, t) => acc.add(evaluateHP(t, at).abs()), hpFromDouble(0));

/**
 * s with every angle of the point (±cov12, sqrt(gap)) in terms of one: theta = angle(sqrt(gap),
 * cov12) (center '0', small at rho = 1), angle(sqrt(gap), -cov12) ('pi', small at rho = -1) or
 * atan2(cov12, sqrt(gap)) ('pi/2', small at rho = 0); undefined if s has no other.
 */
function inOneAngle(s: Expr, center: '0' | 'pi' | 'pi/2'): Expr | undefined {
  const c = center === 'pi' ? E.neg(E.COV12) : E.COV12;
  let root: Expr | undefined;
  E.some(s, (x: Expr) => {
    if (x.k === 'fn' && (x.name === 'angle' || x.name === 'atan2')) {
      const r = x.args.find((a) => a.k === 'pow' && a.exp.k === 'num' && Q.eq(a.exp.v, Q.HALF) && isGap(a.base));
      if (r) root = r;
    }
    return !!root;
  });
  if (!root) return undefined;
  const half = E.mul(E.HALF, E.PI);
  // theta: the angle of (c, sqrt(gap)); psi = pi/2 - theta, the angle from the bisector.
  const theta = E.fn('angle', [root, c]);
  const psi = E.fn('atan2', [E.COV12, root]);
  const angleOf = center === 'pi/2' ? E.sub(half, psi) : theta;
  const one = center === 'pi/2' ? psi : theta;
  // The angle of (x, y) for the four placements of ±cov12 and sqrt(gap).
  const forms = new Map<string, Expr>([
    [E.fn('angle', [root, c]).key, angleOf],
    [E.fn('angle', [root, E.neg(c)]).key, E.sub(E.PI, angleOf)],
    [E.fn('atan2', [root, c]).key, angleOf],
    [E.fn('atan2', [root, E.neg(c)]).key, E.sub(E.PI, angleOf)],
    [E.fn('atan2', [c, root]).key, E.sub(half, angleOf)],
    [E.fn('atan2', [E.neg(c), root]).key, E.sub(angleOf, half)],
  ]);
  let changed = false;
  const out = E.rebuild(s, (x) => {
    const f = x.key !== one.key ? forms.get(x.key) : undefined;
    if (f) changed = true;
    return f ?? x;
  });
  return changed ? out : undefined;
}

/**
 * Whether a rewrite is worth it: every term of s is in a group that cancels, or the groups it
 * rewrites carry the sum near its end (at angle 1e-3, var1 = var2 = 1, in 50 digits, their
 * terms at least 16 times the sum: the rest is smaller, or itself stable, as ymxangle is).
 * abs, cov12 + 2 (sqrt(gap) - cov12 theta)/pi, has a group that cancels beside cov12, which
 * carries the sum there: nothing to gain.
 */
function cancels(s: Expr, r: Rewrite): boolean {
  if (r.uncovered === 0) return true;
  const at = probeAt(r.sign * Math.cos(1e-3));
  try {
    return magnitudes(r.covered, at).gte(evaluateHP(s, at).abs().mul(16));
  } catch {
    return false;
  }
}

/** The series of each group of s that cancels, and how many of s's terms are left out of them. */
interface Rewrite {
  readonly e: Expr;
  /** The terms of s in groups that cancel (rewritten), and how many are not. */
  readonly covered: readonly Expr[];
  readonly uncovered: number;
  /** The angle is angle(sqrt(gap), sign cov12): small where sign cov12 nears the bound. */
  readonly sign: 1 | -1;
}

function seriesAt(s: Expr): Rewrite | undefined {
  if (s.k !== 'add') return undefined;
  let angle: Fn | undefined;
  let sign: 1 | -1 | undefined;
  for (const t of s.terms) {
    for (const factor of t.k === 'mul' ? t.factors : [t]) {
      const f = factor.k === 'pow' ? factor.base : factor;
      const sg = polarAngle(f);
      if (sg === undefined) continue;
      if (angle && f.key !== angle.key) return undefined;
      angle = f as Fn;
      sign = sg;
    }
  }
  if (!angle || !sign) return undefined;
  const terms = s.terms.map((t) => polar(t, angle!.key, sign!));
  if (terms.some((t) => !t)) return undefined;
  const groups = new Map<string, number[]>();
  terms.forEach((t, i) => groups.set(t!.group, [...(groups.get(t!.group) ?? []), i]));
  let uncovered = 0;
  const covered: Expr[] = [];
  const parts = [...groups.values()].map((idx) => {
    const sum = E.add(...idx.map((i) => s.terms[i]!));
    const r =
      idx.length > 1 && idx.some((i) => terms[i]!.e > 0)
        ? groupSeries(
            idx.map((i) => terms[i]!),
            sum,
            angle!,
          )
        : undefined;
    if (!r) uncovered += idx.length;
    else covered.push(...idx.map((i) => s.terms[i]!));
    return r ?? sum;
  });
  return uncovered < s.terms.length ? { e: E.add(...parts), covered, uncovered, sign } : undefined;
}

/** One group's series: the sum of its terms (all of one group, the sum as written `s`) or undefined. */
function groupSeries(terms: readonly PolarTerm[], s: Expr, angle: Fn): Expr | undefined {
  // Negative powers of sin(phi) (of sqrt(gap)): the sum times sin(phi)^m, then divided by
  // sin(phi)^m = phi^m (sin(phi)/phi)^m, which must leave a power series (no pole at phi = 0).
  const m = Math.max(0, ...terms.map((t) => -t.q));
  const series = (n: number): S.Series | undefined => {
    let F: S.Series = S.zeros(n + m);
    for (const t of terms) F = S.add(F, S.mul(trigPower(t.p, t.q + m, n + m), S.monomial(t.e, n + m)), t.coef);
    if (m === 0) return F;
    const G = S.mul(F, S.pow(S.inverse(S.sinc(n + m)), m));
    return G.slice(0, m).every(Q.isZero) ? G.slice(m) : undefined;
  };
  const lowest = Math.min(...terms.map((t) => t.q + t.e));
  // A short series first: most sums (one angle term, or no cancellation) stop here.
  const short = series(Math.max(1, lowest + 3));
  if (!short) return undefined;
  const first = short.findIndex((c) => !Q.isZero(c));
  if (first >= 0 && first <= lowest + 1) return undefined; // at most one order cancels: little to gain
  const F = series(TERMS);
  if (!F) return undefined;
  const k0 = F.findIndex((c) => !Q.isZero(c));
  if (k0 < 0) return E.ZERO;
  if (k0 <= lowest + 1) return undefined;
  // Where the series is the more accurate (measured on J_2, J_3: the sum as written, accumulated
  // in double-double, errs by about a fifth of a bit per unit of its condition number, the sum
  // of the terms' magnitudes over the value; the series by 1-1.7 bits, from phi^k0 of a rounded
  // phi): below the first angle where that condition number falls to 3.
  const cond = (phi: number) => {
    const parts = terms.map((t) => Q.toNumber(t.coef) * Math.cos(phi) ** t.p * Math.sin(phi) ** t.q * phi ** t.e);
    return parts.reduce((a, b) => a + Math.abs(b), 0) / Math.abs(parts.reduce((a, b) => a + b, 0));
  };
  let phiMax = 0.05;
  while (phiMax < PHI_MAX && !(cond(phiMax) <= 3)) phiMax += 0.05;
  // Coefficients from k0 until the tail at phiMax is below 2^-60 of F(phiMax).
  const values = F.map((c) => Q.toNumber(c));
  const at = (n: number) => values.slice(k0, n).reduce((acc, c, j) => acc + Math.abs(c) * phiMax ** (k0 + j), 0);
  const total = Math.abs(values.reduce((acc, c, k) => acc + c * phiMax ** k, 0));
  let n = k0 + 1;
  while (n < TERMS && at(TERMS) - at(n) > 2 ** -60 * total) n++;
  if (n >= TERMS - 2) return undefined;
  const t0 = terms[0]!;
  const scale = E.mul(t0.constant, t0.param, E.pow(E.mul(E.VAR1, E.VAR2), E.num(Q.div(t0.r, Q.rat(2)))));
  const [y, x] = angle.args as [Expr, Expr];
  return E.fn('smallangle', [
    y,
    x,
    scale,
    s,
    E.num(Q.fromNumber(phiMax)),
    E.num(k0),
    ...F.slice(k0, n).map((c) => E.num(c)),
  ]);
}
