// accuracy: bits of error of the emitted float64 code, per domain group, against the meaning
// of the source as written (truth.ts): the source lowered with its guards read by the guard
// rule, and its derivative taken without simplification. The compiler's own simplified or
// stabilized trees are never the truth, so an unsound rewrite shows up here as error.
import { checkAccuracyOptions, checkSource } from './arguments.js';
import { compile } from './compile.js';
import { CompileError, locAt } from './errors.js';
import { GROUPS, bitsOfError, samplePoints, type Group } from './measure.js';
import { truthAt, type Truth } from './truth.js';
import type { CompiledKernel, CompileOptions, Expr } from './types.js';

export interface BitsSummary {
  readonly mean: number;
  readonly max: number;
  readonly count: number;
}

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

export { meaning } from './meaning.js';

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

const summary = (xs: number[]): BitsSummary => ({
  mean: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length),
  max: Math.max(0, ...xs),
  count: xs.length,
});

/** Sample points of every group with the truth of nngp and its derivative at each (computed once, reusable). */
export interface TruthTable {
  readonly groups: Record<
    Group,
    readonly { readonly at: readonly [number, number, number]; readonly nngp: Truth; readonly dNngp: Truth }[]
  >;
}

export function truthTable(
  truth: { nngp: Expr; dNngp: Expr },
  options: Omit<AccuracyOptions, keyof CompileOptions> = {},
): TruthTable {
  const groups = {} as Record<Group, { at: [number, number, number]; nngp: Truth; dNngp: Truth }[]>;
  GROUPS.forEach((g, gi) => {
    groups[g] = samplePoints(g, options.points ?? 40, (options.seed ?? 7) * 31 + gi, options.unitVariance).map(
      (at) => ({
        at,
        nngp: truthAt(truth.nngp, ...at),
        dNngp: truthAt(truth.dNngp, ...at),
      }),
    );
  });
  return { groups };
}

const ZERO_INPUTS: readonly [number, number, number][] = [
  [0, 0, 0],
  [0, 0, 1],
  [0, 1, 0],
  [0, 0, 1e-8],
  [0, 2.5, 0],
];

/** Bits of error of a compiled kernel against a truth table. */
export function measureKernel(k: Pick<CompiledKernel, 'nngp' | 'dNngp'>, table: TruthTable): AccuracyReport {
  const groups = {} as Record<Group, GroupAccuracy>;
  for (const g of GROUPS) {
    const bits = { nngp: [] as number[], dNngp: [] as number[] };
    let nonFinite = 0;
    let undecided = 0;
    let infinite = 0;
    for (const row of table.groups[g]) {
      for (const what of ['nngp', 'dNngp'] as const) {
        const out = k[what](...row.at);
        const t = row[what];
        if (t.kind === 'undecided') {
          undecided++;
          continue;
        }
        if (t.kind === 'infinite' || !Number.isFinite(t.value)) {
          infinite++;
          continue;
        } // beyond the doubles too
        if (!Number.isFinite(out)) nonFinite++;
        bits[what].push(bitsOfError(out, t.value));
      }
    }
    groups[g] = { nngp: summary(bits.nngp), dNngp: summary(bits.dNngp), nonFinite, undecided, infinite };
  }
  let zeroNonFinite = 0;
  for (const at of ZERO_INPUTS) {
    if (!Number.isFinite(k.nngp(...at))) zeroNonFinite++;
    if (!Number.isFinite(k.dNngp(...at))) zeroNonFinite++;
  }
  return { groups, zero: { points: ZERO_INPUTS.length, nonFinite: zeroNonFinite } };
}

/** Bits of error of the compiled source against its meaning, per domain group. */
export function accuracy(source: string, options: AccuracyOptions = {}): AccuracyReport {
  checkSource('accuracy', source);
  checkAccuracyOptions(options);
  const k = compile(source, options);
  if (!('written' in k.ir))
    throw new CompileError(
      'E_NO_CLOSED_FORM',
      'accuracy needs a closed-form kernel to evaluate in 50 digits; this one is a sum of closed forms over mixture nodes or pieces: check it against quadrature with verify (nngpc verify, or verify(source, { fn }))',
      source,
      locAt(source, Math.max(0, source.search(/\S/))),
      options.filename ?? '<input>',
    );
  return measureKernel(k, truthTable(k.ir.written, options)); // the compiled kernel's own meaning of its source
}
