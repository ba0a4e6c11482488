// Accuracy-driven choice (Herbie's regimes, made cheap by the oracle of truth.ts): for nngp
// and its derivative, the stabilized code (candidate A) against the source as written (B:
// the map as the user wrote it, and for the derivative its plain symbolic derivative, what
// autodiff computes), measured at sampled points of every domain group and at zero inputs,
// in two regions: near the bound (gap ≤ var1*var2/64, i.e. |rho| ≥ 0.992, the diagonal, just
// outside, zero inputs) and elsewhere. In each region the candidate with the lower mean bits
// of error is emitted; B must win by more than MARGIN bits (rounding luck at a few points is
// not a reason to switch). The truth is computed only where A and B differ by more than two
// ulps, so a compile where they agree costs no high-precision evaluation at all; and it is
// the stabilized tree itself in 50 digits (the same map as the source by the rules' soundness
// tests, free of the singular terms that make the source as written need limits at the bound,
// and exact there: its gap is 0 on the diagonal), in 50 digits checked at 60. What A loses is then its float64 rounding,
// which is what the choice is about; accuracy() keeps the source as written as its truth.
import { doubleFunction } from './evaluate.js';
import { GROUPS, bitsOfError, samplePoints } from './measure.js';
import { truthsOfRegularForms } from './truth.js';
import type { Expr, Tree } from './types.js';

/** gap ≤ NEAR_BOUND × var1*var2 is "near the bound" (emit: the `nearbound` node). */
export const NEAR_BOUND = 1 / 64;
/** B replaces A in a region only if its mean bits of error there are lower by more than this. */
export const MARGIN = 1;
const POINTS_PER_GROUP = 2;
const ZERO_INPUTS: readonly [number, number, number][] = [
  [0, 0, 0],
  [0, 0, 1],
  [0, 1, 0],
];

export interface RegionScore {
  readonly points: number;
  /** Mean bits of error of the stabilized code and of the source as written (0 where they agree). */
  readonly stable: number;
  readonly asWritten: number;
}

export interface Selection {
  /** What is emitted: the stabilized tree, the source as written, or each where it wins. */
  readonly emitted: 'stable' | 'as-written' | 'by region';
  readonly near: RegionScore;
  readonly elsewhere: RegionScore;
}

export interface Choice {
  readonly nngp: Selection;
  readonly dNngp: Selection;
  /** Points where the choice needed high-precision values (both functions evaluated together). */
  readonly truthEvaluations: number;
}

type Fn64 = (c: number, v1: number, v2: number) => number;

function ordinal(x: number): bigint {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x);
  const i = b.getBigInt64(0);
  return i < 0n ? -(i & 0x7fffffffffffffffn) : i;
}
const within2ulps = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && ordinal(a) - ordinal(b) <= 2n && ordinal(b) - ordinal(a) <= 2n;

/** The input as emitted code sees it: cov12 projected onto |cov12| ≤ sqrt(var1*var2). */
function projected(c: number, v1: number, v2: number): number {
  const b = Math.sqrt(v1 * v2);
  return Math.abs(c) > b ? Math.sign(c) * b : c;
}

const isNear = (c: number, v1: number, v2: number) => v1 * v2 - c * c <= NEAR_BOUND * v1 * v2;

interface Sums {
  n: number;
  a: number;
  b: number;
}

function selection(near: Sums, elsewhere: Sums): Selection {
  const summary = (r: Sums): RegionScore => ({
    points: r.n,
    stable: r.a / Math.max(1, r.n),
    asWritten: r.b / Math.max(1, r.n),
  });
  const [n, e] = [summary(near), summary(elsewhere)];
  const wins = (r: RegionScore) => r.asWritten < r.stable - MARGIN;
  return {
    emitted: wins(n) && wins(e) ? 'as-written' : wins(n) || wins(e) ? 'by region' : 'stable',
    near: n,
    elsewhere: e,
  };
}

/** Chooses, for nngp and its derivative, between the compiled stable code and the source as written. */
export function choose(
  compiled: { nngp: Fn64; dNngp: Fn64 },
  written: { nngp: Expr; dNngp: Expr },
  exact: { nngp: Tree; dNngp: Tree },
): Choice {
  const fns = ['nngp', 'dNngp'] as const;
  const asWritten = { nngp: doubleFunction(written.nngp), dNngp: doubleFunction(written.dNngp) };
  const sums = {
    nngp: { near: { n: 0, a: 0, b: 0 }, elsewhere: { n: 0, a: 0, b: 0 } },
    dNngp: { near: { n: 0, a: 0, b: 0 }, elsewhere: { n: 0, a: 0, b: 0 } },
  };
  let truthEvaluations = 0;
  const points = GROUPS.flatMap((g, gi) => samplePoints(g, POINTS_PER_GROUP, 401 + gi));
  for (const [c, v1, v2] of [...points, ...ZERO_INPUTS]) {
    const region = isNear(c, v1, v2) ? 'near' : 'elsewhere';
    const x = { nngp: compiled.nngp(c, v1, v2), dNngp: compiled.dNngp(c, v1, v2) };
    const y = {
      nngp: asWritten.nngp(projected(c, v1, v2), v1, v2),
      dNngp: asWritten.dNngp(projected(c, v1, v2), v1, v2),
    };
    const open: ('nngp' | 'dNngp')[] = [];
    for (const f of fns) {
      const r = sums[f][region];
      r.n++;
      if (Object.is(x[f], y[f]) || within2ulps(x[f], y[f])) continue;
      // A non-finite output loses to a finite one without asking the oracle (the truth is
      // finite wherever either candidate is; at zero inputs there is no truth, only finiteness).
      if (!Number.isFinite(x[f]) || !Number.isFinite(y[f]) || v1 === 0 || v2 === 0) {
        r.a += Number.isFinite(x[f]) ? 0 : 64;
        r.b += Number.isFinite(y[f]) ? 0 : 64;
        continue;
      }
      open.push(f);
    }
    if (!open.length) continue;
    truthEvaluations++;
    const truths = truthsOfRegularForms(
      open.map((f) => exact[f]),
      c,
      v1,
      v2,
      false,
    ); // undecided points are skipped
    open.forEach((f, i) => {
      const t = truths[i]!;
      if (t.kind !== 'value' || !Number.isFinite(t.value)) return;
      sums[f][region].a += bitsOfError(x[f], t.value);
      sums[f][region].b += bitsOfError(y[f], t.value);
    });
  }
  return {
    nngp: selection(sums.nngp.near, sums.nngp.elsewhere),
    dNngp: selection(sums.dNngp.near, sums.dNngp.elsewhere),
    truthEvaluations,
  };
}

/** Which tree to emit for a selection: A, B, or `nearbound(near, elsewhere)` with each region's winner. */
export function selectedTree(
  s: Selection,
  stable: Tree,
  written: Tree,
  nearbound: (near: Tree, elsewhere: Tree) => Tree,
): Tree {
  if (s.emitted === 'stable') return stable;
  if (s.emitted === 'as-written') return written;
  const pick = (r: RegionScore) => (r.asWritten < r.stable - MARGIN ? written : stable);
  return nearbound(pick(s.near), pick(s.elsewhere));
}
