// The evaluation tree of a stabilized expression (the second step of the stabilize pass): raw
// constructors, so that a factored form is kept as written, and the stable primitives of
// types.ts (gap, rho, dd, ddq, csum, expdd, expdiff, xangle). Every decision is listed in
// LOWERINGS with why it is sound and when it helps.
import {
  dependsOnInputs,
  evaluableInDoubleDouble,
  isMonomial,
  isPolynomial,
  isPositiveSum,
  isSignDefinite,
  shareOneSign,
  substituteGap,
} from './domain.js';
import * as E from './expr.js';
import * as Q from './rational.js';
import { simplify } from './simplify.js';
import type { Add, Expr, Rat, Tree, TreeFn } from './types.js';
import * as T from './tree.js';

/** A decision of the lowering to the evaluation tree; `node` names the primitive it introduces. */
export interface Lowering {
  readonly name: string;
  readonly sound: string;
  readonly helps: string;
  /** Sources whose evaluation tree contains `node` (test/stabilize.test.ts checks both). */
  readonly examples: readonly string[];
  readonly node: string;
}

/** The evaluation-tree decisions of `evaluationTree`, documented in one place (tests sample each example). */
export const LOWERINGS: readonly Lowering[] = [
  {
    name: 'exp(p) → expdd(p) for a polynomial p',
    sound: 'exp(hi + lo) = exp(hi) * (1 + lo) to within lo^2',
    helps: 'rounding in a large argument p is amplified by exp: p is evaluated in double-double',
    examples: ['exp(cov12 - var1/2 - var2/2)'],
    node: 'expdd(',
  },
  {
    name: 'var1*var2 → gap + cov12^2 in a polynomial, when that leaves every term of one sign',
    sound: 'gap is defined as var1*var2 - cov12^2 and computed from exact products (two-product), clamped at 0',
    helps: 'difference of products: (1 + 2 v1)(1 + 2 v2) - 4 c^2 is 1 + 2 v1 + 2 v2 + 4 gap without cancellation',
    examples: ['1/sqrt((1 + 2*var1)*(1 + 2*var2) - 4*cov12^2)'],
    node: 'gap',
  },
  {
    name: 'polynomial with terms of both signs → dd(p)',
    sound: 'exact products (two-product) and compensated sums evaluate p to ~106 bits before one rounding',
    helps: 'cancellation among the terms of p',
    examples: ['sqrt(3*var1 - 2*cov12 + var2)'],
    node: 'dd(',
  },
  {
    name: 'terms sharing factors → common factor × polynomial; polynomial × powers of positive polynomials → ddq(...)',
    sound:
      'distributivity; the same product evaluated in double-double (two-product, compensated division and square root) and rounded once',
    helps:
      'a rational part that cancels against another term (gelu at cov12 < 0) keeps ~0.5 ulp instead of a rounding per operation',
    examples: [
      'cov12/sqrt(1 + var1 + var2 + var1*var2 - cov12^2) + cov12^3/sqrt(1 + var1 + var2 + var1*var2 - cov12^2)^3 + acos(cov12/sqrt(1 + var1 + var2 + var1*var2))',
    ],
    node: 'ddq(',
  },
  {
    name: 'k*x*angle(y, x) in a compensated sum → k*xangle(y, x)',
    sound:
      'x*atan2(y, x) = y - ymxangle(y, x); xangle is evaluated so, with y in double-double, at small angles (x > 0, |y| < x/2), and as x times the angle, exactly (two-product), elsewhere',
    helps:
      'gelu at cov12 = -var: the angle term cancels against the rational part down to ~1/sqrt(var) of its size, which a rounded angle cannot survive',
    examples: ['1/sqrt(1 + var1 + var2 + var1*var2 - cov12^2) + cov12*acos(-cov12/sqrt(1 + var1 + var2 + var1*var2))'],
    node: 'xangle(',
  },
  {
    name: 'sum of non-polynomial terms, not all of one sign → csum(...)',
    sound:
      'the same sum, accumulated with two-sum and exact constant products, rounded once; an angle term (alone or as xangle) at small angles as (y - ymxangle(y, x)) (/ x) in double-double',
    helps:
      'terms that partly cancel (a rational part against an angle) keep their own accuracy; terms of one sign cannot cancel, so they keep the plain sum (each term keeps its accuracy there, at a fraction of the cost)',
    examples: ['cov12/sqrt(1 + var1 + var2 + var1*var2 - cov12^2) + acos(cov12/sqrt(1 + var1 + var2 + var1*var2))'],
    node: 'csum(',
  },
  {
    name: 'cov12/sqrt(var1*var2) → rho',
    sound: "rho is the correlation clamped to [-1, 1]; 0 when a variance is 0 (neural-tangents' convention)",
    helps: 'finite at zero inputs and just outside the Cauchy–Schwarz bound',
    examples: ['sqrt(var1*var2)*exp(cov12/sqrt(var1*var2))'],
    node: 'rho',
  },
  {
    name: 'cov12 → cov12 projected onto |cov12| ≤ sqrt(var1*var2) (emit)',
    sound:
      'a kernel has |cov12| ≤ sqrt(var1*var2); outside it (by rounding in a Dense layer) the value at the bound is taken',
    helps: 'values just outside the bound are those at the bound, not NaN',
    examples: ['cov12^2'],
    node: 'cov12',
  },
];

