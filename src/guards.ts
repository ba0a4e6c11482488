// Guards with a stated meaning (the guard rule, grammar/nngp.ebnf "Guards"): a clip, where,
// max/min or abs that acts only outside the kernel domain or on its boundary, or within
// GUARD_EPSILON of it, is a domain guard and is dropped; the compiler implements the boundary
// itself (cov12 projected onto the bound, theta = pi/2 at 0/0). Each decision is a proof from
// domain.ts; a guard that cannot be proved to act only there keeps its exact meaning.
import { compareOnDomain, isGuardEpsilon, nonnegOnDomain, positiveInsideDomain } from './domain.js';
import * as E from './expr.js';
import type { Rule } from './rewrite.js';
import type { Expr, Fn, FnName } from './types.js';

const isFn = (e: Expr, ...names: FnName[]): e is Fn => e.k === 'fn' && names.includes(e.name);
const arg0 = (e: Expr) => (e as Fn).args[0]!;

/**
 * where(x > y, a, b) decided on the domain: the comparison holds everywhere on it, or nowhere,
 * or fails only on its boundary (where the guard supplies a limit the compiler implements
 * itself), or acts only within a floor of at most GUARD_EPSILON of the boundary. Returns the
 * branch that holds, or undefined.
 */
function decideWhere(e: Fn): Expr | undefined {
  const c = e.args[0]!;
  if (c.k !== 'fn') return undefined;
  const [a, b] = [e.args[1]!, e.args[2]!];
  // Normalise to x > y, x >= y, x == y, x != y.
  const swap = c.name === 'lt' || c.name === 'le';
  const [x, y] = swap ? [c.args[1]!, c.args[0]!] : [c.args[0]!, c.args[1]!];
  const strict = c.name === 'lt' || c.name === 'gt';
  const clamp = (a.key === x.key && b.key === y.key) || (a.key === y.key && b.key === x.key); // branches agree where x = y
  const d = E.sub(x, y);
  if (c.name === 'eq' || c.name === 'ne') {
    if (!positiveInsideDomain(d) && !positiveInsideDomain(E.neg(d))) return undefined;
    return c.name === 'eq' ? b : a; // x = y only on the boundary
  }
  if (isGuardEpsilon(y) && positiveInsideDomain(x)) return a; // x > eps, x ≥ 0: acts only at the boundary
  const rel = compareOnDomain(x, y);
  if (rel === 'ge') return !strict || clamp || positiveInsideDomain(d) ? a : undefined;
  if (rel === 'le') return strict || clamp || positiveInsideDomain(E.neg(d)) ? b : undefined;
  return undefined;
}

const GUARD_HELPS =
  'the guarded quantity meets the other rules (the derivative has no where(...) terms and singular terms cancel)';

/** Guards that act only outside the kernel domain, or at its boundary (README, "Guards"). */
export const GUARDS: readonly Rule[] = [
  {
    name: 'clip(u, lo, hi) = u where lo ≤ u ≤ hi on the domain',
    sound: 'the clip acts only outside the domain (|rho| ≤ 1 by Cauchy–Schwarz)',
    helps: GUARD_HELPS,
    examples: [
      'acos(clip(cov12/sqrt(var1*var2), -1, 1))',
      'acos(clip(cov12/sqrt(var1*var2), -1.5, 1))',
      'acos(clip(var1/sqrt(var1*var1), -1, 1)) + cov12',
    ],
    apply: (e) => {
      if (!isFn(e, 'clip')) return undefined;
      const [u, lo, hi] = e.args as [Expr, Expr, Expr];
      // (Both as 'ge': compareOnDomain calls an equal pair 'ge', so clip(1, -1, 1) is 1.)
      return compareOnDomain(u, lo) === 'ge' && compareOnDomain(hi, u) === 'ge' ? u : undefined;
    },
  },
  {
    name: 'max(a, b) = a where a ≥ b on the domain, or where b is a floor of at most GUARD_EPSILON under a ≥ 0',
    sound: 'the max acts only outside the domain, or within GUARD_EPSILON of its boundary',
    helps: GUARD_HELPS,
    examples: [
      'sqrt(max(var1*var2 - cov12^2, 0))',
      'sqrt(max(var1*var2 - cov12^2, 1e-30))',
      'max(cov12/sqrt(var1*var2), -1)',
    ],
    apply: (e) => {
      if (!isFn(e, 'max')) return undefined;
      for (const [a, b] of [
        [e.args[0]!, e.args[1]!],
        [e.args[1]!, e.args[0]!],
      ] as const) {
        if (compareOnDomain(a, b) === 'ge' || (isGuardEpsilon(b) && nonnegOnDomain(a))) return a;
      }
      return undefined;
    },
  },
  {
    name: 'min(a, b) = a where a ≤ b on the domain',
    sound: 'the min acts only outside the domain',
    helps: GUARD_HELPS,
    examples: [
      'acos(min(cov12/sqrt(var1*var2), 1))',
      'min(1, cov12^2/(var1*var2))',
      'min(1, var1/sqrt(var1^2)) + cov12',
    ],
    apply: (e) => {
      if (!isFn(e, 'min')) return undefined;
      if (compareOnDomain(e.args[1]!, e.args[0]!) === 'ge') return e.args[0]!;
      if (compareOnDomain(e.args[0]!, e.args[1]!) === 'ge') return e.args[1]!;
      return undefined;
    },
  },
  {
    name: 'where(x > y, a, b) = a or b where the comparison is decided on the domain',
    sound:
      'it holds everywhere on the domain, or nowhere, or fails only on its boundary (a 0/0 or bound guard) or within GUARD_EPSILON of it',
    helps: GUARD_HELPS,
    examples: [
      'acos(where(cov12/sqrt(var1*var2) > 1, 1, cov12/sqrt(var1*var2)))',
      'where(var1*var2 > 0, cov12/sqrt(var1*var2), 0)',
      'where(var1*var2 - cov12^2 > 1e-30, sqrt(var1*var2 - cov12^2), 0)',
      'where(var1 < 0, 0, var1)',
    ],
    apply: (e) => (isFn(e, 'where') ? decideWhere(e) : undefined),
  },
  {
    name: 'abs(x) = x for x ≥ 0 on the domain',
    sound: 'definition of abs; x ≥ 0 proved by domain.nonnegOnDomain (variances, the gap, their sums)',
    helps: GUARD_HELPS,
    examples: ['sqrt(abs(var1*var2 - cov12^2))', 'abs(var1)'],
    apply: (e) => (isFn(e, 'abs') && nonnegOnDomain(arg0(e)) ? arg0(e) : undefined),
  },
];
