// The meaning of a source: its map exactly as written, with its guards read by the guard
// rule (grammar/nngp.ebnf, "Guards"), and the map's derivative taken without simplification
// (what autodiff of the source computes). It is the truth of accuracy() and the candidate "as
// written" of the compile-time choice; the compiler's simplified and stabilized trees never are.
import { lower } from './lower.js';
import { differentiate } from './differentiate.js';
import { parse } from './parse.js';
import { readGuards } from './simplify.js';
import { effectiveParams } from './sourcefile.js';
import type { CompileOptions, Expr } from './types.js';

export type { Meaning } from './types.js';
import type { Meaning } from './types.js';

/** The meaning of a lowered source (lower.ts's output, before simplification). */
export function meaningOf(lowered: Expr): Meaning {
  const nngp = readGuards(lowered);
  return { nngp, dNngp: differentiate(nngp, 'cov12') };
}

export function meaning(source: string, options: CompileOptions = {}): Meaning {
  const filename = options.filename ?? '<input>';
  const params = effectiveParams(source, filename, options.params);
  return meaningOf(lower(parse(source, filename), source, { params, filename }));
}