/**
 * The evaluation tree of a canonical expression: sums grouped by shared factors and their
 * polynomial parts made stable, exp of polynomials in double-double, the correlation as rho.
 */
export function evaluationTree(e: Expr): Tree {
  switch (e.k) {
    case 'num':
    case 'sym':
      return e;
    case 'pow':
      return T.pow(evaluationTree(e.base), e.exp.k === 'num' ? e.exp : evaluationTree(e.exp));
    case 'mul': {
      const r = substituteRho(e);
      if (r.k !== 'mul') return evaluationTree(r);
      return T.mul(r.factors.map(evaluationTree));
    }
    case 'fn': {
      if (e.name === 'exp' && isPolynomial(e.args[0]!) && e.args[0]!.k !== 'num' && e.args[0]!.k !== 'sym')
        return T.fn('expdd', [substituteRhoDeep(e.args[0]!)]);
      if (e.name === 'expdiff') {
        const [a, b, d] = e.args.map(substituteRhoDeep);
        // The exponents a and b: a polynomial one as dd(p) (its exp taken as exp(hi) * (1 + lo)).
        const exponent = (x: Expr) =>
          isPolynomial(x) && x.k !== 'num' && x.k !== 'sym' ? T.fn('dd', [x]) : evaluationTree(x);
        return T.fn('expdiff', [
          exponent(a!),
          exponent(b!),
          isPolynomial(d!) ? stablePolynomial(d!) : evaluationTree(d!),
        ]);
      }
      return T.fn(e.name, e.args.map(evaluationTree));
    }
    case 'add':
      return evaluationSum(e);
  }
}

function substituteRhoDeep(e: Expr): Expr {
  return E.rebuild(e, (x) => (x.k === 'mul' ? substituteRho(x) : x));
}

