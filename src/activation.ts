// An activation f(x), as `# fn:` lines, verify's `fn` and fromActivation give it: plain math in
// the variable x, lowered to a core expression (x standing as cov12) with its a.e. derivative.
import { lower } from './lower.js';
import { parse } from './parse.js';
import { simplify } from './simplify.js';
import { differentiate } from './differentiate.js';
import type { Expr } from './types.js';

/** f (x as cov12) and f', simplified. Errors are CompileErrors located in the fn text. */
export function activationExprs(
  fn: string,
  params: Readonly<Record<string, number>> | undefined,
  symbolic: readonly string[] = [],
): [Expr, Expr] {
  // x → cov12 keeps every other name (exp, max) intact; columns after an x shift by 4 in messages.
  const src = fn.replace(/\bx\b/g, 'cov12');
  const f = simplify(lower(parse(src, '<fn>'), src, { params: { ...params }, filename: '<fn>', symbolic }));
  return [f, simplify(differentiate(f))];
}

/** The `# fn:` line of a source, if any (its text after the colon). */
export function fnDirective(source: string): string | undefined {
  const m = /^[ \t]*#[ \t]*fn:(.*)$/m.exec(source);
  return m ? m[1]!.trim() : undefined;
}

/** Whether a source is nothing but comments and directives (so its `# fn:` line is the whole map). */
export function onlyDirectives(source: string): boolean {
  return source.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('#'));
}
