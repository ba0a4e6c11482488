import type { Loc } from './types.js';

/** Stable error codes; tools may switch on them. */
export type ErrorCode =
  | 'E_CHAR' // a character the language has no use for
  | 'E_UNTERMINATED' // a string or bracket left open
  | 'E_SYNTAX' // tokens in an order the grammar does not allow
  | 'E_UNKNOWN_FUNCTION'
  | 'E_ARITY'
  | 'E_UNBOUND' // a free identifier with no value in options.params
  | 'E_UNSUPPORTED' // Python the language does not take (if, for, lambda, ...)
  | 'E_NO_RETURN'
  | 'E_ASSIGN_INPUT' // assignment to cov12 / var1 / var2
  | 'E_PARAM' // a param that is not a finite number
  | 'E_EMPTY'
  | 'E_TOO_LARGE' // source or expression beyond the compiler's limits
  | 'E_DERIVATIVE' // a user-supplied d_nngp that disagrees with the derivative of nngp
  | 'E_KERNEL'; // bad arguments to kernel()

/**
 * The one error type nngpc throws for bad input. `frame` is a code frame: the file:line:col,
 * the offending line and a caret under the columns at fault.
 */
export class CompileError extends Error {
  readonly code: ErrorCode;
  readonly line: number;
  readonly column: number;
  readonly filename: string;
  readonly frame: string;
  /** The message without location, e.g. "unknown function 'arcsinh'". */
  readonly reason: string;

  constructor(code: ErrorCode, reason: string, source: string, loc: Loc | undefined, filename = '<input>') {
    const l = loc ?? { offset: 0, line: 1, column: 1, length: 1 };
    const frame = codeFrame(source, l, filename, reason);
    super(`${filename}:${l.line}:${l.column}: ${reason}\n${frame}`);
    this.name = 'CompileError';
    this.code = code;
    this.reason = reason;
    this.line = l.line;
    this.column = l.column;
    this.filename = filename;
    this.frame = frame;
  }
}

/** The source line holding `loc`, with a caret line under it. Tabs are kept so carets align. */
export function codeFrame(source: string, loc: Loc, filename: string, reason: string): string {
  const lines = source.split(/\r\n|\r|\n/);
  const text = lines[loc.line - 1] ?? '';
  const gutter = String(loc.line);
  const pad = ' '.repeat(gutter.length);
  const lead = text.slice(0, loc.column - 1).replace(/[^\t]/g, ' ');
  const width = Math.max(1, Math.min(loc.length, Math.max(1, text.length - loc.column + 1)));
  return [
    `${filename}:${loc.line}:${loc.column}: error: ${reason}`,
    `${pad} |`,
    `${gutter} | ${printable(text)}`,
    `${pad} | ${lead}${'^'.repeat(width)}`,
  ].join('\n');
}

/** Control characters (and U+2028/9) shown as escapes so a frame never breaks a terminal. */
function printable(s: string): string {
  return s.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

let cachedSource: string | undefined;
let cachedStarts: number[] = [];

/** Offsets at which each line starts (\n, \r\n and lone \r end a line). */
function lineStarts(source: string): number[] {
  if (source === cachedSource) return cachedStarts;
  const starts = [0];
  for (let i = 0; i < source.length; i++) {
    const ch = source.charCodeAt(i);
    if (ch === 10 || (ch === 13 && source.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  cachedSource = source;
  cachedStarts = starts;
  return starts;
}

/** Location of a character offset in `source` (O(log lines) after the first call). */
export function locAt(source: string, offset: number, length = 1): Loc {
  const starts = lineStarts(source);
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { offset, line: lo + 1, column: offset - starts[lo]! + 1, length };
}
