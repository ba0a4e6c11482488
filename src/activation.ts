// An activation f(x), as `# fn:` lines, verify's `fn` and fromActivation give it: plain math in
// the variable x, lowered to a core expression (x standing as cov12) with its a.e. derivative.
import { lowerProgram } from './lower.js';
import { parse } from './parse.js';
import { simplify } from './simplify.js';
import { differentiate } from './differentiate.js';
import type { Expr } from './types.js';

/** Where an activation's text stands, for error locations: its file, or the text itself. */
export interface ActivationSource {
  /** The text the parser reads: the fn text, or its whole file with everything else blanked. */
  readonly source: string;
  readonly filename: string;
}

export interface Activation {
  /** f and f', simplified (x as cov12). */
  readonly f: Expr;
  readonly df: Expr;
  /** Params given that f does not read. */
  readonly unusedParams: readonly string[];
}

/** f(x) lowered: x is its only input (cov12, var1, var2 are not names here). CompileErrors locate in `where`. */
export function activation(
  fn: string,
  params: Readonly<Record<string, number>> | undefined,
  symbolic: readonly string[] = [],
  where: ActivationSource = { source: fn, filename: '<fn>' },
): Activation {
  const lowered = lowerProgram(parse(where.source, where.filename), where.source, {
    params: { ...params },
    filename: where.filename,
    symbolic,
    activation: true,
  });
  const f = simplify(lowered.expr);
  return { f, df: simplify(differentiate(f)), unusedParams: lowered.unusedParams };
}

/** f and f' (verify's activation). */
export function activationExprs(fn: string, params: Readonly<Record<string, number>> | undefined): [Expr, Expr] {
  const a = activation(fn, params);
  return [a.f, a.df];
}

/**
 * The `# fn:` line of a source, if any: its text after the colon, and the source with every
 * other character blanked (newlines kept), so that an error in f points at its line and column.
 */
export function fnDirective(source: string): { readonly text: string; readonly located: string } | undefined {
  const m = /^[ \t]*#[ \t]*fn:(.*)$/m.exec(source);
  if (!m) return undefined;
  const start = m.index + m[0].indexOf(':') + 1;
  const end = m.index + m[0].length;
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  return {
    text: m[1]!.trim(),
    located: blank(source.slice(0, start)) + source.slice(start, end) + blank(source.slice(end)),
  };
}

/** Whether a source is nothing but comments and directives (so its `# fn:` line is the whole map). */
function onlyDirectives(source: string): boolean {
  return source.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('#'));
}

/** The activation of a source that is only an activation (a `# fn:` line and directives), else undefined. */
export function activationOnly(source: string): { readonly text: string; readonly located: string } | undefined {
  return onlyDirectives(source) ? fnDirective(source) : undefined;
}