/** cov12^k var1^a var2^b with k ≥ 1, j = -2 min(a, b) an integer in [1, k] → rho^j cov12^(k-j) var1^(a+j/2) var2^(b+j/2). */
function substituteRho(m: Expr): Expr {
  if (m.k !== 'mul') return m;
  const exp = (name: string): Rat | undefined => {
    for (const f of m.factors) {
      if (f.k === 'sym' && f.name === name) return Q.ONE;
      if (f.k === 'pow' && f.base.k === 'sym' && f.base.name === name && f.exp.k === 'num') return f.exp.v;
    }
    return undefined;
  };
  const c = exp('cov12');
  const a = exp('var1') ?? Q.ZERO;
  const b = exp('var2') ?? Q.ZERO;
  if (!c || Q.cmp(Q.min(a, b), Q.ZERO) >= 0) return m;
  // The correlation itself, cov12^k (var1 var2)^(-k/2) = rho^k, or a power of it times cov12:
  // cov12^k (var1 var2)^(-j/2) = rho^j cov12^(k-j) for integer 1 ≤ j < k (cov12^2/sqrt(var1 var2),
  // what cos(2 acos(rho)) expands to: 0/0 at zero inputs, and cov12^2 underflows at variances of
  // 1e-300 where rho·cov12 does not). A denominator beyond the correlation's, c/(var1 var2), is
  // left alone: its roundings are fewer as written.
  // The variances' exponents may differ (cov12^2/sqrt(var1) = rho cov12 sqrt(var2), relu(x) + x^2's):
  // j = the larger of -2a, -2b, and then neither variance is left in a denominator.
  const j = Q.mul(Q.min(a, b), Q.rat(-2));
  if (Q.cmp(c, Q.ONE) < 0 || !Q.isInt(j) || j.n < 1n || Q.cmp(j, c) > 0) return m;
  if (!Q.eq(j, c) && !Q.isInt(c)) return m;
  if (!Q.eq(b, a) && (!Q.isInt(Q.mul(a, Q.rat(2))) || !Q.isInt(Q.mul(b, Q.rat(2))))) return m;
  const rhoJ = E.pow(E.sym('rho'), E.num(j));
  const cancel = E.num(Q.div(j, Q.rat(2)));
  return E.mul(m, rhoJ, E.pow(E.COV12, E.num(Q.neg(j))), E.pow(E.VAR1, cancel), E.pow(E.VAR2, cancel));
}

/**
 * Can a group's factor go into a `ddq` (emit evaluates it entirely in double-double): what emit
 * can evaluate so (domain.evaluableInDoubleDouble), with roots only of sums known > 0 (a root of a
 * sum that may cancel to a negative rounding would be NaN).
 */
function isDDFactor(f: Expr): boolean {
  if (f.k === 'fn' || f.k === 'add' || !evaluableInDoubleDouble(T.mul([f]))) return false; // negative powers as their positive
  if (f.k !== 'pow') return true;
  if (f.exp.k !== 'num') return false;
  return f.exp.v.d === 1n || !dependsOnInputs(f.base) || isPositiveSum(f.base);
}

