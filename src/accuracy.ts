// accuracy: bits of error of the emitted float64 code, per domain group, against the meaning
// of the source as written (truth.ts): the source lowered with its guards read by the guard
// rule, and its derivative taken without simplification. The compiler's own simplified or
// stabilized trees are never the truth, so an unsound rewrite shows up here as error.
import { lower } from './ast.js';
import { compile } from './compile.js';
import { differentiate } from './differentiate.js';
import { GROUPS, bitsOfError, samplePoints, type Group } from './measure.js';
import { parse } from './parse.js';
import { readGuards } from './simplify.js';
import { fileParams } from './sourcefile.js';
import { truthAt } from './truth.js';
import type { CompiledKernel, CompileOptions, Expr } from './types.js';

export interface BitsSummary { readonly mean: number; readonly max: number; readonly count: number }

export interface GroupAccuracy {
  readonly nngp: BitsSummary;
  readonly dNngp: BitsSummary;
  /** Outputs that are not finite where the truth is finite (counted in the bits as 64). */
  readonly nonFinite: number;
  /** Points where the oracle could not decide the truth: failures, not zero error. */
  readonly undecided: number;
  /** Points where the truth is infinite (excluded from the bits; Sign's derivative at |rho| = 1). */
  readonly infinite: number;
}

export interface AccuracyReport {
  readonly groups: Record<Group, GroupAccuracy>;
  /** Zero inputs (a zero variance): no truth, but every output must be finite. */
  readonly zero: { readonly points: number; readonly nonFinite: number };
}

export interface AccuracyOptions extends CompileOptions {
  /** Points per group (default 40). */
  readonly points?: number;
  /** Only var1 = var2 = 1 (maps valid for unit variance only). */
  readonly unitVariance?: boolean;
  readonly seed?: number;
}

/** The target: mean ≤ 1 and max ≤ 8 bits per group, no non-finite output, every point decided. */
export const TARGET = { mean: 1, max: 8 } as const;

/** The meaning of a source: its map as written (guards read by the guard rule) and the map's derivative. */
export function meaning(source: string, options: CompileOptions = {}): { nngp: Expr; dNngp: Expr } {
  const filename = options.filename ?? '<input>';
  const params = { ...fileParams(source, filename), ...options.params };
  const nngp = readGuards(lower(parse(source, filename), source, { params, filename }));
  return { nngp, dNngp: differentiate(nngp, 'cov12') };
}

/** Per group, does the report meet the target? Lists what misses it. */
export function misses(report: AccuracyReport, target: { mean: number; max: number } = TARGET): string[] {
  const out: string[] = [];
  for (const g of GROUPS) {
    const r = report.groups[g];
    for (const what of ['nngp', 'dNngp'] as const) {
      if (r[what].mean > target.mean) out.push(`${g} ${what} mean ${r[what].mean.toFixed(2)} > ${target.mean}`);
      if (r[what].max > target.max) out.push(`${g} ${what} max ${r[what].max.toFixed(1)} > ${target.max}`);
    }
    if (r.nonFinite) out.push(`${g}: ${r.nonFinite} non-finite outputs where the truth is finite`);
    if (r.undecided) out.push(`${g}: ${r.undecided} points where the truth could not be decided`);
  }
  if (report.zero.nonFinite) out.push(`zero inputs: ${report.zero.nonFinite} non-finite outputs`);
  return out;
}

const summary = (xs: number[]): BitsSummary => ({ mean: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length), max: Math.max(0, ...xs), count: xs.length });

/** Bits of error of a compiled kernel against given truths (the meaning of its source by default). */
export function measureKernel(k: Pick<CompiledKernel, 'nngp' | 'dNngp'>, truth: { nngp: Expr; dNngp: Expr }, options: Omit<AccuracyOptions, keyof CompileOptions> = {}): AccuracyReport {
  const groups = {} as Record<Group, GroupAccuracy>;
  GROUPS.forEach((g, gi) => {
    const bits = { nngp: [] as number[], dNngp: [] as number[] };
    let nonFinite = 0;
    let undecided = 0;
    let infinite = 0;
    for (const [c, v1, v2] of samplePoints(g, options.points ?? 40, (options.seed ?? 7) * 31 + gi, options.unitVariance)) {
      for (const what of ['nngp', 'dNngp'] as const) {
        const out = k[what](c, v1, v2);
        const t = truthAt(truth[what], c, v1, v2);
        if (t.kind === 'undecided') { undecided++; continue; }
        if (t.kind === 'infinite') { infinite++; continue; }
        if (!Number.isFinite(t.value)) { infinite++; continue; } // beyond the doubles
        if (!Number.isFinite(out)) nonFinite++;
        bits[what].push(bitsOfError(out, t.value));
      }
    }
    groups[g] = { nngp: summary(bits.nngp), dNngp: summary(bits.dNngp), nonFinite, undecided, infinite };
  });
  const zeros: [number, number, number][] = [[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1e-8], [0, 3e5, 0]];
  let zeroNonFinite = 0;
  for (const [c, v1, v2] of zeros) {
    if (!Number.isFinite(k.nngp(c, v1, v2))) zeroNonFinite++;
    if (!Number.isFinite(k.dNngp(c, v1, v2))) zeroNonFinite++;
  }
  return { groups, zero: { points: zeros.length, nonFinite: zeroNonFinite } };
}

/** Bits of error of the compiled source against its meaning, per domain group. */
export function accuracy(source: string, options: AccuracyOptions = {}): AccuracyReport {
  return measureKernel(compile(source, options), meaning(source, options), options);
}