function evaluationSum(s: Add): Tree {
  const withRho = s.terms.map(substituteRho);
  const sum = E.add(...withRho);
  if (sum.k !== 'add') return evaluationTree(sum);
  if (isPolynomial(sum)) return stablePolynomial(sum);
  // Group terms by their non-polynomial factors; positive sums combine across integer powers.
  interface Part {
    coef: Expr;
    poly: Expr[];
    atoms: Map<string, { base: Expr; exp: Rat }>;
    other: Expr[];
    sig: string;
  }
  const parts: Part[] = sum.terms.map((t) => {
    const [c, rest] = E.splitCoeff(t);
    const fs = rest.k === 'mul' ? rest.factors : E.isOne(rest) ? [] : [rest];
    const part: Part = { coef: E.num(c), poly: [], atoms: new Map(), other: [], sig: '' };
    for (const f of fs) {
      if (isMonomial(f)) part.poly.push(f);
      else if (f.k === 'pow' && f.exp.k === 'num' && isPositiveSum(f.base))
        part.atoms.set(f.base.key, { base: f.base, exp: f.exp.v });
      else part.other.push(f);
    }
    // Integer powers of a positive sum combine with any term (a missing atom has exponent 0).
    const atomSig = [...part.atoms.entries()]
      .filter(([, { exp }]) => !Q.isInt(exp))
      .map(([k, { exp }]) => `${k}@${Q.toString(Q.sub(exp, Q.floor(exp)))}`)
      .sort();
    part.sig = [...part.other.map((o) => o.key).sort(), ...atomSig].join('|');
    return part;
  });
  const groups = new Map<string, Part[]>();
  for (const p of parts) {
    const g = groups.get(p.sig);
    if (g) g.push(p);
    else groups.set(p.sig, [p]);
  }
  const out: Tree[] = [];
  for (const g of groups.values()) {
    if (g.length === 1) {
      const p = g[0]!;
      out.push(
        evaluationTree(
          E.mul(
            p.coef,
            ...p.poly,
            ...p.other,
            ...[...p.atoms.values()].map(({ base, exp }) => E.pow(base, E.num(exp))),
          ),
        ),
      );
      continue;
    }
    const least = new Map<string, { base: Expr; exp: Rat }>();
    for (const p of g) {
      for (const [k, v] of p.atoms) {
        const prev = least.get(k);
        least.set(k, { base: v.base, exp: prev ? Q.min(prev.exp, v.exp) : v.exp });
      }
    }
    // Atoms missing from a term count as exponent 0 there.
    for (const [k, v] of least)
      if (g.some((p) => !p.atoms.has(k))) least.set(k, { base: v.base, exp: Q.min(v.exp, Q.ZERO) });
    const inner = E.add(
      ...g.map((p) =>
        E.mul(
          p.coef,
          ...p.poly,
          ...[...least].map(([k, { base, exp }]) => E.pow(base, E.num(Q.sub(p.atoms.get(k)?.exp ?? Q.ZERO, exp)))),
        ),
      ),
    );
    const common = [
      ...g[0]!.other,
      ...[...least.values()].filter(({ exp }) => !Q.isZero(exp)).map(({ base, exp }) => E.pow(base, E.num(exp))),
    ];
    if (E.isZero(inner)) continue;
    if (isPolynomial(inner) && common.length && common.every(isDDFactor)) {
      // The whole group in double-double: polynomial × constants × powers of positive sums.
      const poly =
        inner.k === 'add' && !isSignDefinite(inner) && isSignDefinite(substituteGap(inner))
          ? substituteGap(inner)
          : inner;
      out.push(T.fn('ddq', [T.mul([poly, ...common])]));
      continue;
    }
    const innerTree = isPolynomial(inner) ? stablePolynomial(inner) : evaluationTree(inner);
    out.push(common.length ? T.mul([innerTree, ...common.map(evaluationTree)]) : innerTree);
  }
  if (out.length === 0) return E.ZERO;
  if (out.length === 1) return out[0]!;
  // Terms of one sign cannot cancel: the plain sum keeps each term's accuracy (leaky_relu's derivative).
  return shareOneSign(sum.terms) ? T.add(out) : T.fn('csum', [T.add(out.map(xangleTerm))]);
}

export const isConstant = (e: Expr): boolean =>
  e.k === 'num' ||
  (e.k === 'sym' && e.name === 'pi') ||
  (e.k === 'mul' && e.factors.every(isConstant)) ||
  (e.k === 'pow' && isConstant(e.base) && isConstant(e.exp)) ||
  (e.k === 'fn' && e.args.every(isConstant)) ||
  (e.k === 'add' && e.terms.every(isConstant));

/** A term k * x * atan2(y, x) of a compensated sum (k constant) as k * xangle(y, x). */
function xangleTerm(t: Tree): Tree {
  if (t.k !== 'mul') return t;
  const i = t.factors.findIndex((f) => f.k === 'fn' && (f.name === 'atan2' || f.name === 'angle')); // x*angle = x*atan2 (both 0 at x = 0)
  if (i < 0) return t;
  const [y, x] = (t.factors[i] as TreeFn).args as [Tree, Tree];
  const k = simplify(E.div(E.mul(...t.factors.filter((_, j) => j !== i).map(T.canonicalOf)), T.canonicalOf(x)));
  return isConstant(k) ? T.mul([k, T.fn('xangle', [y, x])]) : t;
}

/** A polynomial, arranged to evaluate without cancellation where possible. */
function stablePolynomial(p: Expr): Tree {
  if (p.k !== 'add') return evaluationTree(p);
  if (isSignDefinite(p)) return rawTerms(p);
  const g = substituteGap(p);
  if (isSignDefinite(g)) return g.k === 'add' ? rawTerms(g) : evaluationTree(g);
  return T.fn('dd', [p]);
}

function rawTerms(p: Add): Tree {
  return T.add(p.terms.map(evaluationTree));
}
